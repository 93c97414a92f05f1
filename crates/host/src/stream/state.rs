//! The state of one HTTP stream: what every filter of the chain shares (headers, trailers,
//! properties) and what each filter holds on its own (its iteration state and body buffer).

pub use super::types::{Action, CallStats, LocalResponse, Message, OutEvent};
pub(crate) use super::types::{Deferred, Dir, HeadersState};
use crate::error::HostError;
use crate::headers::HeaderMap;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

pub(crate) type StreamCell = Rc<RefCell<StreamState>>;

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

/// What the stream layer needs of whatever runs a filter: the narrow port between Envoy's
/// filter-chain rules (this module and `chain`) and a wasm VM - or a scripted fake in the
/// chain's unit tests. Callbacks report the raw action already converted to [`Action`].
pub(crate) trait FilterVm {
    /// The plugin's name, for messages.
    fn name(&self) -> String;
    /// Whether the VM trapped and is no longer called.
    fn is_failed(&self) -> bool;
    /// Creates the filter's context for a stream (`proxy_on_context_create`).
    fn create_context(&self, stream: Weak<RefCell<StreamState>>, filter: usize) -> Result<(u32, CallStats), HostError>;
    /// Forgets a context after `proxy_on_delete`.
    fn release_context(&self, ctx: u32);
    /// `proxy_on_{request,response}_headers`.
    fn on_headers(&self, dir: Dir, ctx: u32, eos: bool) -> Result<Called, HostError>;
    /// `proxy_on_{request,response}_body`.
    fn on_body(&self, dir: Dir, ctx: u32, size: usize, eos: bool) -> Result<Called, HostError>;
    /// `proxy_on_{request,response}_trailers`.
    fn on_trailers(&self, dir: Dir, ctx: u32) -> Result<Called, HostError>;
    /// `proxy_on_log`.
    fn on_log(&self, ctx: u32) -> Result<Called, HostError>;
    /// `proxy_on_done`.
    fn on_done(&self, ctx: u32) -> Result<Called, HostError>;
    /// `proxy_on_delete`.
    fn on_delete(&self, ctx: u32) -> Result<Called, HostError>;
}

/// What a callback did.
pub(crate) struct Called {
    pub action: Action,
    pub stats: CallStats,
    /// Other streams the callback asked something of (resumed, answered...).
    pub touched: Vec<Weak<RefCell<StreamState>>>,
    /// The plugin sent a local reply: Envoy stops iteration whatever the callback returned.
    pub stop_next: bool,
}

/// One filter of the chain: what runs it and its context for this stream.
pub(crate) struct FilterSlot {
    pub vm: Rc<dyn FilterVm>,
    pub context_id: Option<u32>,
    pub fail_open: bool,
    pub request: FilterDir,
    pub response: FilterDir,
    pub in_log: bool,
    /// The failure reply (503) for this filter was sent; its VM is not called again.
    pub failure_reply_sent: bool,
}

impl FilterSlot {
    pub(crate) fn new(vm: Rc<dyn FilterVm>, fail_open: bool) -> Self {
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

/// Callbacks a filter runs on a plain request and response.
const CALLS_PER_FILTER: usize = 8;

pub(crate) struct StreamState {
    pub slots: Vec<FilterSlot>,
    pub request_headers: HeaderMap,
    pub request_trailers: Option<HeaderMap>,
    pub response_headers: HeaderMap,
    pub response_trailers: Option<HeaderMap>,
    /// Properties set by the host (route_name, ...) and by plugins (filter state).
    pub properties: HashMap<Vec<u8>, Vec<u8>>,
    /// The proxy's facts about the request, read as properties when not set otherwise.
    pub info: Option<super::RequestInfo>,
    pub deferred: Vec<(usize, Deferred)>,
    pub upstream: Message,
    pub downstream: Message,
    /// Whether `upstream` and `downstream` keep what passed (headers, the whole body) for
    /// inspection, or only mark it: a proxy reads the events and must not hold every body.
    pub keep_messages: bool,
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
        // Room for the callbacks a request usually runs in each filter (context create,
        // headers and body both ways, log, done, delete), so the list is allocated once.
        let calls = Vec::with_capacity(slots.len() * CALLS_PER_FILTER);
        StreamState {
            slots,
            request_headers: HeaderMap::new(),
            request_trailers: None,
            response_headers: HeaderMap::new(),
            response_trailers: None,
            properties: HashMap::new(),
            info: None,
            deferred: Vec::new(),
            upstream: Message::default(),
            downstream: Message::default(),
            keep_messages: true,
            upstream_events: Vec::new(),
            downstream_events: Vec::new(),
            local_response: None,
            request_aborted: false,
            response_aborted: false,
            response_started: false,
            complete: false,
            traps: Vec::new(),
            calls,
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
