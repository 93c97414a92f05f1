//! A plugin VM: one wasm instance with its root context, as Envoy runs one per worker.

use crate::env::Env;
use crate::error::{HostError, LogRecord};
use crate::plugin::engine;
pub use crate::plugin::{Abi, Plugin};
use crate::state::{HostState, HttpCallout, HttpResponse, RedisCallout, RedisInit, StreamRef};
use crate::stream::chain::{convert, CallbackKind, Chain};
use crate::stream::state::{Action, Dir, StreamState};
use crate::stream::Stream;
use higress_abi::{LogLevel, Status};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;
use wasmtime::{Store, TypedFunc, WasmParams, WasmResults};

/// Fuel given to each callback: enough for any sane plugin, finite so a runaway loop traps.
const DEFAULT_FUEL: u64 = 20_000_000_000;
/// Log lines attached to a trap or start failure.
const ERROR_LOG_LINES: usize = 30;

/// What one callback cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStats {
    /// The export called (`proxy_on_request_headers`, ...).
    pub callback: &'static str,
    /// The context it ran for.
    pub context_id: u32,
    /// Wasm instructions executed (wasmtime fuel consumed), including guest allocations made
    /// for hostcalls during the callback.
    pub instructions: u64,
    /// The VM's linear memory size after the callback, in bytes.
    pub memory_bytes: usize,
}

pub(crate) struct Called {
    pub action: Action,
    pub stats: CallStats,
    pub touched: Vec<Weak<RefCell<StreamState>>>,
    /// The plugin sent a local reply: Envoy stops iteration whatever the callback returned.
    pub stop_next: bool,
}

/// The reply to a Redis call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisReply {
    /// Raw RESP bytes of one reply.
    Data(Vec<u8>),
    /// Connection refused, timeout or closed socket (status 1, as Envoy reports it).
    NetworkError,
}

type F<P, R> = Option<TypedFunc<P, R>>;

struct Exports {
    initialize: F<(), ()>,
    context_create: F<(i32, i32), ()>,
    vm_start: F<(i32, i32), i32>,
    configure: F<(i32, i32), i32>,
    request_headers: F<(i32, i32, i32), i32>,
    request_body: F<(i32, i32, i32), i32>,
    request_trailers: F<(i32, i32), i32>,
    response_headers: F<(i32, i32, i32), i32>,
    response_body: F<(i32, i32, i32), i32>,
    response_trailers: F<(i32, i32), i32>,
    log: F<i32, ()>,
    done: F<i32, i32>,
    delete: F<i32, ()>,
    tick: F<i32, ()>,
    queue_ready: F<(i32, i32), ()>,
    http_call_response: F<(i32, i32, i32, i32, i32), ()>,
    redis_call_response: F<(i32, i32, i32, i32), ()>,
}

fn typed<P: WasmParams, R: WasmResults>(
    instance: &wasmtime::Instance,
    store: &mut Store<HostState>,
    name: &str,
) -> Result<F<P, R>, HostError> {
    match instance.get_func(&mut *store, name) {
        None => Ok(None),
        Some(func) => func
            .typed::<P, R>(&*store)
            .map(Some)
            .map_err(|e| HostError::Load(format!("export {name} has the wrong signature: {e}"))),
    }
}

struct Core {
    store: Store<HostState>,
    exports: Exports,
    failed: Option<String>,
    next_context: u32,
    last: Option<CallStats>,
}

struct VmInner {
    core: RefCell<Core>,
    plugin: Plugin,
    env: Env,
    fuel: u64,
    redis: RefCell<crate::forward::RedisConnections>,
}

/// A running plugin VM. Cheap to clone (a handle); not `Send`: a VM belongs to one thread.
#[derive(Clone)]
pub struct Vm {
    inner: Rc<VmInner>,
}

/// Options for starting a VM.
pub struct VmBuilder {
    plugin: Plugin,
    env: Option<Env>,
    config: Vec<u8>,
    vm_config: Vec<u8>,
    name: Option<String>,
    vm_id: Option<String>,
    log_level: LogLevel,
    fuel: u64,
}

impl VmBuilder {
    /// The plugin configuration (JSON, as Higress sends it).
    pub fn config(mut self, config: impl Into<Vec<u8>>) -> Self {
        self.config = config.into();
        self
    }

    /// The plugin configuration as a JSON value.
    pub fn config_json(self, config: &serde_json::Value) -> Self {
        self.config(config.to_string())
    }

