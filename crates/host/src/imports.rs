//! The `env` imports: proxy-wasm 0.2.1 hostcalls and Higress's extensions, with Envoy's
//! semantics (see the module docs of `stream::chain` for iteration, and HIGRESS.md).
//!
//! Stream-scoped calls act on the *effective* context (set with `proxy_set_effective_context`
//! before a callout's callback runs). Header maps follow Envoy's lifetimes: a filter sees the
//! request headers from its request-header callback until it lets them continue, and reads
//! them again (read-only) at access-log time.

// The hostcall macro wraps each body in a closure so `?` works inside it.
#![allow(clippy::redundant_closure_call)]

use crate::headers::HeaderMap;
use crate::memory::{finish, read, read_string, return_bytes, write_u32, write_u64, HcError};
use crate::state::{HostState, HttpCallout, RedisCallout, RedisInit};
use crate::stream::state::{Deferred, Dir, LocalResponse, StreamState};
use higress_abi::{header_map, property, BufferType, LogLevel, MapType, MetricType, Status, StreamType};
use std::time::Duration;
use wasmtime::{Caller, Linker};

type C<'a> = Caller<'a, HostState>;
type Hc = Result<(), HcError>;

const ENV: &str = "env";
/// The property a Higress plugin sets to `true` to have its VM replaced.
const NEED_REBUILD: &[u8] = b"wasm_need_rebuild";

macro_rules! hostcall {
    ($linker:expr, $name:literal, |$c:ident $(, $arg:ident : $ty:ty)*| $body:block) => {
        $linker.func_wrap(ENV, $name, |mut $c: C<'_> $(, $arg: $ty)*| -> wasmtime::Result<i32> {
            let _ = &mut $c;
            let result: Hc = (|| $body)();
            finish(result)
        })?;
    };
}

