//! HTTP streams through a chain of plugin VMs.

pub(crate) mod chain;
mod info;
pub(crate) mod state;
mod types;

use crate::error::HostError;
use crate::headers::HeaderMap;
use chain::{Chain, Event};
pub use info::RequestInfo;
pub use state::{Action, CallStats, LocalResponse, Message, OutEvent};
use state::{Dir, FilterSlot, FilterVm, StreamCell, StreamState};
use std::cell::RefCell;
use std::rc::Rc;

/// One filter of a chain: what runs it (a VM: [`Filter::new`]) and what to do when it fails.
pub struct Filter {
    vm: Rc<dyn FilterVm>,
    fail_open: bool,
}

impl Filter {
    /// A filter run by `vm`, failing closed (503) when it traps, as Envoy defaults.
    pub(crate) fn from_port(vm: Rc<dyn FilterVm>) -> Self {
        Filter { vm, fail_open: false }
    }

    /// When the VM traps: `true` skips the filter (FAIL_OPEN), `false` answers 503.
    pub fn fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }
}

/// One HTTP stream. Feed it what the client and the upstream send; read back what reached
/// the other side. Dropping an unfinished stream resets it (as a client disconnect).
pub struct Stream {
    cell: StreamCell,
}

impl Stream {
    /// A stream through `filters`, in request order.
    pub fn new(filters: impl IntoIterator<Item = Filter>) -> Stream {
        let slots = filters.into_iter().map(|f| FilterSlot::new(f.vm, f.fail_open)).collect();
        Stream { cell: Rc::new(RefCell::new(StreamState::new(slots))) }
    }

    /// Sets a property the plugins can read (`route_name`, `cluster_name`,
    /// `source.address`...). Dots separate path segments.
    pub fn set_property(&self, path: &str, value: impl AsRef<[u8]>) {
        self.cell.borrow_mut().properties.insert(higress_abi::property::encode_dotted(path), value.as_ref().to_vec());
    }

    /// Sets what the proxy knows about the request (route, cluster, peers, id): plugins read
    /// it as properties, each formatted only when read. A property set with `set_property`
    /// (by the host or a plugin) takes precedence.
    pub fn set_request_info(&self, info: RequestInfo) {
        self.cell.borrow_mut().info = Some(info);
    }

    /// A property, as set by the host or a plugin (dotted path; a single segment that itself
    /// contains dots, like `trace_span_tag.x`, is found too), else from the request info.
    pub fn property(&self, path: &str) -> Option<Vec<u8>> {
        let s = self.cell.borrow();
        let dotted = higress_abi::property::encode_dotted(path);
        if let Some(value) = s.properties.get(&dotted).or_else(|| s.properties.get(path.as_bytes())) {
            return Some(value.clone());
        }
        let segments = higress_abi::property::decode_path(&dotted);
        s.info.as_ref().and_then(|info| info.property(&segments))
    }

