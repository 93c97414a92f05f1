//! Safe wrappers over the ABI imports. Every function returns the host's [`Status`] as an
//! error instead of panicking, whatever the host answers: a panic in wasm kills the VM and
//! every request on it. Buffers the host returns are allocated through our
//! `proxy_on_memory_allocate` and owned by the returned `Vec`.

mod raw;
pub(crate) mod scratch;

use alloc_helpers::{take, Out};
use higress_abi::{header_map, property, BufferType, LogLevel, MapType, MetricType, Status, StreamType};

/// Result of a hostcall.
pub type HostResult<T> = Result<T, Status>;

fn check(code: u32) -> HostResult<()> {
    match Status::from_wire(code) {
        Some(Status::Ok) => Ok(()),
        Some(other) => Err(other),
        None => Err(Status::InternalFailure),
    }
}

/// `Ok(None)` for `NotFound`, the other errors unchanged.
fn optional<T>(result: HostResult<T>) -> HostResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Status::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

mod alloc_helpers {
    /// An out-parameter pair for a host-allocated buffer.
    pub struct Out {
        pub ptr: *mut u8,
        pub len: usize,
    }

    impl Out {
        pub fn new() -> Self {
            Out { ptr: core::ptr::null_mut(), len: 0 }
        }
    }

    /// Takes ownership of a buffer the host allocated with `proxy_on_memory_allocate`.
    pub fn take(out: Out) -> Vec<u8> {
        if out.ptr.is_null() || out.len == 0 {
            return Vec::new();
        }
        // SAFETY: the host allocated exactly `len` bytes through `proxy_on_memory_allocate`,
        // which hands out the buffer of a `Vec<u8>` with capacity `len` and forgets it.
        unsafe { Vec::from_raw_parts(out.ptr, out.len, out.len) }
    }
}

/// Writes one log line at `level`.
pub fn log(level: LogLevel, message: &str) -> HostResult<()> {
    check(unsafe { raw::proxy_log(level.wire(), message.as_ptr(), message.len()) })
}

/// The host's current log level.
pub fn log_level() -> HostResult<LogLevel> {
    let mut level = 0u32;
    check(unsafe { raw::proxy_get_log_level(&mut level) })?;
    LogLevel::from_wire(level).ok_or(Status::BadArgument)
}

/// Wall-clock time in nanoseconds since the Unix epoch, as the host sees it.
pub fn current_time_nanos() -> HostResult<u64> {
    let mut now = 0u64;
    check(unsafe { raw::proxy_get_current_time_nanoseconds(&mut now) })?;
    Ok(now)
}

/// Sets the root context's tick period (0 disables ticks).
pub fn set_tick_period_ms(period: u32) -> HostResult<()> {
    check(unsafe { raw::proxy_set_tick_period_milliseconds(period) })
}

/// Reads `max` bytes from `start` of a buffer; `None` when the buffer does not exist.
pub fn get_buffer(buffer: BufferType, start: usize, max: usize) -> HostResult<Option<Vec<u8>>> {
    let mut out = Out::new();
    let code = unsafe { raw::proxy_get_buffer_bytes(buffer.wire(), start, max, &mut out.ptr, &mut out.len) };
    optional(check(code).map(|_| take(out)))
}

/// Replaces `size` bytes at `start` of a buffer with `data` (Envoy: `start == 0` drains `size`
/// bytes and prepends; `start >=` length appends).
pub fn set_buffer(buffer: BufferType, start: usize, size: usize, data: &[u8]) -> HostResult<()> {
    check(unsafe { raw::proxy_set_buffer_bytes(buffer.wire(), start, size, data.as_ptr(), data.len()) })
}

/// All pairs of a header map, as raw bytes.
pub fn get_map_bytes(map: MapType) -> HostResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let bytes = get_map_encoded(map)?;
    let pairs = header_map::decode(&bytes).map_err(|_| Status::SerializationFailure)?;
    Ok(pairs.into_iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect())
}

/// All pairs of a header map, decoded as UTF-8 (invalid sequences replaced).
pub fn get_map(map: MapType) -> HostResult<Vec<(String, String)>> {
    let bytes = get_map_encoded(map)?;
    let pairs = header_map::decode(&bytes).map_err(|_| Status::SerializationFailure)?;
    Ok(pairs.into_iter().map(|(k, v)| (lossy(k), lossy(v))).collect())
}

