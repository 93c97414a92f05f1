//! One request through the gateway: client -> plugin chain -> upstream -> plugin chain ->
//! client, streamed chunk by chunk in both directions.
//!
//! Headers from the client become the pseudo-headers plugins expect (`:authority`, `:path`,
//! `:method`, `:scheme`) plus the rest; `x-request-id` is added when missing, and
//! `x-forwarded-for`/`x-forwarded-proto` as Envoy does. What leaves the chain toward the
//! upstream starts the upstream request; what leaves it toward the client is the response.
//! Router answers (no route, upstream unreachable or too slow) go through the response
//! phases of the chain, as Envoy's router replies do.

use crate::access_log::Entry;
use crate::body::{self, GwBody};
use crate::convert::{
    head_bytes, header_map, remove_hop_by_hop, response_head, to_hyper_headers, upstream_request, upstream_uri,
};
use crate::limits;
use crate::pipe::Pipe;
use crate::worker::Worker;
use bytes::Bytes;
use higress_host::{HeaderMap, OutEvent, RequestInfo, Stream};
use http_body::{Body as _, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, Uri};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

const X_REQUEST_ID: hyper::header::HeaderName = hyper::header::HeaderName::from_static("x-request-id");
const X_FORWARDED_FOR: hyper::header::HeaderName = hyper::header::HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: hyper::header::HeaderName = hyper::header::HeaderName::from_static("x-forwarded-proto");

/// The upstream exchange runs as its own task, so connecting and sending the request body
/// go on while this request's driver waits for something else.
type UpstreamTask = tokio::task::JoinHandle<Result<Response<Incoming>, crate::client::Error>>;

