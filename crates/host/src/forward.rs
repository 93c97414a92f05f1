//! Serving callouts for real: Redis calls go to a Redis server, HTTP calls to an HTTP server,
//! for clusters the environment maps to an address. Blocking I/O, for tests and tools; the
//! gateway does the same asynchronously.
//!
//! Redis: one connection per cluster (and database) per VM, opened on first use with `AUTH`
//! and `SELECT` from the plugin's `proxy_redis_init`, reopened after a new init or an error.
//! Refused connections, timeouts and closed sockets are network errors (status 1), as Envoy
//! reports them.

use crate::headers::HeaderMap;
use crate::state::{HttpCallout, HttpResponse, RedisInit};
use higress_abi::resp;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The options a plugin encodes in its Redis cluster string (`name?db=1&...`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedisParams {
    /// Database to `SELECT`.
    pub database: u32,
}

impl RedisParams {
    /// Parses the query part of a cluster string.
    pub fn parse(cluster: &str) -> RedisParams {
        let mut params = RedisParams::default();
        if let Some((_, query)) = cluster.split_once('?') {
            for pair in query.split('&') {
                if let Some(("db", value)) = pair.split_once('=') {
                    params.database = value.parse().unwrap_or(0);
                }
            }
        }
        params
    }
}

/// The connection commands for a fresh Redis connection: AUTH then SELECT, as needed.
pub fn redis_handshake(init: &RedisInit) -> Vec<Vec<u8>> {
    let mut commands = Vec::new();
    if !init.user.is_empty() {
        commands.push(resp::encode_command(&["AUTH", init.user.as_str(), init.password.as_str()]));
    } else if !init.password.is_empty() {
        commands.push(resp::encode_command(&["AUTH", init.password.as_str()]));
    }
    let params = RedisParams::parse(&init.cluster);
    if params.database != 0 {
        commands.push(resp::encode_command(&["SELECT", &params.database.to_string()]));
    }
    commands
}

struct RedisConnection {
    stream: TcpStream,
    buffer: Vec<u8>,
    generation: u64,
}

impl RedisConnection {
    fn open(address: &str, init: &RedisInit, generation: u64) -> io::Result<RedisConnection> {
        let timeout = if init.timeout.is_zero() { Duration::from_secs(1) } else { init.timeout };
        let addr = address.to_socket_addrs()?.next().ok_or_else(|| io::Error::other("address did not resolve"))?;
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        let mut conn = RedisConnection { stream, buffer: Vec::new(), generation };
        for command in redis_handshake(init) {
            // A failed AUTH leaves the connection unauthenticated: commands then get NOAUTH,
            // which the SDK answers by initialising again.
            conn.call(&command)?;
        }
        Ok(conn)
    }

    fn call(&mut self, query: &[u8]) -> io::Result<Vec<u8>> {
        self.stream.write_all(query)?;
        loop {
            match resp::frame_len(&self.buffer) {
                Ok(Some(n)) => return Ok(self.buffer.drain(..n).collect()),
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "redis closed the connection"));
            }
            self.buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

/// Redis connections of one VM, by cluster.
#[derive(Default)]
pub(crate) struct RedisConnections {
    by_cluster: HashMap<String, RedisConnection>,
}

impl RedisConnections {
    /// Sends `query` to `address` with `init`'s credentials; `None` is a network error.
    pub(crate) fn call(
        &mut self,
        base: &str,
        address: &str,
        init: &RedisInit,
        generation: u64,
        query: &[u8],
    ) -> Option<Vec<u8>> {
        let stale = self.by_cluster.get(base).is_some_and(|c| c.generation != generation);
        if stale {
            self.by_cluster.remove(base);
        }
        if !self.by_cluster.contains_key(base) {
            let conn = RedisConnection::open(address, init, generation).ok()?;
            self.by_cluster.insert(base.to_string(), conn);
        }
        let conn = self.by_cluster.get_mut(base)?;
        match conn.call(query) {
            Ok(reply) => Some(reply),
            Err(_) => {
                self.by_cluster.remove(base);
                None
            }
        }
    }
}

/// Sends an HTTP callout to `address` (HTTP/1.1, one connection per call) and returns the
/// answer: Envoy's 503 when the upstream cannot be reached, 504 when it is too slow.
pub(crate) fn http_call(address: &str, call: &HttpCallout) -> HttpResponse {
    match try_http_call(address, call) {
        Ok(response) => response,
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            HttpResponse::new(504, &[("content-type", "text/plain")], "upstream request timeout")
        }
        Err(e) => HttpResponse::new(
            503,
            &[("content-type", "text/plain")],
            format!("upstream connect error or disconnect/reset before headers. reset reason: {e}"),
        ),
    }
}

fn try_http_call(address: &str, call: &HttpCallout) -> io::Result<HttpResponse> {
    let timeout = call.timeout.unwrap_or(Duration::from_secs(30));
    let addr = address.to_socket_addrs()?.next().ok_or_else(|| io::Error::other("address did not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let get = |name: &str| call.headers.get(name).unwrap_or_default().to_string();
    let mut request =
        format!("{} {} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n", get(":method"), get(":path"), get(":authority"));
    for (k, v) in call.headers.iter() {
        if k.starts_with(b":") || k.eq_ignore_ascii_case(b"host") || k.eq_ignore_ascii_case(b"connection") {
            continue;
        }
        request.push_str(&format!("{}: {}\r\n", String::from_utf8_lossy(k), String::from_utf8_lossy(v)));
    }
    if !call.body.is_empty() && !call.headers.contains("content-length") {
        request.push_str(&format!("content-length: {}\r\n", call.body.len()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(&call.body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let mut response = parse_response(&raw)?;
    // Responses to HEAD, and 1xx/204/304 responses, have no body whatever follows them.
    let status = response.headers.get(":status").and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
    if get(":method").eq_ignore_ascii_case("HEAD") || status < 200 || status == 204 || status == 304 {
        response.body.clear();
    }
    Ok(response)
}

fn parse_response(raw: &[u8]) -> io::Result<HttpResponse> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    let mut slots = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Response::new(&mut slots);
    let head_len = match parsed.parse(raw).map_err(|e| invalid(&e.to_string()))? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Err(invalid("truncated response head")),
    };
    let mut headers = HeaderMap::new();
    headers.set(b":status", parsed.code.unwrap_or(502).to_string().as_bytes());
    let mut chunked = false;
    for h in parsed.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding")
            && String::from_utf8_lossy(h.value).to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
            continue;
        }
        headers.add(h.name.as_bytes(), h.value);
    }
    let rest = raw.get(head_len..).unwrap_or_default();
    let body = if chunked { dechunk(rest).ok_or_else(|| invalid("bad chunked body"))? } else { rest.to_vec() };
    Ok(HttpResponse { headers, body, trailers: HeaderMap::new() })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(data.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = data.get(line_end + 2..)?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_handshake() {
        let init =
            RedisInit::new("outbound|6379||r.static?db=3&buffer_flush_timeout=3", "app", "pw", Duration::from_secs(1));
        assert_eq!(RedisParams::parse(&init.cluster).database, 3);
        assert_eq!(
            redis_handshake(&init),
            vec![resp::encode_command(&["AUTH", "app", "pw"]), resp::encode_command(&["SELECT", "3"])]
        );
        let password_only = RedisInit::new("c", "", "pw", Duration::ZERO);
        assert_eq!(redis_handshake(&password_only), vec![resp::encode_command(&["AUTH", "pw"])]);
        assert!(redis_handshake(&RedisInit::new("c", "", "", Duration::ZERO)).is_empty());
    }

    #[test]
    fn responses_parse_plain_and_chunked() {
        let plain = parse_response(b"HTTP/1.1 201 Created\r\nx-a: 1\r\ncontent-length: 2\r\n\r\nok").unwrap();
        assert_eq!(plain.headers.get(":status"), Some("201"));
        assert_eq!(plain.headers.get("x-a"), Some("1"));
        assert_eq!(plain.body, b"ok");
        let chunked = parse_response(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(chunked.body, b"abcde");
        assert!(parse_response(b"HTTP/1.1 200").is_err());
    }
}
