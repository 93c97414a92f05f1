//! Requests framed the way clients send them reach the upstream with their body, on the
//! direct path and through a plugin chain (a plugin that lets the body pass, and one that
//! buffers it); heads over Envoy's limits are refused with 431; an answer sent before the
//! request body was read reaches a client that is still sending.

use crate::{echo_routes, wasm_plugin, Gw};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const BODY: &str = "hello body";

/// How a raw request carries `BODY`.
#[derive(Debug, Clone, Copy)]
enum Framing {
    Chunked,
    Length,
    None,
}

fn raw_request(method: &str, host: &str, framing: Framing) -> Vec<u8> {
    let mut head = format!("{method} /framing HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    let body = match framing {
        Framing::Chunked => {
            head.push_str("Transfer-Encoding: chunked\r\n");
            // Two chunks, so nothing depends on the body arriving in one read.
            format!("5\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n", &BODY[..5], BODY.len() - 5, &BODY[5..])
        }
        Framing::Length => {
            head.push_str(&format!("Content-Length: {}\r\n", BODY.len()));
            BODY.to_string()
        }
        Framing::None => String::new(),
    };
    head.push_str("\r\n");
    head.push_str(&body);
    head.into_bytes()
}

/// Sends `request` on a fresh connection and returns the whole answer (until close).
fn exchange(address: &str, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(address).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    socket.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn every_method_and_framing_reaches_the_upstream_with_its_body() {
    let echo = higress_e2e::echo::spawn().to_string();
    let config = echo_routes(&["direct.test"]);
    let direct = Gw::start(&config, &echo, 1);
    let config = echo_routes(&["pass.test", "buffer.test"])
        + &wasm_plugin(
            "hello",
            "hello-world",
            "  matchRules:\n    - domain: [pass.test]\n      config: {}\n    - domain: [buffer.test]\n      config: {count_request_body: true}\n",
        );
    let chained = Gw::start(&config, &echo, 1);
    for (gw, host) in [(&direct, "direct.test"), (&chained, "pass.test"), (&chained, "buffer.test")] {
        for method in ["GET", "HEAD", "DELETE", "OPTIONS", "POST", "PUT"] {
            for framing in [Framing::Chunked, Framing::Length, Framing::None] {
                let answer = exchange(&gw.address, &raw_request(method, host, framing));
                let case = format!("{method} {framing:?} via {host}");
                assert!(answer.starts_with("HTTP/1.1 200"), "{case}: {answer}");
                let expected = match framing {
                    Framing::None => 0,
                    _ => BODY.len(),
                };
                assert_eq!(
                    header(&answer, "x-echo-body-length").and_then(|v| v.parse().ok()),
                    Some(expected),
                    "{case}: {answer}"
                );
                if host == "buffer.test" && method != "HEAD" && !matches!(framing, Framing::None) {
                    assert!(answer.contains(&format!("\"x-request-body-bytes\":[\"{}\"]", BODY.len())), "{case}");
                }
            }
        }
    }
}

#[test]
fn request_heads_over_envoys_limits_get_431_and_reach_no_plugin() {
    let echo = higress_e2e::echo::spawn().to_string();
    let config = echo_routes(&["limits.test", "direct.test"])
        + &wasm_plugin("hello", "hello-world", "  matchRules:\n    - domain: [limits.test]\n      config: {}\n");
    let gw = Gw::start(&config, &echo, 1);
    for host in ["limits.test", "direct.test"] {
        // 60 KiB of names and values in total is still fine ...
        let name_and_host = "x-big".len() + "host".len() + host.len();
        let fits = "v".repeat(60 * 1024 - name_and_host);
        let ok = gw.client().get(host, "/").header("x-big", &fits).send();
        assert_eq!(ok.status, 200, "{host}");
        // ... one byte more is not, whether in one header or spread over many.
        let over = "v".repeat(60 * 1024 - name_and_host + 1);
        let refused = gw.client().get(host, "/").header("x-big", &over).send();
        assert_eq!(refused.status, 431, "{host}");
        assert_eq!(refused.text(), "Request Header Fields Too Large");
        let mut spread = gw.client().get(host, "/");
        for i in 0..50 {
            spread = spread.header(&format!("x-part-{i:02}"), &"v".repeat(1300));
        }
        assert_eq!(spread.send().status, 431, "{host}");
        // A 100 KB header (what used to reach plugins) is refused as well.
        let huge = gw.client().get(host, "/").header("x-huge", &"v".repeat(100_000)).send();
        assert_eq!(huge.status, 431, "{host}");
        // More than 100 headers: Envoy's max_headers_count.
        let mut many = b"GET / HTTP/1.1\r\nHost: ".to_vec();
        many.extend_from_slice(host.as_bytes());
        many.extend_from_slice(b"\r\nConnection: close\r\n");
        for i in 0..101 {
            many.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let answer = exchange(&gw.address, &many);
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    }
    let log = gw.wait_for(Gw::access_log, "\" 431 ");
    assert!(log.contains("\"GET /\" 431 "), "{log}");
}

#[test]
fn an_early_answer_reaches_a_client_still_sending_its_body() {
    let echo = higress_e2e::echo::spawn().to_string();
    let config = echo_routes(&["early.test"])
        + &wasm_plugin(
            "hello",
            "hello-world",
            "  matchRules:\n    - domain: [early.test]\n      config: {reply: denied early}\n",
        );
    let gw = Gw::start(&config, &echo, 1);
    for _ in 0..5 {
        let mut socket = TcpStream::connect(&gw.address).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let total = 8 << 20;
        socket
            .write_all(
                format!("POST /upload HTTP/1.1\r\nHost: early.test\r\nContent-Length: {total}\r\n\r\n").as_bytes(),
            )
            .unwrap();
        // The client goes on sending while the answer is already on its way (a real client
        // sends the whole body before it reads), then reads.
        let chunk = vec![b'x'; 64 << 10];
        socket.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut sent = 0;
        while sent < 4 << 20 {
            // Closing at once would reset the connection under the client's feet here.
            socket.write_all(&chunk).unwrap_or_else(|e| panic!("reset after {sent} bytes: {e}"));
            sent += chunk.len();
        }
        let mut answer = vec![0u8; 4096];
        let n = socket.read(&mut answer).unwrap_or_else(|e| panic!("the answer was lost: {e}"));
        let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("denied early"), "{answer}");
    }
}
