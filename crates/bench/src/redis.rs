//! The Redis-backed plugins against a real redis-server on a loopback port: instructions per
//! request over every callback (Redis's answers included), Redis round trips per request (from
//! Redis's own command statistics: one for a request limit; two for a token limit, the check
//! and the count of the reply's tokens), and the VM's memory after many requests.

use higress_host::testing::{self, request, RedisServer};
use higress_host::{Env, Upstream, Vm};
use serde_json::{json, Value};

/// One Redis-backed plugin: its config (the Redis block is added), the admitted and the
/// refused request's header value (`x-k`), the Redis command it runs per request, and the
/// upstream's reply body (content type, body).
struct RedisScenario {
    plugin: &'static str,
    config: Value,
    admitted: &'static str,
    refused: &'static str,
    command: &'static str,
    reply: Option<(&'static str, &'static str)>,
}

fn scenarios() -> Vec<RedisScenario> {
    vec![RedisScenario {
        plugin: "cluster-key-rate-limit",
        config: json!({"rule_name": "bench", "rule_items": [{"limit_by_header": "x-k", "limit_keys": [
            {"key": "busy", "query_per_second": 1_000_000_000_000u64},
            {"key": "spent", "query_per_day": 1}
        ]}]}),
        admitted: "busy",
        refused: "spent",
        command: "eval",
        reply: None,
    },
    RedisScenario {
        plugin: "ai-token-ratelimit",
        config: json!({"rule_name": "bench", "rule_items": [{"limit_by_header": "x-k", "limit_keys": [
            {"key": "busy", "token_per_second": 1_000_000_000_000u64},
            {"key": "spent", "token_per_day": 1}
        ]}]}),
        admitted: "busy",
        refused: "spent",
        command: "eval",
        // A streamed OpenAI reply: two content chunks, the usage chunk, [DONE].
        reply: Some((
            "text/event-stream",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n\
             data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"}}]}\n\n\
             data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n\
             data: [DONE]\n\n",
        )),
    }]
}

/// Sends a request with `x-k: key`, lets Redis answer, answers 200 (with `reply`) if it went
/// upstream and lets Redis answer again: the instructions it cost and whether it was admitted.
fn send(vm: &Vm, key: &str, reply: Option<(&str, &str)>) -> (u64, bool) {
    let before = vm.instructions();
    let s = request("GET", "api.example.com", "/orders").header("x-k", key).send(vm);
    vm.poll().unwrap_or_else(|e| panic!("{e}"));
    let admitted = s.local_response().is_none();
    if admitted {
        let result = match reply {
            None => s.send_response_headers([(":status", "200")], true).map(|_| ()),
            Some((content_type, body)) => s
                .send_response_headers([(":status", "200"), ("content-type", content_type)], false)
                .and_then(|_| s.send_response_body(body, true))
                .map(|_| ()),
        };
        result.unwrap_or_else(|e| panic!("{e}"));
        vm.poll().unwrap_or_else(|e| panic!("{e}"));
    }
    (vm.instructions() - before, admitted)
}

pub fn report(requests: usize) {
    println!();
    println!(
        "| plugin (real Redis) | .wasm bytes | instructions, admitted | instructions, refused | Redis round trips per request | memory after 1 | memory after {requests} |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let server = RedisServer::start();
    for scenario in scenarios() {
        let env = Env::new();
        env.add_cluster("outbound|6379||redis.dns", Upstream::Address(server.address()));
        let mut config = scenario.config.clone();
        config["redis"] = json!({"service_name": "redis.dns"});
        let vm = Vm::builder(&testing::plugin(scenario.plugin))
            .env(&env)
            .config_json(&config)
            .start()
            .unwrap_or_else(|e| panic!("{e}"));
        // Spends the refused key's window.
        // Spends (and, for tokens, overdraws) the refused key's window.
        send(&vm, scenario.refused, scenario.reply.or(Some(("text/plain", ""))));
        send(&vm, scenario.refused, scenario.reply);
        let (admitted, ok) = send(&vm, scenario.admitted, scenario.reply);
        assert!(ok, "{}: the admitted request was refused", scenario.plugin);
        let (refused, ok) = send(&vm, scenario.refused, scenario.reply);
        assert!(!ok, "{}: the refused request was admitted", scenario.plugin);
        let first = vm.memory_bytes();
        let before = server.calls(scenario.command);
        for _ in 1..requests {
            send(&vm, scenario.admitted, scenario.reply);
        }
        let round_trips = (server.calls(scenario.command) - before) as f64 / (requests - 1).max(1) as f64;
        println!(
            "| {} | {} | {admitted} | {refused} | {round_trips:.2} | {first} | {} |",
            scenario.plugin,
            crate::shipped_size(scenario.plugin),
            vm.memory_bytes()
        );
    }
}
