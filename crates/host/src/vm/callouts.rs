//! The HTTP and Redis calls a plugin makes: what is pending, what is new for a proxy to
//! serve, answers delivered to the plugin, and forwarding to real servers for tests.

use super::{RedisReply, Vm};
use crate::error::HostError;
use crate::state::{HttpCallout, HttpResponse, RedisCallout, RedisInit};
use higress_abi::Status;
use std::cell::Cell;

thread_local! {
    static QUEUED: Cell<u64> = const { Cell::new(0) };
}

/// How many HTTP and Redis calls the VMs of this thread have made so far. A VM runs on the
/// thread that started it, so a proxy serving this thread's VMs need only look at them for
/// new calls ([`Vm::take_new_http_calls`], [`Vm::take_new_redis_calls`]) when this changed
/// since it last did: looking costs a few borrows per VM, on every turn of every request.
pub fn calls_made() -> u64 {
    QUEUED.with(Cell::get)
}

/// Counts a call made on this thread (see [`calls_made`]).
pub(crate) fn count_call() {
    QUEUED.with(|n| n.set(n.get().wrapping_add(1)));
}

impl Vm {
    /// Serves pending callouts whose cluster maps to an address ([`crate::Upstream::Address`]):
    /// Redis commands go to the Redis server, HTTP calls to the HTTP server, and the answers
    /// (or network errors) reach the plugin. Repeats while callbacks make new calls.
    pub fn forward_callouts(&self) -> Result<(), HostError> {
        use crate::env::Upstream;
        let mut first_error = None;
        for _round in 0..64 {
            let (http, redis) = {
                let core = self.inner.core.borrow();
                let state = core.store.data();
                let address = |cluster: &str| match state.env.upstream(cluster) {
                    Some(Upstream::Address(a)) => Some(a),
                    _ => None,
                };
                let http: Vec<(String, HttpCallout)> =
                    state.http_calls.values().filter_map(|c| Some((address(&c.cluster)?, c.clone()))).collect();
                let redis: Vec<(String, RedisInit, RedisCallout)> = state
                    .redis_calls
                    .values()
                    .filter_map(|c| {
                        let init = state.redis_init(&c.cluster)?;
                        Some((address(init.base_cluster())?, init.clone(), c.clone()))
                    })
                    .collect();
                (http, redis)
            };
            if http.is_empty() && redis.is_empty() {
                break;
            }
            for (address, call) in http {
                let response = crate::forward::http_call(&address, &call);
                if let Err(e) = self.respond_http_call(call.token, response) {
                    first_error.get_or_insert(e);
                }
            }
            for (address, init, call) in redis {
                let reply = self.inner.redis.borrow_mut().call(
                    init.base_cluster(),
                    &address,
                    &init,
                    init.generation,
                    &call.query,
                );
                let reply = reply.map_or(RedisReply::NetworkError, RedisReply::Data);
                if let Err(e) = self.respond_redis_call(call.token, reply) {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    // ----- HTTP callouts -----

    /// HTTP callouts waiting for an answer, oldest first.
    pub fn http_calls(&self) -> Vec<HttpCallout> {
        self.inner.core.borrow().store.data().http_calls.values().cloned().collect()
    }

    /// HTTP callouts made since the last call of this function that are still waiting: for
    /// a proxy that serves each call once, without rescanning the pending ones.
    pub fn take_new_http_calls(&self) -> Vec<HttpCallout> {
        let mut core = self.inner.core.borrow_mut();
        let state = core.store.data_mut();
        let tokens = std::mem::take(&mut state.new_http_calls);
        tokens.iter().filter_map(|t| state.http_calls.get(t).cloned()).collect()
    }

    /// Answers an HTTP callout: `proxy_on_http_call_response` runs on the root context.
    pub fn respond_http_call(&self, token: u32, response: HttpResponse) -> Result<(), HostError> {
        self.finish_http_call(token, Some(response))
    }

    /// Fails an HTTP callout as a reset connection (`proxy_get_status` reports
    /// `BrokenConnection`, the callback gets no headers).
    pub fn fail_http_call(&self, token: u32) -> Result<(), HostError> {
        self.finish_http_call(token, None)
    }

    fn finish_http_call(&self, token: u32, response: Option<HttpResponse>) -> Result<(), HostError> {
        let (n_headers, body_len, n_trailers) = {
            let mut core = self.inner.core.borrow_mut();
            let state = core.store.data_mut();
            state
                .http_calls
                .remove(&token)
                .ok_or_else(|| HostError::Usage(format!("no pending HTTP call with token {token}")))?;
            // Keeps the not-yet-taken list within the pending calls when no proxy takes them.
            state.new_http_calls.retain(|t| *t != token);
            let sizes = match &response {
                Some(r) => (r.headers.len() as i32, r.body.len() as i32, r.trailers.len() as i32),
                None => (0, 0, 0),
            };
            state.status = match &response {
                Some(_) => (Status::Ok.wire(), Vec::new()),
                None => (Status::BrokenConnection.wire(), b"reset".to_vec()),
            };
            state.http_response = response;
            sizes
        };
        let root = self.root_context_id() as i32;
        let result = self.root_call(
            "proxy_on_http_call_response",
            |e| &e.http_call_response,
            (root, token as i32, n_headers, body_len, n_trailers),
        );
        if let Ok(mut core) = self.inner.core.try_borrow_mut() {
            let state = core.store.data_mut();
            state.http_response = None;
            state.status = (0, Vec::new());
        }
        result.map(|_| ())
    }

    // ----- Redis -----

    /// `proxy_redis_init` calls the plugin made.
    pub fn redis_inits(&self) -> Vec<RedisInit> {
        self.inner.core.borrow().store.data().redis_inits.clone()
    }

    /// Redis calls waiting for a reply, oldest first.
    pub fn redis_calls(&self) -> Vec<RedisCallout> {
        self.inner.core.borrow().store.data().redis_calls.values().cloned().collect()
    }

    /// Redis calls made since the last call of this function that are still waiting, each
    /// with the init of its cluster (what a proxy needs to open the connection).
    pub fn take_new_redis_calls(&self) -> Vec<(RedisCallout, Option<RedisInit>)> {
        let mut core = self.inner.core.borrow_mut();
        let state = core.store.data_mut();
        let tokens = std::mem::take(&mut state.new_redis_calls);
        tokens
            .iter()
            .filter_map(|t| state.redis_calls.get(t))
            .map(|c| (c.clone(), state.redis_init(&c.cluster).cloned()))
            .collect()
    }

    /// Answers a Redis call: `proxy_on_redis_call_response` runs on the root context.
    pub fn respond_redis_call(&self, token: u32, reply: RedisReply) -> Result<(), HostError> {
        let (status, size) = {
            let mut core = self.inner.core.borrow_mut();
            let state = core.store.data_mut();
            state
                .redis_calls
                .remove(&token)
                .ok_or_else(|| HostError::Usage(format!("no pending Redis call with token {token}")))?;
            state.new_redis_calls.retain(|t| *t != token);
            match reply {
                RedisReply::Data(bytes) => {
                    let size = bytes.len() as i32;
                    state.redis_response = Some(bytes);
                    (0, size)
                }
                RedisReply::NetworkError => {
                    state.redis_response = None;
                    (1, 0)
                }
            }
        };
        let root = self.root_context_id() as i32;
        let result = self.root_call(
            "proxy_on_redis_call_response",
            |e| &e.redis_call_response,
            (root, token as i32, status, size),
        );
        if let Ok(mut core) = self.inner.core.try_borrow_mut() {
            core.store.data_mut().redis_response = None;
        }
        result.map(|_| ())
    }
}
