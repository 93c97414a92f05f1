//! The values a stream is made of and produces: directions, filter actions, messages and
//! the pieces of them that leave the chain, local replies, deferred plugin requests, and
//! what each callback cost.

use crate::headers::HeaderMap;

/// A direction of an HTTP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Request,
    Response,
}

/// What a filter did with the headers of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadersState {
    NotReached,
    /// `StopIteration`: headers wait, body callbacks continue.
    Held,
    /// `StopAllIteration*`: everything waits until the filter resumes.
    HeldAll,
    Passed,
    /// `ContinueAndEndStream`: headers went on as the end; the rest is dropped.
    EndedStream,
}

/// The action a filter returned, after the host's conversions (Envoy's filter statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Passed on (for a whole chain: reached its end).
    Continue,
    /// Headers passed on as the end of the stream.
    ContinueAndEndStream,
    /// Headers held; body still delivered to the filter.
    StopIteration,
    /// Everything held and buffered until the filter resumes.
    StopAllIterationAndBuffer,
    /// Everything held until the filter resumes.
    StopAllIterationAndWatermark,
    /// Body held and buffered.
    StopIterationAndBuffer,
    /// Body held and buffered, with flow control.
    StopIterationAndWatermark,
    /// Body chunk held and not buffered (dropped unless the filter kept it).
    StopIterationNoBuffer,
}

/// A request or response as it left the chain (toward the upstream or the client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Headers, once they passed the chain.
    pub headers: Option<HeaderMap>,
    /// Body bytes, concatenated.
    pub body: Vec<u8>,
    /// Trailers, if any passed.
    pub trailers: Option<HeaderMap>,
    /// Whether the end of the message passed.
    pub end_of_stream: bool,
    /// Whether it was cut short (a local reply or a reset).
    pub reset: bool,
}

impl Message {
    /// A header of the message, if it has headers.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.as_ref()?.get(name)
    }

    /// The `:status` of a response.
    pub fn status(&self) -> Option<u16> {
        self.header(":status")?.parse().ok()
    }

    /// The body as UTF-8 (invalid sequences replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One piece of a message leaving the chain, in order (for a proxy that streams).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutEvent {
    /// Headers; `true` when nothing follows.
    Headers(HeaderMap, bool),
    /// A body chunk; `true` when it ends the message.
    Data(Vec<u8>, bool),
    /// Trailers (end the message).
    Trailers(HeaderMap),
    /// The message was cut short.
    Reset,
}

/// A local reply as the plugin sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResponse {
    /// Status code.
    pub status: u32,
    /// Headers the plugin added.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// Details string (`<plugin>.<reason>`), spaces replaced by `_` as Envoy does.
    pub details: String,
    /// gRPC status, when one was given.
    pub grpc_status: Option<u32>,
    /// Index of the filter that sent it.
    pub filter: usize,
}

impl LocalResponse {
    /// The body as UTF-8 (invalid sequences replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An action a plugin asked for during a callback; applied when the callback returns.
#[derive(Debug, Clone)]
pub(crate) enum Deferred {
    Continue(Dir),
    LocalReply(LocalResponse),
    Close,
    /// Higress: response body data injected after the filter that asked.
    Inject(Vec<u8>, bool),
}

/// What one callback cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStats {
    /// The export called (`proxy_on_request_headers`, ...).
    pub callback: &'static str,
    /// The context it ran for.
    pub context_id: u32,
    /// Wasm instructions executed (wasmtime fuel consumed), including guest allocations made
    /// for hostcalls during the callback; 0 when the plugin is not metered.
    pub instructions: u64,
    /// The VM's linear memory size after the callback, in bytes.
    pub memory_bytes: usize,
}