/// Registers every `env` import on `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    hostcall!(linker, "proxy_log", |c, level: i32, ptr: i32, len: i32| {
        let level = LogLevel::from_wire(level as u32).ok_or(Status::BadArgument)?;
        let message = read_string(&mut c, ptr, len)?;
        let state = c.data_mut();
        if level >= state.log_level {
            state.push_log(level, message);
        }
        Ok(())
    });
    hostcall!(linker, "proxy_get_log_level", |c, out: i32| {
        let level = c.data().log_level.wire();
        Ok(write_u32(&mut c, out, level)?)
    });
    hostcall!(linker, "proxy_get_current_time_nanoseconds", |c, out: i32| {
        let now = c.data().env.clock().now_nanos();
        Ok(write_u64(&mut c, out, now)?)
    });
    hostcall!(linker, "proxy_set_tick_period_milliseconds", |c, period: i32| {
        let state = c.data_mut();
        let period = period as u32;
        if period == 0 {
            state.tick_period = None;
        } else {
            let period = Duration::from_millis(u64::from(period));
            state.tick_period = Some(period);
            state.next_tick_at = state.env.clock().monotonic_nanos().saturating_add(period.as_nanos() as u64);
        }
        Ok(())
    });
    hostcall!(linker, "proxy_get_buffer_bytes", |c, kind: i32, start: i32, max: i32, ptr_out: i32, len_out: i32| {
        let buffer = get_buffer(c.data(), kind as u32)?;
        let (start, max) = (start as u32 as usize, max as u32 as usize);
        let end = start.saturating_add(max).min(buffer.len());
        let slice = buffer.get(start.min(end)..end).unwrap_or_default();
        return_bytes(&mut c, slice, ptr_out, len_out)
    });
    hostcall!(linker, "proxy_get_buffer_status", |c, kind: i32, len_out: i32, flags_out: i32| {
        let len = get_buffer(c.data(), kind as u32)?.len() as u32;
        write_u32(&mut c, len_out, len)?;
        Ok(write_u32(&mut c, flags_out, 0)?)
    });
    hostcall!(linker, "proxy_set_buffer_bytes", |c, kind: i32, start: i32, size: i32, ptr: i32, len: i32| {
        let data = read(&mut c, ptr, len)?;
        set_buffer(c.data_mut(), kind as u32, start as u32 as usize, size as u32 as usize, &data)
    });
    hostcall!(linker, "proxy_get_header_map_pairs", |c, kind: i32, ptr_out: i32, len_out: i32| {
        let encoded = with_map(c.data(), kind as u32, Access::ReadPairs, |m| Ok(m.map(HeaderMap::encode)))?;
        let encoded = encoded.unwrap_or_else(|| HeaderMap::new().encode());
        return_bytes(&mut c, &encoded, ptr_out, len_out)
    });
    hostcall!(linker, "proxy_set_header_map_pairs", |c, kind: i32, ptr: i32, len: i32| {
        let data = read(&mut c, ptr, len)?;
        let pairs = header_map::decode(&data).map_err(|_| Status::BadArgument)?;
        let new_map = HeaderMap::from_pairs(&pairs);
        with_map_mut(c.data_mut(), kind as u32, |m| {
            *m = new_map;
            Ok(())
        })
    });
    hostcall!(
        linker,
        "proxy_get_header_map_value",
        |c, kind: i32, key: i32, key_len: i32, ptr_out: i32, len_out: i32| {
            let key = read(&mut c, key, key_len)?;
            let value = with_map(c.data(), kind as u32, Access::ReadValue, |m| {
                let m = m.ok_or(Status::BadArgument)?;
                m.get_bytes(&key).map(<[u8]>::to_vec).ok_or(Status::NotFound)
            })?;
            return_bytes(&mut c, &value, ptr_out, len_out)
        }
    );
    hostcall!(linker, "proxy_get_header_map_size", |c, kind: i32, out: i32| {
        let size = with_map(c.data(), kind as u32, Access::ReadValue, |m| {
            Ok(m.ok_or(Status::BadArgument)?.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>())
        })?;
        Ok(write_u32(&mut c, out, size as u32)?)
    });
    hostcall!(
        linker,
        "proxy_replace_header_map_value",
        |c, kind: i32, key: i32, key_len: i32, value: i32, value_len: i32| {
            let key = read(&mut c, key, key_len)?;
            let value = read(&mut c, value, value_len)?;
            with_map_mut(c.data_mut(), kind as u32, |m| {
                m.set(&key, &value);
                Ok(())
            })
        }
    );
    hostcall!(
        linker,
        "proxy_add_header_map_value",
        |c, kind: i32, key: i32, key_len: i32, value: i32, value_len: i32| {
            let key = read(&mut c, key, key_len)?;
            let value = read(&mut c, value, value_len)?;
            with_map_mut(c.data_mut(), kind as u32, |m| {
                m.add(&key, &value);
                Ok(())
            })
        }
    );
    hostcall!(linker, "proxy_remove_header_map_value", |c, kind: i32, key: i32, key_len: i32| {
        let key = read(&mut c, key, key_len)?;
        with_map_mut(c.data_mut(), kind as u32, |m| {
            m.remove(&key);
            Ok(())
        })
    });
    hostcall!(linker, "proxy_get_property", |c, path: i32, path_len: i32, ptr_out: i32, len_out: i32| {
        let path = read(&mut c, path, path_len)?;
        let value = get_property(&c, &path)?;
        return_bytes(&mut c, &value, ptr_out, len_out)
    });
    hostcall!(linker, "proxy_set_property", |c, path: i32, path_len: i32, value: i32, value_len: i32| {
        let path = read(&mut c, path, path_len)?;
        let value = read(&mut c, value, value_len)?;
        // Higress: the plugin asks for its VM to be replaced (see `VmSlot`); from the root
        // context too (a tick watching memory).
        let rebuild = path == NEED_REBUILD;
        if rebuild {
            c.data_mut().need_rebuild = value == b"true";
        }
        let Some((stream, _)) = c.data().stream() else {
            return if rebuild { Ok(()) } else { Err(Status::NotFound.into()) };
        };
        let mut s = stream.try_borrow_mut().map_err(|_| Status::InternalFailure)?;
        s.properties.insert(path, value);
        Ok(())
    });
    hostcall!(linker, "proxy_get_shared_data", |c,
                                                key: i32,
                                                key_len: i32,
                                                ptr_out: i32,
                                                len_out: i32,
                                                cas_out: i32| {
        let key = read_string(&mut c, key, key_len)?;
        let (value, cas) = c.data().env.shared_data(&c.data().vm_id, &key).ok_or(Status::NotFound)?;
        return_bytes(&mut c, &value, ptr_out, len_out)?;
        Ok(write_u32(&mut c, cas_out, cas)?)
    });
    hostcall!(linker, "proxy_set_shared_data", |c, key: i32, key_len: i32, value: i32, value_len: i32, cas: i32| {
        let key = read_string(&mut c, key, key_len)?;
        let value = read(&mut c, value, value_len)?;
        let state = c.data();
        Ok(state.env.set_shared_data(&state.vm_id, &key, &value, cas as u32)?)
    });
    hostcall!(linker, "proxy_register_shared_queue", |c, name: i32, name_len: i32, out: i32| {
        let name = read_string(&mut c, name, name_len)?;
        let state = c.data();
        let id = state.env.register_queue(&state.vm_id, &name, state.vm_key);
        Ok(write_u32(&mut c, out, id)?)
    });
    hostcall!(linker, "proxy_resolve_shared_queue", |c,
                                                     vm_id: i32,
                                                     vm_id_len: i32,
                                                     name: i32,
                                                     name_len: i32,
                                                     out: i32| {
        let vm_id = read_string(&mut c, vm_id, vm_id_len)?;
        let name = read_string(&mut c, name, name_len)?;
        let id = c.data().env.resolve_queue(&vm_id, &name).ok_or(Status::NotFound)?;
        Ok(write_u32(&mut c, out, id)?)
    });
    hostcall!(linker, "proxy_dequeue_shared_queue", |c, id: i32, ptr_out: i32, len_out: i32| {
        let value = c.data().env.dequeue(id as u32)?;
        return_bytes(&mut c, &value, ptr_out, len_out)
    });
    hostcall!(linker, "proxy_enqueue_shared_queue", |c, id: i32, value: i32, value_len: i32| {
        let value = read(&mut c, value, value_len)?;
        Ok(c.data().env.enqueue(id as u32, &value)?)
    });
    hostcall!(linker, "proxy_continue_stream", |c, kind: i32| {
        let dir = stream_dir(kind as u32)?;
        defer(c.data_mut(), Deferred::Continue(dir))
    });
    hostcall!(linker, "proxy_close_stream", |c, kind: i32| {
        stream_dir(kind as u32)?;
        defer(c.data_mut(), Deferred::Close)
    });
    hostcall!(linker, "proxy_send_local_response", |c,
                                                    status: i32,
                                                    details: i32,
                                                    details_len: i32,
                                                    body: i32,
                                                    body_len: i32,
                                                    headers: i32,
                                                    headers_len: i32,
                                                    grpc: i32| {
        let details = read_string(&mut c, details, details_len)?;
        let body = read(&mut c, body, body_len)?;
        let headers = read(&mut c, headers, headers_len)?;
        let headers = HeaderMap::from_pairs(&header_map::decode(&headers).map_err(|_| Status::BadArgument)?);
        let reply = LocalResponse {
            status: status as u32,
            headers,
            body,
            details,
            grpc_status: u32::try_from(grpc).ok().filter(|g| *g <= 16),
            filter: 0,
        };
        defer(c.data_mut(), Deferred::LocalReply(reply))?;
        c.data_mut().stop_next_iteration = true;
        Ok(())
    });
    hostcall!(linker, "proxy_http_call", |c,
                                          up: i32,
                                          up_len: i32,
                                          h: i32,
                                          h_len: i32,
                                          b: i32,
                                          b_len: i32,
                                          t: i32,
                                          t_len: i32,
                                          timeout: i32,
                                          token_out: i32| {
        let cluster = read_string(&mut c, up, up_len)?;
        let headers = read(&mut c, h, h_len)?;
        let body = read(&mut c, b, b_len)?;
        let trailers = read(&mut c, t, t_len)?;
        if timeout < 0 {
            return Err(Status::BadArgument.into());
        }
        let state = c.data_mut();
        state.env.upstream(&cluster).ok_or(Status::BadArgument)?;
        let mut headers = HeaderMap::from_pairs(&header_map::decode(&headers).map_err(|_| Status::BadArgument)?);
        if !headers.contains(":path") || !headers.contains(":method") || !headers.contains(":authority") {
            return Err(Status::BadArgument.into());
        }
        if !body.is_empty() {
            headers.set(b"content-length", body.len().to_string().as_bytes());
        }
        let trailers = HeaderMap::from_pairs(&header_map::decode(&trailers).map_err(|_| Status::BadArgument)?);
        state.next_http_token = state.next_http_token.wrapping_add(4);
        let token = state.next_http_token;
        let call = HttpCallout {
            token,
            cluster,
            headers,
            body,
            trailers,
            timeout: (timeout > 0).then(|| Duration::from_millis(timeout as u64)),
            context_id: state.effective_context,
            started_at: state.env.clock().monotonic_nanos(),
        };
        state.http_calls.insert(token, call);
        state.new_http_calls.push(token);
        crate::vm::count_call();
        Ok(write_u32(&mut c, token_out, token)?)
    });
    for (name, arity) in [
        ("proxy_grpc_call", 12),
        ("proxy_grpc_stream", 9),
        ("proxy_grpc_send", 4),
        ("proxy_grpc_cancel", 1),
        ("proxy_grpc_close", 1),
    ] {
        let params = vec![wasmtime::ValType::I32; arity];
        let ty = wasmtime::FuncType::new(linker.engine(), params, [wasmtime::ValType::I32]);
        linker.func_new(ENV, name, ty, |_, _, results| {
            if let Some(slot) = results.first_mut() {
                *slot = wasmtime::Val::I32(Status::Unimplemented.wire() as i32);
            }
            Ok(())
        })?;
    }
    hostcall!(linker, "proxy_get_status", |c, code_out: i32, ptr_out: i32, len_out: i32| {
        let (code, message) = c.data().status.clone();
        write_u32(&mut c, code_out, code)?;
        return_bytes(&mut c, &message, ptr_out, len_out)
    });
    hostcall!(linker, "proxy_set_effective_context", |c, id: i32| {
        let id = id as u32;
        let state = c.data_mut();
        let known = id == state.root_id || state.contexts.get(&id).is_some_and(|r| r.stream.strong_count() > 0);
        if !known {
            return Err(Status::BadArgument.into());
        }
        state.effective_context = id;
        Ok(())
    });
    hostcall!(
        linker,
        "proxy_call_foreign_function",
        |c, name: i32, name_len: i32, args: i32, args_len: i32, ptr_out: i32, len_out: i32| {
            let name = read_string(&mut c, name, name_len)?;
            let args = read(&mut c, args, args_len)?;
            let state = c.data_mut();
            state.foreign_calls.push((name.clone(), args));
            let result = match name.as_str() {
                "get_log_level" => state.log_level.wire().to_le_bytes().to_vec(),
                "set_global_max_requests_per_io_cycle" => Vec::new(),
                _ => return Err(Status::NotFound.into()),
            };
            return_bytes(&mut c, &result, ptr_out, len_out)
        }
    );
    hostcall!(linker, "proxy_done", |c| {
        let _ = &mut c;
        Ok(())
    });
    hostcall!(linker, "proxy_define_metric", |c, kind: i32, name: i32, name_len: i32, out: i32| {
        let kind = MetricType::from_wire(kind as u32).ok_or(Status::BadArgument)?;
        let name = read_string(&mut c, name, name_len)?;
        let id = c.data().env.define_metric(kind, &name)?;
        Ok(write_u32(&mut c, out, id)?)
    });
    hostcall!(linker, "proxy_get_metric", |c, id: i32, out: i32| {
        let value = c.data().env.with_metric(id as u32, |m| match m.kind {
            MetricType::Histogram => Err(Status::BadArgument),
            _ => Ok(m.value as u64),
        })?;
        Ok(write_u64(&mut c, out, value)?)
    });
    hostcall!(linker, "proxy_record_metric", |c, id: i32, value: i64| {
        Ok(c.data().env.with_metric(id as u32, |m| {
            match m.kind {
                MetricType::Counter => m.value = m.value.saturating_add(value),
                MetricType::Gauge => m.value = value,
                MetricType::Histogram => m.samples.push(value as u64),
            }
            Ok(())
        })?)
    });
    hostcall!(linker, "proxy_increment_metric", |c, id: i32, offset: i64| {
        Ok(c.data().env.with_metric(id as u32, |m| match m.kind {
            MetricType::Counter if offset < 0 => Err(Status::BadArgument),
            MetricType::Histogram => Err(Status::BadArgument),
            _ => {
                m.value = m.value.saturating_add(offset);
                Ok(())
            }
        })?)
    });
    hostcall!(linker, "proxy_redis_init", |c,
                                           cl: i32,
                                           cl_len: i32,
                                           u: i32,
                                           u_len: i32,
                                           p: i32,
                                           p_len: i32,
                                           timeout: i32| {
        let cluster = read_string(&mut c, cl, cl_len)?;
        let user = read_string(&mut c, u, u_len)?;
        let password = read_string(&mut c, p, p_len)?;
        let state = c.data_mut();
        state.env.upstream(crate::state::redis_cluster_name(&cluster)).ok_or(Status::BadArgument)?;
        let base = crate::state::redis_cluster_name(&cluster).to_string();
        state.redis_inits.retain(|i| i.base_cluster() != base);
        state.redis_init_count += 1;
        let timeout = Duration::from_millis(timeout as u32 as u64);
        state.redis_inits.push(RedisInit { cluster, user, password, timeout, generation: state.redis_init_count });
        Ok(())
    });
    hostcall!(linker, "proxy_redis_call", |c, cl: i32, cl_len: i32, q: i32, q_len: i32, token_out: i32| {
        let cluster = read_string(&mut c, cl, cl_len)?;
        let query = read(&mut c, q, q_len)?;
        let state = c.data_mut();
        if state.redis_init(&cluster).is_none() {
            return Err(Status::BadArgument.into());
        }
        state.next_redis_token = state.next_redis_token.wrapping_add(4);
        let token = state.next_redis_token;
        let call = RedisCallout {
            token,
            cluster,
            query,
            context_id: state.effective_context,
            started_at: state.env.clock().monotonic_nanos(),
        };
        state.redis_calls.insert(token, call);
        state.new_redis_calls.push(token);
        crate::vm::count_call();
        Ok(write_u32(&mut c, token_out, token)?)
    });
    hostcall!(linker, "proxy_inject_encoded_data_to_filter_chain", |c, body: i32, body_len: i32, end: i32| {
        let body = read(&mut c, body, body_len)?;
        defer(c.data_mut(), Deferred::Inject(body, end != 0))
    });
    hostcall!(linker, "proxy_get_upstream_hosts", |c, ptr_out: i32, len_out: i32| {
        let empty = HeaderMap::new().encode();
        return_bytes(&mut c, &empty, ptr_out, len_out)
    });
    hostcall!(linker, "proxy_set_upstream_override_host", |c, ptr: i32, len: i32| {
        let address = read(&mut c, ptr, len)?;
        let (stream, _) = c.data().stream().ok_or(Status::BadArgument)?;
        let mut s = stream.try_borrow_mut().map_err(|_| Status::InternalFailure)?;
        s.properties.insert(b"upstream_override_host".to_vec(), address);
        Ok(())
    });
    Ok(())
}