    /// The VM configuration (`proxy_on_vm_start`).
    pub fn vm_config(mut self, config: impl Into<Vec<u8>>) -> Self {
        self.vm_config = config.into();
        self
    }

    /// The environment shared with other VMs (default: a new one on the real clock).
    pub fn env(mut self, env: &Env) -> Self {
        self.env = Some(env.clone());
        self
    }

    /// The `plugin_name` property (default: the plugin's name).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// The VM id: VMs with the same id share shared data and queues (default: the name).
    pub fn vm_id(mut self, vm_id: &str) -> Self {
        self.vm_id = Some(vm_id.to_string());
        self
    }

    /// The host's log level (default Info, as Envoy's).
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.log_level = level;
        self
    }

    /// Instructions one callback may execute before it traps.
    pub fn fuel_per_call(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }

    /// Instantiates the module and starts the plugin: `_initialize`, root context creation,
    /// `proxy_on_vm_start`, `proxy_on_configure`. A refusal or trap is an error with the
    /// plugin's log lines.
    pub fn start(self) -> Result<Vm, HostError> {
        let env = self.env.unwrap_or_default();
        let name = self.name.unwrap_or_else(|| self.plugin.name().to_string());
        let vm_id = self.vm_id.unwrap_or_else(|| name.clone());
        let state =
            HostState::new(env.clone(), vm_id, name, self.config.clone(), self.vm_config.clone(), self.log_level);
        let mut store = Store::new(engine(), state);
        store.set_fuel(self.fuel).map_err(|e| HostError::Load(e.to_string()))?;
        let instance = self.plugin.pre().instantiate(&mut store).map_err(|e| HostError::Load(format!("{e:#}")))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| HostError::Load("the module exports no memory".into()))?;
        let alloc = match instance.get_typed_func::<u32, u32>(&mut store, "malloc") {
            Ok(f) => f,
            Err(_) => instance.get_typed_func::<u32, u32>(&mut store, "proxy_on_memory_allocate").map_err(|_| {
                HostError::Load("the module exports neither malloc nor proxy_on_memory_allocate".into())
            })?,
        };
        store.data_mut().memory = Some(memory);
        store.data_mut().alloc = Some(alloc);
        let exports = Exports {
            initialize: typed(&instance, &mut store, "_initialize")?,
            context_create: typed(&instance, &mut store, "proxy_on_context_create")?,
            vm_start: typed(&instance, &mut store, "proxy_on_vm_start")?,
            configure: typed(&instance, &mut store, "proxy_on_configure")?,
            request_headers: typed(&instance, &mut store, "proxy_on_request_headers")?,
            request_body: typed(&instance, &mut store, "proxy_on_request_body")?,
            request_trailers: typed(&instance, &mut store, "proxy_on_request_trailers")?,
            response_headers: typed(&instance, &mut store, "proxy_on_response_headers")?,
            response_body: typed(&instance, &mut store, "proxy_on_response_body")?,
            response_trailers: typed(&instance, &mut store, "proxy_on_response_trailers")?,
            log: typed(&instance, &mut store, "proxy_on_log")?,
            done: typed(&instance, &mut store, "proxy_on_done")?,
            delete: typed(&instance, &mut store, "proxy_on_delete")?,
            tick: typed(&instance, &mut store, "proxy_on_tick")?,
            queue_ready: typed(&instance, &mut store, "proxy_on_queue_ready")?,
            http_call_response: typed(&instance, &mut store, "proxy_on_http_call_response")?,
            redis_call_response: typed(&instance, &mut store, "proxy_on_redis_call_response")?,
        };
        let vm = Vm {
            inner: Rc::new(VmInner {
                core: RefCell::new(Core { store, exports, failed: None, next_context: 2, last: None }),
                plugin: self.plugin,
                env,
                fuel: self.fuel,
                redis: RefCell::default(),
            }),
        };
        let root = vm.root_context_id() as i32;
        let start_error = |vm: &Vm, message: String| HostError::Start { message, logs: vm.tail_logs() };
        vm.invoke("_initialize", 0, |e| &e.initialize, ()).map_err(|e| start_error(&vm, e.to_string()))?;
        vm.invoke("proxy_on_context_create", 0, |e| &e.context_create, (root, 0))
            .map_err(|e| start_error(&vm, e.to_string()))?;
        let vm_config_len = self.vm_config.len() as i32;
        match vm.invoke("proxy_on_vm_start", root as u32, |e| &e.vm_start, (root, vm_config_len)) {
            Ok(Some((0, _))) => return Err(start_error(&vm, "proxy_on_vm_start returned false".into())),
            Ok(_) => {}
            Err(e) => return Err(start_error(&vm, e.to_string())),
        }
        let config_len = self.config.len() as i32;
        match vm.invoke("proxy_on_configure", root as u32, |e| &e.configure, (root, config_len)) {
            Ok(Some((0, _))) => return Err(start_error(&vm, "proxy_on_configure returned false".into())),
            Ok(_) => {}
            Err(e) => return Err(start_error(&vm, e.to_string())),
        }
        Ok(vm)
    }
}

