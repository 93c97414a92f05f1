//! The HTTP context a plugin works with in every phase.
//!
//! Request headers are only readable while the request-header phase is in progress (Envoy
//! drops its pointer to them afterwards), so the values most plugins need later - scheme,
//! host, path, method - are cached when the request headers arrive and stay valid in every
//! phase.

use crate::body_mode::BodyMode;
use crate::config::Selected;
use crate::hostcalls::{self, HostResult};
use crate::request_line::{self, Field, RequestKind, RequestLine, Started};
use crate::scan;
use higress_abi::{BufferType, MapType, Status, StreamType};
use serde_json::{Map, Value};
use std::any::Any;
use std::collections::HashMap;

/// Size argument that means "the whole buffer" to `proxy_set_buffer_bytes` (as wasm-go uses).
const WHOLE: usize = i32::MAX as usize;

/// Property that, set to `off`, keeps Envoy from re-routing after header changes.
const CLEAR_ROUTE_CACHE: &str = "clear_route_cache";
/// Property the access log reads user attributes from.
pub const CUSTOM_LOG_KEY: &str = "custom_log";
/// Property AI plugins write their attributes to.
pub const AI_LOG_KEY: &str = "ai_log";

/// The phase a stream is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Created, no callback yet.
    Created,
    /// Processing request headers.
    RequestHeaders,
    /// Processing request body.
    RequestBody,
    /// Processing request trailers.
    RequestTrailers,
    /// Processing response headers.
    ResponseHeaders,
    /// Processing response body.
    ResponseBody,
    /// Processing response trailers.
    ResponseTrailers,
    /// Access log.
    Log,
    /// Finished.
    Done,
}

/// The HTTP context of one stream.
pub struct Http {
    context_id: u32,
    pub(crate) phase: Phase,
    /// Values of the request headers kept for every phase, read on first use (and by the
    /// SDK before the headers leave, for a stream the plugin still follows).
    request: std::cell::OnceCell<RequestLine>,
    /// What the request headers said about the body, kept with the request line.
    request_kind: std::cell::Cell<Option<RequestKind>>,
    request_id: std::cell::OnceCell<Option<String>>,
    /// The plugin is done with this stream ([`Http::skip_rest`]).
    pub(crate) rest_skipped: bool,
    /// Whether the response body is binary, read from the response headers when needed.
    response_binary: std::cell::Cell<Option<bool>>,
    pub(crate) request_headers_end_stream: bool,
    pub(crate) response_headers_end_stream: bool,
    pub(crate) request_body_mode: BodyMode,
    pub(crate) response_body_mode: BodyMode,
    pub(crate) local_response_sent: bool,
    /// The body callback that ends each direction ran (on the last chunk, or on trailers).
    pub(crate) request_body_ended: bool,
    pub(crate) response_body_ended: bool,
    /// Cap on the request body buffered for the plugin ([`Http::limit_request_body`]).
    pub(crate) request_body_limit: Option<usize>,
    /// Boxed: the map is rarely used, and unboxed its 32 bytes are copied with `Http` into
    /// every selected stream's state (a box costs an allocation only when a value is set).
    #[allow(clippy::box_collection)]
    values: Option<Box<HashMap<String, Box<dyn Any>>>>,
    /// `None` until the first attribute: dropping an empty `Map` costs about 80
    /// instructions, on every stream.
    attributes: Option<Map<String, Value>>,
}

impl Http {
    pub(crate) fn new(context_id: u32, request_body_mode: BodyMode, response_body_mode: BodyMode) -> Self {
        Http {
            context_id,
            phase: Phase::Created,
            request: std::cell::OnceCell::new(),
            request_kind: std::cell::Cell::new(None),
            request_id: std::cell::OnceCell::new(),
            rest_skipped: false,
            response_binary: std::cell::Cell::new(None),
            request_headers_end_stream: false,
            response_headers_end_stream: false,
            request_body_mode,
            response_body_mode,
            local_response_sent: false,
            request_body_ended: false,
            response_body_ended: false,
            request_body_limit: None,
            values: None,
            attributes: None,
        }
    }

