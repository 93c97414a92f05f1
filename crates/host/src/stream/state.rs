//! The state of one HTTP stream: what every filter of the chain shares (headers, trailers,
//! properties) and what each filter holds on its own (its iteration state and body buffer).

use crate::error::HostError;
use crate::headers::HeaderMap;
use crate::vm::{CallStats, Vm};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

pub(crate) type StreamCell = Rc<RefCell<StreamState>>;

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

/// One filter's state in one direction.
#[derive(Debug)]
pub(crate) struct FilterDir {
    pub headers: HeadersState,
    pub held_action: Action,
    pub headers_eos: bool,
    pub headers_visible: bool,
    /// Data held at this filter, or the chunk being delivered to it.
    pub buffer: Vec<u8>,
    /// The filter returned StopIterationAndBuffer: the next delivery carries everything held.
    pub buffering: bool,
    pub body_visible: bool,
    /// The end of this direction reached this filter.
    pub data_end: bool,
    pub trailers_held: bool,
    pub trailers_visible: bool,
    /// This filter passed the end of the direction on.
    pub forwarded_end: bool,
}

impl FilterDir {
    pub(crate) fn new() -> Self {
        FilterDir {
            headers: HeadersState::NotReached,
            held_action: Action::Continue,
            headers_eos: false,
            headers_visible: false,
            buffer: Vec::new(),
            buffering: false,
            body_visible: false,
            data_end: false,
            trailers_held: false,
            trailers_visible: false,
            forwarded_end: false,
        }
    }
}

/// One filter of the chain: a VM and its context for this stream.
pub(crate) struct FilterSlot {
    pub vm: Vm,
    pub context_id: Option<u32>,
    pub fail_open: bool,
    pub request: FilterDir,
    pub response: FilterDir,
    pub in_log: bool,
    /// The failure reply (503) for this filter was sent; its VM is not called again.
    pub failure_reply_sent: bool,
}

impl FilterSlot {
    pub(crate) fn new(vm: Vm, fail_open: bool) -> Self {
        FilterSlot {
            vm,
            context_id: None,
            fail_open,
            request: FilterDir::new(),
            response: FilterDir::new(),
            in_log: false,
            failure_reply_sent: false,
        }
    }

    pub(crate) fn dir(&self, dir: Dir) -> &FilterDir {
        match dir {
            Dir::Request => &self.request,
            Dir::Response => &self.response,
        }
    }

    pub(crate) fn dir_mut(&mut self, dir: Dir) -> &mut FilterDir {
        match dir {
            Dir::Request => &mut self.request,
            Dir::Response => &mut self.response,
        }
    }
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

pub(crate) struct StreamState {
    pub slots: Vec<FilterSlot>,
    pub request_headers: HeaderMap,
    pub request_trailers: Option<HeaderMap>,
    pub response_headers: HeaderMap,
    pub response_trailers: Option<HeaderMap>,
    /// Properties set by the host (route_name, ...) and by plugins (filter state).
    pub properties: HashMap<Vec<u8>, Vec<u8>>,
    pub deferred: Vec<(usize, Deferred)>,
    pub upstream: Message,
    pub downstream: Message,
    pub upstream_events: Vec<OutEvent>,
    pub downstream_events: Vec<OutEvent>,
    pub local_response: Option<LocalResponse>,
    pub request_aborted: bool,
    pub response_aborted: bool,
    pub response_started: bool,
    pub complete: bool,
    /// Traps, with the index of the filter that trapped.
    pub traps: Vec<(usize, HostError)>,
    pub calls: Vec<CallStats>,
    pub stopped_by: Option<(usize, Action)>,
    pub host_notes: Vec<String>,
    /// Called when the stream moved on its own (a callout answer resumed it, ...).
    pub waker: Option<std::rc::Rc<dyn Fn()>>,
}

impl StreamState {
    pub(crate) fn new(slots: Vec<FilterSlot>) -> Self {
        StreamState {
            slots,
            request_headers: HeaderMap::new(),
            request_trailers: None,
            response_headers: HeaderMap::new(),
            response_trailers: None,
            properties: HashMap::new(),
            deferred: Vec::new(),
            upstream: Message::default(),
            downstream: Message::default(),
            upstream_events: Vec::new(),
            downstream_events: Vec::new(),
            local_response: None,
            request_aborted: false,
            response_aborted: false,
            response_started: false,
            complete: false,
            traps: Vec::new(),
            calls: Vec::new(),
            stopped_by: None,
            host_notes: Vec::new(),
            waker: None,
        }
    }

    pub(crate) fn fd(&mut self, i: usize, dir: Dir) -> Option<&mut FilterDir> {
        self.slots.get_mut(i).map(|s| s.dir_mut(dir))
    }

    pub(crate) fn headers_mut(&mut self, dir: Dir) -> &mut HeaderMap {
        match dir {
            Dir::Request => &mut self.request_headers,
            Dir::Response => &mut self.response_headers,
        }
    }

    pub(crate) fn aborted(&self, dir: Dir) -> bool {
        self.complete
            || match dir {
                Dir::Request => self.request_aborted,
                Dir::Response => self.response_aborted,
            }
    }
}