/// A whole header map in its wire encoding (decode it with `higress_abi::header_map`).
pub fn get_map_encoded(map: MapType) -> HostResult<Vec<u8>> {
    let mut out = Out::new();
    check(unsafe { raw::proxy_get_header_map_pairs(map.wire(), &mut out.ptr, &mut out.len) })?;
    Ok(take(out))
}

/// Replaces a whole header map.
pub fn set_map<K: AsRef<[u8]>, V: AsRef<[u8]>>(map: MapType, pairs: &[(K, V)]) -> HostResult<()> {
    let bytes = header_map::encode(pairs);
    check(unsafe { raw::proxy_set_header_map_pairs(map.wire(), bytes.as_ptr(), bytes.len()) })
}

/// The first value of a header; `None` when absent.
pub fn get_map_value(map: MapType, key: &str) -> HostResult<Option<Vec<u8>>> {
    let mut out = Out::new();
    let code =
        unsafe { raw::proxy_get_header_map_value(map.wire(), key.as_ptr(), key.len(), &mut out.ptr, &mut out.len) };
    optional(check(code).map(|_| take(out)))
}

/// Sets a header, replacing every existing value.
pub fn replace_map_value(map: MapType, key: &str, value: &[u8]) -> HostResult<()> {
    check(unsafe {
        raw::proxy_replace_header_map_value(map.wire(), key.as_ptr(), key.len(), value.as_ptr(), value.len())
    })
}

/// Removes every value of a header.
pub fn remove_map_value(map: MapType, key: &str) -> HostResult<()> {
    check(unsafe { raw::proxy_remove_header_map_value(map.wire(), key.as_ptr(), key.len()) })
}

/// Adds a value to a header, keeping existing ones.
pub fn add_map_value(map: MapType, key: &str, value: &[u8]) -> HostResult<()> {
    check(unsafe { raw::proxy_add_header_map_value(map.wire(), key.as_ptr(), key.len(), value.as_ptr(), value.len()) })
}

/// Reads a property (`["route_name"]`, `["source", "address"]`); `None` when absent.
pub fn get_property(path: &[&str]) -> HostResult<Option<Vec<u8>>> {
    let wire = wire_path(path);
    let mut out = Out::new();
    let code = unsafe { raw::proxy_get_property(wire.as_ptr(), wire.len(), &mut out.ptr, &mut out.len) };
    optional(check(code).map(|_| take(out)))
}

/// A property path on the wire: one segment is its own encoding (no allocation: `route_name`,
/// `cluster_name` and `x_request_id` are read on hot paths).
fn wire_path<'a>(path: &[&'a str]) -> std::borrow::Cow<'a, [u8]> {
    match path {
        [single] => std::borrow::Cow::Borrowed(single.as_bytes()),
        _ => std::borrow::Cow::Owned(property::encode_path(path)),
    }
}

/// Reads a property and lends its bytes to `f` (`None` when absent): no allocation when the
/// value is short. For values that are only looked at, such as the route name a rule matches.
pub fn with_property<R>(path: &[&str], f: impl FnOnce(HostResult<Option<&[u8]>>) -> R) -> R {
    let wire = wire_path(path);
    scratch::read(|out| unsafe { raw::proxy_get_property(wire.as_ptr(), wire.len(), &mut out.ptr, &mut out.len) }, f)
}

/// The first value of a header, lent to `f` (`None` when absent): no allocation when the
/// value is short.
pub fn with_map_value<R>(map: MapType, key: &str, f: impl FnOnce(HostResult<Option<&[u8]>>) -> R) -> R {
    scratch::read(
        |out| unsafe {
            raw::proxy_get_header_map_value(map.wire(), key.as_ptr(), key.len(), &mut out.ptr, &mut out.len)
        },
        f,
    )
}