    /// The kept request-header values, read on first use (valid in the request-header phase).
    fn line(&self) -> &RequestLine {
        self.request.get_or_init(|| RequestLine::capture_from(None))
    }

    /// Lends `:authority` (invalid UTF-8 replaced) to `select`, read alone: a stream the
    /// rules pass over then costs one header read, not the four of the request line. Also
    /// says whether the request has one. When a rule picked the stream, the plugin follows
    /// it: the request line is read then, from that value. (On the global config a plugin
    /// with rules most often passes over the stream, as an auth plugin off its protected
    /// domains, and reads the line only if it asks for it.)
    pub(crate) fn select_by_authority(
        &self,
        select: impl FnOnce(&str) -> Option<Selected>,
    ) -> (Option<Selected>, bool) {
        let (picked, present, started) =
            hostcalls::with_map_value(MapType::HttpRequestHeaders, Field::Authority.name(), |value| {
                let value = value.ok().flatten();
                let picked = scan::with_str(value.unwrap_or_default(), select);
                // Copied: the value is lent, and the line's other reads need the buffer.
                let started = value.filter(|_| matches!(picked, Some(Selected::Rule(_)))).map(Started::new);
                (picked, value.is_some(), started)
            });
        if let Some(started) = started {
            let _ = self.request.set(RequestLine::capture_from(Some(started)));
        }
        (picked, present)
    }

    /// Keeps the request-header values for later phases (before the headers leave).
    pub(crate) fn keep_request_line(&self) {
        self.line();
        if self.request_kind.get().is_none() {
            self.request_kind.set(Some(RequestKind::read()));
        }
    }

    /// What the request headers say about the body: read from them until they leave, then
    /// as they were then. Kept apart from the request line, so a request answered in its
    /// header phase reads only what it uses.
    fn request_kind(&self) -> RequestKind {
        self.request_kind.get().unwrap_or_else(RequestKind::read)
    }

    /// Binary bodies and WebSocket upgrades are never delivered (as in wasm-go): called
    /// before the plugin sees the request headers when a body mode would deliver one.
    pub(crate) fn skip_undeliverable_bodies(&mut self) {
        let kind = self.request_kind();
        let websocket = kind.websocket;
        // Without a body to come, its type does not matter.
        let binary = !self.request_headers_end_stream && kind.binary_body;
        if binary || websocket {
            self.request_body_mode = BodyMode::Skip;
        }
        if websocket {
            self.response_body_mode = BodyMode::Skip;
        }
    }

    /// Whether the request had an `:authority` header (a stream without one skips the plugin).
    pub(crate) fn has_authority(&self) -> bool {
        match self.request.get() {
            Some(line) => line.get(Field::Authority).is_some(),
            None => hostcalls::with_map_value(MapType::HttpRequestHeaders, ":authority", |v| matches!(v, Ok(Some(_)))),
        }
    }

    /// At response headers: a binary response body is never delivered. The headers are read
    /// only when the plugin reads the response body.
    pub(crate) fn capture_response(&mut self, end_of_stream: bool) {
        self.response_headers_end_stream = end_of_stream;
        if self.response_body_mode != BodyMode::Skip && self.is_binary_response_body() {
            self.response_body_mode = BodyMode::Skip;
        }
    }

    /// The context id the host gave this stream.
    pub fn context_id(&self) -> u32 {
        self.context_id
    }

    /// The phase being processed.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// `:scheme` of the request (cached; valid in every phase).
    pub fn scheme(&self) -> &str {
        self.line().get(Field::Scheme).unwrap_or_default()
    }

    /// `:authority` of the request (cached; valid in every phase).
    pub fn host(&self) -> &str {
        self.line().get(Field::Authority).unwrap_or_default()
    }

    /// `:path` of the request, with its query (cached; valid in every phase).
    pub fn path(&self) -> &str {
        self.line().get(Field::Path).unwrap_or_default()
    }