impl Vm {
    /// Options for starting a VM of `plugin`.
    pub fn builder(plugin: &Plugin) -> VmBuilder {
        VmBuilder {
            plugin: plugin.clone(),
            env: None,
            config: Vec::new(),
            vm_config: Vec::new(),
            name: None,
            vm_id: None,
            log_level: LogLevel::Info,
            fuel: DEFAULT_FUEL,
        }
    }

    /// A new HTTP stream through this VM alone.
    pub fn stream(&self) -> Stream {
        Stream::new([crate::stream::Filter::new(self)])
    }

    /// The plugin this VM runs.
    pub fn plugin(&self) -> &Plugin {
        &self.inner.plugin
    }

    /// The environment it shares with other VMs.
    pub fn env(&self) -> &Env {
        &self.inner.env
    }

    /// The root context id.
    pub fn root_context_id(&self) -> u32 {
        self.inner.core.borrow().store.data().root_id
    }

    /// The plugin's name (its `plugin_name` property), for messages about it.
    pub fn name(&self) -> String {
        self.inner.core.borrow().store.data().plugin_name.clone()
    }

    /// Every line logged so far (the most recent 10 000 at most).
    pub fn logs(&self) -> Vec<LogRecord> {
        self.inner.core.borrow().store.data().logs.clone()
    }

    /// Takes the log lines logged so far.
    pub fn take_logs(&self) -> Vec<LogRecord> {
        std::mem::take(&mut self.inner.core.borrow_mut().store.data_mut().logs)
    }