fn stream_dir(kind: u32) -> Result<Dir, Status> {
    match StreamType::from_wire(kind) {
        Some(StreamType::HttpRequest) => Ok(Dir::Request),
        Some(StreamType::HttpResponse) => Ok(Dir::Response),
        Some(_) => Err(Status::Unimplemented),
        None => Err(Status::BadArgument),
    }
}

fn defer(state: &mut HostState, action: Deferred) -> Hc {
    let (stream, filter) = state.stream().ok_or(Status::NotFound)?;
    {
        let mut s = stream.try_borrow_mut().map_err(|_| Status::InternalFailure)?;
        if s.complete {
            return Err(Status::NotFound.into());
        }
        s.deferred.push((filter, action));
    }
    state.touch(&stream);
    Ok(())
}

fn get_buffer(state: &HostState, kind: u32) -> Result<Vec<u8>, Status> {
    match BufferType::from_wire(kind).ok_or(Status::BadArgument)? {
        BufferType::PluginConfiguration => Ok(state.plugin_config.clone()),
        BufferType::VmConfiguration => Ok(state.vm_config.clone()),
        BufferType::HttpCallResponseBody => {
            state.http_response.as_ref().map(|r| r.body.clone()).ok_or(Status::NotFound)
        }
        BufferType::RedisCallResponse => state.redis_response.clone().ok_or(Status::NotFound),
        kind @ (BufferType::HttpRequestBody | BufferType::HttpResponseBody) => {
            let dir = if kind == BufferType::HttpRequestBody { Dir::Request } else { Dir::Response };
            let (stream, filter) = state.stream().ok_or(Status::NotFound)?;
            let s = stream.try_borrow().map_err(|_| Status::InternalFailure)?;
            let fd = s.slots.get(filter).ok_or(Status::NotFound)?.dir(dir);
            if fd.body_visible || fd.buffering {
                Ok(fd.buffer.clone())
            } else {
                Ok(Vec::new())
            }
        }
        _ => Err(Status::NotFound),
    }
}

