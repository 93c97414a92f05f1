//! Running the plugin's callbacks: stream callbacks for the stream layer (through its
//! `FilterVm` port: Envoy's action conversions applied), root callbacks for ticks and queues.

use super::{Exports, RedisReply, Vm, VmInner, F};
use crate::error::HostError;
use crate::state::{HttpResponse, StreamRef};
use crate::stream::chain::{convert, CallbackKind, Chain};
use crate::stream::state::{Action, CallStats, Called, Dir, FilterVm, StreamState};
use crate::stream::Filter;
use std::cell::RefCell;
use std::rc::Weak;
use wasmtime::WasmParams;

impl Filter {
    /// A filter running `vm`, failing closed (503) when the VM traps, as Envoy defaults.
    pub fn new(vm: &Vm) -> Self {
        Filter::from_port(vm.inner.clone())
    }
}

/// The stream layer drives a VM through this port (no extra allocation: `Filter::new`
/// shares the VM's own `Rc`).
impl FilterVm for VmInner {
    fn name(&self) -> String {
        VmInner::name(self)
    }

    fn is_failed(&self) -> bool {
        VmInner::is_failed(self)
    }

    fn create_context(&self, stream: Weak<RefCell<StreamState>>, filter: usize) -> Result<(u32, CallStats), HostError> {
        self.create_stream_context(stream, filter)
    }

    fn release_context(&self, ctx: u32) {
        VmInner::release_context(self, ctx)
    }

    fn on_headers(&self, dir: Dir, ctx: u32, eos: bool) -> Result<Called, HostError> {
        self.call_headers(dir, ctx, eos)
    }

    fn on_body(&self, dir: Dir, ctx: u32, size: usize, eos: bool) -> Result<Called, HostError> {
        self.call_body(dir, ctx, size, eos)
    }

    fn on_trailers(&self, dir: Dir, ctx: u32) -> Result<Called, HostError> {
        self.call_trailers(dir, ctx)
    }

    fn on_log(&self, ctx: u32) -> Result<Called, HostError> {
        self.call_log(ctx)
    }

    fn on_done(&self, ctx: u32) -> Result<Called, HostError> {
        self.call_done(ctx)
    }

    fn on_delete(&self, ctx: u32) -> Result<Called, HostError> {
        self.call_delete(ctx)
    }
}

impl VmInner {
    fn stream_call(
        &self,
        callback: &'static str,
        ctx: u32,
        kind: CallbackKind,
        dir: Dir,
        call: impl FnOnce(&VmInner) -> Result<Option<(i32, Called)>, HostError>,
    ) -> Result<Called, HostError> {
        let abi = self.plugin.abi();
        match call(self)? {
            Some((raw, mut called)) => {
                called.action = convert(dir, kind, raw as u32, abi, called.stop_next);
                Ok(called)
            }
            None => Ok(Called {
                action: Action::Continue,
                stats: CallStats { callback, context_id: ctx, instructions: 0, memory_bytes: self.memory_bytes() },
                touched: Vec::new(),
                stop_next: false,
            }),
        }
    }

    fn stream_len(&self, ctx: u32, f: impl FnOnce(&StreamState) -> usize) -> i32 {
        let core = self.core.borrow();
        let stream = core.store.data().contexts.get(&ctx).and_then(|r| r.stream.upgrade());
        drop(core);
        stream.and_then(|s| s.try_borrow().ok().map(|s| f(&s))).unwrap_or(0) as i32
    }

    pub(crate) fn create_stream_context(
        &self,
        stream: Weak<RefCell<StreamState>>,
        filter: usize,
    ) -> Result<(u32, CallStats), HostError> {
        let (ctx, root) = {
            let mut core = self.core.borrow_mut();
            let ctx = core.next_context;
            core.next_context += 1;
            let state = core.store.data_mut();
            state.contexts.insert(ctx, StreamRef { stream, filter });
            (ctx, state.root_id)
        };
        match self.invoke("proxy_on_context_create", ctx, |e| &e.context_create, (ctx as i32, root as i32)) {
            Ok(called) => {
                let stats = called.map(|(_, c)| c.stats).unwrap_or(CallStats {
                    callback: "proxy_on_context_create",
                    context_id: ctx,
                    instructions: 0,
                    memory_bytes: self.memory_bytes(),
                });
                Ok((ctx, stats))
            }
            Err(err) => {
                self.release_context(ctx);
                Err(err)
            }
        }
    }