fn plain(status: u16, body: &str) -> Response<GwBody> {
    let mut response = Response::new(body::full(Bytes::copy_from_slice(body.as_bytes())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("text/plain"));
    response
}

/// The request's authority: its `Host` header, else the URI's (absolute-form requests).
fn authority(parts: &hyper::http::request::Parts) -> String {
    parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// A fresh request id: 32 hex digits. Each worker thread draws them from its own
/// generator (splitmix64 over a counter from a random start): unique on a thread, different
/// on every start, with no hash per request. An id is a trace handle, not a secret: like any
/// non-cryptographic generator's, one reveals the ones after it on its thread.
fn request_id() -> String {
    use std::cell::Cell;
    use std::hash::BuildHasher;
    thread_local! {
        static NEXT: Cell<u64> = Cell::new(std::collections::hash_map::RandomState::new().hash_one(0u64));
    }
    let draw = || {
        NEXT.with(|next| {
            let value = next.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            next.set(value);
            let mut z = value;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(32);
    for word in [draw(), draw()] {
        for shift in (0..16).rev() {
            id.push(char::from(HEX.get(((word >> (shift * 4)) & 0xf) as usize).copied().unwrap_or(b'0')));
        }
    }
    id
}

/// The client's address as an `x-forwarded-for` value: made once per connection, each of its
/// requests takes a copy (a reference count, not the formatting).
pub fn client_ip(peer: SocketAddr) -> HeaderValue {
    HeaderValue::from_str(&peer.ip().to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What the gateway does to every request's headers before anything else sees them, as Envoy
/// does: connection-level headers dropped, `x-request-id` added when missing, the peer
/// appended to `x-forwarded-for` (`ip` is [`client_ip`] of `peer`), `x-forwarded-proto` when
/// missing. Returns the request id.
fn forwarding_headers(headers: &mut hyper::HeaderMap, peer: SocketAddr, ip: HeaderValue) -> String {
    remove_hop_by_hop(headers);
    // A client's id is kept (its first value only, as Envoy keeps one).
    let id = headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).map_or_else(request_id, str::to_string);
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(X_REQUEST_ID, value);
    }
    let forwarded = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) => HeaderValue::from_str(&format!("{prior}, {}", peer.ip())).ok(),
        None => Some(ip),
    };
    if let Some(value) = forwarded {
        headers.insert(X_FORWARDED_FOR, value);
    }
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    }
    id
}

/// Serves one request.
pub async fn handle(
    worker: Rc<Worker>,
    req: Request<Incoming>,
    peer: SocketAddr,
    ip: HeaderValue,
    local: SocketAddr,
) -> Result<Response<GwBody>, Infallible> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    if limits::headers_too_large(&parts.headers) {
        return Ok(refuse_head(&worker, &parts, started));
    }
    if worker.slots.is_empty() {
        return Ok(direct(&worker, parts, body, peer, ip, started).await);
    }
    let mut parts = parts;
    let authority = authority(&parts);
    let path = parts.uri.path_and_query().map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
    let method = parts.method.as_str().to_string();
    let id = forwarding_headers(&mut parts.headers, peer, ip);

    // Sized once: the pseudo-headers' names and values, then the rest.
    let pseudo = ":authority:path:method:scheme".len() + authority.len() + path.len() + method.len() + 4;
    let mut headers = HeaderMap::with_capacity(parts.headers.len() + 4, pseudo + head_bytes(&parts.headers));
    headers.add(b":authority", authority.as_bytes());
    headers.add(b":path", path.as_bytes());
    headers.add(b":method", method.as_bytes());
    headers.add(b":scheme", b"http");
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST {
            headers.add(name.as_str().as_bytes(), value.as_bytes());
        }
    }
    headers.mark_pristine();

    let filters = match worker.filters() {
        Ok(filters) => filters,
        Err((name, why)) => {
            eprintln!("hgw: request {id} refused: plugin {name} {why}");
            worker.finish(&Entry::refused(&method, &path, 503, started.elapsed(), &id));
            return Ok(plain(503, ""));
        }
    };

    let route_index = worker.config.routes.find_index(&authority, &path);
    let route = route_index.and_then(|i| worker.config.routes.all().get(i));
    let service = route.and_then(|r| worker.config.service(&r.service));
    let route_name = route.map(|r| r.name.clone()).unwrap_or_default();
    let target = service.map(|s| s.address.clone());
    let timeout = route.map(|r| r.timeout_ms).filter(|ms| *ms > 0).map(Duration::from_millis);
    let has_filters = !filters.is_empty();
    let stream = Stream::new(filters);
    stream.keep_messages(false);
    // The properties Envoy gives plugins about a request, formatted when one reads them.
    if has_filters {
        stream.set_request_info(RequestInfo {
            route: route_name.clone(),
            cluster: service.map(|s| s.cluster().to_string()).unwrap_or_default(),
            source: peer,
            destination: local,
            request_id: id.clone(),
        });
    }
    let notify = Rc::new(Notify::new());

    {
        let notify = notify.clone();
        stream.set_waker(move || notify.notify_one());
    }
    let (respond, response) = oneshot::channel();
    let driver = Driver {
        worker,
        stream,
        notify,
        target,
        route: route_name,
        route_index,
        timeout,
        respond: Some(respond),
        downstream: Pipe::default(),
        downstream_done: false,
        status: 0,
        upstream: Pipe::default(),
        pending: None,
        request_head: Some(parts.headers),
        response_head: None,
        upstream_body: None,
        deadline: None,
        request_end_sent: false,
    };
    tokio::task::spawn_local(driver.run(body, headers, method, path, id, started));
    Ok(response.await.unwrap_or_else(|_| plain(502, "")))
}

/// How long the rest of a request body answered early is read and dropped: Envoy's
/// `delayed_close_timeout` default.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Reads and drops what the client still sends after it was answered early (a 401 on a
/// large upload), for a moment. Closing at once would leave unread bytes in the socket, and
/// the kernel then resets the connection, often before the client has read the answer.
async fn drain(client: &mut Incoming) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, client.frame()).await {}
}

/// The answer to a request head over Envoy's limits: it reaches no plugin and no upstream,
/// and the connection closes (the rest of the request cannot be trusted to be framed).
fn refuse_head(worker: &Worker, parts: &hyper::http::request::Parts, started: Instant) -> Response<GwBody> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let id = request_id();
    let entry = Entry::refused(parts.method.as_str(), path, limits::TOO_LARGE_STATUS, started.elapsed(), &id);
    worker.finish(&entry);
    let mut response = plain(limits::TOO_LARGE_STATUS, limits::TOO_LARGE_BODY);
    response.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    response
}

