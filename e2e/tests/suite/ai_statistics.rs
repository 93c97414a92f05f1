//! ai-statistics with ai-proxy in front of the LLM mock: the token and latency counters of
//! each reply, streamed or not, read from the gateway's Prometheus page
//! (`$GATEWAY_ADMIN_URL/stats/prometheus`), under the names and labels Higress's gateway
//! gives them.

use crate::{gateway, unique};
use higress_e2e::client::Gateway;
use serde_json::{json, Value};

const OPENAI: &str = "ai-proxy-openai.e2e.local";
const CLAUDE: &str = "ai-proxy-claude.e2e.local";

/// The gateway's admin listener (`e2e-stack test` sets it; Envoy's admin in `make e2e`).
fn admin() -> Gateway {
    match std::env::var("GATEWAY_ADMIN_URL") {
        Ok(url) if !url.is_empty() => Gateway::new(&url),
        _ => panic!("GATEWAY_ADMIN_URL is not set: run the suite with `make e2e-local` (or set it to the gateway's admin address)"),
    }
}

/// The value of the series of `metric` for `consumer` (one per test), if any.
fn metric(metric: &str, consumer: &str) -> Option<f64> {
    let page = admin().get("admin", "/stats/prometheus").send().text();
    let name = format!("route_upstream_model_consumer_metric_{metric}{{");
    let label = format!("ai_consumer=\"{consumer}\"");
    page.lines()
        .filter(|l| l.starts_with(&name) && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .reduce(|a, b| a + b)
}

fn chat(host: &str, consumer: &str, stream: bool) -> Value {
    let body =
        json!({"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "count to three"}]});
    let reply = gateway()
        .post(host, "/v1/chat/completions", body.to_string())
        .header("content-type", "application/json")
        .header("x-mse-consumer", consumer)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    if stream {
        let text = reply.text();
        let usage = text
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find(|e| e["usage"].is_object());
        usage.unwrap_or_else(|| panic!("no usage in the stream: {text}"))
    } else {
        reply.json()
    }
}

#[test]
fn token_counters_are_scraped_per_consumer() {
    let consumer = unique("stats");
    let reply = chat(OPENAI, &consumer, false);
    let total = reply["usage"]["total_tokens"].as_f64().unwrap_or(0.0);
    assert!(total > 0.0, "{reply}");
    assert_eq!(metric("total_token", &consumer), Some(total));
    assert_eq!(metric("input_token", &consumer), reply["usage"]["prompt_tokens"].as_f64());
    assert_eq!(metric("llm_duration_count", &consumer), Some(1.0));
    assert_eq!(metric("llm_stream_duration_count", &consumer), None, "not streamed");
    assert!(metric("cost_micros", &consumer).is_some_and(|c| c > 0.0));
    let page = admin().get("admin", "/stats/prometheus").send().text();
    let line = page.lines().find(|l| l.contains(&consumer) && l.contains("metric_total_token")).unwrap_or_default();
    assert!(line.contains("ai_route=\"default/ai-proxy\""), "{line}");
    assert!(line.contains("ai_cluster=\"outbound|80||llm-mock.static\""), "{line}");
    assert!(line.contains("ai_model=\""), "{line}");

    // The same consumer again, streamed: counters add up.
    let streamed = chat(OPENAI, &consumer, true);
    let more = streamed["usage"]["total_tokens"].as_f64().unwrap_or(0.0);
    assert_eq!(metric("total_token", &consumer), Some(total + more));
    assert_eq!(metric("llm_stream_duration_count", &consumer), Some(1.0));
    // `llm_first_token_duration` adds milliseconds: 0 on a fast loopback, and a counter is not
    // even defined for 0 (as Go): its presence is not asserted.
}

#[test]
fn a_translated_claude_reply_is_counted_in_the_clients_protocol() {
    let consumer = unique("stats-claude");
    let reply = chat(CLAUDE, &consumer, true);
    let total = reply["usage"]["total_tokens"].as_f64().unwrap_or(0.0);
    assert!(total > 0.0, "{reply}");
    assert_eq!(metric("total_token", &consumer), Some(total));
}
