//! The data a VM's store carries: everything hostcalls read and write.

use crate::env::Env;
use crate::error::LogRecord;
use crate::headers::HeaderMap;
use crate::stream::state::{StreamCell, StreamState};
use higress_abi::LogLevel;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Weak;
use std::time::Duration;
use wasmtime::{Memory, TypedFunc};

/// Most log lines a VM keeps (older ones are dropped, so long runs stay bounded).
const LOG_LIMIT: usize = 10_000;

/// An HTTP callout waiting for its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCallout {
    /// Token the plugin got.
    pub token: u32,
    /// Target cluster.
    pub cluster: String,
    /// Request headers (with `:method`, `:path`, `:authority`).
    pub headers: HeaderMap,
    /// Request body.
    pub body: Vec<u8>,
    /// Request trailers.
    pub trailers: HeaderMap,
    /// Timeout the plugin asked for (`None`: none).
    pub timeout: Option<Duration>,
    /// Context that was current when the call was made (root or a stream).
    pub context_id: u32,
    /// Host time at which the call was made (nanoseconds, monotonic).
    pub started_at: u64,
}

/// The answer to an HTTP callout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// Headers, including `:status`.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// Trailers.
    pub trailers: HeaderMap,
}

impl HttpResponse {
    /// A response with a status, headers and a body.
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Self {
        let mut map = HeaderMap::new();
        map.set(b":status", status.to_string().as_bytes());
        for (k, v) in headers {
            map.add(k.as_bytes(), v.as_bytes());
        }
        HttpResponse { headers: map, body: body.into(), trailers: HeaderMap::new() }
    }
}

/// A Redis call waiting for its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisCallout {
    /// Token the plugin got.
    pub token: u32,
    /// Cluster name as the plugin gave it (may carry `?db=N...`).
    pub cluster: String,
    /// The RESP-encoded command.
    pub query: Vec<u8>,
    /// Context that was current when the call was made.
    pub context_id: u32,
    /// Host time at which the call was made (nanoseconds, monotonic).
    pub started_at: u64,
}

/// A `proxy_redis_init` the plugin made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisInit {
    /// Cluster name (may carry `?db=N...`).
    pub cluster: String,
    /// User (empty: password-only AUTH or none).
    pub user: String,
    /// Password.
    pub password: String,
    /// Timeout.
    pub timeout: Duration,
    /// How many inits this VM made before this one (a new init reopens the connection).
    pub generation: u64,
}

impl RedisInit {
    /// An init record (generation 0).
    pub fn new(cluster: &str, user: &str, password: &str, timeout: Duration) -> Self {
        RedisInit { cluster: cluster.into(), user: user.into(), password: password.into(), timeout, generation: 0 }
    }

    /// The cluster name without its `?db=...` options: what calls and upstreams are keyed by.
    pub fn base_cluster(&self) -> &str {
        redis_cluster_name(&self.cluster)
    }
}