/// [`with_map_value`], with a value too long for the scratch buffer handed over: a 60 KiB
/// `:path` is kept without a copy (wasm counts a copy by its bytes).
pub(crate) fn with_map_value_kept<R>(
    map: MapType,
    key: &str,
    f: impl FnOnce(HostResult<Option<scratch::Value<'_>>>) -> R,
) -> R {
    scratch::read_value(
        |out| unsafe {
            raw::proxy_get_header_map_value(map.wire(), key.as_ptr(), key.len(), &mut out.ptr, &mut out.len)
        },
        f,
    )
}

/// Writes a property (filter state visible to other plugins and the access log).
pub fn set_property(path: &[&str], value: &[u8]) -> HostResult<()> {
    let wire = wire_path(path);
    check(unsafe { raw::proxy_set_property(wire.as_ptr(), wire.len(), value.as_ptr(), value.len()) })
}

/// Reads shared data: the value (`None` when absent) and its CAS token.
pub fn get_shared_data(key: &str) -> HostResult<(Option<Vec<u8>>, u32)> {
    let mut out = Out::new();
    let mut cas = 0u32;
    let code = unsafe { raw::proxy_get_shared_data(key.as_ptr(), key.len(), &mut out.ptr, &mut out.len, &mut cas) };
    match check(code) {
        Ok(()) => Ok((Some(take(out)), cas)),
        Err(Status::NotFound) => Ok((None, cas)),
        Err(e) => Err(e),
    }
}

/// Writes shared data; with a non-zero `cas` the write fails with `CasMismatch` when the
/// value changed since it was read.
pub fn set_shared_data(key: &str, value: &[u8], cas: u32) -> HostResult<()> {
    check(unsafe { raw::proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) })
}

