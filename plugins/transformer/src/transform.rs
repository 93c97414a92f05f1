//! One direction's transformation: read what the rules need from the host, run headers, then
//! the query, then the body (Go's order, so a `map` reads its source as Go's does), and write
//! back only what changed. Header rules start on the host's map key by key (`keyed`): the
//! whole map is read only for a rule that needs it, and from that rule on.
//!
//! A request's headers wait for its body (`StopIteration`), so everything is transformed in
//! the body callback. A response's cannot: proxy-wasm turns a response-header
//! `StopIteration` into "stop everything", which would hold the body back from the plugin
//! too. So a response's headers are transformed and sent first, and its body after.

use crate::body::{Body, Kind, Unparsed};
use crate::keyed;
use crate::kv::{Pairs, Val};
use crate::ops::Direction;
use crate::request_path::RequestPath;
use crate::run::{self, Sources, Subject};
use crate::{urlencoded, MAX_BODY};
use higress_sdk::abi::{header_map, MapType, Status};
use higress_sdk::hostcalls;
use higress_sdk::prelude::*;
use std::borrow::Cow;

/// Request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

impl Side {
    fn headers(self) -> MapType {
        match self {
            Side::Request => MapType::HttpRequestHeaders,
            Side::Response => MapType::HttpResponseHeaders,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
        }
    }

    /// The kind of body to read: the rules read the body, one follows, the SDK will deliver
    /// it (not binary, not a WebSocket) and its type is one the plugin transforms. A body
    /// declared over [`MAX_BODY`] is not read (nor buffered).
    pub fn body_to_read(self, http: &Http, rules: &Direction) -> Option<Kind> {
        let (coming, mode) = match self {
            Side::Request => (http.has_request_body(), http.request_body_mode()),
            Side::Response => (http.has_response_body(), http.response_body_mode()),
        };
        if !rules.reads_body() || !coming || mode == BodyMode::Skip {
            return None;
        }
        // Both values lent, not copied: they are only looked at.
        let kind = hostcalls::with_map_value(self.headers(), "content-type", |value| {
            let content_type = value.ok().flatten()?;
            match self {
                Side::Request => Kind::of_request(content_type),
                Side::Response => Kind::of_response(content_type),
            }
        })?;
        let declared = hostcalls::with_map_value(self.headers(), "content-length", |value| {
            std::str::from_utf8(value.ok().flatten()?).ok()?.trim().parse::<usize>().ok()
        });
        if let Some(length) = declared.filter(|length| *length > MAX_BODY) {
            log_warn!("{} body of {length} bytes is over {MAX_BODY}: left untouched", self.name());
            return None;
        }
        Some(kind)
    }

    /// Parses a body for the rules; `None` (logged) when it is over [`MAX_BODY`] or does not
    /// parse: it then passes on untouched.
    pub fn parse<'a>(self, kind: &'a Kind, bytes: &'a [u8]) -> Option<Body<'a>> {
        if bytes.len() > MAX_BODY {
            log_warn!("{} body of {} bytes is over {MAX_BODY}: left untouched", self.name(), bytes.len());
            return None;
        }
        match Body::parse(kind, bytes) {
            Ok(body) => Some(body),
            Err(Unparsed::Empty) => None,
            Err(Unparsed::Malformed(why)) => {
                log_warn!("{} body is {why}: left untouched", self.name());
                None
            }
        }
    }
}

/// The request's host and path when templates read them (cached by the SDK for every phase).
fn subject(http: &Http, rules: &Direction) -> (String, String) {
    match rules.templated() {
        true => (http.host().to_string(), http.path().to_string()),
        false => Default::default(),
    }
}

/// Transforms a request: its headers, query and (when given) body.
pub fn request(http: &mut Http, rules: &Direction, mut body: Option<Body<'_>>) {
    let (host, path) = subject(http, rules);
    let subject = Subject::new(&host, &path);
    let map = MapType::HttpRequestHeaders;
    let keyed = keyed_mode(rules, &subject);
    let (mut raw_path, mut first) = (None, 0);
    if keyed {
        // The query's rules read `:path` as it came, before a header rule.
        raw_path = rules.reads_query().then(|| original_path(http, None)).flatten();
        first = keyed::run(map, &rules.headers, &subject);
    }
    let header_ops = rules.headers.get(first..).unwrap_or_default();
    let read = !header_ops.is_empty() || rules.others_read_headers();
    let Ok(encoded) = read_headers(Side::Request, read) else { return };
    let Ok(mut headers) = grouped(Side::Request, encoded.as_deref()) else { return };
    if !keyed && rules.reads_query() {
        raw_path = original_path(http, headers.as_ref());
    }
    let request_path = raw_path.as_deref().map(RequestPath::new);
    let mut query = request_path.as_ref().map(|p| urlencoded::parse(p.query));

    let mut headers_changed = false;
    if let Some(target) = headers.as_mut() {
        let sources = Sources { headers: None, query: query.as_ref(), body: body.as_ref() };
        headers_changed = run::pairs(header_ops, target, &sources, &subject);
    }
    let mut new_path = None;
    if let (Some(target), Some(request_path)) = (query.as_mut(), request_path.as_ref()) {
        let sources = Sources { headers: headers.as_ref(), query: None, body: body.as_ref() };
        if run::pairs(&rules.query, target, &sources, &subject) {
            new_path = Some(request_path.with_query(&urlencoded::encode(target)));
        }
    }
    let mut new_body = None;
    if let Some(target) = body.as_mut() {
        let sources = Sources { headers: headers.as_ref(), query: query.as_ref(), body: None };
        if target.transform(&rules.body, &sources, &subject) {
            new_body = Some(target.encode());
        }
    }

    if let Some(new_path) = new_path {
        match headers.as_mut() {
            Some(headers) => headers_changed |= headers.replace(b":path", &new_path),
            None => warn_failed("set :path", hostcalls::replace_map_value(map, ":path", &new_path)),
        }
    }
    if new_body.is_some() {
        // The length no longer holds; Envoy frames the new body.
        headers_changed |= drop_content_length(map, headers.as_mut());
    }
    if let (true, Some(headers)) = (headers_changed, headers.as_ref()) {
        write_headers(map, headers);
    }
    if let Some(new_body) = new_body {
        warn_failed("replace the request body", http.try_replace_request_body(&new_body));
    }
}

