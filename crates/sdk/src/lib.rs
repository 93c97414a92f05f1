//! Write Higress gateway plugins in Rust.
//!
//! A plugin is a type implementing [`HttpPlugin`] plus one line,
//! `higress_sdk::export_plugin!("name", Type);`, compiled to `wasm32-wasip1`. The SDK owns
//! the proxy-wasm ABI (exports, imports, context dispatch), parses the plugin configuration
//! Higress sends (global config plus `_rules_`) into the plugin's typed `Config`, and picks
//! the config for each request exactly as Higress's Go SDK does.
//!
//! ```no_run
//! use higress_sdk::prelude::*;
//!
//! #[derive(Deserialize)]
//! struct Config { header: String }
//!
//! #[derive(Default)]
//! struct AddHeader;
//!
//! impl HttpPlugin for AddHeader {
//!     type Config = Config;
//!     fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
//!         http.add_request_header(&config.header, "1");
//!         HeaderAction::Continue
//!     }
//! }
//! higress_sdk::export_plugin!("add-header", AddHeader);
//! ```
#![warn(missing_docs)]

pub mod ascii;
mod body_limit;
mod body_mode;
mod callout;
pub mod cluster;
pub mod config;
pub mod cookie;
mod dispatch;
mod exports;
pub mod hostcalls;
pub mod http;
pub mod http_client;
mod http_response;
mod id_map;
pub mod ip;
pub mod leader;
pub mod log;
pub mod metrics;
mod name_table;
pub mod park;
mod plugin;
pub mod redis;
mod request_line;
mod root;
pub mod scan;
#[cfg(feature = "schema")]
pub mod schema;
pub mod shared;
pub mod sse;
mod tick;
pub mod url;

pub use callout::pending_count as pending_callouts;
pub use higress_abi as abi;
pub use http::Http;
pub use plugin::{BodyMode, HttpPlugin};
pub use root::Root;

/// What a plugin file usually needs.
pub mod prelude {
    pub use crate::abi::{DataAction, HeaderAction, LogLevel, TrailersAction};
    pub use crate::cluster::{Cluster, ServiceConfig};
    pub use crate::config::{ConfigContext, ConfigError, RuleSet};
    pub use crate::http::Http;
    pub use crate::http_client::{HttpClient, HttpResponse};
    pub use crate::plugin::{BodyMode, HttpPlugin};
    pub use crate::redis::{RedisClient, RedisConfig, RedisError, RedisOptions, RedisResult};
    pub use crate::root::Root;
    pub use crate::{log_critical, log_debug, log_error, log_info, log_trace, log_warn};
    pub use serde::Deserialize;
}

#[doc(hidden)]
pub mod __private {
    pub use crate::dispatch::register;
}

/// Exports a plugin type: `higress_sdk::export_plugin!("hello-world", HelloWorld);`.
///
/// The name prefixes every log line; the plugin crate's version (`CARGO_PKG_VERSION`, read
/// where the macro expands) is logged at plugin start. It defines the WASI reactor entry `_initialize`, which
/// the host runs before any other callback.
#[macro_export]
macro_rules! export_plugin {
    ($name:expr, $plugin:ty) => {
        #[cfg(target_os = "wasi")]
        extern "C" {
            fn __wasm_call_ctors();
        }

        #[no_mangle]
        pub extern "C" fn _initialize() {
            #[cfg(target_os = "wasi")]
            unsafe {
                __wasm_call_ctors();
            }
            $crate::__private::register::<$plugin>($name, env!("CARGO_PKG_VERSION"));
        }

        /// The committed `config.schema.json` is the schema of the config types
        /// (`UPDATE_SCHEMAS=1` rewrites it).
        #[cfg(test)]
        #[test]
        fn config_schema() {
            let about = $crate::schema::About {
                name: $name,
                version: env!("CARGO_PKG_VERSION"),
                description: env!("CARGO_PKG_DESCRIPTION"),
            };
            if let Err(e) = $crate::schema::check_file::<$plugin>(about, env!("CARGO_MANIFEST_DIR")) {
                panic!("{e}");
            }
        }
    };
}
