//! ai-cache against a real redis-server on a loopback port (`-- cache [N]`): module size;
//! instructions per request over every callback (Redis's answers included) for a hit answered
//! whole and streamed, and for a miss whose answer is a JSON reply or a stream of ~20 events
//! (each its own chunk, as providers flush them); Redis round trips per request (from Redis's
//! command statistics: a hit is one `GET`, a miss a `GET` and a `SETEX`); the VM's memory
//! after 1 and after N requests (hits and misses alternating). `CACHE_DEBUG=1` prints the
//! instructions of each callback of the measured requests.

use crate::ai::PIECES;
use crate::shipped_size;
use higress_host::testing::{self, request, RedisServer, Request};
use higress_host::{Env, Upstream, Vm};
use serde_json::{json, Value};

const PLUGIN: &str = "ai-cache";

/// Text deltas in a streamed reply.
const DELTAS: usize = 20;

/// A chat request of a few messages (~700 bytes), asking `question`.
fn chat(question: &str, stream: bool) -> Request {
    let body = json!({
        "model": "gpt-4o",
        "stream": stream,
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You are a concise travel assistant. Answer in two sentences at most, with temperatures in °C."},
            {"role": "user", "content": "I am flying from Paris to Tokyo next week and want to pack the right clothes."},
            {"role": "assistant", "content": "Happy to help. Tell me which city you want the weather of, and when."},
            {"role": "user", "content": question}
        ]
    });
    request("POST", "api.example.com", "/v1/chat/completions")
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-bench")
        .body(body.to_string())
}

fn answer() -> String {
    PIECES.concat()
}

/// OpenAI's whole reply.
fn json_reply() -> String {
    json!({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer(), "refusal": null},
            "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 87, "completion_tokens": 41, "total_tokens": 128}})
    .to_string()
}

/// OpenAI's streamed reply: a role chunk, `DELTAS` text chunks, a finish chunk, a usage chunk,
/// `[DONE]`; one event per chunk.
fn stream_reply() -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        let chunk = json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}], "usage": null});
        format!("data: {chunk}\n\n")
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": "", "refusal": null}), Value::Null)];
    for i in 0..DELTAS {
        events.push(chunk(json!({"content": PIECES[i % PIECES.len()]}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    let usage = json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "gpt-4o-2024-08-06", "choices": [],
        "usage": {"prompt_tokens": 87, "completion_tokens": 41, "total_tokens": 128}});
    events.push(format!("data: {usage}\n\n"));
    events.push("data: [DONE]\n\n".into());
    events
}

/// A hit: the request, Redis's answer, the local reply. Its instructions.
fn hit(vm: &Vm, question: &str, stream: bool) -> u64 {
    let before = vm.instructions();
    let s = chat(question, stream).send(vm);
    vm.poll().unwrap_or_else(|e| panic!("{e}"));
    assert!(s.local_response().is_some(), "ai-cache: `{question}` was not a hit");
    if std::env::var("CACHE_DEBUG").is_ok() {
        eprintln!("hit{}: {:?}", if stream { ", streamed" } else { "" }, per_callback(&s));
    }
    vm.instructions() - before
}

/// A miss: the request, Redis's answer, the upstream's reply (whole or streamed), the answer
/// stored. Its instructions.
fn miss(vm: &Vm, question: &str, stream: bool) -> u64 {
    let before = vm.instructions();
    let s = chat(question, stream).send(vm);
    vm.poll().unwrap_or_else(|e| panic!("{e}"));
    assert!(s.local_response().is_none(), "ai-cache: `{question}` was a hit");
    let result = if stream {
        let events = stream_reply();
        s.send_response_headers([(":status", "200"), ("content-type", "text/event-stream")], false).and_then(|_| {
            for (i, event) in events.iter().enumerate() {
                s.send_response_body(event, i + 1 == events.len())?;
            }
            Ok(())
        })
    } else {
        s.send_response_headers([(":status", "200"), ("content-type", "application/json")], false)
            .and_then(|_| s.send_response_body(json_reply(), true).map(|_| ()))
    };
    result.unwrap_or_else(|e| panic!("{e}"));
    vm.poll().unwrap_or_else(|e| panic!("{e}"));
    if std::env::var("CACHE_DEBUG").is_ok() {
        eprintln!("miss{}: {:?}", if stream { ", streamed" } else { "" }, per_callback(&s));
    }
    vm.instructions() - before
}

/// Instructions per callback of a stream (`CACHE_DEBUG=1`).
fn per_callback(s: &higress_host::Stream) -> Vec<(&'static str, u64)> {
    s.calls().iter().map(|c| (c.callback.trim_start_matches("proxy_on_"), c.instructions)).collect()
}

fn round_trips(server: &RedisServer) -> u64 {
    server.calls("get") + server.calls("setex") + server.calls("set")
}

pub fn report(requests: usize) {
    let server = RedisServer::start();
    let env = Env::new();
    env.add_cluster("outbound|6379||redis.dns", Upstream::Address(server.address()));
    let config = json!({"cache": {"type": "redis", "serviceName": "redis.dns", "cacheTTL": 600}});
    let vm =
        Vm::builder(&testing::plugin(PLUGIN)).env(&env).config_json(&config).start().unwrap_or_else(|e| panic!("{e}"));
    let question = "What will the weather be like in Tokyo and in Paris tomorrow?";
    // Warm the VM's allocator, then measure each case on its own question.
    miss(&vm, "warm-up", false);
    hit(&vm, "warm-up", false);
    let trips = round_trips(&server);
    let miss_json = miss(&vm, question, false);
    let miss_trips = round_trips(&server) - trips;
    let miss_stream = miss(&vm, &format!("{question} (streamed)"), true);
    let trips = round_trips(&server);
    let hit_json = hit(&vm, question, false);
    let hit_trips = round_trips(&server) - trips;
    let hit_stream = hit(&vm, question, true);
    println!();
    println!("ai-cache: .wasm {} bytes (dist/ai-cache/plugin.wasm, as `make build` ships it)", shipped_size(PLUGIN));
    println!();
    println!(
        "| ai-cache (real Redis) | hit, JSON | hit, streamed | miss, JSON reply | miss, stream of {} events | Redis round trips: hit / miss |",
        DELTAS + 4
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!("| instructions per request | {hit_json} | {hit_stream} | {miss_json} | {miss_stream} | {hit_trips} / {miss_trips} |");

    let first = vm.memory_bytes();
    for i in 1..requests {
        if i % 2 == 0 {
            hit(&vm, question, i % 4 == 0);
        } else {
            miss(&vm, &format!("{question} #{i}"), i % 3 == 0);
        }
    }
    println!();
    println!("| ai-cache | memory after 1 request | after {requests} (hits and misses, whole and streamed) |");
    println!("|---|---:|---:|");
    println!("| linear memory, bytes | {first} | {} |", vm.memory_bytes());
}
