//! Drives a stream through a chain of filters the way Envoy's filter manager does.
//!
//! Requests go through filters in order, responses in reverse. A filter that stops
//! iteration holds what reaches it: `StopIteration` on headers keeps delivering body chunks
//! to it, `StopAllIteration*` buffers everything without calling it until it resumes, and on
//! resume the held data is delivered to *that* filter first. `StopIterationAndBuffer` on data
//! accumulates, and the next delivery carries everything held. Actions a plugin asks for in
//! a callback (resume, local reply, close) are applied when the callback returns. A local
//! reply ends the request and is encoded through the response filters (or straight to the
//! client when a response was already being encoded).
//!
//! No `RefCell` borrow of the stream is held while a VM runs: hostcalls borrow it.

use super::state::{
    Action, Called, Deferred, Dir, FilterDir, FilterVm, HeadersState, LocalResponse, OutEvent, StreamCell,
};
use crate::error::HostError;
use crate::headers::HeaderMap;
use crate::plugin::Abi;
use higress_abi::{DataAction, HeaderAction, TrailersAction};
use std::rc::Rc;

/// Envoy's details for the reply sent when a failed VM closes a stream.
pub(crate) const FAIL_STREAM_DETAILS: &str = "wasm_fail_stream";

#[derive(Debug, Clone)]
pub(crate) enum Event {
    Headers { eos: bool },
    Data { bytes: Vec<u8>, eos: bool },
    Trailers,
}

impl Event {
    fn ends(&self) -> bool {
        match self {
            Event::Headers { eos } | Event::Data { eos, .. } => *eos,
            Event::Trailers => true,
        }
    }
}

fn filter_index(dir: Dir, pos: usize, n: usize) -> usize {
    match dir {
        Dir::Request => pos,
        Dir::Response => n - 1 - pos,
    }
}

fn position(dir: Dir, index: usize, n: usize) -> usize {
    filter_index(dir, index, n)
}

fn convert_headers(raw: u32, dir: Dir, abi: Abi, stop_next: bool) -> Action {
    if stop_next {
        return Action::StopAllIterationAndWatermark;
    }
    match HeaderAction::from_wire(raw) {
        Some(HeaderAction::Continue) => Action::Continue,
        // proxy-wasm-cpp-host turns StopIteration into StopAllIterationAndWatermark for
        // 0.2.1 modules, and for response headers under every ABI version.
        Some(HeaderAction::StopIteration) if abi == Abi::V0_2_1 || dir == Dir::Response => {
            Action::StopAllIterationAndWatermark
        }
        Some(HeaderAction::StopIteration) => Action::StopIteration,
        Some(HeaderAction::ContinueAndEndStream) => Action::ContinueAndEndStream,
        Some(HeaderAction::StopAllIterationAndBuffer) => Action::StopAllIterationAndBuffer,
        // An unknown value stops everything, as the C++ host's default branch does.
        Some(HeaderAction::StopAllIterationAndWatermark) | None => Action::StopAllIterationAndWatermark,
    }
}

fn convert_data(raw: u32, stop_next: bool) -> Action {
    if stop_next {
        return Action::StopIterationNoBuffer;
    }
    match DataAction::from_wire(raw) {
        Some(DataAction::Continue) => Action::Continue,
        Some(DataAction::StopIterationAndBuffer) => Action::StopIterationAndBuffer,
        Some(DataAction::StopIterationAndWatermark) => Action::StopIterationAndWatermark,
        Some(DataAction::StopIterationNoBuffer) | None => Action::StopIterationNoBuffer,
    }
}

fn convert_trailers(raw: u32, stop_next: bool) -> Action {
    match TrailersAction::from_wire(raw) {
        Some(TrailersAction::Continue) if !stop_next => Action::Continue,
        _ => Action::StopIteration,
    }
}

/// The driver of one stream.
pub(crate) struct Chain<'a> {
    pub cell: &'a StreamCell,
}

