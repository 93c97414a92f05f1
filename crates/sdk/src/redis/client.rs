use super::{RedisError, RedisResult};
use crate::callout::{self, Pending, RedisRetry, Target};
use crate::cluster::Cluster;
use crate::http::Http;
use crate::plugin::HttpPlugin;
use crate::{hostcalls, log_info, log_warn};
use higress_abi::resp::encode_command;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Connection options passed to the host in the cluster string (`?db=N&...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOptions {
    /// Database index (`SELECT`); 0 is not sent.
    pub database: u32,
    /// How long the host batches commands before flushing (default 3 ms, 0 disables).
    pub buffer_flush_timeout: Duration,
    /// How many bytes the host batches before flushing (default 1024, 0 disables).
    pub max_buffer_size_before_flush: u32,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions { database: 0, buffer_flush_timeout: Duration::from_millis(3), max_buffer_size_before_flush: 1024 }
    }
}

/// `SET` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// Expire after this many seconds (`EX`).
    pub ex: Option<u64>,
    /// Only set when the key does not exist (`NX`).
    pub nx: bool,
}

struct Inner {
    cluster: String,
    init_cluster: String,
    user: String,
    password: String,
    timeout_ms: u32,
    ready: Cell<bool>,
}

/// A Redis client for one cluster. Cheap to clone; keep it in the plugin config.
#[derive(Clone)]
pub struct RedisClient {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for RedisClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisClient")
            .field("cluster", &self.inner.cluster)
            .field("ready", &self.inner.ready.get())
            .finish()
    }
}

impl RedisClient {
    /// Declares the client to the host (`proxy_redis_init`). Call it while parsing the config.
    /// A failed init is not fatal: the client retries it before the next command, as wasm-go.
    pub fn init(
        cluster: &Cluster,
        user: &str,
        password: &str,
        timeout: Duration,
        options: RedisOptions,
    ) -> (RedisClient, Result<(), RedisError>) {
        let name = cluster.name();
        let mut params = Vec::new();
        if options.database != 0 {
            params.push(format!("db={}", options.database));
        }
        params.push(format!("buffer_flush_timeout={}", options.buffer_flush_timeout.as_millis()));
        params.push(format!("max_buffer_size_before_flush={}", options.max_buffer_size_before_flush));
        let client = RedisClient {
            inner: Rc::new(Inner {
                init_cluster: format!("{name}?{}", params.join("&")),
                cluster: name,
                user: user.to_string(),
                password: password.to_string(),
                timeout_ms: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX),
                ready: Cell::new(false),
            }),
        };
        let result = client.ensure_ready();
        if let Err(e) = &result {
            log_warn!("redis init for {} failed ({e}); will retry before the next command", client.inner.cluster);
        }
        (client, result)
    }

    /// The Envoy cluster name.
    pub fn cluster_name(&self) -> &str {
        &self.inner.cluster
    }

    /// Whether the host accepted the last init.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.get()
    }

    pub(crate) fn ensure_ready(&self) -> Result<(), RedisError> {
        if self.inner.ready.get() {
            return Ok(());
        }
        let i = &self.inner;
        hostcalls::redis_init(&i.init_cluster, &i.user, &i.password, i.timeout_ms).map_err(RedisError::Dispatch)?;
        i.ready.set(true);
        Ok(())
    }

    /// Forgets the init so the next command initialises again (after `NOAUTH`).
    pub(crate) fn mark_unready(&self) {
        self.inner.ready.set(false);
    }

    /// Sends `query` (RESP) and returns the host's token.
    pub(crate) fn dispatch(&self, query: &[u8]) -> Result<u32, RedisError> {
        self.ensure_ready()?;
        hostcalls::redis_call(&self.inner.cluster, query).map_err(RedisError::Dispatch)
    }

    /// Any command: `client.command(&["ZADD", "k", "1", "m"])`.
    pub fn command<A: AsRef<[u8]>>(&self, args: &[A]) -> RedisCommand {
        RedisCommand { client: self.clone(), query: encode_command(args) }
    }

    /// `GET key`
    pub fn get(&self, key: &str) -> RedisCommand {
        self.command(&["GET", key])
    }

    /// `SET key value`
    pub fn set(&self, key: &str, value: impl AsRef<[u8]>) -> RedisCommand {
        self.set_with(key, value, SetOptions::default())
    }

    /// `SET key value [NX] [EX seconds]`
    pub fn set_with(&self, key: &str, value: impl AsRef<[u8]>, options: SetOptions) -> RedisCommand {
        let mut args: Vec<Vec<u8>> = vec![b"SET".to_vec(), key.as_bytes().to_vec(), value.as_ref().to_vec()];
        if options.nx {
            args.push(b"NX".to_vec());
        }
        if let Some(ex) = options.ex.filter(|ex| *ex > 0) {
            args.push(b"EX".to_vec());
            args.push(ex.to_string().into_bytes());
        }
        self.command(&args)
    }

    /// `SET key value EX seconds`
    pub fn set_ex(&self, key: &str, value: impl AsRef<[u8]>, seconds: u64) -> RedisCommand {
        self.set_with(key, value, SetOptions { ex: Some(seconds), nx: false })
    }

    /// `SET key value NX [EX seconds]`
    pub fn set_nx(&self, key: &str, value: impl AsRef<[u8]>, seconds: Option<u64>) -> RedisCommand {
        self.set_with(key, value, SetOptions { ex: seconds, nx: true })
    }

    /// `INCR key`
    pub fn incr(&self, key: &str) -> RedisCommand {
        self.command(&["INCR", key])
    }

    /// `INCRBY key delta`
    pub fn incr_by(&self, key: &str, delta: i64) -> RedisCommand {
        self.command(&["INCRBY", key, &delta.to_string()])
    }

    /// `DECR key`
    pub fn decr(&self, key: &str) -> RedisCommand {
        self.command(&["DECR", key])
    }

    /// `DECRBY key delta`
    pub fn decr_by(&self, key: &str, delta: i64) -> RedisCommand {
        self.command(&["DECRBY", key, &delta.to_string()])
    }

    /// `EXPIRE key seconds`
    pub fn expire(&self, key: &str, seconds: u64) -> RedisCommand {
        self.command(&["EXPIRE", key, &seconds.to_string()])
    }

    /// `TTL key`
    pub fn ttl(&self, key: &str) -> RedisCommand {
        self.command(&["TTL", key])
    }

    /// `DEL key...`
    pub fn del(&self, keys: &[&str]) -> RedisCommand {
        let mut args = vec!["DEL"];
        args.extend_from_slice(keys);
        self.command(&args)
    }

    /// `EXISTS key...`
    pub fn exists(&self, keys: &[&str]) -> RedisCommand {
        let mut args = vec!["EXISTS"];
        args.extend_from_slice(keys);
        self.command(&args)
    }

    /// `MGET key...`
    pub fn mget(&self, keys: &[&str]) -> RedisCommand {
        let mut args = vec!["MGET"];
        args.extend_from_slice(keys);
        self.command(&args)
    }

    /// `MSET key value ...`
    pub fn mset(&self, pairs: &[(&str, &str)]) -> RedisCommand {
        let mut args = vec!["MSET"];
        for (k, v) in pairs {
            args.push(k);
            args.push(v);
        }
        self.command(&args)
    }

    /// `HGET key field`
    pub fn hget(&self, key: &str, field: &str) -> RedisCommand {
        self.command(&["HGET", key, field])
    }

    /// `HSET key field value`
    pub fn hset(&self, key: &str, field: &str, value: impl AsRef<[u8]>) -> RedisCommand {
        self.command(&[b"HSET".as_slice(), key.as_bytes(), field.as_bytes(), value.as_ref()])
    }

    /// `HINCRBY key field delta`
    pub fn hincr_by(&self, key: &str, field: &str, delta: i64) -> RedisCommand {
        self.command(&["HINCRBY", key, field, &delta.to_string()])
    }

    /// `HDEL key field...`
    pub fn hdel(&self, key: &str, fields: &[&str]) -> RedisCommand {
        let mut args = vec!["HDEL", key];
        args.extend_from_slice(fields);
        self.command(&args)
    }

    /// `HGETALL key`
    pub fn hgetall(&self, key: &str) -> RedisCommand {
        self.command(&["HGETALL", key])
    }

    /// `EVAL script numkeys key... arg...` (keys and arguments as `&str`, `String`, bytes).
    pub fn eval<K: AsRef<[u8]>, A: AsRef<[u8]>>(&self, script: &str, keys: &[K], args: &[A]) -> RedisCommand {
        self.script("EVAL", script, keys, args)
    }

    /// `EVALSHA sha1 numkeys key... arg...`
    pub fn evalsha<K: AsRef<[u8]>, A: AsRef<[u8]>>(&self, sha1: &str, keys: &[K], args: &[A]) -> RedisCommand {
        self.script("EVALSHA", sha1, keys, args)
    }

    /// `SCRIPT LOAD script` (replies with the SHA1 for `evalsha`).
    pub fn script_load(&self, script: &str) -> RedisCommand {
        self.command(&["SCRIPT", "LOAD", script])
    }

    fn script<K: AsRef<[u8]>, A: AsRef<[u8]>>(&self, verb: &str, script: &str, keys: &[K], args: &[A]) -> RedisCommand {
        let numkeys = keys.len().to_string();
        let mut all: Vec<&[u8]> = vec![verb.as_bytes(), script.as_bytes(), numkeys.as_bytes()];
        all.extend(keys.iter().map(AsRef::as_ref));
        all.extend(args.iter().map(AsRef::as_ref));
        self.command(&all)
    }
}

/// A command ready to send.
pub struct RedisCommand {
    client: RedisClient,
    query: Vec<u8>,
}

impl RedisCommand {
    /// The RESP bytes that will be sent.
    pub fn query(&self) -> &[u8] {
        &self.query
    }

    /// Sends the command from a stream; `callback` runs in that stream's context. Errors
    /// when the host refuses the call at once (the callback then never runs).
    pub fn send<P: HttpPlugin>(
        self,
        http: &Http,
        callback: impl FnOnce(&mut P, &mut Http, &P::Config, RedisResult) + 'static,
    ) -> Result<u32, RedisError> {
        let token = self.client.dispatch(&self.query)?;
        let retry = retry_once(self.client, self.query);
        callout::register(
            token,
            Pending::Redis(Target::Stream(http.context_id(), callout::stream_callback::<P, _>(callback)), retry),
        );
        Ok(token)
    }

    /// Sends the command from the root context.
    pub fn send_from_root(self, callback: impl FnOnce(RedisResult) + 'static) -> Result<u32, RedisError> {
        let token = self.client.dispatch(&self.query)?;
        let retry = retry_once(self.client, self.query);
        callout::register(token, Pending::Redis(Target::Root(Box::new(callback)), retry));
        Ok(token)
    }
}

/// The `NOAUTH` handler of a command sent once: initialise again and re-send, with no further
/// retry. Boxed into the pending entry, so the dispatcher reaches the Redis hostcalls only
/// through a client the plugin built (a plugin without Redis imports none of them).
fn retry_once(client: RedisClient, query: Vec<u8>) -> RedisRetry {
    Some(Box::new(move |target| {
        client.mark_unready();
        match client.dispatch(&query) {
            Ok(token) => {
                log_info!("redis NOAUTH on {}: initialised again, retrying as call {token}", client.cluster_name());
                callout::register(token, Pending::Redis(target, None));
                Ok(())
            }
            Err(e) => {
                log_warn!("redis NOAUTH on {}: retry failed: {e}", client.cluster_name());
                Err(target)
            }
        }
    }))
}
