//! The imports of module `env`: proxy-wasm 0.2.1 plus Higress's extensions.
//!
//! On `wasm32` these are real imports. On other targets (the SDK's own unit tests) each one
//! is a stub that answers `Unimplemented`, so pure logic (rules, codecs) tests natively.
#![allow(clippy::too_many_arguments, missing_docs)]

macro_rules! imports {
    ($( fn $name:ident($($arg:ident: $ty:ty),* $(,)?); )*) => {
        #[cfg(target_arch = "wasm32")]
        #[link(wasm_import_module = "env")]
        extern "C" {
            $( pub fn $name($($arg: $ty),*) -> u32; )*
        }

        #[cfg(not(target_arch = "wasm32"))]
        mod native {
            $(
                #[allow(unused_variables, clippy::missing_safety_doc)]
                pub unsafe fn $name($($arg: $ty),*) -> u32 {
                    higress_abi::Status::Unimplemented.wire()
                }
            )*
        }
        #[cfg(not(target_arch = "wasm32"))]
        pub use native::*;
    };
}

imports! {
    fn proxy_log(level: u32, message: *const u8, message_len: usize);
    fn proxy_get_log_level(ret_level: *mut u32);
    fn proxy_get_current_time_nanoseconds(ret_time: *mut u64);
    fn proxy_set_tick_period_milliseconds(period: u32);
    fn proxy_get_buffer_bytes(buffer: u32, start: usize, max_size: usize, ret_ptr: *mut *mut u8, ret_len: *mut usize);
    fn proxy_set_buffer_bytes(buffer: u32, start: usize, size: usize, data: *const u8, data_len: usize);
    fn proxy_get_header_map_pairs(map: u32, ret_ptr: *mut *mut u8, ret_len: *mut usize);
    fn proxy_set_header_map_pairs(map: u32, data: *const u8, data_len: usize);
    fn proxy_get_header_map_value(map: u32, key: *const u8, key_len: usize, ret_ptr: *mut *mut u8, ret_len: *mut usize);
    fn proxy_replace_header_map_value(map: u32, key: *const u8, key_len: usize, value: *const u8, value_len: usize);
    fn proxy_remove_header_map_value(map: u32, key: *const u8, key_len: usize);
    fn proxy_add_header_map_value(map: u32, key: *const u8, key_len: usize, value: *const u8, value_len: usize);
    fn proxy_get_property(path: *const u8, path_len: usize, ret_ptr: *mut *mut u8, ret_len: *mut usize);
    fn proxy_set_property(path: *const u8, path_len: usize, value: *const u8, value_len: usize);
    fn proxy_get_shared_data(key: *const u8, key_len: usize, ret_ptr: *mut *mut u8, ret_len: *mut usize, ret_cas: *mut u32);
    fn proxy_set_shared_data(key: *const u8, key_len: usize, value: *const u8, value_len: usize, cas: u32);
    fn proxy_register_shared_queue(name: *const u8, name_len: usize, ret_id: *mut u32);
    fn proxy_resolve_shared_queue(vm_id: *const u8, vm_id_len: usize, name: *const u8, name_len: usize, ret_id: *mut u32);
    fn proxy_dequeue_shared_queue(queue_id: u32, ret_ptr: *mut *mut u8, ret_len: *mut usize);
    fn proxy_enqueue_shared_queue(queue_id: u32, value: *const u8, value_len: usize);
    fn proxy_continue_stream(stream: u32);
    fn proxy_close_stream(stream: u32);
    fn proxy_send_local_response(
        status: u32, details: *const u8, details_len: usize, body: *const u8, body_len: usize,
        headers: *const u8, headers_len: usize, grpc_status: i32,
    );
    fn proxy_http_call(
        upstream: *const u8, upstream_len: usize, headers: *const u8, headers_len: usize,
        body: *const u8, body_len: usize, trailers: *const u8, trailers_len: usize,
        timeout_ms: u32, ret_token: *mut u32,
    );
    fn proxy_get_status(ret_code: *mut u32, ret_ptr: *mut *mut u8, ret_len: *mut usize);
    fn proxy_set_effective_context(context_id: u32);
    fn proxy_call_foreign_function(
        name: *const u8, name_len: usize, args: *const u8, args_len: usize,
        ret_ptr: *mut *mut u8, ret_len: *mut usize,
    );
    fn proxy_done();
    fn proxy_define_metric(metric_type: u32, name: *const u8, name_len: usize, ret_id: *mut u32);
    fn proxy_get_metric(id: u32, ret_value: *mut u64);
    fn proxy_record_metric(id: u32, value: u64);
    fn proxy_increment_metric(id: u32, offset: i64);
    fn proxy_redis_init(
        cluster: *const u8, cluster_len: usize, user: *const u8, user_len: usize,
        password: *const u8, password_len: usize, timeout_ms: u32,
    );
    fn proxy_redis_call(cluster: *const u8, cluster_len: usize, query: *const u8, query_len: usize, ret_token: *mut u32);
    fn proxy_inject_encoded_data_to_filter_chain(body: *const u8, body_len: usize, end_stream: u32);
    fn proxy_get_upstream_hosts(ret_ptr: *mut *mut u8, ret_len: *mut usize);
    fn proxy_set_upstream_override_host(address: *const u8, address_len: usize);
}
