//! Streaming through the gateway: SSE from the LLM mock and from the echo upstream arrives
//! chunk by chunk, not buffered. Then the LLM mock itself, talked to directly
//! (`$LLM_MOCK_URL`): OpenAI, Anthropic and Azure shapes, whole and streamed, tool calls,
//! reasoning, auth errors, the journal and scripted failures.

use crate::{gateway, unique};
use serde_json::{json, Value};
use std::time::Duration;

const HOST: &str = "llm.e2e.local";

fn chat(stream: bool) -> String {
    json!({
        "model": "mock-gpt-4o",
        "stream": stream,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "count to three"}]
    })
    .to_string()
}

#[test]
fn a_chat_completion_passes_with_usage() {
    let reply = gateway()
        .post(HOST, "/v1/chat/completions", chat(false))
        .header("authorization", "Bearer sk-e2e")
        .header("content-type", "application/json")
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "Mock reply to: count to three");
    let usage = &body["usage"];
    assert_eq!([&usage["prompt_tokens"], &usage["completion_tokens"], &usage["total_tokens"]], [5, 6, 11]);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(reply.header("x-llm-mock-api-key"), Some("sk-e2e"));
}

#[test]
fn a_streamed_chat_completion_passes_event_by_event() {
    let reply = gateway()
        .post(HOST, "/v1/chat/completions", chat(true))
        .header("authorization", "Bearer sk-e2e")
        .header("content-type", "application/json")
        .header("x-mock-chunk-delay-ms", "20")
        .stream();
    assert_eq!(reply.head.status, 200);
    assert_eq!(reply.head.header("content-type"), Some("text/event-stream"));
    let body = String::from_utf8(reply.rest()).unwrap_or_default();
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let chunks: Vec<Value> = events
        .iter()
        .filter(|e| **e != "data: [DONE]")
        .map(|e| serde_json::from_str(e.trim_start_matches("data: ")).unwrap_or(Value::Null))
        .collect();
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Mock reply to: count to three");
    assert_eq!(chunks.last().map(|c| c["usage"]["total_tokens"].clone()), Some(json!(11)));
}

#[test]
fn the_llm_mock_refuses_requests_without_a_key() {
    let reply = gateway().post(HOST, "/v1/chat/completions", chat(false)).send();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"]["code"], "invalid_api_key");
}

/// How an AI plugin's case sees what reached the provider: a tag through the gateway, the
/// mock's journal read directly.
#[test]
fn the_mock_journal_shows_what_the_gateway_sent() {
    let tag = unique("through-gateway");
    let reply = gateway()
        .post(HOST, "/v1/chat/completions?trace=1", chat(false))
        .header("authorization", "Bearer sk-journal")
        .header("content-type", "application/json")
        .header("x-mock-tag", &tag)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-mock-tag"), Some(tag.as_str()));
    let entries = crate::llm_mock().get("llm-mock", &format!("/__mock/requests?tag={tag}")).send().json();
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    let entry = &entries[0];
    assert_eq!(entry["path"], "/v1/chat/completions?trace=1");
    assert_eq!(entry["headers"]["authorization"], json!(["Bearer sk-journal"]));
    assert_eq!(entry["body"]["messages"][1]["content"], "count to three");
    assert_eq!(entry["status"], 200);
}

/// The echo upstream sends the first event and holds the rest until the test releases it:
/// the client can only see that first event if the gateway forwards it on its own.
#[test]
fn server_sent_events_are_not_buffered() {
    let gate = unique("gate");
    let mut stream = gateway().get("echo.e2e.local", &format!("/sse/3?gate={gate}")).stream();
    assert_eq!(stream.head.status, 200);
    let first = stream.next_chunk(Duration::from_secs(20)).unwrap_or_default();
    assert_eq!(first.as_ref(), b"data: event 0\n\n", "the first event arrives before the upstream sends the rest");
    let released = gateway().get("echo.e2e.local", &format!("/release/{gate}")).send();
    assert_eq!(released.status, 200);
    let rest = String::from_utf8(stream.rest()).unwrap_or_default();
    assert_eq!(rest, "data: event 1\n\ndata: event 2\n\n");
}

