//! ai-token-ratelimit: the tokens of replies from the LLM mock, whole and streamed, are
//! counted in Redis; a key that spent its window is refused.

use crate::{gateway, unique};
use serde_json::json;
use std::time::{Duration, Instant};

const HOST: &str = "ai-token-ratelimit.e2e.local";

fn chat(key: &str, stream: bool) -> higress_e2e::client::Reply {
    let body = json!({
        "model": "mock-gpt-4o",
        "stream": stream,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "count to three"}]
    });
    gateway()
        .post(HOST, "/v1/chat/completions", body.to_string())
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-e2e")
        .header("x-api-key", key)
        .send()
}

#[test]
fn tokens_of_whole_and_streamed_replies_spend_the_window() {
    // 20 tokens a minute; the mock's reply costs 11: a whole reply, then a streamed one, both
    // admitted (the window is overdrawn only once they are counted), then refusals.
    let key = unique("tokens");
    let whole = chat(&key, false);
    assert_eq!(whole.status, 200, "{}", whole.text());
    let streamed = chat(&key, true);
    assert_eq!(streamed.status, 200);
    assert!(streamed.text().contains("\"total_tokens\":11"), "{}", streamed.text());
    // The second reply's tokens land in Redis as its stream ends (another worker may ask
    // first): refused within moments.
    let deadline = Instant::now() + Duration::from_secs(3);
    let refused = loop {
        let reply = chat(&key, false);
        if reply.status != 200 || Instant::now() > deadline {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.text(), "Too many requests");
    assert!(refused.header("x-tokenratelimit-reset").and_then(|s| s.parse::<u64>().ok()).is_some());
    // Another key is not affected.
    assert_eq!(chat(&unique("tokens"), false).status, 200);
}