/// Registers (or finds) a shared queue owned by this VM.
pub fn register_shared_queue(name: &str) -> HostResult<u32> {
    let mut id = 0u32;
    check(unsafe { raw::proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Finds a queue registered by the VM `vm_id`; `None` when it does not exist.
pub fn resolve_shared_queue(vm_id: &str, name: &str) -> HostResult<Option<u32>> {
    let mut id = 0u32;
    let code =
        unsafe { raw::proxy_resolve_shared_queue(vm_id.as_ptr(), vm_id.len(), name.as_ptr(), name.len(), &mut id) };
    optional(check(code).map(|_| id))
}

/// Takes the oldest item of a queue; `None` when it is empty.
pub fn dequeue_shared_queue(queue: u32) -> HostResult<Option<Vec<u8>>> {
    let mut out = Out::new();
    match check(unsafe { raw::proxy_dequeue_shared_queue(queue, &mut out.ptr, &mut out.len) }) {
        Ok(()) => Ok(Some(take(out))),
        Err(Status::Empty) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Appends an item to a queue.
pub fn enqueue_shared_queue(queue: u32, value: &[u8]) -> HostResult<()> {
    check(unsafe { raw::proxy_enqueue_shared_queue(queue, value.as_ptr(), value.len()) })
}

/// Resumes a paused stream.
pub fn continue_stream(stream: StreamType) -> HostResult<()> {
    check(unsafe { raw::proxy_continue_stream(stream.wire()) })
}

/// Closes (resets) a stream.
pub fn close_stream(stream: StreamType) -> HostResult<()> {
    check(unsafe { raw::proxy_close_stream(stream.wire()) })
}

/// Answers the current request locally; `grpc_status` -1 means "not gRPC".
pub fn send_local_response<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    status: u32,
    details: &str,
    body: &[u8],
    headers: &[(K, V)],
    grpc_status: i32,
) -> HostResult<()> {
    send_local_response_encoded(status, details, body, &header_map::encode(headers), grpc_status)
}

/// [`send_local_response`] with headers already in the host's encoding
/// ([`higress_abi::header_map`]).
pub fn send_local_response_encoded(
    status: u32,
    details: &str,
    body: &[u8],
    headers: &[u8],
    grpc_status: i32,
) -> HostResult<()> {
    check(unsafe {
        raw::proxy_send_local_response(
            status,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            grpc_status,
        )
    })
}

/// Starts an HTTP callout to `cluster`; returns its token.
pub fn http_call<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    cluster: &str,
    headers: &[(K, V)],
    body: &[u8],
    trailers: &[(K, V)],
    timeout_ms: u32,
) -> HostResult<u32> {
    let headers = header_map::encode(headers);
    let trailers = if trailers.is_empty() { Vec::new() } else { header_map::encode(trailers) };
    let mut token = 0u32;
    check(unsafe {
        raw::proxy_http_call(
            cluster.as_ptr(),
            cluster.len(),
            headers.as_ptr(),
            headers.len(),
            body.as_ptr(),
            body.len(),
            trailers.as_ptr(),
            trailers.len(),
            timeout_ms,
            &mut token,
        )
    })?;
    Ok(token)
}

/// The status code and message of the last callout failure.
pub fn get_status() -> HostResult<(u32, Vec<u8>)> {
    let mut code = 0u32;
    let mut out = Out::new();
    check(unsafe { raw::proxy_get_status(&mut code, &mut out.ptr, &mut out.len) })?;
    Ok((code, take(out)))
}

/// Makes later hostcalls act on `context_id` (used before running a callout's callback).
pub fn set_effective_context(context_id: u32) -> HostResult<()> {
    check(unsafe { raw::proxy_set_effective_context(context_id) })
}

/// Calls a host function by name (`get_log_level`, `set_global_max_requests_per_io_cycle`...).
pub fn call_foreign_function(name: &str, args: &[u8]) -> HostResult<Vec<u8>> {
    let mut out = Out::new();
    check(unsafe {
        raw::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            args.as_ptr(),
            args.len(),
            &mut out.ptr,
            &mut out.len,
        )
    })?;
    Ok(take(out))
}

/// Tells the host a context that returned `false` from `proxy_on_done` has finished.
pub fn done() -> HostResult<()> {
    check(unsafe { raw::proxy_done() })
}

/// Defines a metric and returns its id.
pub fn define_metric(metric_type: MetricType, name: &str) -> HostResult<u32> {
    let mut id = 0u32;
    check(unsafe { raw::proxy_define_metric(metric_type.wire(), name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Reads a metric.
pub fn get_metric(id: u32) -> HostResult<u64> {
    let mut value = 0u64;
    check(unsafe { raw::proxy_get_metric(id, &mut value) })?;
    Ok(value)
}

/// Sets a gauge or records a histogram value.
pub fn record_metric(id: u32, value: u64) -> HostResult<()> {
    check(unsafe { raw::proxy_record_metric(id, value) })
}

/// Adds `offset` to a counter or gauge.
pub fn increment_metric(id: u32, offset: i64) -> HostResult<()> {
    check(unsafe { raw::proxy_increment_metric(id, offset) })
}

/// Higress: prepares a Redis client for `cluster` (the name may carry `?db=N&...`).
pub fn redis_init(cluster: &str, user: &str, password: &str, timeout_ms: u32) -> HostResult<()> {
    check(unsafe {
        raw::proxy_redis_init(
            cluster.as_ptr(),
            cluster.len(),
            user.as_ptr(),
            user.len(),
            password.as_ptr(),
            password.len(),
            timeout_ms,
        )
    })
}

/// Higress: sends one RESP-encoded command to `cluster`; returns its token.
pub fn redis_call(cluster: &str, query: &[u8]) -> HostResult<u32> {
    let mut token = 0u32;
    check(unsafe { raw::proxy_redis_call(cluster.as_ptr(), cluster.len(), query.as_ptr(), query.len(), &mut token) })?;
    Ok(token)
}

/// Higress: injects encoded body data into the filter chain after this filter.
pub fn inject_encoded_data_to_filter_chain(body: &[u8], end_stream: bool) -> HostResult<()> {
    check(unsafe { raw::proxy_inject_encoded_data_to_filter_chain(body.as_ptr(), body.len(), u32::from(end_stream)) })
}

/// Higress: the upstream hosts of the current cluster, as a header-map encoded list.
pub fn get_upstream_hosts() -> HostResult<Vec<(String, String)>> {
    let mut out = Out::new();
    check(unsafe { raw::proxy_get_upstream_hosts(&mut out.ptr, &mut out.len) })?;
    let bytes = take(out);
    let pairs = header_map::decode(&bytes).map_err(|_| Status::SerializationFailure)?;
    Ok(pairs.into_iter().map(|(k, v)| (lossy(k), lossy(v))).collect())
}

/// Higress: forces the upstream host (`ip:port`) for this request.
pub fn set_upstream_override_host(address: &str) -> HostResult<()> {
    check(unsafe { raw::proxy_set_upstream_override_host(address.as_ptr(), address.len()) })
}

/// Converts bytes to a `String`, replacing invalid UTF-8.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Bytes the host returned as a `String`, without a copy when they are valid UTF-8.
pub fn into_string(bytes: Vec<u8>) -> String {
    crate::scan::into_string(bytes)
}