/// Moves one request along until the response has been sent.
struct Driver {
    worker: Rc<Worker>,
    stream: Stream,
    notify: Rc<Notify>,
    target: Option<String>,
    route: String,
    /// The route, in the worker's route table (its rewrites apply when the request leaves).
    route_index: Option<usize>,
    /// The route's upstream timeout (`None`: disabled, as Envoy's `0s`).
    timeout: Option<Duration>,
    /// Where the response head goes (taken when sent).
    respond: Option<oneshot::Sender<Response<GwBody>>>,
    /// The response body toward the client.
    downstream: Pipe,
    /// The response was sent completely (or abandoned).
    downstream_done: bool,
    status: u16,
    /// The request body toward the upstream.
    upstream: Pipe,
    pending: Option<UpstreamTask>,
    /// The client's headers, while the plugins' copy of them is pristine: sent on as they
    /// are (see `HeaderMap::mark_pristine`).
    request_head: Option<hyper::HeaderMap>,
    /// The upstream's response headers, likewise.
    response_head: Option<hyper::HeaderMap>,
    upstream_body: Option<Incoming>,
    deadline: Option<tokio::time::Instant>,
    request_end_sent: bool,
}

async fn wait_response(pending: &mut Option<UpstreamTask>) -> Result<Response<Incoming>, String> {
    match pending {
        Some(task) => match task.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(e.reason()),
            Err(e) => Err(e.to_string()),
        },
        None => std::future::pending().await,
    }
}

async fn next_frame(body: &mut Option<Incoming>, paused: bool) -> Option<Result<Frame<Bytes>, hyper::Error>> {
    match body {
        Some(body) if !paused => body.frame().await,
        _ => std::future::pending().await,
    }
}