/// What happened when a filter was offered an event.
enum Outcome {
    /// The filter is not active for this stream (no context, or a failed VM in fail-open):
    /// the event passes untouched.
    Bypass,
    Action(Action),
}

impl<'a> Chain<'a> {
    pub(crate) fn new(cell: &'a StreamCell) -> Self {
        Chain { cell }
    }

    fn len(&self) -> usize {
        self.cell.borrow().slots.len()
    }

    fn stop(&self, index: usize, action: Action) {
        let mut s = self.cell.borrow_mut();
        if s.stopped_by.is_none() {
            s.stopped_by = Some((index, action));
        }
    }

    /// Offers `event` to the filter at `pos` in direction `dir` (or to the end of the chain).
    pub(crate) fn deliver(&self, dir: Dir, pos: usize, event: Event) {
        let n = self.len();
        if self.cell.borrow().aborted(dir) {
            return;
        }
        if pos >= n {
            self.sink(dir, event);
            return;
        }
        let i = filter_index(dir, pos, n);
        match event {
            Event::Headers { eos } => self.on_headers(dir, pos, i, eos),
            Event::Data { bytes, eos } => self.on_data(dir, pos, i, bytes, eos),
            Event::Trailers => self.on_trailers(dir, pos, i),
        }
        self.process_deferred();
    }

    fn forward(&self, dir: Dir, pos: usize, i: usize, event: Event) {
        if event.ends() {
            if let Some(fd) = self.cell.borrow_mut().fd(i, dir) {
                fd.forwarded_end = true;
            }
        }
        self.deliver(dir, pos + 1, event);
    }

    fn on_headers(&self, dir: Dir, pos: usize, i: usize, eos: bool) {
        if dir == Dir::Request {
            self.ensure_context(i);
        }
        {
            let mut s = self.cell.borrow_mut();
            let Some(fd) = s.fd(i, dir) else { return };
            fd.headers_eos = eos;
            fd.headers_visible = true;
            if eos {
                fd.data_end = true;
            }
        }
        let action = match self.call(i, |vm, ctx| vm.on_headers(dir, ctx, eos)) {
            Outcome::Bypass => Action::Continue,
            Outcome::Action(raw) => raw,
        };
        let forward = {
            let mut s = self.cell.borrow_mut();
            let Some(fd) = s.fd(i, dir) else { return };
            match action {
                Action::Continue => {
                    fd.headers = HeadersState::Passed;
                    fd.headers_visible = false;
                    Some(eos)
                }
                Action::ContinueAndEndStream => {
                    fd.headers = HeadersState::EndedStream;
                    fd.headers_visible = false;
                    Some(true)
                }
                Action::StopIteration => {
                    fd.headers = HeadersState::Held;
                    fd.held_action = action;
                    None
                }
                _ => {
                    fd.headers = HeadersState::HeldAll;
                    fd.held_action = action;
                    None
                }
            }
        };
        match forward {
            Some(eos) => self.forward(dir, pos, i, Event::Headers { eos }),
            None => self.stop(i, action),
        }
    }