/// A small non-cryptographic generator for `random_get` (SplitMix64).
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn seeded(seed: u64) -> Self {
        Random(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// A stream context of this VM: which stream, and which filter of its chain.
pub(crate) struct StreamRef {
    pub stream: Weak<RefCell<StreamState>>,
    pub filter: usize,
}

pub(crate) struct HostState {
    pub env: Env,
    log_sink: Option<crate::env::LogSink>,
    pub vm_key: u64,
    pub vm_id: String,
    pub plugin_name: String,
    pub plugin_config: Vec<u8>,
    pub vm_config: Vec<u8>,
    pub root_id: u32,
    pub memory: Option<Memory>,
    /// The linear memory's size, kept as it grows: every callback reports it, and asking
    /// wasmtime for it costs a store lookup each time.
    pub memory_size: MemorySize,
    pub alloc: Option<std::rc::Rc<TypedFunc<u32, u32>>>,
    pub random: Random,
    pub log_level: LogLevel,
    pub logs: Vec<LogRecord>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    pub current_context: u32,
    pub effective_context: u32,
    pub contexts: HashMap<u32, StreamRef, BuildHasherDefault<ContextIdHasher>>,
    pub http_calls: BTreeMap<u32, HttpCallout>,
    /// Tokens of calls made since a proxy last took them (`Vm::take_new_http_calls`).
    pub new_http_calls: Vec<u32>,
    pub next_http_token: u32,
    pub http_response: Option<HttpResponse>,
    pub redis_inits: Vec<RedisInit>,
    pub redis_init_count: u64,
    pub redis_calls: BTreeMap<u32, RedisCallout>,
    /// Tokens of calls made since a proxy last took them (`Vm::take_new_redis_calls`).
    pub new_redis_calls: Vec<u32>,
    pub next_redis_token: u32,
    pub redis_response: Option<Vec<u8>>,
    pub status: (u32, Vec<u8>),
    pub tick_period: Option<Duration>,
    pub next_tick_at: u64,
    pub touched: Vec<Weak<RefCell<StreamState>>>,
    pub stop_next_iteration: bool,
    pub foreign_calls: Vec<(String, Vec<u8>)>,
    /// The plugin set `wasm_need_rebuild` to `true`: new streams should get a fresh VM.
    pub need_rebuild: bool,
}

impl HostState {
    pub(crate) fn new(
        env: Env,
        vm_id: String,
        plugin_name: String,
        plugin_config: Vec<u8>,
        vm_config: Vec<u8>,
        log_level: LogLevel,
    ) -> Self {
        let vm_key = env.next_vm_key();
        let seed = env.clock().now_nanos() ^ vm_key.rotate_left(32);
        HostState {
            log_sink: env.log_sink(),
            env,
            vm_key,
            vm_id,
            plugin_name,
            plugin_config,
            vm_config,
            root_id: 1,
            memory: None,
            memory_size: MemorySize::default(),
            alloc: None,
            random: Random::seeded(seed),
            log_level,
            logs: Vec::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            current_context: 0,
            effective_context: 0,
            contexts: HashMap::default(),
            http_calls: BTreeMap::new(),
            new_http_calls: Vec::new(),
            next_http_token: 0,
            http_response: None,
            redis_inits: Vec::new(),
            redis_init_count: 0,
            redis_calls: BTreeMap::new(),
            new_redis_calls: Vec::new(),
            next_redis_token: 3,
            redis_response: None,
            status: (0, Vec::new()),
            tick_period: None,
            next_tick_at: 0,
            touched: Vec::new(),
            stop_next_iteration: false,
            foreign_calls: Vec::new(),
            need_rebuild: false,
        }
    }

    /// The init of the Redis cluster `cluster` names (options ignored; one init per cluster).
    pub(crate) fn redis_init(&self, cluster: &str) -> Option<&RedisInit> {
        let base = redis_cluster_name(cluster);
        self.redis_inits.iter().find(|i| i.base_cluster() == base)
    }

    pub(crate) fn push_log(&mut self, level: LogLevel, message: String) {
        if let Some(sink) = &self.log_sink {
            sink(&self.plugin_name, level, &message);
            return;
        }
        if self.logs.len() >= LOG_LIMIT {
            self.logs.drain(..LOG_LIMIT / 2);
        }
        self.logs.push(LogRecord { level, message });
    }

    /// Collects stdout/stderr output into log lines, one per text line.
    pub(crate) fn write_stdio(&mut self, fd: i32, data: &[u8]) {
        let (buffer, level) =
            if fd == 1 { (&mut self.stdout, LogLevel::Info) } else { (&mut self.stderr, LogLevel::Error) };
        buffer.extend_from_slice(data);
        let mut lines = Vec::new();
        while let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=newline).collect();
            lines.push(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
        }
        for line in lines {
            self.push_log(level, line);
        }
    }

    /// The stream behind the effective context, and this VM's filter index in its chain.
    pub(crate) fn stream(&self) -> Option<(StreamCell, usize)> {
        let r = self.contexts.get(&self.effective_context)?;
        Some((r.stream.upgrade()?, r.filter))
    }

    /// Marks a stream as having new deferred actions for whoever drives it.
    pub(crate) fn touch(&mut self, stream: &StreamCell) {
        if !self.touched.iter().any(|w| w.as_ptr() == std::rc::Rc::as_ptr(stream)) {
            self.touched.push(std::rc::Rc::downgrade(stream));
        }
    }
}

/// The cluster part of a Redis cluster string (`name?db=1` -> `name`).
pub(crate) fn redis_cluster_name(cluster: &str) -> &str {
    cluster.split('?').next().unwrap_or(cluster)
}

/// Follows the size of the VM's linear memory through wasmtime's growth notifications (a
/// plugin module has one memory). Growth is never refused here: limits are the module's own.
#[derive(Debug, Default)]
pub(crate) struct MemorySize {
    /// The size in bytes.
    pub bytes: usize,
    /// The size before the growth in progress, restored if it fails.
    before: usize,
}

impl wasmtime::ResourceLimiter for MemorySize {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.before = current;
        self.bytes = desired;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.bytes = self.before;
        Ok(())
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// Hashes the context ids this VM hands out (sequential, never from a client) with one
/// multiplication: the context map is looked up in nearly every host call, and SipHash was
/// a visible share of a request's host time.
#[derive(Default)]
pub(crate) struct ContextIdHasher(u64);

impl Hasher for ContextIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}
