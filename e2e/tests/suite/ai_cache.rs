//! ai-cache in front of the LLM mock, with Redis: a question is answered upstream once, then
//! from the cache (whole or streamed, `id: from-cache`); another model, another consumer
//! (where configured), the skip header and error replies all reach the mock, which the mock's
//! journal shows (`x-mock-tag`).

use crate::{gateway, llm_mock, unique};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const HOST: &str = "ai-cache.e2e.local";
/// The same, with `cacheKeyIncludeConsumer: true`.
const PER_CONSUMER: &str = "ai-cache-consumer.e2e.local";

struct Ask<'a> {
    host: &'a str,
    model: &'a str,
    question: &'a str,
    stream: bool,
    tag: &'a str,
    headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Ask<'a> {
    fn new(question: &'a str, tag: &'a str) -> Ask<'a> {
        Ask { host: HOST, model: "mock-gpt-4o", question, stream: false, tag, headers: Vec::new() }
    }

    fn send(&self) -> higress_e2e::client::Reply {
        let body = json!({"model": self.model, "stream": self.stream,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": self.question}]});
        let mut request = gateway()
            .post(self.host, "/v1/chat/completions", body.to_string())
            .header("content-type", "application/json")
            .header("authorization", "Bearer sk-e2e")
            .header("x-mock-tag", self.tag);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request.send()
    }
}

/// Requests with `tag` the mock received.
fn upstream_requests(tag: &str) -> usize {
    let entries = llm_mock().get("llm-mock", &format!("/__mock/requests?tag={tag}")).send().json();
    entries.as_array().map_or(0, Vec::len)
}

/// The answer's text and whether it came from the cache, from a whole or a streamed reply.
fn answer(reply: &higress_e2e::client::Reply) -> (String, bool) {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let text = reply.text();
    if reply.header("content-type").is_some_and(|t| t.starts_with("text/event-stream")) {
        let mut content = String::new();
        let mut cached = false;
        for event in text.split("\n\n") {
            let Some(data) = event.strip_prefix("data:").map(str::trim) else { continue };
            if data == "[DONE]" {
                continue;
            }
            let chunk: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
            cached |= chunk["id"] == "from-cache";
            content.push_str(chunk["choices"][0]["delta"]["content"].as_str().unwrap_or_default());
        }
        (content, cached)
    } else {
        let reply = reply.json();
        (
            reply["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_string(),
            reply["id"] == "from-cache",
        )
    }
}

/// Asks until the answer comes from the cache (the miss's answer is stored as its reply ends:
/// the next request may be faster); panics after 3 s.
fn until_cached(ask: &Ask) -> (String, higress_e2e::client::Reply) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let reply = ask.send();
        let (content, cached) = answer(&reply);
        if cached {
            return (content, reply);
        }
        assert!(Instant::now() < deadline, "never answered from the cache: {}", reply.text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_question_is_answered_upstream_once_then_from_the_cache() {
    let tag = unique("ai-cache");
    let question = unique("what is the answer");
    let ask = Ask::new(&question, &tag);
    let (fresh, cached) = answer(&ask.send());
    assert!(!cached);
    assert_eq!(fresh, format!("Mock reply to: {question}"));
    let (content, reply) = until_cached(&ask);
    assert_eq!(content, fresh);
    assert_eq!(reply.header("content-type"), Some("application/json; charset=utf-8"));
    assert_eq!(reply.json()["object"], "chat.completion");
    let upstream = upstream_requests(&tag);
    // Once more: nothing reaches the mock.
    assert_eq!(answer(&ask.send()), (fresh.clone(), true));
    assert_eq!(upstream_requests(&tag), upstream);

    // A streamed request is answered from the same entry, as server-sent events.
    let streamed = Ask { stream: true, ..Ask::new(&question, &tag) };
    let reply = streamed.send();
    assert_eq!(reply.header("content-type"), Some("text/event-stream; charset=utf-8"));
    assert!(reply.text().ends_with("data:[DONE]\n\n"), "{}", reply.text());
    assert_eq!(answer(&reply), (fresh, true));
    assert_eq!(upstream_requests(&tag), upstream);
}

#[test]
fn a_streamed_answer_is_stored_whole() {
    let tag = unique("ai-cache-stream");
    let question = unique("stream me");
    let ask = Ask { stream: true, ..Ask::new(&question, &tag) };
    let (fresh, cached) = answer(&ask.send());
    assert!(!cached);
    assert_eq!(fresh, format!("Mock reply to: {question}"));
    // The streamed pieces were put together: a whole request gets the whole text.
    let (content, _) = until_cached(&Ask::new(&question, &tag));
    assert_eq!(content, fresh);
}

#[test]
fn another_model_or_consumer_has_its_own_answers() {
    let tag = unique("ai-cache-models");
    let question = unique("same question");
    let ask = Ask::new(&question, &tag);
    answer(&ask.send());
    until_cached(&ask);
    let before = upstream_requests(&tag);
    // The same question to another model goes upstream.
    let mini = Ask { model: "mock-gpt-4o-mini", ..Ask::new(&question, &tag) };
    assert!(!answer(&mini.send()).1, "another model's answer is not served");
    assert_eq!(upstream_requests(&tag), before + 1);
    until_cached(&mini);

    // Per consumer where configured.
    let tag = unique("ai-cache-consumers");
    let alice = Ask { host: PER_CONSUMER, headers: vec![("x-mse-consumer", "alice")], ..Ask::new(&question, &tag) };
    answer(&alice.send());
    until_cached(&alice);
    let before = upstream_requests(&tag);
    let bob = Ask { host: PER_CONSUMER, headers: vec![("x-mse-consumer", "bob")], ..Ask::new(&question, &tag) };
    assert!(!answer(&bob.send()).1, "another consumer's answer is not served");
    assert_eq!(upstream_requests(&tag), before + 1);
}

#[test]
fn the_skip_header_and_error_replies_bypass_the_cache() {
    let tag = unique("ai-cache-skip");
    let question = unique("skip me");
    let ask = Ask::new(&question, &tag);
    answer(&ask.send());
    until_cached(&ask);
    let before = upstream_requests(&tag);
    let skip = Ask { headers: vec![("x-higress-skip-ai-cache", "on")], ..Ask::new(&question, &tag) };
    assert!(!answer(&skip.send()).1);
    assert_eq!(upstream_requests(&tag), before + 1);

    // An error is passed on and not stored: the next request goes upstream again.
    let tag = unique("ai-cache-error");
    let question = unique("fail me");
    let failing = Ask { headers: vec![("x-mock-status", "500")], ..Ask::new(&question, &tag) };
    let reply = failing.send();
    assert_eq!(reply.status, 500, "{}", reply.text());
    std::thread::sleep(Duration::from_millis(200));
    let (_, cached) = answer(&Ask::new(&question, &tag).send());
    assert!(!cached);
    assert_eq!(upstream_requests(&tag), 2);
}