    pub(crate) fn release_context(&self, ctx: u32) {
        if let Ok(mut core) = self.core.try_borrow_mut() {
            core.store.data_mut().contexts.remove(&ctx);
        }
    }

    pub(crate) fn call_headers(&self, dir: Dir, ctx: u32, eos: bool) -> Result<Called, HostError> {
        let n = self.stream_len(ctx, |s| match dir {
            Dir::Request => s.request_headers.len(),
            Dir::Response => s.response_headers.len(),
        });
        let args = (ctx as i32, n, i32::from(eos));
        match dir {
            Dir::Request => self.stream_call("proxy_on_request_headers", ctx, CallbackKind::Headers, dir, |vm| {
                vm.invoke("proxy_on_request_headers", ctx, |e| &e.request_headers, args)
            }),
            Dir::Response => self.stream_call("proxy_on_response_headers", ctx, CallbackKind::Headers, dir, |vm| {
                vm.invoke("proxy_on_response_headers", ctx, |e| &e.response_headers, args)
            }),
        }
    }

    pub(crate) fn call_body(&self, dir: Dir, ctx: u32, size: usize, eos: bool) -> Result<Called, HostError> {
        let args = (ctx as i32, size as i32, i32::from(eos));
        match dir {
            Dir::Request => self.stream_call("proxy_on_request_body", ctx, CallbackKind::Body, dir, |vm| {
                vm.invoke("proxy_on_request_body", ctx, |e| &e.request_body, args)
            }),
            Dir::Response => self.stream_call("proxy_on_response_body", ctx, CallbackKind::Body, dir, |vm| {
                vm.invoke("proxy_on_response_body", ctx, |e| &e.response_body, args)
            }),
        }
    }

    pub(crate) fn call_trailers(&self, dir: Dir, ctx: u32) -> Result<Called, HostError> {
        let n = self.stream_len(ctx, |s| match dir {
            Dir::Request => s.request_trailers.as_ref().map_or(0, |t| t.len()),
            Dir::Response => s.response_trailers.as_ref().map_or(0, |t| t.len()),
        });
        let args = (ctx as i32, n);
        match dir {
            Dir::Request => self.stream_call("proxy_on_request_trailers", ctx, CallbackKind::Trailers, dir, |vm| {
                vm.invoke("proxy_on_request_trailers", ctx, |e| &e.request_trailers, args)
            }),
            Dir::Response => self.stream_call("proxy_on_response_trailers", ctx, CallbackKind::Trailers, dir, |vm| {
                vm.invoke("proxy_on_response_trailers", ctx, |e| &e.response_trailers, args)
            }),
        }
    }

    fn lifecycle(
        &self,
        callback: &'static str,
        ctx: u32,
        result: Result<Option<Called>, HostError>,
    ) -> Result<Called, HostError> {
        Ok(result?.unwrap_or(Called {
            action: Action::Continue,
            stats: CallStats { callback, context_id: ctx, instructions: 0, memory_bytes: self.memory_bytes() },
            touched: Vec::new(),
            stop_next: false,
        }))
    }

    pub(crate) fn call_log(&self, ctx: u32) -> Result<Called, HostError> {
        let r = self.invoke("proxy_on_log", ctx, |e| &e.log, ctx as i32).map(|o| o.map(|(_, c)| c));
        self.lifecycle("proxy_on_log", ctx, r)
    }

    pub(crate) fn call_done(&self, ctx: u32) -> Result<Called, HostError> {
        let r = self.invoke("proxy_on_done", ctx, |e| &e.done, ctx as i32).map(|o| o.map(|(_, c)| c));
        self.lifecycle("proxy_on_done", ctx, r)
    }

    pub(crate) fn call_delete(&self, ctx: u32) -> Result<Called, HostError> {
        let r = self.invoke("proxy_on_delete", ctx, |e| &e.delete, ctx as i32).map(|o| o.map(|(_, c)| c));
        self.lifecycle("proxy_on_delete", ctx, r)
    }
}

