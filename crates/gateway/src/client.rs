//! The worker's HTTP/1 client to upstreams and callout services: connections kept open
//! between requests, one list per address.
//!
//! A worker is one thread, so its connections need no lock: hyper-util's pooled client is
//! built for many threads (a mutex and a hashed lookup per checkout, a task spawned per
//! request to hand the connection back when it is ready again). Here a connection goes back
//! on its address's list as soon as the response head arrives, still busy with the body; a
//! checkout takes the first one hyper says is ready for a new request among the oldest few,
//! and drops the closed ones it passes. Idle connections close after [`IDLE_TIMEOUT`], as before.

use crate::body::GwBody;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::http::uri::PathAndQuery;
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A connection unused this long is closed (Envoy's default idle timeout is an hour; this
/// is the 30 s hgw always used: an upstream that closes sooner costs a retried request).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How many kept connections a request looks at for a ready one before it opens another.
const PROBES: usize = 8;
/// How often idle connections are looked for, at most.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Why a request got no response head.
#[derive(Debug)]
pub enum Error {
    /// The request's URI is absolute with a scheme other than `http`.
    Uri(String),
    /// No connection could be opened.
    Connect(std::io::Error),
    /// The connection failed while the request was sent or its response awaited.
    Send(hyper::Error),
}

impl Error {
    /// Envoy's reset reason: `connection failure` when no connection could be opened, else
    /// what the connection reported.
    pub fn reason(&self) -> String {
        match self {
            Error::Connect(_) => "connection failure".into(),
            Error::Uri(e) => e.clone(),
            Error::Send(e) => e.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "connection failure: {e}"),
            Error::Uri(e) => f.write_str(e),
            Error::Send(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

/// One connection on an address's list: busy until hyper says it is ready again.
struct Conn {
    sender: SendRequest<GwBody>,
    /// When it went back on the list (its last exchange's response head).
    since: Instant,
}

/// FNV-1a over an address: a checkout and a give-back hash it on every request, and
/// SipHash's resistance to chosen keys buys nothing for addresses that come from the
/// configuration (and from plugins' callouts), never from a client.
#[derive(Default)]
struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

struct Pool {
    hosts: HashMap<Box<str>, VecDeque<Conn>, std::hash::BuildHasherDefault<AddressHasher>>,
    last_sweep: Option<Instant>,
    idle_timeout: Duration,
}

/// The client of one worker (cheap to clone: the clones share the connections).
#[derive(Clone)]
pub struct Client {
    pool: Rc<RefCell<Pool>>,
}

impl Default for Client {
    fn default() -> Self {
        Client::with_idle_timeout(IDLE_TIMEOUT)
    }
}

impl Client {
    fn with_idle_timeout(idle_timeout: Duration) -> Self {
        Client { pool: Rc::new(RefCell::new(Pool { hosts: HashMap::default(), last_sweep: None, idle_timeout })) }
    }

    /// Sends `request` to `address` (`host:port`) and resolves to the response head. An
    /// absolute URI (`http://host:port/path`) is sent as its path and query, as an HTTP/1
    /// request to a server carries it. A request that a kept connection refused before
    /// sending any of it (the upstream had closed it) is sent again on a new connection.
    pub fn request(
        &self,
        address: &str,
        mut request: Request<GwBody>,
    ) -> impl std::future::Future<Output = Result<Response<Incoming>, Error>> + 'static {
        let client = self.clone();
        let checked = origin_form(&mut request);
        let address = address.to_string();
        async move {
            checked?;
            loop {
                let (mut sender, reused) = match client.checkout(&address) {
                    Some(sender) => (sender, true),
                    // Boxed: most requests reuse a connection, and every poll of a request
                    // future moves less without the connect state in it.
                    None => (Box::pin(connect(&address)).await?, false),
                };
                match sender.try_send_request(request).await {
                    Ok(response) => {
                        client.give_back(&address, sender);
                        return Ok(response);
                    }
                    Err(mut e) => match e.take_message() {
                        Some(unsent) if reused => request = unsent,
                        _ => return Err(Error::Send(e.into_error())),
                    },
                }
            }
        }
    }

    /// A kept connection to `address` ready for a request, if any. Connections go back on
    /// the list in the order their response heads came, so the oldest, at the front, are the
    /// likeliest done: at most [`PROBES`] are looked at, the busy ones moved to the back,
    /// so a thousand long streams to one upstream do not make every request look through
    /// them all.
    fn checkout(&self, address: &str) -> Option<SendRequest<GwBody>> {
        let mut pool = self.pool.borrow_mut();
        let list = pool.hosts.get_mut(address)?;
        for _ in 0..PROBES.min(list.len()) {
            let conn = list.pop_front()?;
            if conn.sender.is_ready() {
                return Some(conn.sender);
            }
            if !conn.sender.is_closed() {
                list.push_back(conn);
            }
        }
        None
    }

    /// Puts a connection back on `address`'s list once its response head arrived.
    fn give_back(&self, address: &str, sender: SendRequest<GwBody>) {
        if sender.is_closed() {
            return;
        }
        let conn = Conn { sender, since: Instant::now() };
        let mut pool = self.pool.borrow_mut();
        match pool.hosts.get_mut(address) {
            Some(list) => list.push_back(conn),
            None => {
                pool.hosts.insert(address.into(), VecDeque::from([conn]));
            }
        }
    }

    /// Closes the connections idle for longer than the idle timeout and forgets the closed
    /// ones (called from the worker's tick; looks at most once per [`SWEEP_EVERY`]).
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut pool = self.pool.borrow_mut();
        if pool.last_sweep.is_some_and(|last| now.duration_since(last) < SWEEP_EVERY) {
            return;
        }
        pool.last_sweep = Some(now);
        let idle_timeout = pool.idle_timeout;
        for list in pool.hosts.values_mut() {
            list.retain(|c| {
                let expired = c.sender.is_ready() && now.duration_since(c.since) > idle_timeout;
                !(c.sender.is_closed() || expired)
            });
        }
        pool.hosts.retain(|_, list| !list.is_empty());
    }

    /// How many connections are kept, busy or idle (for tests).
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.pool.borrow().hosts.values().map(VecDeque::len).sum()
    }
}

/// The request's URI made origin-form (`/path?query`) when it is absolute; `*` and paths
/// stay as they are.
fn origin_form(request: &mut Request<GwBody>) -> Result<(), Error> {
    let uri = request.uri();
    match uri.scheme_str() {
        None => Ok(()),
        Some("http") => {
            let path = uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
            *request.uri_mut() = Uri::from(path);
            Ok(())
        }
        Some(_) => Err(Error::Uri(format!("unsupported upstream URI {uri}: only http:// is served"))),
    }
}

/// Opens a connection to `address` (`host:port`) and starts serving it on this worker.
async fn connect(address: &str) -> Result<SendRequest<GwBody>, Error> {
    let stream = tokio::net::TcpStream::connect(address).await.map_err(Error::Connect)?;
    stream.set_nodelay(true).map_err(Error::Connect)?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(Error::Send)?;
    // Ends when the connection closes; its errors reach the request that was on it.
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server on a loopback port that answers each request on a connection with `reply`
    /// (pausing 50 ms at each `|`), counting the connections it accepted; `close_after`
    /// requests per connection, if set.
    async fn server(reply: &'static str, close_after: Option<usize>) -> (String, Rc<std::cell::Cell<usize>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let accepted = Rc::new(std::cell::Cell::new(0));
        let count = accepted.clone();
        tokio::task::spawn_local(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                count.set(count.get() + 1);
                tokio::task::spawn_local(async move {
                    let mut buffer = Vec::new();
                    let mut served = 0;
                    loop {
                        let mut chunk = [0u8; 4096];
                        let n = stream.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..n]);
                        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            buffer.drain(..end + 4);
                            // A `|` in the reply: a pause of 50 ms there.
                            for (i, part) in reply.split('|').enumerate() {
                                if i > 0 {
                                    tokio::time::sleep(Duration::from_millis(50)).await;
                                }
                                stream.write_all(part.as_bytes()).await.unwrap();
                            }
                            served += 1;
                            if close_after == Some(served) {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (address, accepted)
    }

    fn get(address: &str, path: &str) -> Request<GwBody> {
        let mut request = Request::new(body::empty());
        *request.uri_mut() = format!("http://{address}{path}").parse().unwrap();
        request.headers_mut().insert(hyper::header::HOST, "a.com".parse().unwrap());
        request
    }

    async fn text(response: Response<Incoming>) -> String {
        String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    fn run(test: impl std::future::Future<Output = ()>) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        tokio::task::LocalSet::new().block_on(&runtime, test);
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    #[test]
    fn a_connection_serves_one_request_after_another() {
        run(async {
            let (address, accepted) = server(OK, None).await;
            let client = Client::default();
            for _ in 0..5 {
                let response = client.request(&address, get(&address, "/x?y=1")).await.unwrap();
                assert_eq!(response.status(), 200);
                assert_eq!(text(response).await, "ok");
                tokio::task::yield_now().await;
            }
            assert_eq!(accepted.get(), 1);
            assert_eq!(client.kept(), 1);
        });
    }

    /// What reaches the upstream is the request line of an HTTP/1 request to a server,
    /// whether the URI came absolute or as a path.
    #[test]
    fn the_request_line_has_the_path_and_query() {
        run(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap().to_string();
            let lines = tokio::task::spawn_local(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut lines = Vec::new();
                let mut buffer = Vec::new();
                while lines.len() < 2 {
                    let mut chunk = [0u8; 4096];
                    let n = stream.read(&mut chunk).await.unwrap();
                    buffer.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8(buffer.drain(..end + 4).collect()).unwrap();
                        lines.push(head.lines().next().unwrap().to_string());
                        stream.write_all(OK.as_bytes()).await.unwrap();
                    }
                }
                lines
            });
            let client = Client::default();
            let response = client.request(&address, get(&address, "/a/b?c=1&d")).await.unwrap();
            assert_eq!(text(response).await, "ok");
            tokio::task::yield_now().await;
            let mut request = get(&address, "/");
            *request.uri_mut() = "/e?f".parse().unwrap();
            let response = client.request(&address, request).await.unwrap();
            assert_eq!(text(response).await, "ok");
            assert_eq!(lines.await.unwrap(), ["GET /a/b?c=1&d HTTP/1.1", "GET /e?f HTTP/1.1"]);
        });
    }

    #[test]
    fn requests_at_once_take_connections_of_their_own() {
        run(async {
            let (address, accepted) = server(OK, None).await;
            let client = Client::default();
            let heads: Vec<_> =
                futures_heads(&client, &address, 3).await.into_iter().map(|r| r.unwrap().status()).collect();
            assert_eq!(heads, [200, 200, 200]);
            assert_eq!(accepted.get(), 3);
        });
    }

    async fn futures_heads(client: &Client, address: &str, n: usize) -> Vec<Result<Response<Incoming>, Error>> {
        let tasks: Vec<_> =
            (0..n).map(|_| tokio::task::spawn_local(client.request(address, get(address, "/")))).collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    }

    /// Connections busy with a body still coming are passed over (a few at a time), and
    /// reused once their bodies are read.
    #[test]
    fn busy_connections_are_passed_over_then_reused() {
        run(async {
            const SLOW: &str = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n|0\r\n\r\n";
            let (address, accepted) = server(SLOW, None).await;
            let client = Client::default();
            let mut unread = Vec::new();
            for _ in 0..20 {
                unread.push(client.request(&address, get(&address, "/")).await.unwrap());
            }
            assert_eq!(accepted.get(), 20, "each request found the others busy");
            for response in unread {
                assert_eq!(text(response).await, "ok");
            }
            tokio::task::yield_now().await;
            for _ in 0..10 {
                let response = client.request(&address, get(&address, "/")).await.unwrap();
                assert_eq!(text(response).await, "ok");
                tokio::task::yield_now().await;
            }
            assert_eq!(accepted.get(), 20, "then they served the later requests");
        });
    }

    #[test]
    fn a_connection_the_upstream_closed_is_replaced() {
        run(async {
            let (address, accepted) = server(OK, Some(1)).await;
            let client = Client::default();
            for _ in 0..3 {
                let response = client.request(&address, get(&address, "/")).await.unwrap();
                assert_eq!(text(response).await, "ok");
                // Let the close reach the connection (or not: a refused reuse is retried).
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(accepted.get(), 3);
        });
    }

    #[test]
    fn failures_say_why() {
        run(async {
            // A port nothing listens on.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap().to_string();
            drop(listener);
            let client = Client::default();
            let e = client.request(&address, get(&address, "/")).await.unwrap_err();
            assert!(matches!(e, Error::Connect(_)));
            assert_eq!(e.reason(), "connection failure");
            let mut request = get(&address, "/");
            *request.uri_mut() = "https://a.com/".parse().unwrap();
            let e = client.request(&address, request).await.unwrap_err();
            assert_eq!(e.reason(), "unsupported upstream URI https://a.com/: only http:// is served");
            // Closed before any response.
            let (address, _) = server("", Some(1)).await;
            let e = client.request(&address, get(&address, "/")).await.unwrap_err();
            assert!(matches!(e, Error::Send(_)));
            assert_eq!(e.reason(), "connection closed before message completed");
        });
    }

    #[test]
    fn the_sweep_forgets_closed_connections() {
        run(async {
            let (address, _) = server(OK, Some(1)).await;
            let client = Client::default();
            let response = client.request(&address, get(&address, "/")).await.unwrap();
            assert_eq!(text(response).await, "ok");
            tokio::time::sleep(Duration::from_millis(50)).await;
            client.sweep();
            assert_eq!(client.kept(), 0);
        });
    }

    #[test]
    fn idle_connections_close_after_the_timeout() {
        run(async {
            let (address, accepted) = server(OK, None).await;
            let client = Client::with_idle_timeout(Duration::from_millis(30));
            let response = client.request(&address, get(&address, "/")).await.unwrap();
            assert_eq!(text(response).await, "ok");
            tokio::task::yield_now().await;
            client.sweep();
            assert_eq!(client.kept(), 1, "not idle long enough yet");
            tokio::time::sleep(Duration::from_millis(40)).await;
            client.pool.borrow_mut().last_sweep = None;
            client.sweep();
            assert_eq!(client.kept(), 0);
            let response = client.request(&address, get(&address, "/")).await.unwrap();
            assert_eq!(text(response).await, "ok");
            assert_eq!(accepted.get(), 2);
        });
    }
}
