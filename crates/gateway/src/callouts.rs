//! Serving the plugins' callouts asynchronously: HTTP calls through the worker's client,
//! Redis calls over one connection per cluster per VM (opened with the plugin's AUTH and
//! SELECT, reopened after a new init or an error). Answers go back to the VM, which resumes
//! the streams waiting for them.

use crate::body;
use crate::client::Client;
use crate::config::GatewayConfig;
use crate::convert;
use bytes::Bytes;
use higress_abi::resp;
use higress_host::forward::redis_handshake;
use higress_host::{HeaderMap, HttpCallout, HttpResponse, RedisCallout, RedisInit, RedisReply, Vm, VmSlot};
use http_body_util::BodyExt;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Timeout of a callout that set none (Envoy's async client has none; this keeps a hung
/// upstream from holding a request forever).
const DEFAULT_CALLOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// What serves a worker's callouts: the plugins' VMs (by their chain index; a rebuilt VM's
/// predecessor too while it has streams), the services they call, the HTTP client and the
/// Redis connections.
pub struct Callouts {
    config: Arc<GatewayConfig>,
    vms: Vec<(usize, Rc<VmSlot>)>,
    client: Client,
    /// Redis connections: (chain index, cluster).
    redis: RefCell<HashMap<(usize, String), SharedRedis>>,
    /// [`higress_host::calls_made`] when the VMs were last looked at.
    seen: std::cell::Cell<u64>,
}

impl Callouts {
    /// Callouts of `vms` (chain index, VM slot) to the services of `config`.
    pub fn new(config: Arc<GatewayConfig>, vms: Vec<(usize, Rc<VmSlot>)>, client: Client) -> Self {
        Callouts { config, vms, client, redis: RefCell::default(), seen: std::cell::Cell::new(0) }
    }

    /// Starts serving every callout the VMs made since the last pump, each once. The VMs are
    /// looked at only when some VM of this thread made a call since: the pump runs on every
    /// turn of every request, and most turns make none.
    pub fn pump(self: &Rc<Self>) {
        let made = higress_host::calls_made();
        if made == self.seen.replace(made) {
            return;
        }
        for (index, slot) in &self.vms {
            slot.for_each_live_vm(|vm| {
                for call in vm.take_new_http_calls() {
                    tokio::task::spawn_local(http_callout(self.clone(), vm.clone(), call));
                }
                for (call, init) in vm.take_new_redis_calls() {
                    tokio::task::spawn_local(redis_callout(self.clone(), *index, vm.clone(), call, init));
                }
            });
        }
    }
}

/// Serves one HTTP callout. The host also answers 504 when the call's own timeout passes
/// (`Vm::poll`); the bound here ends the outbound request then, or after
/// [`DEFAULT_CALLOUT_TIMEOUT`] for a call without one.
async fn http_callout(worker: Rc<Callouts>, vm: Vm, call: HttpCallout) {
    let response = match worker.config.service_by_cluster(&call.cluster) {
        None => HttpResponse::new(503, &[], "no healthy upstream"),
        Some(service) => {
            let timeout = call.timeout.unwrap_or(DEFAULT_CALLOUT_TIMEOUT);
            match tokio::time::timeout(timeout, send(&worker, &service.address, &call)).await {
                Ok(Ok(response)) => response,
                Ok(Err(reason)) => HttpResponse::new(
                    503,
                    &[],
                    format!("upstream connect error or disconnect/reset before headers. reset reason: {reason}"),
                ),
                Err(_) => HttpResponse::new(504, &[], "upstream request timeout"),
            }
        }
    };
    // The host may have timed the call out already: then the token is gone, which is fine.
    let _ = vm.respond_http_call(call.token, response);
    worker.pump();
}

async fn send(worker: &Callouts, address: &str, call: &HttpCallout) -> Result<HttpResponse, String> {
    let body = if call.body.is_empty() { body::empty() } else { body::full(Bytes::from(call.body.clone())) };
    let request = convert::upstream_request(address, &call.headers, None, body).map_err(|e| e.to_string())?;
    let response = worker.client.request(address, request).await.map_err(|e| e.reason())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(HttpResponse { headers: convert::response_head(&parts), body: body.to_vec(), trailers: HeaderMap::new() })
}

/// A VM's connection to one Redis cluster, opened lazily, shared by its calls in turn.
type SharedRedis = Rc<tokio::sync::Mutex<Option<RedisConnection>>>;

/// One Redis connection.
struct RedisConnection {
    stream: TcpStream,
    buffer: Vec<u8>,
    generation: u64,
}

impl RedisConnection {
    async fn open(address: &str, init: &RedisInit) -> std::io::Result<RedisConnection> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let mut conn = RedisConnection { stream, buffer: Vec::new(), generation: init.generation };
        for command in redis_handshake(init) {
            conn.call(&command).await?;
        }
        Ok(conn)
    }

    async fn call(&mut self, query: &[u8]) -> std::io::Result<Vec<u8>> {
        self.stream.write_all(query).await?;
        loop {
            match resp::frame_len(&self.buffer) {
                Ok(Some(n)) => return Ok(self.buffer.drain(..n).collect()),
                Ok(None) => {}
                Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())),
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "redis closed the connection"));
            }
            self.buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

async fn redis_callout(worker: Rc<Callouts>, index: usize, vm: Vm, call: RedisCallout, init: Option<RedisInit>) {
    let address =
        init.as_ref().and_then(|i| worker.config.service_by_cluster(i.base_cluster())).map(|s| s.address.clone());
    let reply = match (init, address) {
        (Some(init), Some(address)) => {
            let cell = worker.redis.borrow_mut().entry((index, init.base_cluster().to_string())).or_default().clone();
            let timeout = if init.timeout.is_zero() { Duration::from_secs(1) } else { init.timeout };
            // The timeout covers the wait for the connection too: with Redis hung, calls
            // queued behind one another each end within their own timeout (and one whose
            // request was already answered is never sent late).
            let attempt = tokio::time::timeout(timeout, async {
                let mut slot = cell.lock().await;
                // Out of its slot while in use: a call cut short by its timeout drops the
                // connection with it (a reply that came too late would answer the next call).
                let mut conn = match slot.take() {
                    Some(conn) if conn.generation == init.generation => conn,
                    _ => RedisConnection::open(&address, &init).await?,
                };
                let reply = conn.call(&call.query).await?;
                *slot = Some(conn);
                Ok::<_, std::io::Error>(reply)
            })
            .await;
            match attempt {
                Ok(Ok(bytes)) => RedisReply::Data(bytes),
                _ => RedisReply::NetworkError,
            }
        }
        _ => RedisReply::NetworkError,
    };
    let _ = vm.respond_redis_call(call.token, reply);
    worker.pump();
}