    /// `:method` of the request (cached; valid in every phase).
    pub fn method(&self) -> &str {
        self.line().get(Field::Method).unwrap_or_default()
    }

    /// The request id (the `x_request_id` property Higress sets from `x-request-id`), read
    /// on first use.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.get_or_init(|| self.property_string(&["x_request_id"]).filter(|id| !id.is_empty())).as_deref()
    }

    // ----- request headers -----

    /// First value of a request header (names are case-insensitive).
    pub fn request_header(&self, name: &str) -> Option<String> {
        hostcalls::get_map_value(MapType::HttpRequestHeaders, name).ok().flatten().map(hostcalls::into_string)
    }

    /// First value of a request header, as raw bytes.
    pub fn request_header_bytes(&self, name: &str) -> Option<Vec<u8>> {
        hostcalls::get_map_value(MapType::HttpRequestHeaders, name).ok().flatten()
    }

    /// Every request header, in order (repeated names appear repeatedly).
    pub fn request_headers(&self) -> Vec<(String, String)> {
        hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default()
    }

    /// Sets a request header, replacing its values.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_set_request_header`]
    /// returns it instead.
    pub fn set_request_header(&mut self, name: &str, value: &str) {
        let result = self.try_set_request_header(name, value);
        self.warn_failed("set_request_header", result);
    }

    /// Sets a request header, replacing its values.
    pub fn try_set_request_header(&mut self, name: &str, value: &str) -> HostResult<()> {
        hostcalls::replace_map_value(MapType::HttpRequestHeaders, name, value.as_bytes())
    }

    /// Adds a request header value, keeping existing ones.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_add_request_header`]
    /// returns it instead.
    pub fn add_request_header(&mut self, name: &str, value: &str) {
        let result = self.try_add_request_header(name, value);
        self.warn_failed("add_request_header", result);
    }

    /// Adds a request header value, keeping existing ones.
    pub fn try_add_request_header(&mut self, name: &str, value: &str) -> HostResult<()> {
        hostcalls::add_map_value(MapType::HttpRequestHeaders, name, value.as_bytes())
    }

    /// Removes a request header.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_remove_request_header`]
    /// returns it instead.
    pub fn remove_request_header(&mut self, name: &str) {
        let result = self.try_remove_request_header(name);
        self.warn_failed("remove_request_header", result);
    }

    /// Removes a request header.
    pub fn try_remove_request_header(&mut self, name: &str) -> HostResult<()> {
        hostcalls::remove_map_value(MapType::HttpRequestHeaders, name)
    }

    /// Replaces all request headers.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn;
    /// [`Http::try_set_request_headers`] returns it instead.
    pub fn set_request_headers<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, headers: &[(K, V)]) {
        let result = self.try_set_request_headers(headers);
        self.warn_failed("set_request_headers", result);
    }

    /// Replaces all request headers, returning the host's error.
    pub fn try_set_request_headers<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, headers: &[(K, V)]) -> HostResult<()> {
        hostcalls::set_map(MapType::HttpRequestHeaders, headers)
    }

    // ----- response headers -----

    /// First value of a response header.
    pub fn response_header(&self, name: &str) -> Option<String> {
        hostcalls::get_map_value(MapType::HttpResponseHeaders, name).ok().flatten().map(hostcalls::into_string)
    }

    /// Every response header, in order.
    pub fn response_headers(&self) -> Vec<(String, String)> {
        hostcalls::get_map(MapType::HttpResponseHeaders).unwrap_or_default()
    }

    /// Sets a response header, replacing its values.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_set_response_header`]
    /// returns it instead.
    pub fn set_response_header(&mut self, name: &str, value: &str) {
        let result = self.try_set_response_header(name, value);
        self.warn_failed("set_response_header", result);
    }

    /// Sets a response header, replacing its values.
    pub fn try_set_response_header(&mut self, name: &str, value: &str) -> HostResult<()> {
        hostcalls::replace_map_value(MapType::HttpResponseHeaders, name, value.as_bytes())
    }

    /// Adds a response header value.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_add_response_header`]
    /// returns it instead.
    pub fn add_response_header(&mut self, name: &str, value: &str) {
        let result = self.try_add_response_header(name, value);
        self.warn_failed("add_response_header", result);
    }

    /// Adds a response header value.
    pub fn try_add_response_header(&mut self, name: &str, value: &str) -> HostResult<()> {
        hostcalls::add_map_value(MapType::HttpResponseHeaders, name, value.as_bytes())
    }

    /// Removes a response header.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_remove_response_header`]
    /// returns it instead.
    pub fn remove_response_header(&mut self, name: &str) {
        let result = self.try_remove_response_header(name);
        self.warn_failed("remove_response_header", result);
    }

    /// Removes a response header.
    pub fn try_remove_response_header(&mut self, name: &str) -> HostResult<()> {
        hostcalls::remove_map_value(MapType::HttpResponseHeaders, name)
    }

    /// Replaces all response headers.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn;
    /// [`Http::try_set_response_headers`] returns it instead.
    pub fn set_response_headers<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, headers: &[(K, V)]) {
        let result = self.try_set_response_headers(headers);
        self.warn_failed("set_response_headers", result);
    }

    /// Replaces all response headers, returning the host's error.
    pub fn try_set_response_headers<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, headers: &[(K, V)]) -> HostResult<()> {
        hostcalls::set_map(MapType::HttpResponseHeaders, headers)
    }

    // ----- trailers -----

    /// Every request trailer.
    pub fn request_trailers(&self) -> Vec<(String, String)> {
        hostcalls::get_map(MapType::HttpRequestTrailers).unwrap_or_default()
    }

    /// Sets a request trailer.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_set_request_trailer`]
    /// returns it instead.
    pub fn set_request_trailer(&mut self, name: &str, value: &str) {
        let result = self.try_set_request_trailer(name, value);
        self.warn_failed("set_request_trailer", result);
    }

    /// Sets a request trailer.
    pub fn try_set_request_trailer(&mut self, name: &str, value: &str) -> HostResult<()> {
        hostcalls::replace_map_value(MapType::HttpRequestTrailers, name, value.as_bytes())
    }

    /// Every response trailer.
    pub fn response_trailers(&self) -> Vec<(String, String)> {
        hostcalls::get_map(MapType::HttpResponseTrailers).unwrap_or_default()
    }

    /// Sets a response trailer.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_set_response_trailer`]
    /// returns it instead.
    pub fn set_response_trailer(&mut self, name: &str, value: &str) {
        let result = self.try_set_response_trailer(name, value);
        self.warn_failed("set_response_trailer", result);
    }

    /// Sets a response trailer.
    pub fn try_set_response_trailer(&mut self, name: &str, value: &str) -> HostResult<()> {
        hostcalls::replace_map_value(MapType::HttpResponseTrailers, name, value.as_bytes())
    }

    // ----- bodies -----

    /// The request body buffered so far (during a request body phase).
    pub fn request_body(&self) -> Option<Vec<u8>> {
        hostcalls::get_buffer(BufferType::HttpRequestBody, 0, WHOLE).ok().flatten()
    }

    /// Replaces the request body (or, in streaming mode, the current chunk).
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_replace_request_body`]
    /// returns it instead.
    pub fn replace_request_body(&mut self, body: &[u8]) {
        let result = self.try_replace_request_body(body);
        self.warn_failed("replace_request_body", result);
    }

    /// Replaces the request body (or, in streaming mode, the current chunk).
    pub fn try_replace_request_body(&mut self, body: &[u8]) -> HostResult<()> {
        hostcalls::set_buffer(BufferType::HttpRequestBody, 0, WHOLE, body)
    }

    /// Appends to the request body.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_append_request_body`]
    /// returns it instead.
    pub fn append_request_body(&mut self, data: &[u8]) {
        let result = self.try_append_request_body(data);
        self.warn_failed("append_request_body", result);
    }

    /// Appends to the request body.
    pub fn try_append_request_body(&mut self, data: &[u8]) -> HostResult<()> {
        hostcalls::set_buffer(BufferType::HttpRequestBody, WHOLE, 0, data)
    }

    /// Prepends to the request body.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_prepend_request_body`]
    /// returns it instead.
    pub fn prepend_request_body(&mut self, data: &[u8]) {
        let result = self.try_prepend_request_body(data);
        self.warn_failed("prepend_request_body", result);
    }

    /// Prepends to the request body.
    pub fn try_prepend_request_body(&mut self, data: &[u8]) -> HostResult<()> {
        hostcalls::set_buffer(BufferType::HttpRequestBody, 0, 0, data)
    }

    /// The response body buffered so far (during a response body phase).
    pub fn response_body(&self) -> Option<Vec<u8>> {
        hostcalls::get_buffer(BufferType::HttpResponseBody, 0, WHOLE).ok().flatten()
    }

    /// Replaces the response body (or, in streaming mode, the current chunk).
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_replace_response_body`]
    /// returns it instead.
    pub fn replace_response_body(&mut self, body: &[u8]) {
        let result = self.try_replace_response_body(body);
        self.warn_failed("replace_response_body", result);
    }

    /// Replaces the response body (or, in streaming mode, the current chunk).
    pub fn try_replace_response_body(&mut self, body: &[u8]) -> HostResult<()> {
        hostcalls::set_buffer(BufferType::HttpResponseBody, 0, WHOLE, body)
    }

    /// Appends to the response body.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_append_response_body`]
    /// returns it instead.
    pub fn append_response_body(&mut self, data: &[u8]) {
        let result = self.try_append_response_body(data);
        self.warn_failed("append_response_body", result);
    }

    /// Appends to the response body.
    pub fn try_append_response_body(&mut self, data: &[u8]) -> HostResult<()> {
        hostcalls::set_buffer(BufferType::HttpResponseBody, WHOLE, 0, data)
    }

    /// Prepends to the response body.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_prepend_response_body`]
    /// returns it instead.
    pub fn prepend_response_body(&mut self, data: &[u8]) {
        let result = self.try_prepend_response_body(data);
        self.warn_failed("prepend_response_body", result);
    }

    /// Prepends to the response body.
    pub fn try_prepend_response_body(&mut self, data: &[u8]) -> HostResult<()> {
        hostcalls::set_buffer(BufferType::HttpResponseBody, 0, 0, data)
    }

    /// Whether a request body follows the headers.
    pub fn has_request_body(&self) -> bool {
        !self.request_headers_end_stream
    }

    /// Whether a response body follows the headers.
    pub fn has_response_body(&self) -> bool {
        !self.response_headers_end_stream
    }

    /// How the request body will be delivered to this plugin now: `Skip` once the plugin
    /// called [`Http::dont_read_request_body`], or when the SDK never delivers it (a binary
    /// body, a WebSocket upgrade). A plugin that holds the headers until the body must check
    /// it is coming, or the headers would go on untouched when the body passes.
    pub fn request_body_mode(&self) -> BodyMode {
        self.request_body_mode
    }

    /// How the response body will be delivered to this plugin now (see
    /// [`Http::request_body_mode`]); binary responses are `Skip` from the response headers on.
    pub fn response_body_mode(&self) -> BodyMode {
        self.response_body_mode
    }

    /// This plugin is done with the request: no later callback runs for it, and the SDK keeps
    /// nothing of it - the cheapest way to let a request through (an auth plugin that
    /// accepted or skipped it, a plugin whose rules do not apply to it). Callouts of this
    /// stream still pending are not answered to it.
    pub fn skip_rest(&mut self) {
        self.rest_skipped = true;
    }

    /// Stop delivering the request body to this plugin; it streams through.
    pub fn dont_read_request_body(&mut self) {
        self.request_body_mode = BodyMode::Skip;
    }

    /// Stop delivering the response body to this plugin; it streams through.
    pub fn dont_read_response_body(&mut self) {
        self.response_body_mode = BodyMode::Skip;
    }

    /// Switch this request from streaming to buffered body delivery.
    pub fn buffer_request_body(&mut self) {
        self.request_body_mode = BodyMode::Buffered;
    }

    /// Switch this response from streaming to buffered body delivery.
    pub fn buffer_response_body(&mut self) {
        self.response_body_mode = BodyMode::Buffered;
    }

    /// Whether this is a WebSocket upgrade (bodies are never delivered for those).
    pub fn is_websocket(&self) -> bool {
        self.request_kind().websocket
    }

    /// Whether the request body is binary (octet-stream, gRPC, or content-encoded).
    pub fn is_binary_request_body(&self) -> bool {
        self.request_kind().binary_body
    }

    /// Whether the response body is binary (octet-stream, gRPC, or content-encoded).
    /// Read from the response headers on first use (in the response-header phase).
    pub fn is_binary_response_body(&self) -> bool {
        if let Some(binary) = self.response_binary.get() {
            return binary;
        }
        let binary = request_line::binary_body(MapType::HttpResponseHeaders);
        self.response_binary.set(Some(binary));
        binary
    }

    /// Caps how much request body Envoy buffers for this stream (bytes).
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_set_request_body_buffer_limit`]
    /// returns it instead.
    pub fn set_request_body_buffer_limit(&mut self, bytes: u32) {
        let result = self.try_set_request_body_buffer_limit(bytes);
        self.warn_failed("set_request_body_buffer_limit", result);
    }

    /// Caps how much request body Envoy buffers for this stream (bytes).
    pub fn try_set_request_body_buffer_limit(&mut self, bytes: u32) -> HostResult<()> {
        hostcalls::set_property(&["set_decoder_buffer_limit"], bytes.to_string().as_bytes())
    }

    /// Caps how much response body Envoy buffers for this stream (bytes).
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_set_response_body_buffer_limit`]
    /// returns it instead.
    pub fn set_response_body_buffer_limit(&mut self, bytes: u32) {
        let result = self.try_set_response_body_buffer_limit(bytes);
        self.warn_failed("set_response_body_buffer_limit", result);
    }

    /// Caps how much response body Envoy buffers for this stream (bytes).
    pub fn try_set_response_body_buffer_limit(&mut self, bytes: u32) -> HostResult<()> {
        hostcalls::set_property(&["set_encoder_buffer_limit"], bytes.to_string().as_bytes())
    }

    // ----- control -----

    /// Answers the request locally with `status`, `headers` and `body`. `details` (by
    /// convention `<plugin>.<reason>`) shows up as `response.code_details`. The request goes
    /// no further; the reply still passes through the response phases.
    ///
    /// A failure (the stream was already answered or reset) is logged at warn;
    /// [`Http::try_send_local_response`] returns it instead.
    pub fn send_local_response(&mut self, status: u32, details: &str, headers: &[(&str, &str)], body: &[u8]) {
        let result = self.try_send_local_response(status, details, headers, body);
        self.warn_failed("send_local_response", result);
    }

    /// Answers the request locally, returning the host's error.
    pub fn try_send_local_response(
        &mut self,
        status: u32,
        details: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HostResult<()> {
        self.local_response_sent = true;
        hostcalls::send_local_response(status, details, body, headers, -1)
    }

    /// [`Http::send_local_response`] with the headers already encoded
    /// ([`higress_abi::header_map`]): for replies whose headers are mostly the same every
    /// time, encoded once at config time and completed per request with
    /// [`higress_abi::header_map::encode_before`], where encoding them all again would cost
    /// a few hundred instructions per header.
    ///
    /// A failure (the stream was already answered or reset) is logged at warn.
    pub fn send_local_response_encoded(&mut self, status: u32, details: &str, headers: &[u8], body: &[u8]) {
        self.local_response_sent = true;
        let result = hostcalls::send_local_response_encoded(status, details, body, headers, -1);
        self.warn_failed("send_local_response", result);
    }

    /// Whether this stream has already been answered locally.
    pub fn local_response_sent(&self) -> bool {
        self.local_response_sent
    }

    /// Resumes a request paused by this plugin (after a callout, for instance).
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_resume_request`]
    /// returns it instead.
    pub fn resume_request(&mut self) {
        let result = self.try_resume_request();
        self.warn_failed("resume_request", result);
    }

    /// Resumes a request paused by this plugin (after a callout, for instance).
    pub fn try_resume_request(&mut self) -> HostResult<()> {
        hostcalls::continue_stream(StreamType::HttpRequest)
    }

    /// Resumes a response paused by this plugin.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_resume_response`]
    /// returns it instead.
    pub fn resume_response(&mut self) {
        let result = self.try_resume_response();
        self.warn_failed("resume_response", result);
    }

    /// Resumes a response paused by this plugin.
    pub fn try_resume_response(&mut self) -> HostResult<()> {
        hostcalls::continue_stream(StreamType::HttpResponse)
    }

    /// Keeps Envoy from picking a new route after this plugin changed headers.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_disable_reroute`]
    /// returns it instead.
    pub fn disable_reroute(&mut self) {
        let result = self.try_disable_reroute();
        self.warn_failed("disable_reroute", result);
    }

    /// Keeps Envoy from picking a new route after this plugin changed headers.
    pub fn try_disable_reroute(&mut self) -> HostResult<()> {
        hostcalls::set_property(&[CLEAR_ROUTE_CACHE], b"off")
    }

    // ----- properties -----

    /// Reads a property by path segments (`&["route_name"]`, `&["source", "address"]`).
    pub fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        hostcalls::get_property(path).ok().flatten()
    }

    /// Reads a property as a string (invalid UTF-8 replaced).
    pub fn property_string(&self, path: &[&str]) -> Option<String> {
        self.property(path).map(hostcalls::into_string)
    }

    /// Writes a property.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_set_property`]
    /// returns it instead.
    pub fn set_property(&mut self, path: &[&str], value: &[u8]) {
        let result = self.try_set_property(path, value);
        self.warn_failed("set_property", result);
    }

    /// Writes a property.
    pub fn try_set_property(&mut self, path: &[&str], value: &[u8]) -> HostResult<()> {
        hostcalls::set_property(path, value)
    }

    /// The `route_name` property (empty when the host has none).
    pub fn route_name(&self) -> String {
        self.property_string(&["route_name"]).unwrap_or_default()
    }

    /// The `cluster_name` property (`outbound|port|subset|fqdn`; empty when none).
    pub fn cluster_name(&self) -> String {
        self.property_string(&["cluster_name"]).unwrap_or_default()
    }

    // ----- per-request values (wasm-go's SetContext / GetContext) -----

    /// Stores a value for the rest of this request, under `key`.
    pub fn set_context<T: Any>(&mut self, key: &str, value: T) {
        self.values.get_or_insert_with(Box::default).insert(key.to_string(), Box::new(value));
    }

    /// A value stored with [`Http::set_context`], if it has type `T`.
    pub fn context<T: Any>(&self, key: &str) -> Option<&T> {
        self.values.as_ref()?.get(key)?.downcast_ref()
    }

    /// A mutable value stored with [`Http::set_context`], if it has type `T`.
    pub fn context_mut<T: Any>(&mut self, key: &str) -> Option<&mut T> {
        self.values.as_mut()?.get_mut(key)?.downcast_mut()
    }

    // ----- user attributes for the access log -----

    /// Records an attribute for the access log (written by [`Http::write_user_attributes_to_log`]).
    pub fn set_user_attribute(&mut self, key: &str, value: impl Into<Value>) {
        self.attributes.get_or_insert_with(Map::new).insert(key.to_string(), value.into());
    }

    /// An attribute recorded with [`Http::set_user_attribute`].
    pub fn user_attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.as_ref()?.get(key)
    }

    /// Merges the recorded attributes into the `custom_log` property, which Higress's access
    /// log prints. Attributes other plugins wrote are kept.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_write_user_attributes_to_log`]
    /// returns it instead.
    pub fn write_user_attributes_to_log(&mut self) {
        let result = self.try_write_user_attributes_to_log();
        self.warn_failed("write_user_attributes_to_log", result);
    }

    /// Merges the recorded attributes into the `custom_log` property, which Higress's access
    /// log prints. Attributes other plugins wrote are kept.
    pub fn try_write_user_attributes_to_log(&mut self) -> HostResult<()> {
        self.try_write_user_attributes_to(CUSTOM_LOG_KEY)
    }

    /// Merges the recorded attributes into the property `key` (`ai_log` for AI plugins).
    /// The property holds a JSON object, string-escaped, as wasm-go writes it.
    ///
    /// A failure (only possible in the wrong phase) is logged at warn; [`Http::try_write_user_attributes_to`]
    /// returns it instead.
    pub fn write_user_attributes_to(&mut self, key: &str) {
        let result = self.try_write_user_attributes_to(key);
        self.warn_failed("write_user_attributes_to", result);
    }

    /// Merges the recorded attributes into the property `key` (`ai_log` for AI plugins).
    /// The property holds a JSON object, string-escaped, as wasm-go writes it.
    pub fn try_write_user_attributes_to(&mut self, key: &str) -> HostResult<()> {
        let mut merged = match hostcalls::get_property(&[key]) {
            Ok(Some(previous)) if !previous.is_empty() => unescape_object(&previous).ok_or(Status::ParseFailure)?,
            _ => Map::new(),
        };
        for (k, v) in self.attributes.iter().flatten() {
            merged.insert(k.clone(), v.clone());
        }
        let json = Value::Object(merged).to_string();
        hostcalls::set_property(&[key], escape_json_string(&json).as_bytes())
    }
}