    /// Whether some log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.inner.core.borrow().store.data().logs.iter().any(|l| l.message.contains(needle))
    }

    fn tail_logs(&self) -> Vec<LogRecord> {
        let core = self.inner.core.borrow();
        let logs = &core.store.data().logs;
        logs[logs.len().saturating_sub(ERROR_LOG_LINES)..].to_vec()
    }

    /// Changes the host's log level (what `proxy_get_log_level` reports and what is kept).
    pub fn set_log_level(&self, level: LogLevel) {
        self.inner.core.borrow_mut().store.data_mut().log_level = level;
    }

    /// The linear memory size, in bytes.
    pub fn memory_bytes(&self) -> usize {
        let core = self.inner.core.borrow();
        core.store.data().memory.map(|m| m.data_size(&core.store)).unwrap_or(0)
    }

    /// Cost of the last callback.
    pub fn last_call(&self) -> Option<CallStats> {
        self.inner.core.borrow().last.clone()
    }

    /// Why the VM failed, if it trapped.
    pub fn failure(&self) -> Option<String> {
        self.inner.core.borrow().failed.clone()
    }

    /// Whether the VM trapped and is no longer called.
    pub fn is_failed(&self) -> bool {
        self.inner.core.borrow().failed.is_some()
    }

    /// The tick period the plugin asked for.
    pub fn tick_period(&self) -> Option<Duration> {
        self.inner.core.borrow().store.data().tick_period
    }

    /// Foreign functions the plugin called, with their arguments.
    pub fn foreign_calls(&self) -> Vec<(String, Vec<u8>)> {
        self.inner.core.borrow().store.data().foreign_calls.clone()
    }

    /// Calls an export of this VM with fuel metering; `None` when the export is absent.
    fn invoke<P: WasmParams, R: WasmResults>(
        &self,
        callback: &'static str,
        context: u32,
        func: impl FnOnce(&Exports) -> &F<P, R>,
        params: P,
    ) -> Result<Option<(R, Called)>, HostError> {
        let mut core =
            self.inner.core.try_borrow_mut().map_err(|_| HostError::Usage(format!("{callback}: VM re-entered")))?;
        if let Some(failure) = &core.failed {
            return Err(HostError::Failed(failure.clone()));
        }
        let Some(f) = func(&core.exports).clone() else {
            return Ok(None);
        };
        {
            let state = core.store.data_mut();
            state.current_context = context;
            state.effective_context = context;
            state.stop_next_iteration = false;
            state.touched.clear();
        }
        let fuel = self.inner.fuel;
        core.store.set_fuel(fuel).map_err(|e| HostError::Usage(e.to_string()))?;
        let result = f.call(&mut core.store, params);
        let used = fuel.saturating_sub(core.store.get_fuel().unwrap_or(0));
        let memory_bytes = core.store.data().memory.map(|m| m.data_size(&core.store)).unwrap_or(0);
        let stats = CallStats { callback, context_id: context, instructions: used, memory_bytes };
        core.last = Some(stats.clone());
        let state = core.store.data_mut();
        let stop_next = std::mem::take(&mut state.stop_next_iteration);
        let touched = std::mem::take(&mut state.touched);
        state.effective_context = state.root_id;
        match result {
            Ok(value) => Ok(Some((value, Called { action: Action::Continue, stats, touched, stop_next }))),
            Err(trap) => {
                let message = format!("{trap:?}");
                core.failed = Some(message.clone());
                drop(core);
                Err(HostError::Trap { callback, message, logs: self.tail_logs() })
            }
        }
    }

    fn stream_call(
        &self,
        callback: &'static str,
        ctx: u32,
        kind: CallbackKind,
        dir: Dir,
        call: impl FnOnce(&Vm) -> Result<Option<(i32, Called)>, HostError>,
    ) -> Result<Called, HostError> {
        let abi = self.inner.plugin.abi();
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
        let core = self.inner.core.borrow();
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
            let mut core = self.inner.core.borrow_mut();
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
        if let Ok(mut core) = self.inner.core.try_borrow_mut() {
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

    fn root_call<P: WasmParams>(
        &self,
        callback: &'static str,
        func: impl FnOnce(&Exports) -> &F<P, ()>,
        params: P,
    ) -> Result<Option<CallStats>, HostError> {
        let root = self.root_context_id();
        match self.invoke(callback, root, func, params)? {
            Some(((), called)) => {
                Self::drive(called.touched);
                Ok(Some(called.stats))
            }
            None => Ok(None),
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

    /// Serves pending callouts whose cluster maps to an address ([`crate::Upstream::Address`]):
    /// Redis commands go to the Redis server, HTTP calls to the HTTP server, and the answers
    /// (or network errors) reach the plugin. Repeats while callbacks make new calls.
    pub fn forward_callouts(&self) -> Result<(), HostError> {
        use crate::env::Upstream;
        let mut first_error = None;
        for _round in 0..64 {
            let (http, redis) = {
                let core = self.inner.core.borrow();
                let state = core.store.data();
                let address = |cluster: &str| match state.env.upstream(cluster) {
                    Some(Upstream::Address(a)) => Some(a),
                    _ => None,
                };
                let http: Vec<(String, HttpCallout)> =
                    state.http_calls.values().filter_map(|c| Some((address(&c.cluster)?, c.clone()))).collect();
                let redis: Vec<(String, RedisInit, RedisCallout)> = state
                    .redis_calls
                    .values()
                    .filter_map(|c| {
                        let init = state.redis_init(&c.cluster)?;
                        Some((address(init.base_cluster())?, init.clone(), c.clone()))
                    })
                    .collect();
                (http, redis)
            };
            if http.is_empty() && redis.is_empty() {
                break;
            }
            for (address, call) in http {
                let response = crate::forward::http_call(&address, &call);
                if let Err(e) = self.respond_http_call(call.token, response) {
                    first_error.get_or_insert(e);
                }
            }
            for (address, init, call) in redis {
                let reply = self.inner.redis.borrow_mut().call(
                    init.base_cluster(),
                    &address,
                    &init,
                    init.generation,
                    &call.query,
                );
                let reply = reply.map_or(RedisReply::NetworkError, RedisReply::Data);
                if let Err(e) = self.respond_redis_call(call.token, reply) {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    // ----- HTTP callouts -----

    /// HTTP callouts waiting for an answer, oldest first.
    pub fn http_calls(&self) -> Vec<HttpCallout> {
        self.inner.core.borrow().store.data().http_calls.values().cloned().collect()
    }

    /// HTTP callouts made since the last call of this function that are still waiting: for
    /// a proxy that serves each call once, without rescanning the pending ones.
    pub fn take_new_http_calls(&self) -> Vec<HttpCallout> {
        let mut core = self.inner.core.borrow_mut();
        let state = core.store.data_mut();
        let tokens = std::mem::take(&mut state.new_http_calls);
        tokens.iter().filter_map(|t| state.http_calls.get(t).cloned()).collect()
    }

    /// Answers an HTTP callout: `proxy_on_http_call_response` runs on the root context.
    pub fn respond_http_call(&self, token: u32, response: HttpResponse) -> Result<(), HostError> {
        self.finish_http_call(token, Some(response))
    }

    /// Fails an HTTP callout as a reset connection (`proxy_get_status` reports
    /// `BrokenConnection`, the callback gets no headers).
    pub fn fail_http_call(&self, token: u32) -> Result<(), HostError> {
        self.finish_http_call(token, None)
    }

    fn finish_http_call(&self, token: u32, response: Option<HttpResponse>) -> Result<(), HostError> {
        let (n_headers, body_len, n_trailers) = {
            let mut core = self.inner.core.borrow_mut();
            let state = core.store.data_mut();
            state
                .http_calls
                .remove(&token)
                .ok_or_else(|| HostError::Usage(format!("no pending HTTP call with token {token}")))?;
            // Keeps the not-yet-taken list within the pending calls when no proxy takes them.
            state.new_http_calls.retain(|t| *t != token);
            let sizes = match &response {
                Some(r) => (r.headers.len() as i32, r.body.len() as i32, r.trailers.len() as i32),
                None => (0, 0, 0),
            };
            state.status = match &response {
                Some(_) => (Status::Ok.wire(), Vec::new()),
                None => (Status::BrokenConnection.wire(), b"reset".to_vec()),
            };
            state.http_response = response;
            sizes
        };
        let root = self.root_context_id() as i32;
        let result = self.root_call(
            "proxy_on_http_call_response",
            |e| &e.http_call_response,
            (root, token as i32, n_headers, body_len, n_trailers),
        );
        if let Ok(mut core) = self.inner.core.try_borrow_mut() {
            let state = core.store.data_mut();
            state.http_response = None;
            state.status = (0, Vec::new());
        }
        result.map(|_| ())
    }

    // ----- Redis -----

    /// `proxy_redis_init` calls the plugin made.
    pub fn redis_inits(&self) -> Vec<RedisInit> {
        self.inner.core.borrow().store.data().redis_inits.clone()
    }

    /// Redis calls waiting for a reply, oldest first.
    pub fn redis_calls(&self) -> Vec<RedisCallout> {
        self.inner.core.borrow().store.data().redis_calls.values().cloned().collect()
    }

    /// Redis calls made since the last call of this function that are still waiting, each
    /// with the init of its cluster (what a proxy needs to open the connection).
    pub fn take_new_redis_calls(&self) -> Vec<(RedisCallout, Option<RedisInit>)> {
        let mut core = self.inner.core.borrow_mut();
        let state = core.store.data_mut();
        let tokens = std::mem::take(&mut state.new_redis_calls);
        tokens
            .iter()
            .filter_map(|t| state.redis_calls.get(t))
            .map(|c| (c.clone(), state.redis_init(&c.cluster).cloned()))
            .collect()
    }

    /// Answers a Redis call: `proxy_on_redis_call_response` runs on the root context.
    pub fn respond_redis_call(&self, token: u32, reply: RedisReply) -> Result<(), HostError> {
        let (status, size) = {
            let mut core = self.inner.core.borrow_mut();
            let state = core.store.data_mut();
            state
                .redis_calls
                .remove(&token)
                .ok_or_else(|| HostError::Usage(format!("no pending Redis call with token {token}")))?;
            state.new_redis_calls.retain(|t| *t != token);
            match reply {
                RedisReply::Data(bytes) => {
                    let size = bytes.len() as i32;
                    state.redis_response = Some(bytes);
                    (0, size)
                }
                RedisReply::NetworkError => {
                    state.redis_response = None;
                    (1, 0)
                }
            }
        };
        let root = self.root_context_id() as i32;
        let result = self.root_call(
            "proxy_on_redis_call_response",
            |e| &e.redis_call_response,
            (root, token as i32, status, size),
        );
        if let Ok(mut core) = self.inner.core.try_borrow_mut() {
            core.store.data_mut().redis_response = None;
        }
        result.map(|_| ())
    }
}
