//! A cap on the request body the SDK buffers for a plugin (`BodyMode::Buffered`).
//!
//! A wasm-go plugin sets Envoy's decoder buffer limit and Envoy answers `413 Payload Too
//! Large` when the held body passes it. A host without that limit (the local gateway, the
//! test host) would buffer without end and hand the whole body to the plugin. So the SDK
//! checks the held size itself on every body callback, before reading any of it: the same
//! reply on every host, and an oversized body never enters the VM's memory.

use crate::http::Http;
use crate::log;

/// Envoy's reply when a buffered body passes the buffer limit.
const STATUS: u32 = 413;
const BODY: &[u8] = b"Payload Too Large";

impl Http {
    /// Caps the request body buffered for [`crate::HttpPlugin::on_request_body`] at `bytes`.
    /// Envoy is told (its decoder buffer limit, as wasm-go's `SetRequestBodyBufferLimit`)
    /// and on any host a body that grows past the cap is answered `413 Payload Too Large`
    /// (details `<plugin>.payload_too_large`) without reaching the plugin.
    pub fn limit_request_body(&mut self, bytes: u32) {
        self.request_body_limit = Some(usize::try_from(bytes).unwrap_or(usize::MAX));
        self.set_request_body_buffer_limit(bytes);
    }
}

/// Answers the request 413 when `held` bytes of body pass the stream's cap; true if it did.
pub(crate) fn refuse_oversized(http: &mut Http, held: usize) -> bool {
    match http.request_body_limit {
        Some(limit) if held > limit => {
            if !http.local_response_sent() {
                let details = format!("{}.payload_too_large", log::plugin_name());
                http.send_local_response(STATUS, &details, &[], BODY);
            }
            true
        }
        _ => false,
    }
}