impl Http {
    /// Logs a failed mutation with the method and the phase, the usual cause. Inlined, so a
    /// mutation that succeeds costs a test, not a call (every header change goes through
    /// here); the line is written out of line.
    #[inline]
    fn warn_failed(&self, method: &str, result: HostResult<()>) {
        if let Err(status) = result {
            self.warn(method, status);
        }
    }

    #[cold]
    fn warn(&self, method: &str, status: Status) {
        crate::log_warn!("{method} failed in phase {:?}: {status}", self.phase);
    }
}

/// The rule [`request_line::binary_body`] applies to a map, on two values at hand.
#[cfg(test)]
fn is_binary(content_type: &str, content_encoding: &str) -> bool {
    request_line::is_binary_type(content_type.as_bytes()) || !content_encoding.is_empty()
}

/// JSON-escapes `raw` without the surrounding quotes (wasm-go's `MarshalStr`).
pub(crate) fn escape_json_string(raw: &str) -> String {
    let quoted = Value::String(raw.to_string()).to_string();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_string()
}

/// Reads a string-escaped JSON object (wasm-go's `UnmarshalStr` then `json.Unmarshal`).
pub(crate) fn unescape_object(escaped: &[u8]) -> Option<Map<String, Value>> {
    let mut quoted = Vec::with_capacity(escaped.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(escaped);
    quoted.push(b'"');
    let text: String = serde_json::from_slice(&quoted).ok()?;
    match serde_json::from_str(&text).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn attribute_escaping_round_trips() {
        let json = r#"{"a":"x\"y","n":1}"#;
        let escaped = escape_json_string(json);
        assert_eq!(escaped, r#"{\"a\":\"x\\\"y\",\"n\":1}"#);
        let map = unescape_object(escaped.as_bytes()).unwrap();
        assert_eq!(map.get("a").unwrap(), "x\"y");
        assert!(unescape_object(b"not json").is_none());
        assert!(unescape_object(b"[1]").is_none());
    }

    #[test]
    fn binary_detection() {
        assert!(is_binary("application/octet-stream", ""));
        assert!(is_binary("application/grpc", ""));
        assert!(is_binary("application/json", "gzip"));
        assert!(!is_binary("application/json", ""));
    }
}
