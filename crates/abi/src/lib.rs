//! The proxy-wasm wire contract (ABI 0.2.1 and Higress's 0.2.100 extensions).
//!
//! Both sides of the ABI link this crate: the guest SDK (`higress-sdk`, compiled to
//! `wasm32-wasip1`) and the host (`higress-host`, native). Keeping the enums and the
//! header-map codec in one `no_std` crate means a value can never mean one thing to
//! the plugin and another to the host that tests it.
#![no_std]

extern crate alloc;

mod enums;
pub mod header_map;
pub mod property;
pub mod resp;

pub use enums::*;

/// Export name of the ABI marker for stock Envoy / Istio (actions folded to Continue/Pause).
pub const ABI_MARKER_0_2_1: &str = "proxy_abi_version_0_2_1";
/// Export name of the ABI marker understood by Higress's gateway (full header/data action set).
pub const ABI_MARKER_0_2_100: &str = "proxy_abi_version_0_2_100";

/// Higress tags callout tokens in their low two bits so one callback id space can be shared.
pub mod callout_tag {
    /// Token tag of an HTTP callout.
    pub const HTTP: u32 = 0;
    /// Token tag of a gRPC call.
    pub const GRPC_CALL: u32 = 1;
    /// Token tag of a gRPC stream.
    pub const GRPC_STREAM: u32 = 2;
    /// Token tag of a Redis call.
    pub const REDIS: u32 = 3;
    /// Mask that extracts the tag from a token.
    pub const MASK: u32 = 0b11;
}
