//! Bodies stream through the chain chunk by chunk, also through a plugin that rewrites
//! the response body as it goes.

use crate::{echo_routes, wasm_plugin, Gw};
use std::time::Duration;

#[test]
fn server_sent_events_stream_through_a_body_rewriting_plugin() {
    let echo = higress_e2e::echo::spawn().to_string();
    let spec = "  defaultConfig: {response_suffix: \"data: bye\\n\\n\"}\n";
    let config = echo_routes(&["sse.test"]) + &wasm_plugin("hello", "hello-world", spec);
    let gw = Gw::start(&config, &echo, 1);
    let mut stream = gw.client().get("sse.test", "/sse/3?gate=g1").stream();
    assert_eq!(stream.head.status, 200);
    assert_eq!(stream.head.header("content-type"), Some("text/event-stream"));
    // The upstream holds everything after the first event until released: it can only
    // arrive here if every hop forwards it at once.
    let first = stream.next_chunk(Duration::from_secs(30)).unwrap_or_default();
    assert_eq!(first.as_ref(), b"data: event 0\n\n");
    assert_eq!(gw.client().get("sse.test", "/release/g1").send().status, 200);
    let rest = String::from_utf8(stream.rest()).unwrap_or_default();
    assert_eq!(rest, "data: event 1\n\ndata: event 2\n\ndata: bye\n\n");
}

#[test]
fn large_bodies_pass_both_ways() {
    let echo = higress_e2e::echo::spawn().to_string();
    let gw = Gw::start(&echo_routes(&["big.test"]), &echo, 1);
    let body = vec![b'q'; 8 << 20];
    let reply = gw.client().post("big.test", "/up", body.clone()).send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.echo().0["body_length"], body.len());
    let down = gw.client().get("big.test", "/bytes/20000000").send();
    assert_eq!(down.body.len(), 20_000_000);
}
