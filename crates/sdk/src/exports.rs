//! The callbacks the host calls. They live in the SDK, so every plugin exports the same,
//! tested set; `export_plugin!` only registers the plugin type at `_initialize`.
//!
//! Integers arrive as `u32` and booleans as `u32` (a wasm `i32`): converting with `!= 0`
//! means a host that sends `2` for "true" cannot produce an invalid Rust `bool`.
#![allow(missing_docs)]

use crate::dispatch::with_handler;
use higress_abi::{DataAction, HeaderAction, TrailersAction};

/// ABI marker for Higress's gateway (default).
#[cfg(not(feature = "abi-0-2-1"))]
#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_100() {}

/// ABI marker for stock Envoy / Istio (feature `abi-0-2-1`).
#[cfg(feature = "abi-0-2-1")]
#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

fn header_result(action: HeaderAction) -> u32 {
    if cfg!(feature = "abi-0-2-1") {
        action.fold_0_2_1()
    } else {
        action.wire()
    }
}

fn data_result(action: DataAction) -> u32 {
    if cfg!(feature = "abi-0-2-1") {
        action.fold_0_2_1()
    } else {
        action.wire()
    }
}

/// Hands the host `size` bytes of guest memory; the guest owns them afterwards (the scratch
/// buffer when a borrowed read waits for it).
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    if let Some(scratch) = crate::hostcalls::scratch::claim(size) {
        return scratch;
    }
    let mut buffer = std::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(size));
    buffer.as_mut_ptr()
}

#[no_mangle]
pub extern "C" fn proxy_on_context_create(context_id: u32, parent_id: u32) {
    with_handler((), |h| h.on_context_create(context_id, parent_id));
}

#[no_mangle]
pub extern "C" fn proxy_on_vm_start(root_id: u32, size: usize) -> u32 {
    u32::from(with_handler(false, |h| h.on_vm_start(root_id, size)))
}

#[no_mangle]
pub extern "C" fn proxy_on_configure(root_id: u32, size: usize) -> u32 {
    u32::from(with_handler(false, |h| h.on_configure(root_id, size)))
}

#[no_mangle]
pub extern "C" fn proxy_on_request_headers(id: u32, _headers: usize, end_of_stream: u32) -> u32 {
    header_result(with_handler(HeaderAction::Continue, |h| h.on_request_headers(id, end_of_stream != 0)))
}

#[no_mangle]
pub extern "C" fn proxy_on_request_body(id: u32, size: usize, end_of_stream: u32) -> u32 {
    data_result(with_handler(DataAction::Continue, |h| h.on_request_body(id, size, end_of_stream != 0)))
}

#[no_mangle]
pub extern "C" fn proxy_on_request_trailers(id: u32, _trailers: usize) -> u32 {
    with_handler(TrailersAction::Continue, |h| h.on_request_trailers(id)).wire()
}

#[no_mangle]
pub extern "C" fn proxy_on_response_headers(id: u32, _headers: usize, end_of_stream: u32) -> u32 {
    header_result(with_handler(HeaderAction::Continue, |h| h.on_response_headers(id, end_of_stream != 0)))
}

#[no_mangle]
pub extern "C" fn proxy_on_response_body(id: u32, size: usize, end_of_stream: u32) -> u32 {
    data_result(with_handler(DataAction::Continue, |h| h.on_response_body(id, size, end_of_stream != 0)))
}

#[no_mangle]
pub extern "C" fn proxy_on_response_trailers(id: u32, _trailers: usize) -> u32 {
    with_handler(TrailersAction::Continue, |h| h.on_response_trailers(id)).wire()
}

#[no_mangle]
pub extern "C" fn proxy_on_log(id: u32) {
    with_handler((), |h| h.on_log(id));
}

#[no_mangle]
pub extern "C" fn proxy_on_done(id: u32) -> u32 {
    u32::from(with_handler(true, |h| h.on_done(id)))
}

#[no_mangle]
pub extern "C" fn proxy_on_delete(id: u32) {
    with_handler((), |h| h.on_delete(id));
}

#[no_mangle]
pub extern "C" fn proxy_on_tick(root_id: u32) {
    with_handler((), |h| h.on_tick(root_id));
}

#[no_mangle]
pub extern "C" fn proxy_on_queue_ready(root_id: u32, queue_id: u32) {
    with_handler((), |h| h.on_queue_ready(root_id, queue_id));
}

#[no_mangle]
pub extern "C" fn proxy_on_http_call_response(
    _root_id: u32,
    token: u32,
    headers: usize,
    body_size: usize,
    trailers: usize,
) {
    with_handler((), |h| h.on_http_call_response(token, headers, body_size, trailers));
}

#[no_mangle]
pub extern "C" fn proxy_on_redis_call_response(_root_id: u32, token: u32, status: u32, size: usize) {
    with_handler((), |h| h.on_redis_call_response(token, status, size));
}