    fn on_data(&self, dir: Dir, pos: usize, i: usize, bytes: Vec<u8>, eos: bool) {
        let (state, held_action, active) = {
            let s = self.cell.borrow();
            let Some(slot) = s.slots.get(i) else { return };
            let fd = slot.dir(dir);
            (fd.headers, fd.held_action, slot.context_id.is_some() && !slot.failure_reply_sent)
        };
        match state {
            HeadersState::EndedStream => return,
            HeadersState::HeldAll => {
                let mut s = self.cell.borrow_mut();
                if let Some(fd) = s.fd(i, dir) {
                    fd.buffer.extend_from_slice(&bytes);
                    fd.data_end |= eos;
                }
                drop(s);
                self.stop(i, held_action);
                return;
            }
            _ if !active => return self.forward(dir, pos, i, Event::Data { bytes, eos }),
            _ => {}
        }
        let size = {
            let mut s = self.cell.borrow_mut();
            let Some(fd) = s.fd(i, dir) else { return };
            if fd.buffering {
                fd.buffer.extend_from_slice(&bytes);
            } else {
                fd.buffer = bytes;
            }
            fd.data_end |= eos;
            fd.body_visible = true;
            fd.buffer.len()
        };
        let action = match self.call(i, |vm, ctx| vm.on_body(dir, ctx, size, eos)) {
            Outcome::Bypass => Action::Continue,
            Outcome::Action(a) => a,
        };
        let release = {
            let mut s = self.cell.borrow_mut();
            let Some(fd) = s.fd(i, dir) else { return };
            fd.body_visible = false;
            match action {
                Action::Continue => {
                    let headers_held = fd.headers == HeadersState::Held;
                    if headers_held {
                        fd.headers = HeadersState::Passed;
                        fd.headers_visible = false;
                    }
                    fd.buffering = false;
                    Some((headers_held, std::mem::take(&mut fd.buffer)))
                }
                Action::StopIterationNoBuffer => {
                    fd.buffer.clear();
                    fd.buffering = false;
                    None
                }
                _ => {
                    fd.buffering = true;
                    None
                }
            }
        };
        match release {
            Some((headers_held, data)) => {
                if headers_held {
                    self.forward(dir, pos, i, Event::Headers { eos: false });
                }
                self.forward(dir, pos, i, Event::Data { bytes: data, eos });
            }
            None => self.stop(i, action),
        }
    }

    fn on_trailers(&self, dir: Dir, pos: usize, i: usize) {
        let (state, held_action, active) = {
            let mut s = self.cell.borrow_mut();
            let Some(slot) = s.slots.get_mut(i) else {
                return;
            };
            let active = slot.context_id.is_some() && !slot.failure_reply_sent;
            let fd = slot.dir_mut(dir);
            fd.data_end = true;
            (fd.headers, fd.held_action, active)
        };
        match state {
            HeadersState::EndedStream => return,
            HeadersState::HeldAll => {
                if let Some(fd) = self.cell.borrow_mut().fd(i, dir) {
                    fd.trailers_held = true;
                }
                self.stop(i, held_action);
                return;
            }
            _ if !active => return self.forward(dir, pos, i, Event::Trailers),
            _ => {}
        }
        if let Some(fd) = self.cell.borrow_mut().fd(i, dir) {
            fd.trailers_visible = true;
        }
        let action = match self.call(i, |vm, ctx| vm.on_trailers(dir, ctx)) {
            Outcome::Bypass => Action::Continue,
            Outcome::Action(a) => a,
        };
        if let Some(fd) = self.cell.borrow_mut().fd(i, dir) {
            fd.trailers_visible = false;
            if action != Action::Continue {
                fd.trailers_held = true;
            }
        }
        if action == Action::Continue {
            self.flush(dir, pos, i, true);
        } else {
            self.stop(i, action);
        }
    }

    /// Passes on whatever filter `i` holds (headers, data, then trailers when `trailers`).
    fn flush(&self, dir: Dir, pos: usize, i: usize, trailers: bool) {
        let (headers_held, data, data_end) = {
            let mut s = self.cell.borrow_mut();
            let Some(fd) = s.fd(i, dir) else { return };
            let held = matches!(fd.headers, HeadersState::Held | HeadersState::HeldAll);
            if held {
                fd.headers = HeadersState::Passed;
            }
            fd.buffering = false;
            fd.trailers_held = false;
            (held, std::mem::take(&mut fd.buffer), fd.data_end)
        };
        if headers_held {
            self.forward(dir, pos, i, Event::Headers { eos: false });
        }
        if !data.is_empty() {
            self.forward(dir, pos, i, Event::Data { bytes: data, eos: data_end && !trailers });
        }
        if trailers {
            self.forward(dir, pos, i, Event::Trailers);
        }
    }