impl Vm {
    /// Applies what a root-context callback asked of streams (resume, local reply, ...).
    fn drive(touched: Vec<Weak<RefCell<StreamState>>>) {
        for stream in touched.iter().filter_map(Weak::upgrade) {
            Chain::new(&stream).process_deferred();
            let waker = stream.try_borrow().ok().and_then(|s| s.waker.clone());
            if let Some(wake) = waker {
                wake();
            }
        }
    }

    pub(super) fn root_call<P: WasmParams>(
        &self,
        callback: &'static str,
        func: impl FnOnce(&Exports) -> &F<P, ()>,
        params: P,
    ) -> Result<Option<CallStats>, HostError> {
        let root = self.root_context_id();
        match self.inner.invoke(callback, root, func, params) {
            Ok(Some(((), called))) => {
                Self::drive(called.touched);
                Ok(Some(called.stats))
            }
            Ok(None) => Ok(None),
            Err(err) => {
                if self.is_failed() {
                    self.fail_streams(&err);
                }
                Err(err)
            }
        }
    }

    /// The VM trapped in a root callback: every stream with a context on it is failed by its
    /// filter's strategy (none is left waiting for a callback that will never come).
    fn fail_streams(&self, err: &HostError) {
        let streams: Vec<(Weak<RefCell<StreamState>>, usize)> = {
            let core = self.inner.core.borrow();
            core.store.data().contexts.values().map(|r| (r.stream.clone(), r.filter)).collect()
        };
        for (stream, filter) in streams {
            let Some(stream) = stream.upgrade() else { continue };
            Chain::new(&stream).vm_failed(filter, err.clone());
            let waker = stream.try_borrow().ok().and_then(|s| s.waker.clone());
            if let Some(wake) = waker {
                wake();
            }
        }
    }

    // ----- ticks and queues -----

    /// Fires `proxy_on_tick` now.
    pub fn tick(&self) -> Result<Option<CallStats>, HostError> {
        let root = self.root_context_id() as i32;
        let result = self.root_call("proxy_on_tick", |e| &e.tick, root);
        let mut core = self.inner.core.borrow_mut();
        let state = core.store.data_mut();
        if let Some(period) = state.tick_period {
            state.next_tick_at = state.env.clock().monotonic_nanos().saturating_add(period.as_nanos() as u64);
        }
        result
    }

    /// Runs what is due: a tick when its period elapsed, `proxy_on_queue_ready` for queues
    /// with new items, and timeouts of callouts (HTTP: a 504 reply, as Envoy's async client
    /// produces; Redis: a network error).
    pub fn poll(&self) -> Result<(), HostError> {
        let (now, tick_due, key) = {
            let core = self.inner.core.borrow();
            let state = core.store.data();
            let now = state.env.clock().monotonic_nanos();
            (now, state.tick_period.is_some() && now >= state.next_tick_at, state.vm_key)
        };
        let mut first_error = None;
        let mut note = |r: Result<(), HostError>| {
            if let Err(e) = r {
                first_error.get_or_insert(e);
            }
        };
        if tick_due {
            note(self.tick().map(|_| ()));
        }
        for queue in self.inner.env.take_ready_queues(key) {
            let root = self.root_context_id() as i32;
            note(self.root_call("proxy_on_queue_ready", |e| &e.queue_ready, (root, queue as i32)).map(|_| ()));
        }
        note(self.forward_callouts());
        let (expired_http, expired_redis) = {
            let core = self.inner.core.borrow();
            let state = core.store.data();
            let http: Vec<u32> = state
                .http_calls
                .values()
                .filter(|c| c.timeout.is_some_and(|t| now >= c.started_at.saturating_add(t.as_nanos() as u64)))
                .map(|c| c.token)
                .collect();
            let redis: Vec<u32> = state
                .redis_calls
                .values()
                .filter(|c| {
                    let timeout = state.redis_init(&c.cluster).map(|i| i.timeout);
                    timeout.is_some_and(|t| !t.is_zero() && now >= c.started_at.saturating_add(t.as_nanos() as u64))
                })
                .map(|c| c.token)
                .collect();
            (http, redis)
        };
        for token in expired_http {
            note(self.respond_http_call(
                token,
                HttpResponse::new(504, &[("content-type", "text/plain")], "upstream request timeout"),
            ));
        }
        for token in expired_redis {
            note(self.respond_redis_call(token, RedisReply::NetworkError));
        }
        first_error.map_or(Ok(()), Err)
    }
}
