//! A compiled plugin module, ready to start VMs from.

use crate::error::HostError;
use crate::imports;
use crate::state::HostState;
use crate::wasi;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use wasmtime::{Config, Engine, InstancePre, Linker, Module};

/// Which proxy-wasm ABI a module declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// `proxy_abi_version_0_2_1` (stock Envoy).
    V0_2_1,
    /// `proxy_abi_version_0_2_100` (Higress).
    V0_2_100,
}

/// Whether a plugin's VMs count the wasm instructions of each callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metering {
    /// Wasmtime fuel: each callback reports the instructions it executed and traps past
    /// its budget ([`crate::VmBuilder::fuel_per_call`]). What tests and `make bench` run:
    /// the counts are exact, and a runaway loop fails the test instead of hanging it.
    #[default]
    Instructions,
    /// No count and no budget, as Envoy runs a module: a gateway serving traffic. Fuel
    /// metering adds a load, an add and a store to every block of wasm: in `hgw`, about 4%
    /// of a request's CPU through four auth plugins.
    Off,
}

/// The engine for `metering` (one per process each: a module runs only on the engine that
/// compiled it).
pub(crate) fn engine(metering: Metering) -> &'static Engine {
    static METERED: OnceLock<Engine> = OnceLock::new();
    static UNMETERED: OnceLock<Engine> = OnceLock::new();
    let cell = match metering {
        Metering::Instructions => &METERED,
        Metering::Off => &UNMETERED,
    };
    cell.get_or_init(|| {
        let mut config = Config::new();
        config.consume_fuel(metering == Metering::Instructions);
        Engine::new(&config).unwrap_or_else(|_| Engine::default())
    })
}

struct Inner {
    name: String,
    abi: Abi,
    metering: Metering,
    size: usize,
    pre: InstancePre<HostState>,
}

/// A compiled plugin. Cheap to clone; start VMs with [`crate::Vm::builder`].
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Inner>,
}

impl Plugin {
    /// Reads and compiles a `.wasm` file, metered ([`Metering::Instructions`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Plugin, HostError> {
        Self::load_with(path, Metering::Instructions)
    }

    /// Reads and compiles a `.wasm` file for `metering`.
    pub fn load_with(path: impl AsRef<Path>, metering: Metering) -> Result<Plugin, HostError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| HostError::Load(format!("{}: {e}", path.display())))?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into());
        Self::from_bytes_with(&name, &bytes, metering)
    }

    /// Compiles a module from bytes (binary or text format), metered
    /// ([`Metering::Instructions`]).
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Plugin, HostError> {
        Self::from_bytes_with(name, bytes, Metering::Instructions)
    }

    /// Compiles a module from bytes (binary or text format) for `metering`.
    pub fn from_bytes_with(name: &str, bytes: &[u8], metering: Metering) -> Result<Plugin, HostError> {
        let module = Module::new(engine(metering), bytes).map_err(|e| HostError::Load(format!("{name}: {e:#}")))?;
        let abi = if module.get_export("proxy_abi_version_0_2_100").is_some() {
            Abi::V0_2_100
        } else if module.get_export("proxy_abi_version_0_2_1").is_some() {
            Abi::V0_2_1
        } else {
            return Err(HostError::Load(format!(
                "{name}: no supported ABI marker (export proxy_abi_version_0_2_100 or proxy_abi_version_0_2_1)"
            )));
        };
        let mut linker = Linker::new(engine(metering));
        imports::add_to_linker(&mut linker).map_err(|e| HostError::Load(format!("{name}: {e:#}")))?;
        wasi::add_to_linker(&mut linker, &module).map_err(|e| HostError::Load(format!("{name}: {e:#}")))?;
        let pre = linker.instantiate_pre(&module).map_err(|e| HostError::Load(format!("{name}: {e:#}")))?;
        Ok(Plugin { inner: Arc::new(Inner { name: name.to_string(), abi, metering, size: bytes.len(), pre }) })
    }

    /// Name (the file stem by default).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The ABI the module declares.
    pub fn abi(&self) -> Abi {
        self.inner.abi
    }

    /// Whether `self` and `other` are the same compiled module (clones of one load).
    pub fn same_module(&self, other: &Plugin) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Whether its VMs count instructions.
    pub fn metering(&self) -> Metering {
        self.inner.metering
    }

    /// Size of the module in bytes.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// The functions the module imports, as `(module, name)`: what a proxy must provide to
    /// load it.
    pub fn imports(&self) -> Vec<(String, String)> {
        self.inner.pre.module().imports().map(|i| (i.module().to_string(), i.name().to_string())).collect()
    }

    pub(crate) fn pre(&self) -> &InstancePre<HostState> {
        &self.inner.pre
    }
}