    /// The VM of filter `i` failed outside this stream's own callbacks (in a callout's
    /// callback, a tick): as Envoy does, a stream it holds is not left waiting - a fail-open
    /// filter lets it go on, a fail-closed one answers 503.
    pub(crate) fn vm_failed(&self, i: usize, err: HostError) {
        let fail_open = {
            let mut s = self.cell.borrow_mut();
            s.traps.push((i, err));
            s.slots.get(i).map(|slot| slot.fail_open).unwrap_or(true)
        };
        if fail_open {
            for dir in [Dir::Request, Dir::Response] {
                if self.holds(dir, i) {
                    self.resume(dir, i);
                }
            }
        } else {
            self.fail_stream(i);
        }
        self.process_deferred();
    }

    /// Whether filter `i` holds something in `dir` that only its `continue` releases (what
    /// [`Chain::resume`] acts on).
    fn holds(&self, dir: Dir, i: usize) -> bool {
        let s = self.cell.borrow();
        s.slots.get(i).is_some_and(|slot| {
            let fd: &FilterDir = slot.dir(dir);
            let headers_held = matches!(fd.headers, HeadersState::Held | HeadersState::HeldAll);
            fd.headers != HeadersState::NotReached
                && (headers_held
                    || fd.buffering
                    || !fd.buffer.is_empty()
                    || fd.trailers_held
                    || (fd.data_end && !fd.forwarded_end))
        })
    }

    /// `proxy_continue_stream` from filter `i` (Envoy's `commonContinue`).
    fn resume(&self, dir: Dir, i: usize) {
        let n = self.len();
        if self.cell.borrow().aborted(dir) {
            return;
        }
        let pos = position(dir, i, n);
        let snapshot = {
            let s = self.cell.borrow();
            let Some(slot) = s.slots.get(i) else { return };
            let fd: &FilterDir = slot.dir(dir);
            (fd.headers, fd.buffering, fd.buffer.is_empty(), fd.trailers_held, fd.data_end, fd.headers_eos)
        };
        if !self.holds(dir, i) {
            self.cell.borrow_mut().host_notes.push(format!("filter {i}: continue_stream ignored, nothing was paused"));
            return;
        }
        let (headers, buffering, empty, trailers_held, data_end, headers_eos) = snapshot;
        let headers_held = matches!(headers, HeadersState::Held | HeadersState::HeldAll);
        let stopped_all = headers == HeadersState::HeldAll;
        if headers_held {
            let complete = headers_eos || data_end;
            let eos = complete && empty && !trailers_held;
            if let Some(fd) = self.cell.borrow_mut().fd(i, dir) {
                fd.headers = HeadersState::Passed;
            }
            self.forward(dir, pos, i, Event::Headers { eos });
            if eos {
                return;
            }
        }
        if !empty {
            let data = {
                let mut s = self.cell.borrow_mut();
                let Some(fd) = s.fd(i, dir) else { return };
                fd.buffering = false;
                std::mem::take(&mut fd.buffer)
            };
            let eos = data_end && !trailers_held;
            if stopped_all {
                // Iteration resumes from this filter: it sees the data it did not see.
                self.on_data(dir, pos, i, data, eos);
                if self.filter_stopped(dir, i) {
                    return;
                }
            } else {
                self.forward(dir, pos, i, Event::Data { bytes: data, eos });
            }
        } else if buffering {
            if let Some(fd) = self.cell.borrow_mut().fd(i, dir) {
                fd.buffering = false;
            }
        }
        if trailers_held {
            if let Some(fd) = self.cell.borrow_mut().fd(i, dir) {
                fd.trailers_held = false;
            }
            if stopped_all {
                self.on_trailers(dir, pos, i);
            } else {
                self.forward(dir, pos, i, Event::Trailers);
            }
        } else if data_end && empty && !headers_eos {
            let already = self.cell.borrow().slots.get(i).map(|s| s.dir(dir).forwarded_end).unwrap_or(true);
            if !already {
                self.forward(dir, pos, i, Event::Data { bytes: Vec::new(), eos: true });
            }
        }
    }