/// Transforms response headers; with a body to follow, drops `content-length` (the body is
/// transformed after the headers left) and returns the headers as transformed when the
/// body's rules map from them. `Err` (logged) when the headers cannot be read: the body must
/// then stay as it is, its length untouched.
pub fn response_headers(http: &mut Http, rules: &Direction, body_follows: bool) -> Result<Option<Pairs<'static>>, ()> {
    let (host, path) = subject(http, rules);
    let subject = Subject::new(&host, &path);
    let map = MapType::HttpResponseHeaders;
    let first = match keyed_mode(rules, &subject) {
        true => keyed::run(map, &rules.headers, &subject),
        false => 0,
    };
    let header_ops = rules.headers.get(first..).unwrap_or_default();
    let read = !header_ops.is_empty() || rules.others_read_headers();
    let encoded = read_headers(Side::Response, read).map_err(|_| ())?;
    let mut headers = grouped(Side::Response, encoded.as_deref())?;
    let mut changed = false;
    if let Some(target) = headers.as_mut() {
        changed = run::pairs(header_ops, target, &Sources::default(), &subject);
    }
    if body_follows {
        changed |= drop_content_length(map, headers.as_mut());
    }
    if let (true, Some(headers)) = (changed, headers.as_ref()) {
        write_headers(map, headers);
    }
    Ok(headers.filter(|_| body_follows && rules.body_reads_headers()).map(Pairs::into_owned))
}

/// Transforms a response body, `map`s reading the response headers kept from their phase.
pub fn response_body(http: &mut Http, rules: &Direction, mut body: Body<'_>, headers: Option<&Pairs<'_>>) {
    let (host, path) = subject(http, rules);
    let subject = Subject::new(&host, &path);
    let sources = Sources { headers, query: None, body: None };
    if body.transform(&rules.body, &sources, &subject) {
        warn_failed("replace the response body", http.try_replace_response_body(&body.encode()));
    }
}

/// Whether the header rules start on the host's map key by key (`keyed`): not when another
/// target maps from the headers (it reads them whole, as the header rules left them), nor
/// when a template could write CR, LF or NUL.
fn keyed_mode(rules: &Direction, subject: &Subject<'_>) -> bool {
    !rules.others_read_headers() && keyed::subject_is_clean(subject)
}

/// The header map in its wire encoding when `read`; `Err` (logged) when the host refuses it.
fn read_headers(side: Side, read: bool) -> Result<Option<Vec<u8>>, Status> {
    if !read {
        return Ok(None);
    }
    let encoded = hostcalls::get_map_encoded(side.headers()).inspect_err(|status| {
        log_warn!("cannot read the {} headers ({status}): not transformed", side.name());
    })?;
    Ok(Some(encoded))
}

/// Headers grouped by lower-cased name (first-appearance order), borrowing from the map's
/// encoding; `Err` (logged) when the host's encoding does not decode: writing back a map
/// read wrong would lose headers.
fn grouped(side: Side, encoded: Option<&[u8]>) -> Result<Option<Pairs<'_>>, ()> {
    let Some(encoded) = encoded else { return Ok(None) };
    let pairs = header_map::decode(encoded).map_err(|e| {
        log_warn!("cannot decode the {} headers ({e:?}): not transformed", side.name());
    })?;
    let grouped = pairs.into_iter().map(|(name, value)| {
        let name = match name.iter().any(u8::is_ascii_uppercase) {
            true => Cow::Owned(name.to_ascii_lowercase()),
            false => Cow::Borrowed(name),
        };
        (name, Val { bytes: Cow::Borrowed(value), raw: None })
    });
    Ok(Some(grouped.collect()))
}

/// Writes the headers back. A value holding CR, LF or NUL - mapped from a decoded query
/// parameter or a body, say - is dropped (logged): written, it could smuggle a header.
fn write_headers(map: MapType, headers: &Pairs) {
    let mut flat: Vec<(&[u8], &[u8])> = Vec::new();
    for entry in headers.entries() {
        for value in &entry.values {
            if keyed::breaks_header(&value.bytes) {
                log_warn!("header {} not set: its value holds CR, LF or NUL", String::from_utf8_lossy(&entry.key));
                continue;
            }
            flat.push((&entry.key, &value.bytes));
        }
    }
    warn_failed("set the headers", hostcalls::set_map(map, &flat));
}

/// Removes `content-length` from the read headers (`true`: they changed), or from the host's.
fn drop_content_length(map: MapType, headers: Option<&mut Pairs>) -> bool {
    match headers {
        Some(headers) => headers.remove(b"content-length"),
        None => {
            warn_failed("remove content-length", hostcalls::remove_map_value(map, "content-length"));
            false
        }
    }
}

/// The request's `:path` as it came (before any header rule), as bytes.
fn original_path(http: &Http, headers: Option<&Pairs>) -> Option<Vec<u8>> {
    match headers {
        Some(headers) => headers.get(b":path")?.first().map(|v| v.bytes.to_vec()),
        None => http.request_header_bytes(":path"),
    }
}

fn warn_failed(what: &str, result: Result<(), Status>) {
    if let Err(status) = result {
        log_warn!("cannot {what}: {status}");
    }
}
