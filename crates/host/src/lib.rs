//! A proxy-wasm host on wasmtime that runs Higress plugins the way Envoy does.
//!
//! It loads a compiled plugin (`.wasm`), checks its ABI marker, starts VMs with a plugin
//! configuration, and drives HTTP streams through one plugin or a chain of them with
//! Envoy's iteration semantics: pause and resume, buffering, local replies, header-map
//! lifetimes. It implements every proxy-wasm 0.2.1 import, Higress's extensions (Redis,
//! `0_2_100` actions) and the WASI preview 1 calls a plugin makes. Every callback reports the
//! wasm instructions it executed (wasmtime fuel; unless the plugin is loaded with
//! [`Metering::Off`], as a gateway serving traffic does) and the VM's memory size.
//!
//! ```no_run
//! use higress_host::{Plugin, Vm};
//! let plugin = Plugin::load("dist/hello-world/plugin.wasm").unwrap();
//! let vm = Vm::builder(&plugin).config(r#"{"enabled": true}"#).start().unwrap();
//! let stream = vm.stream();
//! stream.send_request_headers([(":authority", "a.com"), (":path", "/"), (":method", "GET")], true).unwrap();
//! assert!(stream.upstream().header("x-hello-world").is_some());
//! ```

mod env;
mod error;
pub mod forward;
mod headers;
mod imports;
mod memory;
mod plugin;
mod state;
mod stream;
pub mod testing;
mod vm;
mod wasi;

pub use env::{Clock, Env, LogSink, Metric, Upstream};
pub use error::{HostError, LogRecord};
pub use headers::HeaderMap;
pub use higress_abi::{LogLevel, MetricType, Status};
pub use plugin::{Abi, Metering, Plugin};
pub use state::{HttpCallout, HttpResponse, RedisCallout, RedisInit};
pub use stream::{Action, Filter, LocalResponse, Message, OutEvent, RequestInfo, Stream};
pub use vm::{calls_made, CallStats, Rebuild, RebuildCause, RedisReply, Vm, VmBuilder, VmSlot};