    fn filter_stopped(&self, dir: Dir, i: usize) -> bool {
        let s = self.cell.borrow();
        s.slots.get(i).map(|slot| {
            let fd = slot.dir(dir);
            fd.buffering || fd.trailers_held || matches!(fd.headers, HeadersState::Held | HeadersState::HeldAll)
        }) == Some(true)
    }

    /// The end of the chain: the upstream (requests) or the client (responses).
    fn sink(&self, dir: Dir, event: Event) {
        let ended = event.ends();
        if self.record(dir, event) && dir == Dir::Response && ended {
            self.finish();
        }
    }

    /// Records what reached the end of the chain; false when that side was already closed.
    fn record(&self, dir: Dir, event: Event) -> bool {
        let mut guard = self.cell.borrow_mut();
        let s = &mut *guard;
        let (message, events) = match dir {
            Dir::Request => (&mut s.upstream, &mut s.upstream_events),
            Dir::Response => (&mut s.downstream, &mut s.downstream_events),
        };
        if message.end_of_stream || message.reset {
            return false;
        }
        let ended = event.ends();
        // Without messages kept, only the marks of what passed are: `Some` empty headers
        // and trailers, no body. The events carry everything a proxy forwards.
        let keep = s.keep_messages;
        match event {
            Event::Headers { eos } => {
                let headers = match dir {
                    Dir::Request => s.request_headers.clone(),
                    Dir::Response => s.response_headers.clone(),
                };
                message.headers = Some(if keep { headers.clone() } else { HeaderMap::new() });
                events.push(OutEvent::Headers(headers, eos));
            }
            Event::Data { bytes, eos } => {
                if keep {
                    message.body.extend_from_slice(&bytes);
                }
                events.push(OutEvent::Data(bytes, eos));
            }
            Event::Trailers => {
                let trailers = match dir {
                    Dir::Request => s.request_trailers.clone(),
                    Dir::Response => s.response_trailers.clone(),
                }
                .unwrap_or_default();
                message.trailers = Some(if keep { trailers.clone() } else { HeaderMap::new() });
                events.push(OutEvent::Trailers(trailers));
            }
        }
        message.end_of_stream = ended;
        true
    }

    /// Creates filter `i`'s context for this stream if it has none yet.
    pub(crate) fn ensure_context(&self, i: usize) {
        let (vm, existing) = {
            let s = self.cell.borrow();
            let Some(slot) = s.slots.get(i) else { return };
            (slot.vm.clone(), slot.context_id)
        };
        if existing.is_some() || vm.is_failed() {
            return;
        }
        match vm.create_context(Rc::downgrade(self.cell), i) {
            Ok((ctx, stats)) => {
                let mut s = self.cell.borrow_mut();
                s.calls.push(stats);
                if let Some(slot) = s.slots.get_mut(i) {
                    slot.context_id = Some(ctx);
                }
            }
            Err(err) => self.failed_call(i, err),
        }
    }

    /// Calls filter `i`'s VM, applying the host's conversions and the fail strategy.
    fn call(&self, i: usize, f: impl FnOnce(&dyn FilterVm, u32) -> Result<Called, HostError>) -> Outcome {
        let (vm, ctx, fail_open, failure_sent) = {
            let s = self.cell.borrow();
            let Some(slot) = s.slots.get(i) else {
                return Outcome::Bypass;
            };
            (slot.vm.clone(), slot.context_id, slot.fail_open, slot.failure_reply_sent)
        };
        if failure_sent {
            return Outcome::Bypass;
        }
        if vm.is_failed() {
            // Envoy's CHECK_FAIL: a failed VM is skipped (fail open) or fails the stream.
            if fail_open {
                return Outcome::Bypass;
            }
            self.fail_stream(i);
            return Outcome::Action(Action::StopAllIterationAndWatermark);
        }
        let Some(ctx) = ctx else {
            return Outcome::Bypass;
        };
        match f(&*vm, ctx) {
            Ok(called) => {
                let touched: Vec<StreamCell> = called.touched.iter().filter_map(|w| w.upgrade()).collect();
                self.cell.borrow_mut().calls.push(called.stats.clone());
                for other in touched {
                    if !Rc::ptr_eq(&other, self.cell) {
                        Chain::new(&other).process_deferred();
                    }
                }
                Outcome::Action(called.action)
            }
            Err(err) => {
                self.failed_call(i, err);
                if fail_open {
                    Outcome::Bypass
                } else {
                    Outcome::Action(Action::StopAllIterationAndWatermark)
                }
            }
        }
    }

