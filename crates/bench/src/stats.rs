//! ai-statistics on realistic LLM traffic (`-- stats [N]`): module size; instructions per
//! chat request (not streamed: request, reply and every callback between) and per streamed
//! event, with Higress's counters only and with `use_default_attributes` (the conversation,
//! the answer appended event by event); the VM's linear memory after many requests (flat).

use crate::ai::{anthropic_request, anthropic_stream, median, openai_request, openai_stream, OPENAI_REPLY};
use crate::shipped_size;
use higress_host::testing::{self, request};
use higress_host::{Env, Stream, Vm};
use serde_json::{json, Value};
use std::time::Duration;

const PLUGIN: &str = "ai-statistics";
const DELTAS: usize = 20;

fn vm(config: &Value) -> Vm {
    let env = Env::with_manual_clock(Duration::from_secs(1_750_000_000));
    Vm::builder(&testing::plugin(PLUGIN))
        .env(&env)
        .config_json(config)
        .start()
        .unwrap_or_else(|e| panic!("{PLUGIN}: {e}"))
}

fn send(vm: &Vm, anthropic: bool, stream: bool) -> Stream {
    let (path, body) = if anthropic {
        ("/v1/messages", anthropic_request(stream))
    } else {
        ("/v1/chat/completions", openai_request(stream))
    };
    request("POST", "ai.example.com", path)
        .route("llm")
        .cluster("outbound|443||llm.dns")
        .header("content-type", "application/json")
        .header("x-mse-consumer", "team-a")
        .body(body)
        .send(vm)
}

fn chat(vm: &Vm) -> u64 {
    let s = send(vm, false, false);
    s.send_response_headers([(":status", "200"), ("content-type", "application/json")], false)
        .unwrap_or_else(|e| panic!("{e}"));
    s.send_response_body(OPENAI_REPLY, true).unwrap_or_else(|e| panic!("{e}"));
    s.instructions()
}

/// A streamed request: (instructions of the request and reply headers, of each event).
fn streamed(vm: &Vm, anthropic: bool) -> (u64, Vec<u64>) {
    let s = send(vm, anthropic, true);
    s.send_response_headers([(":status", "200"), ("content-type", "text/event-stream")], false)
        .unwrap_or_else(|e| panic!("{e}"));
    let head = s.instructions();
    let events = if anthropic { anthropic_stream(DELTAS) } else { openai_stream(DELTAS) };
    let mut costs = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let before = s.instructions();
        s.send_response_body(event, i + 1 == events.len()).unwrap_or_else(|e| panic!("{e}"));
        costs.push(s.instructions() - before);
    }
    (head, costs)
}

pub fn report(requests: usize) {
    println!();
    println!("ai-statistics: .wasm {} bytes (dist/ai-statistics/plugin.wasm)", shipped_size(PLUGIN));
    println!();
    println!(
        "| ai-statistics config, reply | chat request, not streamed (whole exchange) | streamed: request + headers \
         | streamed event (median) | last event (counters, ai_log) | memory after 1 | memory after {requests} (one in ten streamed) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let configs = [
        ("counters only (empty config), OpenAI", json!({}), false),
        ("counters only (empty config), Anthropic", json!({}), true),
        ("use_default_attributes, OpenAI", json!({"use_default_attributes": true}), false),
        ("use_default_attributes, Anthropic", json!({"use_default_attributes": true}), true),
    ];
    for (what, config, anthropic) in configs {
        let vm = vm(&config);
        let _ = chat(&vm);
        let _ = streamed(&vm, anthropic);
        let whole = chat(&vm);
        let (head, costs) = streamed(&vm, anthropic);
        let last = costs.last().copied().unwrap_or(0);
        let body = costs.get(1..costs.len().saturating_sub(1)).unwrap_or_default();
        let first = vm.memory_bytes();
        for i in 1..requests {
            if i % 10 == 0 {
                let _ = streamed(&vm, anthropic);
            } else {
                let _ = chat(&vm);
            }
        }
        println!("| {what} | {whole} | {head} | {} | {last} | {first} | {} |", median(body), vm.memory_bytes());
    }
}