/// Envoy's `Buffer::copyFrom`: `start == 0` drains `size` bytes then prepends; `start` at or
/// past the end appends; anything else is a bad argument.
fn set_buffer(state: &mut HostState, kind: u32, start: usize, size: usize, data: &[u8]) -> Hc {
    let dir = match BufferType::from_wire(kind).ok_or(Status::BadArgument)? {
        BufferType::HttpRequestBody => Dir::Request,
        BufferType::HttpResponseBody => Dir::Response,
        _ => return Err(Status::BadArgument.into()),
    };
    let (stream, filter) = state.stream().ok_or(Status::NotFound)?;
    let mut s = stream.try_borrow_mut().map_err(|_| Status::InternalFailure)?;
    let fd = s.slots.get_mut(filter).ok_or(Status::NotFound)?.dir_mut(dir);
    if !(fd.body_visible || fd.buffering) {
        return Err(Status::BadArgument.into());
    }
    if start == 0 {
        let drain = size.min(fd.buffer.len());
        fd.buffer.splice(..drain, data.iter().copied());
    } else if start >= fd.buffer.len() {
        fd.buffer.extend_from_slice(data);
    } else {
        return Err(Status::BadArgument.into());
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadPairs,
    ReadValue,
}

/// Runs `f` on a readable header map; `None` when the map is not available now.
fn with_map<R>(
    state: &HostState,
    kind: u32,
    access: Access,
    f: impl FnOnce(Option<&HeaderMap>) -> Result<R, Status>,
) -> Result<R, Status> {
    let kind = MapType::from_wire(kind).ok_or(Status::BadArgument)?;
    match kind {
        MapType::HttpCallResponseHeaders => return f(state.http_response.as_ref().map(|r| &r.headers)),
        MapType::HttpCallResponseTrailers => return f(state.http_response.as_ref().map(|r| &r.trailers)),
        MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata => return f(None),
        _ => {}
    }
    let Some((stream, filter)) = state.stream() else {
        return if access == Access::ReadPairs { f(None) } else { Err(Status::BadArgument) };
    };
    let s = stream.try_borrow().map_err(|_| Status::InternalFailure)?;
    let slot = s.slots.get(filter).ok_or(Status::BadArgument)?;
    let visible = map_visible(&s, filter, kind, slot.in_log);
    if !visible {
        return f(None);
    }
    f(map_ref(&s, kind))
}

fn map_visible(s: &StreamState, filter: usize, kind: MapType, in_log: bool) -> bool {
    let Some(slot) = s.slots.get(filter) else {
        return false;
    };
    in_log
        || match kind {
            MapType::HttpRequestHeaders => slot.request.headers_visible,
            MapType::HttpRequestTrailers => slot.request.trailers_visible,
            MapType::HttpResponseHeaders => slot.response.headers_visible,
            MapType::HttpResponseTrailers => slot.response.trailers_visible,
            _ => false,
        }
}

fn map_ref(s: &StreamState, kind: MapType) -> Option<&HeaderMap> {
    match kind {
        MapType::HttpRequestHeaders => Some(&s.request_headers),
        MapType::HttpRequestTrailers => s.request_trailers.as_ref(),
        MapType::HttpResponseHeaders => Some(&s.response_headers),
        MapType::HttpResponseTrailers => s.response_trailers.as_ref(),
        _ => None,
    }
}

/// Runs `f` on a writable header map (never at access-log time, never on callout replies).
fn with_map_mut(state: &mut HostState, kind: u32, f: impl FnOnce(&mut HeaderMap) -> Result<(), Status>) -> Hc {
    let kind = MapType::from_wire(kind).ok_or(Status::BadArgument)?;
    let (stream, filter) = state.stream().ok_or(Status::BadArgument)?;
    let mut s = stream.try_borrow_mut().map_err(|_| Status::InternalFailure)?;
    let in_log = s.slots.get(filter).ok_or(Status::BadArgument)?.in_log;
    if in_log || !map_visible(&s, filter, kind, false) {
        return Err(Status::BadArgument.into());
    }
    let map = match kind {
        MapType::HttpRequestHeaders => s.headers_mut(Dir::Request),
        MapType::HttpResponseHeaders => s.headers_mut(Dir::Response),
        MapType::HttpRequestTrailers => s.request_trailers.get_or_insert_with(HeaderMap::new),
        MapType::HttpResponseTrailers => s.response_trailers.get_or_insert_with(HeaderMap::new),
        _ => return Err(Status::BadArgument.into()),
    };
    Ok(f(map)?)
}

/// Property lookup: filter state set by plugins or the host, then attributes derived from the
/// stream, then VM-wide ones.
fn get_property(c: &C<'_>, path: &[u8]) -> Result<Vec<u8>, Status> {
    let state = c.data();
    let segments = property::decode_path(path);
    if let Some((stream, _)) = state.stream() {
        let s = stream.try_borrow().map_err(|_| Status::InternalFailure)?;
        if let Some(value) = s.properties.get(path) {
            return Ok(value.clone());
        }
        if let Some(value) = s.info.as_ref().and_then(|info| info.property(&segments)) {
            return Ok(value);
        }
        if let Some(value) = stream_attribute(&s, &segments) {
            return Ok(value);
        }
    }
    match segments.as_slice() {
        [b"plugin_name"] => Ok(state.plugin_name.clone().into_bytes()),
        [b"plugin_root_id"] => Ok(state.plugin_name.clone().into_bytes()),
        [b"plugin_vm_id"] => Ok(state.vm_id.clone().into_bytes()),
        [b"plugin_vm_memory"] => {
            let size = state.memory.map(|m| m.data_size(c) as u64).unwrap_or(0);
            Ok(size.to_le_bytes().to_vec())
        }
        _ => Err(Status::NotFound),
    }
}

fn stream_attribute(s: &StreamState, segments: &[&[u8]]) -> Option<Vec<u8>> {
    let header = |name: &str| s.request_headers.get_bytes(name.as_bytes()).map(<[u8]>::to_vec);
    match segments {
        [b"request", b"path"] => header(":path"),
        [b"request", b"url_path"] => {
            header(":path").map(|p| p.split(|b| *b == b'?').next().unwrap_or_default().to_vec())
        }
        [b"request", b"host"] => header(":authority"),
        [b"request", b"scheme"] => header(":scheme"),
        [b"request", b"method"] => header(":method"),
        [b"request", b"id"] => header("x-request-id"),
        [b"request", b"useragent"] => header("user-agent"),
        [b"request", b"referer"] => header("referer"),
        [b"request", b"protocol"] => Some(b"HTTP/1.1".to_vec()),
        [b"response", b"code"] => {
            let status: i64 = s.response_headers.get(":status")?.parse().ok()?;
            Some(status.to_le_bytes().to_vec())
        }
        _ => None,
    }
}