    /// A property as UTF-8.
    pub fn property_string(&self, path: &str) -> Option<String> {
        self.property(path).map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    fn input(&self, dir: Dir, event: Event, setup: impl FnOnce(&mut StreamState)) -> Result<Action, HostError> {
        let traps_before = {
            let mut s = self.cell.borrow_mut();
            if s.aborted(dir) {
                return Err(HostError::Usage("the stream was answered or reset; input ignored".into()));
            }
            s.stopped_by = None;
            setup(&mut s);
            s.traps.len()
        };
        Chain::new(&self.cell).deliver(dir, 0, event);
        let s = self.cell.borrow();
        if let Some((_, trap)) = s.traps.get(traps_before) {
            return Err(trap.clone());
        }
        Ok(s.stopped_by.map_or(Action::Continue, |(_, a)| a))
    }

    /// The client sends request headers. Returns `Continue` when they passed every filter,
    /// else what the filter that stopped them returned (a local reply shows as
    /// `StopAllIterationAndWatermark`, as Envoy converts it).
    pub fn send_request_headers(
        &self,
        headers: impl Into<HeaderMap>,
        end_of_stream: bool,
    ) -> Result<Action, HostError> {
        let headers = headers.into();
        self.input(Dir::Request, Event::Headers { eos: end_of_stream }, |s| s.request_headers = headers)
    }

    /// The client sends a request body chunk.
    pub fn send_request_body(&self, chunk: impl AsRef<[u8]>, end_of_stream: bool) -> Result<Action, HostError> {
        self.input(Dir::Request, Event::Data { bytes: chunk.as_ref().to_vec(), eos: end_of_stream }, |_| {})
    }

    /// The client sends request trailers (ending the request).
    pub fn send_request_trailers(&self, trailers: impl Into<HeaderMap>) -> Result<Action, HostError> {
        let trailers = trailers.into();
        self.input(Dir::Request, Event::Trailers, |s| s.request_trailers = Some(trailers))
    }

    /// The upstream sends response headers.
    pub fn send_response_headers(
        &self,
        headers: impl Into<HeaderMap>,
        end_of_stream: bool,
    ) -> Result<Action, HostError> {
        let headers = headers.into();
        self.input(Dir::Response, Event::Headers { eos: end_of_stream }, |s| {
            s.response_headers = headers;
            s.response_started = true;
        })
    }

    /// The upstream sends a response body chunk.
    pub fn send_response_body(&self, chunk: impl AsRef<[u8]>, end_of_stream: bool) -> Result<Action, HostError> {
        self.input(Dir::Response, Event::Data { bytes: chunk.as_ref().to_vec(), eos: end_of_stream }, |_| {})
    }

    /// The upstream sends response trailers (ending the response).
    pub fn send_response_trailers(&self, trailers: impl Into<HeaderMap>) -> Result<Action, HostError> {
        let trailers = trailers.into();
        self.input(Dir::Response, Event::Trailers, |s| s.response_trailers = Some(trailers))
    }

    /// Registers `wake`, called when the stream moves without input from its owner: a
    /// callout's answer resumed it, a plugin answered it from a callback. A proxy waits on it.
    pub fn set_waker(&self, wake: impl Fn() + 'static) {
        self.cell.borrow_mut().waker = Some(Rc::new(wake));
    }

    /// The client went away: the stream ends (access log, done, delete).
    pub fn reset(&self) {
        Chain::new(&self.cell).reset();
    }

    /// Whether [`Stream::upstream`] and [`Stream::response`] keep what passed (the default,
    /// for tests and tools). A proxy that forwards the events says `false`: it keeps no
    /// copy of the headers and no body (a long download would otherwise be held whole);
    /// the messages then only mark what passed: empty headers, no body, the end and resets.
    pub fn keep_messages(&self, keep: bool) {
        self.cell.borrow_mut().keep_messages = keep;
    }

    /// The request as it reached the upstream so far.
    pub fn upstream(&self) -> Message {
        self.cell.borrow().upstream.clone()
    }

    /// The response as it reached the client so far.
    pub fn response(&self) -> Message {
        self.cell.borrow().downstream.clone()
    }

    /// Request pieces that reached the upstream since the last call, in order.
    pub fn take_upstream_events(&self) -> Vec<OutEvent> {
        std::mem::take(&mut self.cell.borrow_mut().upstream_events)
    }

    /// Response pieces that reached the client since the last call, in order.
    pub fn take_downstream_events(&self) -> Vec<OutEvent> {
        std::mem::take(&mut self.cell.borrow_mut().downstream_events)
    }

    /// The local reply a plugin sent, as it sent it.
    pub fn local_response(&self) -> Option<LocalResponse> {
        self.cell.borrow().local_response.clone()
    }

    /// Whether the stream ended (response complete, or reset).
    pub fn is_complete(&self) -> bool {
        self.cell.borrow().complete
    }

    /// Every callback run for this stream, with its cost.
    pub fn calls(&self) -> Vec<CallStats> {
        self.cell.borrow().calls.clone()
    }

    /// Wasm instructions executed for this stream so far, over all filters.
    pub fn instructions(&self) -> u64 {
        self.cell.borrow().calls.iter().map(|c| c.instructions).sum()
    }

    /// Traps that happened on this stream.
    pub fn traps(&self) -> Vec<HostError> {
        self.cell.borrow().traps.iter().map(|(_, e)| e.clone()).collect()
    }

    /// Traps that happened on this stream, each with the name of the plugin that trapped
    /// (what a proxy logs).
    pub fn traps_by_plugin(&self) -> Vec<(String, HostError)> {
        let s = self.cell.borrow();
        s.traps
            .iter()
            .map(|(i, e)| (s.slots.get(*i).map(|slot| slot.vm.name()).unwrap_or_default(), e.clone()))
            .collect()
    }

    /// Notes the host made about plugin behaviour it ignored (a resume of a stream that was
    /// not paused, ...).
    pub fn host_notes(&self) -> Vec<String> {
        self.cell.borrow().host_notes.clone()
    }

    /// Context id filter `index` got for this stream (`None` before it saw the request).
    pub fn context_id(&self, index: usize) -> Option<u32> {
        self.cell.borrow().slots.get(index).and_then(|s| s.context_id)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let complete = self.cell.try_borrow().map(|s| s.complete).unwrap_or(true);
        if !complete {
            Chain::new(&self.cell).reset();
        }
    }
}