    fn failed_call(&self, i: usize, err: HostError) {
        let fail_open = {
            let mut s = self.cell.borrow_mut();
            s.traps.push((i, err));
            s.slots.get(i).map(|slot| slot.fail_open).unwrap_or(true)
        };
        if !fail_open {
            self.fail_stream(i);
        }
    }

    /// Envoy's `failStream`: a failed VM in fail-closed mode answers 503 once.
    fn fail_stream(&self, i: usize) {
        let mut s = self.cell.borrow_mut();
        let Some(slot) = s.slots.get_mut(i) else {
            return;
        };
        if slot.failure_reply_sent {
            return;
        }
        slot.failure_reply_sent = true;
        let reply = LocalResponse {
            status: 503,
            headers: HeaderMap::new(),
            body: Vec::new(),
            details: FAIL_STREAM_DETAILS.to_string(),
            grpc_status: Some(14),
            filter: i,
        };
        s.deferred.push((i, Deferred::LocalReply(reply)));
    }

    /// Applies the actions plugins asked for during callbacks.
    pub(crate) fn process_deferred(&self) {
        loop {
            let next = {
                let mut s = self.cell.borrow_mut();
                if s.deferred.is_empty() {
                    return;
                }
                s.deferred.remove(0)
            };
            match next {
                (i, Deferred::Continue(dir)) => self.resume(dir, i),
                (i, Deferred::LocalReply(reply)) => self.local_reply(i, reply),
                (_, Deferred::Close) => self.reset(),
                (i, Deferred::Inject(bytes, eos)) => {
                    let pos = position(Dir::Response, i, self.len());
                    self.forward(Dir::Response, pos, i, Event::Data { bytes, eos });
                }
            }
        }
    }

    fn local_reply(&self, i: usize, mut reply: LocalResponse) {
        reply.details = reply.details.split_whitespace().collect::<Vec<_>>().join("_");
        reply.filter = i;
        let (downstream_started, response_started) = {
            let mut s = self.cell.borrow_mut();
            // A second reply (a response filter replacing an earlier local reply, as
            // custom-response does with basic-auth's 401) replaces the first while its
            // headers have not gone out: Envoy sends it straight to the client.
            if s.complete {
                return;
            }
            s.local_response = Some(reply.clone());
            s.properties.insert(b"response\0code_details".to_vec(), reply.details.clone().into_bytes());
            (s.downstream.headers.is_some(), s.response_started)
        };
        self.stop(i, Action::StopAllIterationAndWatermark);
        if downstream_started {
            self.reset();
            return;
        }
        let mut headers = HeaderMap::new();
        headers.set(b":status", reply.status.to_string().as_bytes());
        for (k, v) in reply.headers.iter() {
            headers.add(k, v);
        }
        if !reply.body.is_empty() {
            headers.set(b"content-length", reply.body.len().to_string().as_bytes());
            if !headers.contains("content-type") {
                headers.set(b"content-type", b"text/plain");
            }
        }
        let eos = reply.body.is_empty();
        {
            let mut s = self.cell.borrow_mut();
            s.request_aborted = true;
            if s.upstream.headers.is_some() && !s.upstream.end_of_stream {
                s.upstream.reset = true;
                s.upstream_events.push(OutEvent::Reset);
            }
            s.response_headers = headers;
            s.response_trailers = None;
            if response_started {
                // Response filters already saw (and may have changed) a response: Envoy sends
                // the reply straight to the client.
                s.response_aborted = true;
            } else {
                s.response_started = true;
            }
        }
        if response_started {
            self.sink_direct(eos, reply.body);
        } else {
            self.deliver(Dir::Response, 0, Event::Headers { eos });
            if !eos {
                self.deliver(Dir::Response, 0, Event::Data { bytes: reply.body, eos: true });
            }
        }
    }