async fn client_gone(respond: &mut Option<oneshot::Sender<Response<GwBody>>>) {
    match respond {
        Some(tx) => tx.closed().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

// The results of `send_*` are ignored: input the chain refuses (a stream already answered)
// needs no handling, and traps are reported with the plugin's name when the request ends.
impl Driver {
    async fn run(
        mut self,
        mut client: Incoming,
        headers: HeaderMap,
        method: String,
        path: String,
        id: String,
        started: Instant,
    ) {
        let end = client.is_end_stream();
        let _ = self.stream.send_request_headers(headers, end);
        self.request_end_sent = end;
        let mut client_done = end;
        let mut client_gone_early = false;
        loop {
            self.worker.pump();
            self.flush();
            if self.downstream.is_closed() {
                self.client_went_away();
                client_gone_early = true;
                break;
            }
            if self.stream.is_complete()
                && (self.downstream_done || self.respond.is_none() && !self.downstream.is_open())
            {
                break;
            }
            let read_client = !client_done && !self.upstream.is_backed_up();
            let upstream_paused = self.downstream.is_backed_up();
            tokio::select! {
                frame = client.frame(), if read_client => match frame {
                    Some(Ok(frame)) => {
                        let end = client.is_end_stream();
                        match frame.into_data() {
                            Ok(data) => {
                                let _ = self.stream.send_request_body(&data, end);
                                self.request_end_sent |= end;
                                client_done = end;
                            }
                            Err(frame) => {
                                if let Ok(trailers) = frame.into_trailers() {
                                    let _ = self.stream.send_request_trailers(header_map(&trailers));
                                    self.request_end_sent = true;
                                }
                                client_done = true;
                            }
                        }
                    }
                    None => {
                        client_done = true;
                        if !self.request_end_sent {
                            let _ = self.stream.send_request_body(b"", true);
                            self.request_end_sent = true;
                        }
                    }
                    Some(Err(_)) => {
                        self.client_went_away();
                        client_gone_early = true;
                        break;
                    }
                },
                _ = self.notify.notified() => {}
                response = wait_response(&mut self.pending) => {
                    self.pending = None;
                    self.deadline = None;
                    self.on_upstream_response(response);
                }
                frame = next_frame(&mut self.upstream_body, upstream_paused) => self.on_upstream_frame(frame),
                _ = sleep_until(self.deadline), if self.pending.is_some() => {
                    self.abort_upstream();
                    self.router_reply(504, "upstream request timeout", "upstream_response_timeout");
                }
                _ = client_gone(&mut self.respond) => {
                    self.client_went_away();
                    client_gone_early = true;
                    break;
                }
                _ = self.downstream.wait() => {}
                _ = self.upstream.wait() => {
                    if self.upstream.is_closed() {
                        // The upstream stopped reading the request (it answered early or the
                        // connection failed): the rest of the body has nowhere to go.
                        self.upstream.abort();
                    }
                }
            }
        }
        for (plugin, trap) in self.stream.traps_by_plugin() {
            let strategy =
                if self.worker.fails_open(&plugin) { "skipped it (FAIL_OPEN)" } else { "answered 503 (FAIL_CLOSE)" };
            eprintln!("hgw: request {id}: plugin {plugin} failed, {strategy}: {}", one_line(&trap.to_string()));
        }
        // The entry's properties are looked up (and the cluster's name formatted) only when
        // something records it.
        if self.worker.records_requests() {
            let custom_log = self.stream.property_string("custom_log");
            let ai_log = self.stream.property_string("ai_log");
            let cluster = self.stream.property_string("cluster_name").unwrap_or_default();
            let entry = Entry {
                method: &method,
                path: &path,
                status: self.status,
                route: &self.route,
                cluster: &cluster,
                duration: started.elapsed(),
                request_id: &id,
                custom_log,
                ai_log,
            };
            self.worker.finish(&entry);
        }
        if !client_done && !client_gone_early {
            drain(&mut client).await;
        }
    }

    /// Applies what left the chain on both sides.
    fn flush(&mut self) {
        for event in self.stream.take_upstream_events() {
            match event {
                OutEvent::Headers(headers, end) => self.start_upstream(headers, end),
                OutEvent::Data(data, end) => {
                    self.upstream.push(Ok(Frame::data(Bytes::from(data))));
                    if end {
                        self.upstream.finish();
                    }
                }
                OutEvent::Trailers(trailers) => {
                    self.upstream.push(Ok(Frame::trailers(to_hyper_headers(&trailers))));
                    self.upstream.finish();
                }
                OutEvent::Reset => self.abort_upstream(),
            }
        }
        let mut events = self.stream.take_downstream_events().into_iter().peekable();
        while let Some(event) = events.next() {
            match event {
                OutEvent::Headers(headers, end) => {
                    self.status = headers.get(":status").and_then(|s| s.parse().ok()).unwrap_or(502);
                    // The whole body came with the head: sent whole, no stream opened for it.
                    let whole = match events.next_if(|e| !end && matches!(e, OutEvent::Data(_, true))) {
                        Some(OutEvent::Data(data, _)) => Some(data),
                        _ => None,
                    };
                    let body = if let Some(data) = whole {
                        self.downstream_done = true;
                        body::full(data)
                    } else if end {
                        self.downstream_done = true;
                        body::empty()
                    } else {
                        self.downstream.open()
                    };
                    let mut response = Response::new(body);
                    *response.status_mut() =
                        hyper::StatusCode::from_u16(self.status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
                    *response.headers_mut() = match self.response_head.take() {
                        Some(same) if headers.is_pristine() => same,
                        _ => to_hyper_headers(&headers),
                    };
                    if let Some(respond) = self.respond.take() {
                        let _ = respond.send(response);
                    }
                }
                OutEvent::Data(data, end) => {
                    self.downstream.push(Ok(Frame::data(Bytes::from(data))));
                    if end {
                        self.downstream.finish();
                        self.downstream_done = true;
                    }
                }
                OutEvent::Trailers(trailers) => {
                    self.downstream.push(Ok(Frame::trailers(to_hyper_headers(&trailers))));
                    self.downstream.finish();
                    self.downstream_done = true;
                }
                OutEvent::Reset => {
                    // The client sees the response cut short (or a bare 502 before any head).
                    self.downstream.push(Err(std::io::Error::other("stream reset")));
                    self.downstream.finish();
                    if let Some(respond) = self.respond.take() {
                        let _ = respond.send(plain(502, ""));
                    }
                    self.downstream_done = true;
                }
            }
        }
    }

    fn start_upstream(&mut self, mut headers: HeaderMap, end: bool) {
        let Some(address) = self.target.clone() else {
            self.router_reply(404, "", "route_not_found");
            return;
        };
        // Taken before the rewrites below: they change pseudo-headers only.
        let same = self.request_head.take().filter(|_| headers.is_pristine());
        // The route's rewrites, after every plugin (Envoy's router applies them so).
        if let Some(route) = self.route_index.and_then(|i| self.worker.config.routes.all().get(i)) {
            let path = headers.get(":path").map(str::to_string);
            if let Some(new) = path.and_then(|p| route.rewritten_path(&p)) {
                headers.set(b":path", new.as_bytes());
            }
            if let Some(host) = &route.host_rewrite {
                headers.set(b":authority", host.as_bytes());
            }
        }
        let body = if end { body::empty() } else { self.upstream.open() };
        match upstream_request(&address, &headers, same, body) {
            Ok(mut request) => {
                if !end {
                    frame_unknown_length(request.headers_mut());
                }
                self.pending = Some(tokio::task::spawn_local(self.worker.client.request(&address, request)));
                self.deadline = self.timeout.map(|t| tokio::time::Instant::now() + t);
            }
            Err(e) => {
                self.upstream.abort();
                let details = "upstream_reset_before_response_started{protocol_error}";
                self.router_reply(503, &format!("invalid upstream request: {e}"), details);
            }
        }
    }

    /// Drops the upstream side: the request task, the request body, the response body.
    fn abort_upstream(&mut self) {
        if let Some(task) = self.pending.take() {
            task.abort();
        }
        self.upstream.abort();
        self.upstream_body = None;
        self.deadline = None;
    }

    /// The client disconnected: the upstream exchange is abandoned and the plugins see the
    /// stream reset (their log and done callbacks still run, as on Envoy). The access log
    /// keeps status 0 when no response was sent, as Envoy's does.
    fn client_went_away(&mut self) {
        self.abort_upstream();
        self.downstream.abort();
        self.stream.reset();
    }

    fn on_upstream_response(&mut self, response: Result<Response<Incoming>, String>) {
        match response {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                let mut headers = response_head(&parts);
                headers.mark_pristine();
                remove_hop_by_hop(&mut parts.headers);
                self.response_head = Some(parts.headers);
                self.stream.set_property("response.code_details", "via_upstream");
                let end = body.is_end_stream();
                let _ = self.stream.send_response_headers(headers, end);
                if !end {
                    self.upstream_body = Some(body);
                    self.take_ready_frame();
                }
            }
            Err(reason) => {
                self.upstream.abort();
                self.router_reply(
                    503,
                    &format!("upstream connect error or disconnect/reset before headers. reset reason: {reason}"),
                    "upstream_reset_before_response_started{connection_failure}",
                );
            }
        }
    }

    /// Passes on the upstream body's first frame if it is already here (a small body usually
    /// arrives with its head): the chain then has the whole response in one go, and `flush`
    /// answers with the body whole instead of opening a stream for one chunk.
    fn take_ready_frame(&mut self) {
        let Some(body) = self.upstream_body.as_mut() else { return };
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(frame) = std::pin::Pin::new(body).poll_frame(&mut cx) {
            self.on_upstream_frame(frame);
        }
    }

    fn on_upstream_frame(&mut self, frame: Option<Result<Frame<Bytes>, hyper::Error>>) {
        let end = self.upstream_body.as_ref().is_none_or(|b| b.is_end_stream());
        match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    let _ = self.stream.send_response_body(&data, end);
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        let _ = self.stream.send_response_trailers(header_map(&trailers));
                    }
                }
            },
            None => {
                self.upstream_body = None;
                let _ = self.stream.send_response_body(b"", true);
                return;
            }
            Some(Err(_)) => {
                // The upstream broke off mid-body: the client's response is cut short too.
                self.upstream_body = None;
                self.stream.reset();
                return;
            }
        }
        if end {
            self.upstream_body = None;
        }
    }

    /// A reply of the router itself (no route, upstream unreachable or slow): it goes through
    /// the response phases, as Envoy's router replies do.
    /// The router's own reply, with Envoy's `response.code_details` for it (plugins tell an
    /// upstream's answer from the gateway's by it: ai-proxy falls back on these).
    fn router_reply(&mut self, status: u16, body: &str, details: &str) {
        self.stream.set_property("response.code_details", details);
        let status_text = status.to_string();
        let mut headers = vec![(":status", status_text.as_str())];
        if !body.is_empty() {
            headers.push(("content-type", "text/plain"));
        }
        let end = body.is_empty();
        let _ = self.stream.send_response_headers(headers, end);
        if !end {
            let _ = self.stream.send_response_body(body.as_bytes(), true);
        }
    }
}

