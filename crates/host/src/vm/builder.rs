//! Starting a VM: instantiate the module, find its exports, run `_initialize`, create the
//! root context, `proxy_on_vm_start` and `proxy_on_configure`.

use super::{typed, Core, Exports, Vm, VmInner, DEFAULT_FUEL};
use crate::env::Env;
use crate::error::HostError;
use crate::plugin::{engine, Metering, Plugin};
use crate::state::HostState;
use higress_abi::LogLevel;
use std::cell::RefCell;
use std::rc::Rc;
use wasmtime::Store;

/// Options for starting a VM. Cloning it gives the recipe for another VM of the same plugin
/// and configuration (what [`crate::VmSlot`] rebuilds from).
#[derive(Clone)]
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
    pub(super) fn new(plugin: &Plugin) -> VmBuilder {
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

    /// The environment set, else a new one set (so every VM started from clones of this
    /// builder shares it).
    pub(super) fn with_fixed_env(mut self) -> Self {
        if self.env.is_none() {
            self.env = Some(Env::default());
        }
        self
    }

    /// Monotonic time on the environment's clock (0 without an environment).
    pub(super) fn env_clock_nanos(&self) -> u64 {
        self.env.as_ref().map_or(0, |env| env.clock().monotonic_nanos())
    }

    /// Instructions one callback may execute before it traps (a metered plugin only: see
    /// [`crate::Metering`]).
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
        let metering = self.plugin.metering();
        let fuel = (metering == Metering::Instructions).then_some(self.fuel);
        let mut store = Store::new(engine(metering), state);
        store.limiter(|state| &mut state.memory_size);
        if let Some(fuel) = fuel {
            store.set_fuel(fuel).map_err(|e| HostError::Load(e.to_string()))?;
        }
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
        store.data_mut().memory_size.bytes = memory.data_size(&store);
        store.data_mut().alloc = Some(std::rc::Rc::new(alloc));
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
                core: RefCell::new(Core { store, exports, failed: None, next_context: 2, last: None, instructions: 0 }),
                plugin: self.plugin,
                env,
                fuel: std::cell::Cell::new(fuel),
                redis: RefCell::default(),
            }),
        };
        let root = vm.root_context_id() as i32;
        let start_error = |vm: &Vm, message: String| HostError::Start { message, logs: vm.inner.tail_logs() };
        vm.inner.invoke("_initialize", 0, |e| &e.initialize, ()).map_err(|e| start_error(&vm, e.to_string()))?;
        vm.inner
            .invoke("proxy_on_context_create", 0, |e| &e.context_create, (root, 0))
            .map_err(|e| start_error(&vm, e.to_string()))?;
        let vm_config_len = self.vm_config.len() as i32;
        match vm.inner.invoke("proxy_on_vm_start", root as u32, |e| &e.vm_start, (root, vm_config_len)) {
            Ok(Some((0, _))) => return Err(start_error(&vm, "proxy_on_vm_start returned false".into())),
            Ok(_) => {}
            Err(e) => return Err(start_error(&vm, e.to_string())),
        }
        let config_len = self.config.len() as i32;
        match vm.inner.invoke("proxy_on_configure", root as u32, |e| &e.configure, (root, config_len)) {
            Ok(Some((0, _))) => return Err(start_error(&vm, "proxy_on_configure returned false".into())),
            Ok(_) => {}
            Err(e) => return Err(start_error(&vm, e.to_string())),
        }
        Ok(vm)
    }
}
