//! Helpers for tests that run a workspace plugin: build it for `wasm32-wasip1` (once per
//! test process, a no-op when it is fresh) and load it; the Go fixture, built with the pinned
//! Go; test servers (Redis, HTTP) and request builders.

mod go;
pub mod wat;

pub use go::{go_fixture, go_plugin};

use crate::{HostError, Plugin};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The workspace's target directory and root, from `cargo metadata`.
fn workspace() -> Result<(PathBuf, PathBuf), String> {
    static WORKSPACE: OnceLock<Result<(PathBuf, PathBuf), String>> = OnceLock::new();
    WORKSPACE
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(cargo)
                .args(["metadata", "--format-version", "1", "--no-deps"])
                .output()
                .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
            if !out.status.success() {
                return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
            let meta: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
            let target = meta["target_directory"].as_str().ok_or("no target_directory")?;
            let root = meta["workspace_root"].as_str().ok_or("no workspace_root")?;
            Ok((PathBuf::from(target), PathBuf::from(root)))
        })
        .clone()
}

/// Builds package `package` of the workspace for `wasm32-wasip1` in release mode and
/// returns the path of its `.wasm`. Panics with cargo's output when the build fails: this is
/// for tests.
pub fn build_plugin(package: &str) -> PathBuf {
    build_plugin_with(package, &[])
}

/// Like [`build_plugin`], with extra cargo arguments (`--features ...`). Builds with extra
/// arguments go to their own target directory so they do not overwrite the default build.
pub fn build_plugin_with(package: &str, extra: &[&str]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let key = format!("{package} {}", extra.join(" "));
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let (target, root) = workspace().unwrap_or_else(|e| panic!("{e}"));
    let target = if extra.is_empty() {
        target
    } else {
        target.join("variants").join(extra.join("_").replace(['/', ' ', '-'], "_"))
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip1", "-p", package])
        .args(extra)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    if !out.status.success() {
        panic!("building {package} for wasm32-wasip1 failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let raw = target.join("wasm32-wasip1").join("release").join(format!("{}.wasm", package.replace('-', "_")));
    assert!(Path::new(&raw).exists(), "cargo built {package} but {} is missing", raw.display());
    // Shipped plugins are tested as they ship; test fixtures (sdk-probe...) as built, so their
    // traps keep every frame of the backtrace.
    let path = if root.join("plugins").join(package).is_dir() { optimized(&root, &raw) } else { raw };
    built.insert(key, path.clone());
    path
}

/// The module as `make build` ships it: `scripts/wasm-opt.sh` applied (once per build of the
/// raw module), names kept (inlining may merge frames of a trap's backtrace).
fn optimized(root: &Path, raw: &Path) -> PathBuf {
    let out = raw.with_extension("opt.wasm");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&out).is_some_and(|opt| modified(raw).is_some_and(|raw| opt >= raw)) {
        return out;
    }
    let status = Command::new("sh")
        .arg(root.join("scripts/wasm-opt.sh"))
        .arg(raw)
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run scripts/wasm-opt.sh: {e}"));
    assert!(status.success(), "scripts/wasm-opt.sh {} failed ({status}); make setup installs binaryen", raw.display());
    out
}

/// Builds (if needed) and loads a workspace plugin, compiling it once per test process.
pub fn plugin(package: &str) -> Plugin {
    static LOADED: OnceLock<Mutex<HashMap<String, Plugin>>> = OnceLock::new();
    let loaded = LOADED.get_or_init(Default::default);
    let mut loaded = loaded.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = loaded.get(package) {
        return p.clone();
    }
    let path = build_plugin(package);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let plugin = Plugin::from_bytes(package, &bytes).unwrap_or_else(|e: HostError| panic!("{e}"));
    loaded.insert(package.to_string(), plugin.clone());
    plugin
}

/// Starts a VM of workspace plugin `package` with `config`; panics with the plugin's logs
/// when it refuses the config (for tests).
pub fn vm(package: &str, config: &serde_json::Value) -> crate::Vm {
    crate::Vm::builder(&plugin(package)).config_json(config).start().unwrap_or_else(|e| panic!("{e}"))
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Starts a VM of workspace plugin `package` with `config` plus a `redis` block for the Redis
/// at `address` (service `redis.dns`, timeout `timeout_ms`); debug logs kept. For the tests of
/// Redis-backed plugins.
pub fn vm_with_redis(package: &str, address: &str, mut config: serde_json::Value, timeout_ms: u64) -> crate::Vm {
    let env = crate::Env::new();
    env.add_cluster("outbound|6379||redis.dns", crate::Upstream::Address(address.to_string()));
    config["redis"] = serde_json::json!({"service_name": "redis.dns", "timeout": timeout_ms});
    crate::Vm::builder(&plugin(package))
        .env(&env)
        .log_level(crate::LogLevel::Debug)
        .config_json(&config)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A Redis that misbehaves, for fault tests: it accepts connections on a free loopback port
/// (returned) and answers every read with `reply` (garbage, a wrong type), or never (`None`:
/// hung). Runs until the test process ends.
pub fn misbehaving_redis(reply: Option<&'static [u8]>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    if let Some(reply) = reply {
                        let _ = stream.write_all(reply);
                    }
                }
            });
        }
    });
    address
}