/// A request body still to come without a `content-length` goes out chunked. The incoming
/// `transfer-encoding` is a connection-level header (dropped), and without one hyper sends a
/// GET or HEAD body of unknown length as no body at all; Envoy forwards it.
fn frame_unknown_length(headers: &mut hyper::HeaderMap) {
    if !headers.contains_key(hyper::header::CONTENT_LENGTH) {
        headers.insert(hyper::header::TRANSFER_ENCODING, hyper::header::HeaderValue::from_static("chunked"));
    }
}

/// A multi-line error (wasm backtraces) on one log line.
fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" | ")
}

/// With no plugin on this gateway, a request goes straight through: hyper's request to the
/// upstream and its response back, with the chain path's header handling (`x-request-id`,
/// `x-forwarded-for`/`-proto`, connection-level headers dropped), its route timeout and its
/// router replies, but none of the conversions the chain needs (plugin header maps, a driver
/// task, a channel per body). What a proxy costs before any plugin: `make bench` compares it
/// with nginx.
async fn direct(
    worker: &Worker,
    mut parts: hyper::http::request::Parts,
    body: Incoming,
    peer: SocketAddr,
    ip: HeaderValue,
    started: Instant,
) -> Response<GwBody> {
    let authority = authority(&parts);
    let id = forwarding_headers(&mut parts.headers, peer, ip);
    if !parts.headers.contains_key(hyper::header::HOST) {
        // An absolute-form request: the upstream still gets the client's authority.
        if let Ok(host) = hyper::header::HeaderValue::from_str(&authority) {
            parts.headers.insert(hyper::header::HOST, host);
        }
    }
    let mut headers = std::mem::take(&mut parts.headers);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let route = worker.config.routes.find(&authority, path);
    let service = route.and_then(|r| worker.config.service(&r.service));
    let log = |status: u16| {
        if !worker.records_requests() {
            return;
        }
        let entry = Entry {
            method: parts.method.as_str(),
            path,
            status,
            route: route.map_or("", |r| r.name.as_str()),
            cluster: service.map_or("", |s| s.cluster()),
            duration: started.elapsed(),
            request_id: &id,
            custom_log: None,
            ai_log: None,
        };
        worker.finish(&entry);
    };
    let Some(address) = service.map(|s| s.address.as_str()) else {
        log(404);
        return router_response(404, "");
    };
    // The route's rewrites (no plugin here to see the request first).
    let rewritten = route.and_then(|r| r.rewritten_path(path));
    if let Some(host) = route.and_then(|r| r.host_rewrite.as_deref()) {
        if let Ok(host) = hyper::header::HeaderValue::from_str(host) {
            headers.insert(hyper::header::HOST, host);
        }
    }
    let mut request = Request::new(body::passthrough(body));
    *request.method_mut() = parts.method.clone();
    // The client's path as hyper parsed it, unless a rewrite changed it.
    let uri = match rewritten {
        None => Ok(parts.uri.path_and_query().cloned().map_or_else(|| Uri::from_static("/"), Uri::from)),
        Some(path) => upstream_uri(address, &path),
    };
    match uri {
        Ok(uri) => *request.uri_mut() = uri,
        Err(e) => {
            log(503);
            return router_response(503, &format!("invalid upstream request: {e}"));
        }
    }
    *request.headers_mut() = headers;
    if !request.body().is_end_stream() {
        frame_unknown_length(request.headers_mut());
    }
    let sent = worker.client.request(address, request);
    let timeout = route.map(|r| r.timeout_ms).filter(|ms| *ms > 0).map(Duration::from_millis);
    let result = match timeout {
        Some(limit) => tokio::time::timeout(limit, sent).await.map_err(|_| ()),
        None => Ok(sent.await),
    };
    let response = match result {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            let reason = e.reason();
            log(503);
            return router_response(
                503,
                &format!("upstream connect error or disconnect/reset before headers. reset reason: {reason}"),
            );
        }
        Err(()) => {
            log(504);
            return router_response(504, "upstream request timeout");
        }
    };
    let (mut head, body) = response.into_parts();
    remove_hop_by_hop(&mut head.headers);
    log(head.status.as_u16());
    Response::from_parts(head, body::passthrough(body))
}

/// A reply of the router itself, as the chain path sends it when no plugin changes it
/// (`content-type` only with a body).
fn router_response(status: u16, text: &str) -> Response<GwBody> {
    let mut response = plain(status, text);
    if text.is_empty() {
        response.headers_mut().remove("content-type");
    }
    response
}