    /// Sends the (already stored) reply headers and `body` straight to the client.
    fn sink_direct(&self, eos: bool, body: Vec<u8>) {
        self.cell.borrow_mut().response_aborted = false;
        let n = self.len();
        self.deliver(Dir::Response, n, Event::Headers { eos });
        if !eos {
            self.deliver(Dir::Response, n, Event::Data { bytes: body, eos: true });
        }
        self.cell.borrow_mut().response_aborted = true;
    }

    /// The client went away or a plugin closed the stream.
    pub(crate) fn reset(&self) {
        {
            let mut s = self.cell.borrow_mut();
            if s.complete {
                return;
            }
            s.request_aborted = true;
            s.response_aborted = true;
            if !s.upstream.end_of_stream && !s.upstream.reset {
                s.upstream.reset = true;
                s.upstream_events.push(OutEvent::Reset);
            }
            if !s.downstream.end_of_stream && !s.downstream.reset {
                s.downstream.reset = true;
                s.downstream_events.push(OutEvent::Reset);
            }
        }
        self.finish();
    }

    /// Ends the stream: access log, then done and delete, for every filter (Envoy creates a
    /// context for logging even where the request never reached the filter).
    pub(crate) fn finish(&self) {
        {
            let mut s = self.cell.borrow_mut();
            if s.complete {
                return;
            }
            s.complete = true;
            if !s.properties.contains_key(b"response\0code_details".as_slice()) && s.downstream.headers.is_some() {
                s.properties.insert(b"response\0code_details".to_vec(), b"via_upstream".to_vec());
            }
        }
        let n = self.len();
        for i in 0..n {
            self.ensure_context(i);
            if let Some(slot) = self.cell.borrow_mut().slots.get_mut(i) {
                slot.in_log = true;
            }
            self.lifecycle(i, |vm, ctx| vm.on_log(ctx));
        }
        for i in 0..n {
            self.lifecycle(i, |vm, ctx| vm.on_done(ctx));
            self.lifecycle(i, |vm, ctx| vm.on_delete(ctx));
            let released = {
                let mut s = self.cell.borrow_mut();
                s.slots.get_mut(i).and_then(|slot| slot.context_id.take().map(|ctx| (slot.vm.clone(), ctx)))
            };
            if let Some((vm, ctx)) = released {
                vm.release_context(ctx);
            }
        }
        self.cell.borrow_mut().deferred.clear();
    }

    fn lifecycle(&self, i: usize, f: impl FnOnce(&dyn FilterVm, u32) -> Result<Called, HostError>) {
        let (vm, ctx) = {
            let s = self.cell.borrow();
            let Some(slot) = s.slots.get(i) else { return };
            (slot.vm.clone(), slot.context_id)
        };
        let Some(ctx) = ctx else { return };
        if vm.is_failed() {
            return;
        }
        match f(&*vm, ctx) {
            Ok(called) => self.cell.borrow_mut().calls.push(called.stats),
            Err(err) => self.cell.borrow_mut().traps.push((i, err)),
        }
    }
}

pub(crate) fn convert(dir: Dir, kind: CallbackKind, raw: u32, abi: Abi, stop_next: bool) -> Action {
    match kind {
        CallbackKind::Headers => convert_headers(raw, dir, abi, stop_next),
        CallbackKind::Body => convert_data(raw, stop_next),
        CallbackKind::Trailers => convert_trailers(raw, stop_next),
    }
}

/// Which kind of stream callback returned a raw action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackKind {
    Headers,
    Body,
    Trailers,
}

#[cfg(test)]
mod tests;