/// A real `redis-server` on a free loopback port, stopped (and its files removed) on drop.
pub struct RedisServer {
    child: Option<std::process::Child>,
    port: u16,
    dir: PathBuf,
    admin: Option<(String, String)>,
}

impl RedisServer {
    /// Starts `redis-server` with no password.
    pub fn start() -> RedisServer {
        Self::start_with(&[], None)
    }

    /// Starts `redis-server` with extra config lines (`requirepass x`, `user app on >pw ~* +@all`).
    /// `admin` is the user/password [`RedisServer::command`] authenticates with.
    pub fn start_with(config: &[&str], admin: Option<(&str, &str)>) -> RedisServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("higress-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let mut conf = format!("port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\n", dir.display());
        for line in config {
            conf.push_str(line);
            conf.push('\n');
        }
        std::fs::write(dir.join("redis.conf"), conf).unwrap_or_else(|e| panic!("cannot write redis.conf: {e}"));
        let mut server =
            RedisServer { child: None, port, dir, admin: admin.map(|(u, p)| (u.to_string(), p.to_string())) };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .arg(self.dir.join("redis.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it with `make setup` (Debian package redis-server)")
            });
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs one command on a fresh admin connection and returns the reply.
    pub fn command(&self, args: &[&str]) -> higress_abi::resp::Value {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap_or_else(|e| panic!("redis: {e}"));
        let mut commands = Vec::new();
        if let Some((user, password)) = &self.admin {
            commands.push(higress_abi::resp::encode_command(&["AUTH", user.as_str(), password.as_str()]));
        }
        commands.push(higress_abi::resp::encode_command(args));
        let mut reply = higress_abi::resp::Value::Nil;
        let mut buffer = Vec::new();
        for command in commands {
            stream.write_all(&command).unwrap_or_else(|e| panic!("redis: {e}"));
            loop {
                if let Ok(Some(n)) = higress_abi::resp::frame_len(&buffer) {
                    let frame: Vec<u8> = buffer.drain(..n).collect();
                    reply = higress_abi::resp::decode_exact(&frame).unwrap_or_else(|e| panic!("redis: {e}"));
                    break;
                }
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).unwrap_or_else(|e| panic!("redis: {e}"));
                assert!(n > 0, "redis closed the admin connection");
                buffer.extend_from_slice(&chunk[..n]);
            }
        }
        reply
    }

    /// How many times Redis has served `command` (lowercase, as `INFO commandstats` names it).
    pub fn calls(&self, command: &str) -> u64 {
        let info = self.command(&["INFO", "commandstats"]).as_string().unwrap_or_default();
        let prefix = format!("cmdstat_{command}:calls=");
        info.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Kills the server (SIGKILL), as a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same config.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A request an [`HttpServer`] received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// Method.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Headers (names lower-cased).
    pub headers: crate::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

/// A small HTTP/1.1 server on a free loopback port, answering every request with `handler`
/// (status, headers, body). For tests of callouts and upstreams; stops on drop.
pub struct HttpServer {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    requests: std::sync::Arc<Mutex<Vec<ReceivedRequest>>>,
}

type Handler = dyn Fn(&ReceivedRequest) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync;

impl HttpServer {
    /// Starts the server.
    pub fn start(
        handler: impl Fn(&ReceivedRequest) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync + 'static,
    ) -> HttpServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
        let _ = listener.set_nonblocking(true);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let requests = std::sync::Arc::new(Mutex::new(Vec::new()));
        let handler: std::sync::Arc<Handler> = std::sync::Arc::new(handler);
        let (stop2, requests2) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (handler, requests) = (handler.clone(), requests2.clone());
                        std::thread::spawn(move || serve(stream, &*handler, &requests));
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(2)),
                }
            }
        });
        HttpServer { port, stop, requests }
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn serve(mut stream: std::net::TcpStream, handler: &Handler, requests: &Mutex<Vec<ReceivedRequest>>) {
    use std::io::{Read, Write};
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_len, request) = loop {
        let Ok(n) = stream.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        raw.extend_from_slice(&chunk[..n]);
        let mut slots = [httparse::EMPTY_HEADER; 256];
        let mut parsed = httparse::Request::new(&mut slots);
        let status = parsed.parse(&raw);
        if status.is_err() {
            // A head it cannot read (too many headers, bad syntax): say so instead of letting
            // the caller wait for an answer that never comes.
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            return;
        }
        if let Ok(httparse::Status::Complete(len)) = status {
            let mut headers = crate::HeaderMap::new();
            for h in parsed.headers.iter() {
                headers.add(h.name.as_bytes(), h.value);
            }
            let request = ReceivedRequest {
                method: parsed.method.unwrap_or_default().to_string(),
                path: parsed.path.unwrap_or_default().to_string(),
                headers,
                body: Vec::new(),
            };
            break (len, request);
        }
    };
    let mut request = request;
    let length: usize = request.headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = raw[head_len..].to_vec();
    while body.len() < length {
        let Ok(n) = stream.read(&mut chunk) else { break };
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    request.body = body;
    let (status, headers, body) = handler(&request);
    if let Ok(mut r) = requests.lock() {
        r.push(request);
    }
    let mut response = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
    for (k, v) in headers {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str("\r\n");
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.write_all(&body);
}

/// The line a plugin logged when it refused `config` (the one with `plugin start failed`);
/// panics if the plugin started. For tables of bad configs and the messages they must give.
pub fn config_error(plugin: &Plugin, config: &serde_json::Value) -> String {
    let err =
        crate::Vm::builder(plugin).config_json(config).start().err().unwrap_or_else(|| panic!("{config} started"));
    err.logs().iter().map(|l| l.message.clone()).find(|m| m.contains("plugin start failed")).unwrap_or_default()
}

/// A request to send through a VM or a chain, built step by step:
/// `testing::request("GET", "a.com", "/x").header("k", "v").route("r1").send(&vm)`.
#[derive(Clone)]
pub struct Request {
    headers: crate::HeaderMap,
    properties: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    trailers: Option<crate::HeaderMap>,
}

/// Starts a request with `:method`, `:authority`, `:path` and `:scheme: http`.
pub fn request(method: &str, authority: &str, path: &str) -> Request {
    let mut headers = crate::HeaderMap::new();
    headers.add(b":authority", authority.as_bytes());
    headers.add(b":path", path.as_bytes());
    headers.add(b":method", method.as_bytes());
    headers.add(b":scheme", b"http");
    Request { headers, properties: Vec::new(), body: None, trailers: None }
}

impl Request {
    /// The bytes of its header names and values, as Envoy counts them against
    /// `max_request_headers_kb` (60 KiB by default).
    pub fn head_size(&self) -> usize {
        self.headers.iter().map(|(name, value)| name.len() + value.len()).sum()
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.add(name.as_bytes(), value.as_bytes());
        self
    }

    /// Adds a header with a raw (possibly non-UTF-8) value.
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.add(name.as_bytes(), value);
        self
    }

    /// Removes a header (to test requests without `:authority`, ...).
    pub fn without(mut self, name: &str) -> Self {
        self.headers.remove(name.as_bytes());
        self
    }

    /// Sets the `route_name` property.
    pub fn route(self, route: &str) -> Self {
        self.property("route_name", route)
    }

    /// Sets the `cluster_name` property.
    pub fn cluster(self, cluster: &str) -> Self {
        self.property("cluster_name", cluster)
    }

    /// Sets a property (dotted path).
    pub fn property(mut self, path: &str, value: &str) -> Self {
        self.properties.push((path.to_string(), value.as_bytes().to_vec()));
        self
    }

    /// A body, sent in one chunk after the headers.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Trailers that end the request (after the body, if any): the body chunk then does not
    /// end the stream.
    pub fn trailers(mut self, trailers: &[(&str, &str)]) -> Self {
        let mut map = crate::HeaderMap::new();
        for (k, v) in trailers {
            map.add(k.as_bytes(), v.as_bytes());
        }
        self.trailers = Some(map);
        self
    }

    /// Sends it through `vm` alone; panics on a trap (for tests).
    pub fn send(self, vm: &crate::Vm) -> crate::Stream {
        self.send_through(crate::Stream::new([crate::Filter::new(vm)]))
    }

    /// Sends it through a prepared stream (a chain).
    pub fn send_through(self, stream: crate::Stream) -> crate::Stream {
        for (path, value) in &self.properties {
            stream.set_property(path, value);
        }
        let end = self.body.is_none() && self.trailers.is_none();
        stream.send_request_headers(self.headers, end).unwrap_or_else(|e| panic!("{e}"));
        if let Some(body) = self.body {
            if let Err(e) = stream.send_request_body(body, self.trailers.is_none()) {
                assert!(matches!(e, HostError::Usage(_)), "{e}");
            }
        }
        if let Some(trailers) = self.trailers {
            if let Err(e) = stream.send_request_trailers(trailers) {
                assert!(matches!(e, HostError::Usage(_)), "{e}");
            }
        }
        stream
    }
}

#[cfg(test)]
mod tests {
    use super::HttpServer;
    use std::io::{Read, Write};

    fn exchange(server: &HttpServer, request: &str) -> String {
        let mut socket = std::net::TcpStream::connect(server.address()).unwrap_or_else(|e| panic!("{e}"));
        let _ = socket.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        socket.write_all(request.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let mut answer = String::new();
        let _ = socket.read_to_string(&mut answer);
        answer
    }

    #[test]
    fn the_test_server_reads_many_headers_and_refuses_what_it_cannot_read() {
        let server = HttpServer::start(|req| (200, vec![], req.headers.len().to_string().into_bytes()));
        let many: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
        let answer = exchange(&server, &format!("GET / HTTP/1.1\r\nhost: a\r\n{many}\r\n"));
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("201"), "{answer}");
        let too_many: String = (0..300).map(|i| format!("x-h{i}: v\r\n")).collect();
        let answer = exchange(&server, &format!("GET / HTTP/1.1\r\nhost: a\r\n{too_many}\r\n"));
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(exchange(&server, "NOT HTTP\r\n\r\n").starts_with("HTTP/1.1 400"));
    }
}
