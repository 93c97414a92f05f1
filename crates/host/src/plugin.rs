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

/// The engine every plugin runs on: fuel metering on, so each callback reports the number of
/// wasm instructions it executed.
pub(crate) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.consume_fuel(true);
        Engine::new(&config).unwrap_or_else(|_| Engine::default())
    })
}

struct Inner {
    name: String,
    abi: Abi,
    size: usize,
    pre: InstancePre<HostState>,
}

/// A compiled plugin. Cheap to clone; start VMs with [`crate::Vm::builder`].
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Inner>,
}

impl Plugin {
    /// Reads and compiles a `.wasm` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Plugin, HostError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| HostError::Load(format!("{}: {e}", path.display())))?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into());
        Self::from_bytes(&name, &bytes)
    }

    /// Compiles a module from bytes (binary or text format).
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Plugin, HostError> {
        let module = Module::new(engine(), bytes).map_err(|e| HostError::Load(format!("{name}: {e:#}")))?;
        let abi = if module.get_export("proxy_abi_version_0_2_100").is_some() {
            Abi::V0_2_100
        } else if module.get_export("proxy_abi_version_0_2_1").is_some() {
            Abi::V0_2_1
        } else {
            return Err(HostError::Load(format!(
                "{name}: no supported ABI marker (export proxy_abi_version_0_2_100 or proxy_abi_version_0_2_1)"
            )));
        };
        let mut linker = Linker::new(engine());
        imports::add_to_linker(&mut linker).map_err(|e| HostError::Load(format!("{name}: {e:#}")))?;
        wasi::add_to_linker(&mut linker, &module).map_err(|e| HostError::Load(format!("{name}: {e:#}")))?;
        let pre = linker.instantiate_pre(&module).map_err(|e| HostError::Load(format!("{name}: {e:#}")))?;
        Ok(Plugin { inner: Arc::new(Inner { name: name.to_string(), abi, size: bytes.len(), pre }) })
    }

    /// Name (the file stem by default).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The ABI the module declares.
    pub fn abi(&self) -> Abi {
        self.inner.abi
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