// ---------------------------------------------------------------------------------------
// The LLM mock itself.

mod mock {
    use crate::{llm_mock, unique};
    use higress_e2e::client::{Reply, RequestBuilder};
    use serde_json::{json, Value};
    use std::time::{Duration, Instant};

    const HOST: &str = "llm-mock";

    /// `POST path` to the mock with `body`, tagged `tag`.
    fn post(path: &str, tag: &str, body: &Value) -> RequestBuilder {
        llm_mock()
            .post(HOST, path, body.to_string())
            .header("content-type", "application/json")
            .header("x-mock-tag", tag)
    }

    fn openai(tag: &str, body: &Value) -> RequestBuilder {
        post("/v1/chat/completions", tag, body).header("authorization", "Bearer sk-openai")
    }

    fn anthropic(path: &str, tag: &str, body: &Value) -> RequestBuilder {
        post(path, tag, body).header("x-api-key", "sk-ant").header("anthropic-version", "2023-06-01")
    }

    /// The events of an SSE body: (`event:` name, parsed `data:`), `[DONE]` as a string.
    fn events(text: &str) -> Vec<(Option<String>, Value)> {
        text.split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|event| {
                let mut name = None;
                let mut data = Value::Null;
                for line in event.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = Some(n.to_string());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data = serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_string()));
                    }
                }
                (name, data)
            })
            .collect()
    }

    fn sse(reply: &Reply) -> Vec<(Option<String>, Value)> {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some("text/event-stream"));
        events(&reply.text())
    }

    fn chat(content: &str) -> Value {
        json!({"model": "mock-gpt-4o", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": content}]})
    }

    fn tools_openai() -> Value {
        let tool =
            |name: &str| json!({"type": "function", "function": {"name": name, "parameters": {"type": "object"}}});
        json!([tool("get_weather"), tool("search")])
    }

    fn tools_anthropic() -> Value {
        let tool = |name: &str| json!({"name": name, "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}});
        json!([tool("get_weather"), tool("search")])
    }

    fn claude(content: &str) -> Value {
        json!({"model": "claude-mock", "max_tokens": 2048, "system": "be brief", "messages": [{"role": "user", "content": content}]})
    }

    // --- OpenAI -------------------------------------------------------------------------

    #[test]
    fn openai_answers_with_usage_details_and_headers() {
        let tag = unique("mock-openai");
        let reply = openai(&tag, &chat("count to three")).header("x-mock-cached-tokens", "2").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("openai"));
        assert_eq!(reply.header("x-llm-mock-api-key"), Some("sk-openai"));
        assert_eq!(reply.header("x-mock-tag"), Some(tag.as_str()));
        assert!(reply.header("x-request-id").is_some_and(|id| id.starts_with("req_mock_")));
        let body = reply.json();
        assert!(body["id"].as_str().is_some_and(|id| id.starts_with("chatcmpl-mock-")), "{body}");
        assert_eq!((body["object"].clone(), body["model"].clone()), (json!("chat.completion"), json!("mock-gpt-4o")));
        assert!(body["created"].as_u64().is_some());
        assert_eq!(
            body["choices"],
            json!([{"index": 0, "message": {"role": "assistant", "content": "Mock reply to: count to three", "refusal": null},
                "logprobs": null, "finish_reason": "stop"}])
        );
        assert_eq!(
            body["usage"],
            json!({"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11,
                "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 0}})
        );
        // OpenAI-compatible providers' base paths answer too.
        let compatible =
            post("/api/paas/v4/chat/completions", &tag, &chat("x")).header("authorization", "Bearer k").send();
        assert_eq!(compatible.json()["choices"][0]["message"]["content"], "Mock reply to: x");
    }

    #[test]
    fn openai_calls_tools_whole_and_streamed() {
        let tag = unique("mock-openai-tools");
        let mut body = chat("please call get_weather Paris today and call search rust");
        body["tools"] = tools_openai();
        let reply = openai(&tag, &body).send().json();
        let choice = &reply["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(choice["message"]["content"], Value::Null);
        assert_eq!(
            choice["message"]["tool_calls"],
            json!([
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"q\":\"Paris today and\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"rust\"}"}},
            ])
        );
        assert_eq!(reply["usage"]["completion_tokens"], 4, "the words of the arguments");

        body["stream"] = json!(true);
        let events = sse(&openai(&tag, &body).send());
        let deltas: Vec<&Value> = events
            .iter()
            .filter_map(|(_, d)| d["choices"][0]["delta"].as_object().map(|_| &d["choices"][0]["delta"]))
            .collect();
        assert_eq!(deltas[0]["role"], "assistant");
        assert_eq!(deltas[0]["content"], Value::Null);
        // The first delta of each call has its id, type and name with empty arguments; then the
        // arguments come in pieces.
        let calls: Vec<&Value> = deltas.iter().filter_map(|d| d["tool_calls"].get(0)).collect();
        assert_eq!(
            calls[0],
            &json!({"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}})
        );
        let arguments = |index: u64| -> String {
            calls.iter().filter(|c| c["index"] == index).filter_map(|c| c["function"]["arguments"].as_str()).collect()
        };
        assert!(calls.iter().filter(|c| c["index"] == 0).count() > 2, "arguments in several pieces");
        assert_eq!(arguments(0), "{\"q\":\"Paris today and\"}");
        assert_eq!(arguments(1), "{\"q\":\"rust\"}");
        assert!(calls.iter().any(|c| c["index"] == 1 && c["id"] == "call_2" && c["function"]["name"] == "search"));
        let finish: Vec<&Value> =
            events.iter().filter_map(|(_, d)| d["choices"][0]["finish_reason"].as_str().map(|_| d)).collect();
        assert_eq!(finish.len(), 1);
        assert_eq!(finish[0]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(events.last().map(|e| e.1.clone()), Some(json!("[DONE]")));

        // A forced tool is called with the whole message; "none" calls nothing.
        let mut forced = chat("hello there");
        forced["tools"] = tools_openai();
        forced["tool_choice"] = json!({"type": "function", "function": {"name": "search"}});
        let reply = openai(&tag, &forced).send().json();
        assert_eq!(
            reply["choices"][0]["message"]["tool_calls"][0]["function"],
            json!({"name": "search", "arguments": "{\"q\":\"hello there\"}"})
        );
        let mut none = body.clone();
        none["stream"] = json!(false);
        none["tool_choice"] = json!("none");
        assert_eq!(openai(&tag, &none).send().json()["choices"][0]["finish_reason"], "stop");

        // The tool's answer: the reply is about it, and ids go on after those in the history.
        let history = json!({"model": "m", "tools": tools_openai(), "messages": [
            {"role": "user", "content": "call search a"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"a\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "found it"},
        ]});
        let reply = openai(&tag, &history).send().json();
        assert_eq!(reply["choices"][0]["message"]["content"], "Mock reply to: found it");
        let mut again = history.clone();
        again["messages"].as_array_mut().unwrap().extend([
            json!({"role": "assistant", "content": "ok"}),
            json!({"role": "user", "content": "call search b"}),
        ]);
        assert_eq!(openai(&tag, &again).send().json()["choices"][0]["message"]["tool_calls"][0]["id"], "call_2");
        // A tool call nobody answered is refused, as the API does.
        let mut unanswered = history.clone();
        unanswered["messages"].as_array_mut().unwrap().remove(2);
        unanswered["messages"].as_array_mut().unwrap().push(json!({"role": "user", "content": "and?"}));
        let refused = openai(&tag, &unanswered).send();
        assert_eq!(refused.status, 400);
        assert!(
            refused.json()["error"]["message"].as_str().unwrap_or_default().contains("call_1"),
            "{}",
            refused.text()
        );
    }

    #[test]
    fn openai_reasons_before_answering_and_cuts_at_max_tokens() {
        let tag = unique("mock-openai-reasoning");
        let mut body = chat("count to three");
        body["reasoning_effort"] = json!("low");
        let reply = openai(&tag, &body).send().json();
        let message = &reply["choices"][0]["message"];
        assert_eq!(message["reasoning_content"], "Mock reasoning about: count to three");
        assert_eq!(message["content"], "Mock reply to: count to three");
        assert_eq!(reply["usage"]["completion_tokens"], 12);
        assert_eq!(reply["usage"]["completion_tokens_details"]["reasoning_tokens"], 6);

        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let events = sse(&openai(&tag, &body).send());
        let kinds: Vec<&str> = events
            .iter()
            .filter_map(|(_, d)| d["choices"][0]["delta"].as_object())
            .filter_map(|delta| {
                ["reasoning_content", "content"]
                    .into_iter()
                    .find(|k| delta.get(*k).is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty())))
            })
            .collect();
        assert_eq!(kinds, ["reasoning_content"; 6].into_iter().chain(["content"; 6]).collect::<Vec<_>>());
        let reasoning: String =
            events.iter().filter_map(|(_, d)| d["choices"][0]["delta"]["reasoning_content"].as_str()).collect();
        assert_eq!(reasoning, "Mock reasoning about: count to three");
        // With include_usage every chunk has `usage: null` but the last, which has no choices.
        let chunks: Vec<&Value> = events.iter().map(|(_, d)| d).filter(|d| d.is_object()).collect();
        assert!(chunks.iter().rev().skip(1).all(|c| c["usage"].is_null()));
        assert_eq!(
            chunks.last().map(|c| (c["choices"].clone(), c["usage"]["completion_tokens"].clone())),
            Some((json!([]), json!(12)))
        );

        let mut short = chat("count to three");
        short["max_completion_tokens"] = json!(2);
        short["stop"] = json!(["never"]);
        let reply = openai(&tag, &short).send().json();
        assert_eq!(reply["choices"][0]["message"]["content"], "Mock reply");
        assert_eq!(reply["choices"][0]["finish_reason"], "length");
    }

    // --- Anthropic -----------------------------------------------------------------------

    #[test]
    fn anthropic_answers_messages_on_every_path() {
        let tag = unique("mock-anthropic");
        for path in ["/v1/messages", "/anthropic/v1/messages", "/apps/anthropic/v1/messages"] {
            let reply = anthropic(path, &tag, &claude("count to three"))
                .header("x-mock-cached-tokens", "2")
                .header("x-mock-cache-creation-tokens", "1")
                .send();
            assert_eq!(reply.status, 200, "{path}: {}", reply.text());
            assert_eq!(reply.header("x-llm-mock-protocol"), Some("anthropic"));
            assert_eq!(reply.header("x-llm-mock-api-key"), Some("sk-ant"));
            assert!(reply.header("request-id").is_some_and(|id| id.starts_with("req_mock_")));
            let mut body = reply.json();
            assert!(body["id"].as_str().is_some_and(|id| id.starts_with("msg_mock_")), "{body}");
            body["id"] = json!("msg");
            assert_eq!(
                body,
                json!({"id": "msg", "type": "message", "role": "assistant", "model": "claude-mock",
                    "content": [{"type": "text", "text": "Mock reply to: count to three"}],
                    "stop_reason": "end_turn", "stop_sequence": null,
                    "usage": {"input_tokens": 2, "cache_creation_input_tokens": 1, "cache_read_input_tokens": 2,
                        "output_tokens": 6, "service_tier": "standard"}})
            );
        }
        let mut stopped = claude("count to three");
        stopped["stop_sequences"] = json!(["three"]);
        let reply = anthropic("/v1/messages", &tag, &stopped).send().json();
        assert_eq!(
            (reply["stop_reason"].clone(), reply["stop_sequence"].clone()),
            (json!("stop_sequence"), json!("three"))
        );
        assert_eq!(reply["content"][0]["text"], "Mock reply to: count to ");
    }

    #[test]
    fn anthropic_refuses_what_the_api_refuses() {
        let tag = unique("mock-anthropic-errors");
        let no_key = post("/v1/messages", &tag, &claude("hi")).header("anthropic-version", "2023-06-01").send();
        assert_eq!(no_key.status, 401);
        let body = no_key.json();
        assert_eq!(
            (body["type"].clone(), body["error"]["type"].clone()),
            (json!("error"), json!("authentication_error"))
        );
        assert!(body["error"]["message"].is_string());
        let bearer = post("/v1/messages", &tag, &claude("hi"))
            .header("anthropic-version", "2023-06-01")
            .header("authorization", "Bearer x")
            .send();
        assert_eq!(bearer.status, 401, "a Bearer token needs the oauth beta");
        let oauth = post("/v1/messages", &tag, &claude("hi"))
            .header("anthropic-version", "2023-06-01")
            .header("authorization", "Bearer oat-1")
            .header("anthropic-beta", "oauth-2025-04-20,claude-code-20250219")
            .send();
        assert_eq!((oauth.status, oauth.header("x-llm-mock-api-key")), (200, Some("oat-1")));
        let no_version = post("/v1/messages", &tag, &claude("hi")).header("x-api-key", "k").send();
        assert_eq!(
            (no_version.status, no_version.json()["error"]["type"].clone()),
            (400, json!("invalid_request_error"))
        );

        let user = |c: &str| json!({"role": "user", "content": c});
        let assistant = |c: &str| json!({"role": "assistant", "content": c});
        let with = |change: &dyn Fn(&mut Value)| {
            let mut body = claude("hi");
            change(&mut body);
            body
        };
        let cases = [
            (
                "max_tokens",
                with(&|b| {
                    b.as_object_mut().unwrap().remove("max_tokens");
                }),
            ),
            ("at least one message", with(&|b| b["messages"] = json!([]))),
            ("first message", with(&|b| b["messages"] = json!([assistant("a"), user("b")]))),
            ("alternate", with(&|b| b["messages"] = json!([user("a"), user("b")]))),
            ("system", with(&|b| b["messages"] = json!([{"role": "system", "content": "s"}, user("b")]))),
            (
                "tool_result",
                with(
                    &|b| b["messages"] = json!([user("a"), {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "search", "input": {}}]}, user("b")]),
                ),
            ),
            ("budget_tokens", with(&|b| b["thinking"] = json!({"type": "enabled", "budget_tokens": 100}))),
            (
                "max_tokens",
                with(&|b| {
                    b["thinking"] = json!({"type": "enabled", "budget_tokens": 4096});
                    b["max_tokens"] = json!(1024);
                }),
            ),
            ("error parsing", json!("[")),
        ];
        for (words, body) in cases {
            let request = match &body {
                Value::String(raw) => llm_mock()
                    .post(HOST, "/v1/messages", raw.clone())
                    .header("x-api-key", "k")
                    .header("anthropic-version", "2023-06-01"),
                _ => anthropic("/v1/messages", &tag, &body),
            };
            let reply = request.send();
            assert_eq!(reply.status, 400, "{words}: {}", reply.text());
            let error = reply.json();
            assert_eq!(error["error"]["type"], "invalid_request_error");
            assert!(error["error"]["message"].as_str().unwrap_or_default().contains(words), "{words}: {error}");
        }
    }

    #[test]
    fn anthropic_thinks_and_calls_tools() {
        let tag = unique("mock-anthropic-tools");
        let mut body = claude("call get_weather Paris");
        body["tools"] = tools_anthropic();
        body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
        let reply = anthropic("/v1/messages", &tag, &body).send().json();
        assert_eq!(reply["stop_reason"], "tool_use");
        let content = reply["content"].as_array().cloned().unwrap_or_default();
        assert_eq!(content.len(), 2, "{reply}");
        assert_eq!(content[0]["type"], "thinking");
        assert_eq!(content[0]["thinking"], "Mock reasoning about: call get_weather Paris");
        assert!(content[0]["signature"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(
            content[1],
            json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"q": "Paris"}})
        );
        assert_eq!(reply["usage"]["output_tokens"], 6 + 1);

        // The tool result comes back: the reply is about it.
        body["messages"] = json!([
            {"role": "user", "content": "call get_weather Paris"},
            {"role": "assistant", "content": [content[0].clone(), content[1].clone()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
        ]);
        let reply = anthropic("/v1/messages", &tag, &body).send().json();
        assert_eq!(reply["stop_reason"], "end_turn", "{reply}");
        assert_eq!(reply["content"][1], json!({"type": "text", "text": "Mock reply to: sunny"}));

        // Forced tools and thinking do not go together, as in the API.
        body["tool_choice"] = json!({"type": "tool", "name": "search"});
        assert_eq!(anthropic("/v1/messages", &tag, &body).send().status, 400);
        body.as_object_mut().unwrap().remove("thinking");
        let forced = anthropic("/v1/messages", &tag, &body).send().json();
        assert_eq!(forced["content"][0]["name"], "search");
        assert_eq!(forced["content"][0]["id"], "toolu_2");
    }

    #[test]
    fn anthropic_streams_the_whole_event_sequence() {
        let tag = unique("mock-anthropic-stream");
        let mut body = claude("count to three");
        body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
        let whole = anthropic("/v1/messages", &tag, &body).send().json();
        body["stream"] = json!(true);
        let events = sse(&anthropic("/v1/messages", &tag, &body).header("x-mock-cached-tokens", "1").send());
        for (name, data) in &events {
            assert_eq!(name.as_deref(), data["type"].as_str(), "event: matches data.type");
        }
        let kinds: Vec<String> = events
            .iter()
            .map(|(_, d)| match d["delta"]["type"].as_str() {
                Some(delta) => delta.to_string(),
                None => d["type"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        let mut expected = vec!["message_start", "content_block_start", "ping"];
        expected.extend(["thinking_delta"; 6]);
        expected.extend(["signature_delta", "content_block_stop", "content_block_start"]);
        expected.extend(["text_delta"; 6]);
        expected.extend(["content_block_stop", "message_delta", "message_stop"]);
        assert_eq!(kinds, expected);

        let start = &events[0].1["message"];
        assert_eq!((start["content"].clone(), start["stop_reason"].clone()), (json!([]), Value::Null));
        assert_eq!(start["usage"]["input_tokens"], 4);
        assert_eq!(start["usage"]["cache_read_input_tokens"], 1);
        assert_eq!(events[1].1["content_block"], json!({"type": "thinking", "thinking": ""}));
        let thinking: String = events.iter().filter_map(|(_, d)| d["delta"]["thinking"].as_str()).collect();
        assert_eq!(thinking, whole["content"][0]["thinking"].as_str().unwrap_or_default());
        let signature = events.iter().find_map(|(_, d)| d["delta"]["signature"].as_str()).unwrap_or_default();
        assert_eq!(signature, whole["content"][0]["signature"].as_str().unwrap_or_default());
        let text: String =
            events.iter().filter(|(_, d)| d["index"] == 1).filter_map(|(_, d)| d["delta"]["text"].as_str()).collect();
        assert_eq!(text, "Mock reply to: count to three");
        let delta = &events[events.len() - 2].1;
        assert_eq!(delta["delta"], json!({"stop_reason": "end_turn", "stop_sequence": null}));
        assert_eq!(delta["usage"]["output_tokens"], whole["usage"]["output_tokens"], "cumulative output tokens");

        // A tool call streams its input as JSON pieces.
        let mut tools = claude("call search rust books");
        tools["tools"] = tools_anthropic();
        tools["stream"] = json!(true);
        let events = sse(&anthropic("/v1/messages", &tag, &tools).send());
        assert_eq!(
            events[1].1["content_block"],
            json!({"type": "tool_use", "id": "toolu_1", "name": "search", "input": {}})
        );
        let pieces: Vec<&str> = events.iter().filter_map(|(_, d)| d["delta"]["partial_json"].as_str()).collect();
        assert!(pieces.len() > 1);
        assert_eq!(serde_json::from_str::<Value>(&pieces.concat()).ok(), Some(json!({"q": "rust books"})));
        let message_delta = events.iter().find(|(n, _)| n.as_deref() == Some("message_delta")).map(|e| e.1.clone());
        assert_eq!(message_delta.map(|d| d["delta"]["stop_reason"].clone()), Some(json!("tool_use")));
    }

    // --- Azure ---------------------------------------------------------------------------

    #[test]
    fn azure_wants_its_key_and_version_and_answers_as_the_deployment() {
        let tag = unique("mock-azure");
        let path = "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21";
        let body = json!({"messages": [{"role": "user", "content": "count to three"}]});
        let reply = post(path, &tag, &body).header("api-key", "az-key").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("azure"));
        assert_eq!(reply.header("x-llm-mock-api-key"), Some("az-key"));
        let value = reply.json();
        assert_eq!(value["model"], "my-gpt");
        assert_eq!(value["choices"][0]["message"]["content"], "Mock reply to: count to three");
        assert_eq!(value["prompt_filter_results"][0]["prompt_index"], 0);
        assert!(value["choices"][0]["content_filter_results"].is_object());

        let no_key = post(path, &tag, &body).header("authorization", "Bearer az-key").send();
        assert_eq!(no_key.status, 401);
        assert_eq!(no_key.json()["error"]["code"], "401");
        let no_version = post("/openai/deployments/my-gpt/chat/completions", &tag, &body).header("api-key", "k").send();
        assert_eq!(
            (no_version.status, no_version.json()["error"]["message"].clone()),
            (404, json!("Resource not found"))
        );
        let bad_version = post("/openai/deployments/my-gpt/chat/completions?api-version=v9", &tag, &body)
            .header("api-key", "k")
            .send();
        assert_eq!((bad_version.status, bad_version.json()["error"]["code"].clone()), (400, json!("BadRequest")));
        assert_eq!(
            post("/openai/unknown?api-version=2024-10-21", &tag, &body).header("api-key", "k").send().status,
            404
        );

        // The v1 API wants no api-version; the model is the body's.
        let mut v1 = body.clone();
        v1["model"] = json!("gpt-4o");
        v1["stream"] = json!(true);
        let events = sse(&post("/openai/v1/chat/completions", &tag, &v1).header("api-key", "k").send());
        // Azure's first chunk has only the prompt filter results.
        assert_eq!(events[0].1["choices"], json!([]));
        assert!(events[0].1["prompt_filter_results"].is_array());
        assert_eq!(events[1].1["model"], "gpt-4o");
        let text: String = events.iter().filter_map(|(_, d)| d["choices"][0]["delta"]["content"].as_str()).collect();
        assert_eq!(text, "Mock reply to: count to three");
        let plain = post(
            "/openai/chat/completions?api-version=2025-01-01-preview",
            &tag,
            &json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
        );
        assert_eq!(plain.header("api-key", "k").send().json()["model"], "m");
    }

    // --- The journal -------------------------------------------------------------------

    #[test]
    fn the_mock_records_requests_by_tag() {
        let mine = unique("mock-journal");
        let other = unique("mock-journal-other");
        openai(&mine, &chat("first")).header("x-extra", "1").send();
        anthropic("/anthropic/v1/messages?beta=true", &mine, &claude("second")).send();
        llm_mock()
            .post(HOST, "/v1/chat/completions", "not json at all")
            .header("x-mock-tag", &mine)
            .header("authorization", "Bearer t")
            .send();
        openai(&other, &chat("not mine")).send();

        let listed = llm_mock().get(HOST, &format!("/__mock/requests?tag={mine}")).send();
        assert_eq!(listed.status, 200);
        let entries = listed.json();
        let entries = entries.as_array().cloned().unwrap_or_default();
        assert_eq!(entries.len(), 3, "{entries:?}");
        assert_eq!(entries[0]["method"], "POST");
        assert_eq!(entries[0]["path"], "/v1/chat/completions");
        assert_eq!(entries[0]["headers"]["authorization"], json!(["Bearer sk-openai"]));
        assert_eq!(entries[0]["headers"]["x-extra"], json!(["1"]));
        assert_eq!(entries[0]["body"]["messages"][1]["content"], "first");
        assert_eq!((entries[0]["protocol"].clone(), entries[0]["status"].clone()), (json!("openai"), json!(200)));
        assert_eq!(entries[1]["path"], "/anthropic/v1/messages?beta=true");
        assert_eq!((entries[1]["protocol"].clone(), entries[1]["key"].clone()), (json!("anthropic"), json!("sk-ant")));
        assert_eq!(
            (entries[2]["body"].clone(), entries[2]["body_is_json"].clone()),
            (json!("not json at all"), json!(false))
        );
        assert_eq!(entries[2]["status"], 400);
        assert!(entries.iter().all(|e| e["tag"] == mine.as_str()));
        let by_key = llm_mock().get(HOST, &format!("/__mock/requests?tag={mine}&key=sk-ant")).send().json();
        assert_eq!(by_key.as_array().map(Vec::len), Some(1));
        assert_eq!(llm_mock().get(HOST, "/__mock/requests?tag=nobody-uses-this").send().json(), json!([]));
    }

    // --- Scripted failures -------------------------------------------------------------

    #[test]
    fn scripted_statuses_come_in_each_protocols_shape() {
        let tag = unique("mock-status");
        let reply = openai(&tag, &chat("x")).header("x-mock-status", "503").send();
        assert_eq!((reply.status, reply.header("retry-after")), (503, Some("1")));
        assert_eq!(reply.json()["error"]["type"], "server_error");
        let reply = anthropic("/v1/messages", &tag, &claude("x")).header("x-mock-status", "529").send();
        assert_eq!(reply.status, 529);
        let body = reply.json();
        assert_eq!((body["type"].clone(), body["error"]["type"].clone()), (json!("error"), json!("overloaded_error")));
        let azure = post("/openai/deployments/d/chat/completions?api-version=2024-10-21", &tag, &chat("x"))
            .header("api-key", "k")
            .header("x-mock-status", "429")
            .send();
        assert_eq!((azure.status, azure.json()["error"]["code"].clone()), (429, json!("429")));
        // A key can script a status too (a retry with another key then passes).
        let keyed =
            post("/v1/chat/completions", &tag, &chat("x")).header("authorization", "Bearer sk-mock-status-500").send();
        assert_eq!(keyed.status, 500);
        // Auth comes first.
        assert_eq!(post("/v1/chat/completions", &tag, &chat("x")).header("x-mock-status", "503").send().status, 401);
    }

    #[test]
    fn scripted_delays_garbage_and_broken_streams() {
        let tag = unique("mock-script");
        let started = Instant::now();
        let reply = openai(&tag, &chat("x")).header("x-mock-delay-ms", "300").send();
        assert_eq!(reply.status, 200);
        assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());

        let garbage = openai(&tag, &chat("x")).header("x-mock-garbage", "1").send();
        assert_eq!(garbage.status, 200);
        assert!(serde_json::from_slice::<Value>(&garbage.body).is_err(), "{}", garbage.text());
        let mut streamed = chat("x");
        streamed["stream"] = json!(true);
        let garbage = openai(&tag, &streamed).header("x-mock-garbage", "1").send();
        assert_eq!((garbage.status, garbage.header("content-type")), (200, Some("text/event-stream")));
        assert!(
            garbage.text().starts_with("data: ")
                && serde_json::from_str::<Value>(garbage.text().trim_start_matches("data: ").trim()).is_err()
        );

        // Closed after the first event: the body ends in an error, not in [DONE].
        let cut = openai(&tag, &streamed).header("x-mock-close-mid-stream", "1").stream();
        assert_eq!(cut.head.status, 200);
        let (read, error) = cut.rest_or_error();
        assert!(error.is_some(), "the connection is cut: {}", String::from_utf8_lossy(&read));
        assert_eq!(events(&String::from_utf8_lossy(&read)).len(), 1);
        let (read, error) = openai(&tag, &chat("x")).header("x-mock-close-mid-stream", "1").stream().rest_or_error();
        assert!(error.is_some() && serde_json::from_slice::<Value>(&read).is_err());

        // An error event after the first delta, and nothing after it.
        let mut claude_stream = claude("count to three");
        claude_stream["stream"] = json!(true);
        let events =
            sse(&anthropic("/v1/messages", &tag, &claude_stream).header("x-mock-error-mid-stream", "1").send());
        let names: Vec<&str> = events.iter().filter_map(|(n, _)| n.as_deref()).collect();
        assert_eq!(names, ["message_start", "content_block_start", "ping", "content_block_delta", "error"]);
        assert_eq!(
            events[4].1,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        );
        let openai_events = sse(&openai(&tag, &streamed).header("x-mock-error-mid-stream", "1").send());
        let last = openai_events.last().map(|e| e.1.clone()).unwrap_or_default();
        assert_eq!(last["error"]["type"], "server_error", "{openai_events:?}");
        assert_eq!(openai_events.len(), 3, "role chunk, one delta, the error");
    }
}
