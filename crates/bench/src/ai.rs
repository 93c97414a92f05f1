//! ai-proxy on realistic LLM traffic (`-- ai [N | calls]`): module size; instructions per
//! chat request (not streamed: request, reply and every callback between) and per streamed
//! event, for a same-protocol route (an OpenAI client to the `openai` type: the body edited
//! in place, the reply untouched) and the translated ones (an OpenAI client to every adapter:
//! `claude`, `gemini`, `vertex`, `bedrock` (SigV4, AWS's binary event stream), native `qwen`,
//! `minimax` Pro, `dify`; a Responses API client and an Anthropic client on `/v1/messages` to
//! OpenAI-protocol providers); the VM's linear memory after many
//! streamed requests (flat) and over one long stream (bounded by its largest event).
//!
//! `AI_PROXY_WASM=<path>` measures another build of the module (a baseline to compare with);
//! `AI_DEBUG=1` prints the instructions of each upstream event of the measured streams.
//!
//! Bodies are in the providers' real shapes: a chat request of a few messages, OpenAI's and
//! Anthropic's replies as `crates/ai/tests/fixtures` has them, and streams as the providers
//! send them (OpenAI's chunks with `id`, `model`, `system_fingerprint` and `usage: null`;
//! Anthropic's `event:` + `data:` events). Each upstream event arrives as its own chunk, as
//! providers flush them.

use crate::shipped_size;
use higress_host::testing::{self, request};
use higress_host::{Env, Plugin, Stream, Vm};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

const PLUGIN: &str = "ai-proxy";
/// Text deltas in a typical streamed reply.
const DELTAS: usize = 20;

/// Pieces of a model's answer, as streamed (a few tokens each; non-ASCII and newlines too).
pub(crate) const PIECES: [&str; 8] = [
    "Tokyo is warmer",
    " today: 24 °C",
    " against 18 °C",
    " in Paris.\n\n",
    "Paris is cloudy",
    " with light wind — ",
    "take a \"light\" jacket",
    " if you go out.",
];

/// The protocol a side speaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    OpenAi,
    Anthropic,
    Gemini,
    /// Bedrock's Converse: AWS's binary event stream.
    Bedrock,
    /// DashScope's native generation.
    Qwen,
    /// OpenAI's Responses API (a client's).
    Responses,
    /// MiniMax's ChatCompletion Pro.
    MiniMaxPro,
    /// A Dify chat app.
    Dify,
}

/// A route: who the client is, which provider type serves it.
struct Route {
    what: &'static str,
    config: Value,
    client: Protocol,
    upstream: Protocol,
}

fn routes() -> Vec<Route> {
    vec![
        Route {
            what: "same protocol: OpenAI client, type openai (model mapped in place)",
            config: json!({"provider": {"type": "openai", "apiTokens": ["sk-bench"],
                "modelMapping": {"gpt-4o-mini": "gpt-4o"}}}),
            client: Protocol::OpenAi,
            upstream: Protocol::OpenAi,
        },
        Route {
            what: "translated: OpenAI client, type claude",
            config: json!({"provider": {"type": "claude", "apiTokens": ["sk-ant-bench"],
                "modelMapping": {"gpt-4o-mini": "claude-sonnet-4-5"}}}),
            client: Protocol::OpenAi,
            upstream: Protocol::Anthropic,
        },
        Route {
            what: "translated: OpenAI client, type gemini",
            config: json!({"provider": {"type": "gemini", "apiTokens": ["AIza-bench"],
                "modelMapping": {"gpt-4o-mini": "gemini-2.5-flash"}}}),
            client: Protocol::OpenAi,
            upstream: Protocol::Gemini,
        },
        Route {
            what: "translated: OpenAI client, type vertex (express mode)",
            config: json!({"provider": {"type": "vertex", "apiTokens": ["AQ.bench"],
                "modelMapping": {"gpt-4o-mini": "gemini-2.5-flash"}}}),
            client: Protocol::OpenAi,
            upstream: Protocol::Gemini,
        },
        Route {
            what: "translated: OpenAI client, type bedrock (SigV4, binary event stream)",
            config: json!({"provider": {"type": "bedrock", "awsRegion": "us-east-1", "awsAccessKey": "AKIDBENCH",
                "awsSecretKey": "bench/secret", "modelMapping": {"gpt-4o-mini": "anthropic.claude-3-5-haiku-20241022-v1:0"}}}),
            client: Protocol::OpenAi,
            upstream: Protocol::Bedrock,
        },
        Route {
            what: "translated: OpenAI client, type qwen (DashScope native)",
            config: json!({"provider": {"type": "qwen", "apiTokens": ["sk-bench"], "qwenEnableCompatible": false,
                "modelMapping": {"gpt-4o-mini": "qwen-plus"}}}),
            client: Protocol::OpenAi,
            upstream: Protocol::Qwen,
        },
        Route {
            what: "translated: OpenAI client, type minimax (Pro API)",
            config: json!({"provider": {"type": "minimax", "apiTokens": ["sk-bench"], "minimaxApiType": "pro",
                "minimaxGroupId": "1780000000", "modelMapping": {"*": "abab6.5s-chat"}}}),
            client: Protocol::OpenAi,
            upstream: Protocol::MiniMaxPro,
        },
        Route {
            what: "translated: OpenAI client, type dify (chat app)",
            config: json!({"provider": {"type": "dify", "apiTokens": ["app-bench"], "botType": "Chat"}}),
            client: Protocol::OpenAi,
            upstream: Protocol::Dify,
        },
        Route {
            what: "translated: Responses API client, type deepseek (chat only)",
            config: json!({"provider": {"type": "deepseek", "apiTokens": ["sk-bench"],
                "modelMapping": {"*": "deepseek-chat"}}}),
            client: Protocol::Responses,
            upstream: Protocol::OpenAi,
        },
        Route {
            what: "translated: Anthropic client, type openai",
            config: json!({"provider": {"type": "openai", "apiTokens": ["sk-bench"],
                "modelMapping": {"claude-*": "gpt-4o"}}}),
            client: Protocol::Anthropic,
            upstream: Protocol::OpenAi,
        },
    ]
}

/// A Responses API request as Codex-style clients send it: instructions, the conversation as
/// input items, a tool.
fn responses_request(stream: bool) -> String {
    json!({
        "model": "gpt-4o-mini",
        "instructions": "You are a concise travel assistant.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Is it warmer in Tokyo or in Paris today?"}]}
        ],
        "tools": [{"type": "function", "name": "get_weather", "description": "The weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
        "max_output_tokens": 256,
        "stream": stream
    })
    .to_string()
}

/// An OpenAI SDK's chat request: a system prompt, a short conversation, a few parameters.
pub(crate) fn openai_request(stream: bool) -> String {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful travel assistant. Answer briefly, in metric units."},
            {"role": "user", "content": "What's the weather like in Paris today?"},
            {"role": "assistant", "content": "Paris: 18 °C and cloudy, with light wind from the west."},
            {"role": "user", "content": "And in Tokyo? Which one is warmer?"}
        ],
        "temperature": 0.7,
        "max_tokens": 512,
        "stream": stream
    })
    .to_string()
}

/// An Anthropic SDK's messages request with the same conversation.
pub(crate) fn anthropic_request(stream: bool) -> String {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "system": "You are a helpful travel assistant. Answer briefly, in metric units.",
        "messages": [
            {"role": "user", "content": "What's the weather like in Paris today?"},
            {"role": "assistant", "content": "Paris: 18 °C and cloudy, with light wind from the west."},
            {"role": "user", "content": "And in Tokyo? Which one is warmer?"}
        ],
        "temperature": 0.7,
        "stream": stream
    })
    .to_string()
}

pub(crate) const OPENAI_REPLY: &str = include_str!("../../ai/tests/fixtures/openai/reply_text.json");

/// Anthropic's reply to the conversation (the fixture's shape, a text answer).
fn anthropic_reply() -> String {
    json!({
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Tokyo is warmer: 24 °C against 18 °C in Paris."}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 38, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "output_tokens": 17, "service_tier": "standard"}
    })
    .to_string()
}

/// Gemini's reply to the conversation (one candidate, a text answer, the usage).
fn gemini_reply() -> String {
    json!({
        "candidates": [{"content": {"parts": [{"text": "Tokyo is warmer: 24 °C against 18 °C in Paris."}],
            "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 38, "candidatesTokenCount": 17, "totalTokenCount": 55,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 38}]},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "mBvYaPyqIdqN1dkPhqK0kQ4"
    })
    .to_string()
}

/// Gemini's `alt=sse` stream of a text reply with `deltas` chunks, one event per element:
/// each chunk a whole response with its part and the running usage, the last with
/// `finishReason`; events end with CRLF CRLF, as Google frames them.
pub(crate) fn gemini_stream(deltas: usize) -> Vec<String> {
    (0..deltas)
        .map(|i| {
            let last = i + 1 == deltas;
            let mut candidate = json!({"content": {"parts": [{"text": PIECES[i % PIECES.len()]}], "role": "model"},
                "index": 0});
            if last {
                candidate["finishReason"] = json!("STOP");
            }
            let chunk = json!({"candidates": [candidate],
                "usageMetadata": {"promptTokenCount": 38, "candidatesTokenCount": i + 1, "totalTokenCount": 39 + i},
                "modelVersion": "gemini-2.5-flash", "responseId": "mBvYaPyqIdqN1dkPhqK0kQ4"});
            format!("data: {chunk}\r\n\r\n")
        })
        .collect()
}

/// Bedrock's Converse reply to the conversation.
fn bedrock_reply() -> String {
    json!({
        "output": {"message": {"role": "assistant",
            "content": [{"text": "Tokyo is warmer: 24 °C against 18 °C in Paris."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 38, "outputTokens": 17, "totalTokens": 55},
        "metrics": {"latencyMs": 412}
    })
    .to_string()
}

/// Bedrock's ConverseStream of a text reply with `deltas` deltas: AWS event-stream frames
/// (each payload padded with `p`, as AWS sends them), one frame per element.
fn bedrock_stream(deltas: usize) -> Vec<Vec<u8>> {
    let frame = |kind: &str, payload: Value| {
        let mut out = Vec::new();
        higress_ai::bedrock::eventstream::write_event(kind, payload.to_string().as_bytes(), &mut out);
        out
    };
    let mut frames =
        vec![frame("messageStart", json!({"p": "abcdefghijklmnopqrstuvwxyzABCDEFGH", "role": "assistant"}))];
    for i in 0..deltas {
        frames.push(frame(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": PIECES[i % PIECES.len()]}, "p": "abcdefghijklmn"}),
        ));
    }
    frames.push(frame("contentBlockStop", json!({"contentBlockIndex": 0, "p": "abcdefghijklmnopqrstu"})));
    frames.push(frame("messageStop", json!({"p": "abcdefghijklm", "stopReason": "end_turn"})));
    frames.push(frame(
        "metadata",
        json!({"metrics": {"latencyMs": 412}, "p": "abcdefg",
            "usage": {"inputTokens": 38, "outputTokens": deltas, "totalTokens": 38 + deltas}}),
    ));
    frames
}

/// MiniMax ChatCompletion Pro's reply.
fn minimax_reply() -> String {
    json!({
        "created": 1741570283, "model": "abab6.5s-chat",
        "reply": "Tokyo is warmer: 24 °C against 18 °C in Paris.",
        "choices": [{"finish_reason": "stop", "messages": [{"sender_type": "BOT", "sender_name": "MM智能助理",
            "text": "Tokyo is warmer: 24 °C against 18 °C in Paris."}]}],
        "usage": {"total_tokens": 55}, "input_sensitive": false, "output_sensitive": false,
        "id": "01b8bf9bb7c3a9f2e3f3c6a1d0e2b4c5", "base_resp": {"status_code": 0, "status_msg": "success"}
    })
    .to_string()
}

/// MiniMax ChatCompletion Pro's stream: one message piece per event, then the whole reply
/// with its usage.
fn minimax_stream(deltas: usize) -> Vec<String> {
    let piece = |text: &str| {
        json!({"created": 1741570283, "model": "abab6.5s-chat", "reply": "",
            "choices": [{"messages": [{"sender_type": "BOT", "sender_name": "MM智能助理", "text": text}]}],
            "output_sensitive": false})
    };
    let mut events: Vec<String> =
        (0..deltas).map(|i| format!("data: {}\n\n", piece(PIECES[i % PIECES.len()]))).collect();
    let whole: String = (0..deltas).map(|i| PIECES[i % PIECES.len()]).collect();
    let last = json!({"created": 1741570283, "model": "abab6.5s-chat", "reply": whole,
        "choices": [{"finish_reason": "stop", "messages": [{"sender_type": "BOT", "sender_name": "MM智能助理", "text": ""}]}],
        "usage": {"total_tokens": 38 + deltas}, "input_sensitive": false, "output_sensitive": false,
        "base_resp": {"status_code": 0, "status_msg": "success"}});
    events.push(format!("data: {last}\n\n"));
    events
}

/// A Dify chat app's blocking reply.
fn dify_reply() -> String {
    json!({
        "event": "message", "task_id": "900bbd43-dc0b-4383-a372-aa6e6c414227",
        "id": "9da23599-e713-473b-982c-4328d4f5c78a", "message_id": "9da23599-e713-473b-982c-4328d4f5c78a",
        "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2", "mode": "chat",
        "answer": "Tokyo is warmer: 24 °C against 18 °C in Paris.",
        "metadata": {"usage": {"prompt_tokens": 38, "completion_tokens": 17, "total_tokens": 55,
            "currency": "USD", "latency": 0.76}},
        "created_at": 1705407629
    })
    .to_string()
}

/// A Dify chat app's stream: `message` events, then `message_end` with the usage.
fn dify_stream(deltas: usize) -> Vec<String> {
    let mut events: Vec<String> = (0..deltas)
        .map(|i| {
            let event = json!({"event": "message", "task_id": "900bbd43-dc0b-4383-a372-aa6e6c414227",
                "message_id": "663c5084-a254-4040-8ad3-51f2a3c1a77c",
                "conversation_id": "c216c595-2d89-438c-b33c-aae5ddddd142",
                "answer": PIECES[i % PIECES.len()], "created_at": 1705398420});
            format!("data: {event}\n\n")
        })
        .collect();
    let end = json!({"event": "message_end", "task_id": "900bbd43-dc0b-4383-a372-aa6e6c414227",
        "id": "663c5084-a254-4040-8ad3-51f2a3c1a77c", "message_id": "663c5084-a254-4040-8ad3-51f2a3c1a77c",
        "conversation_id": "c216c595-2d89-438c-b33c-aae5ddddd142",
        "metadata": {"usage": {"prompt_tokens": 38, "completion_tokens": deltas, "total_tokens": 38 + deltas}}});
    events.push(format!("data: {end}\n\n"));
    events
}

/// DashScope's native reply (`result_format: message`).
fn qwen_reply() -> String {
    json!({
        "output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant",
            "content": "Tokyo is warmer: 24 °C against 18 °C in Paris."}}]},
        "usage": {"input_tokens": 38, "output_tokens": 17, "total_tokens": 55},
        "request_id": "5d0c5a8e-1b7a-9f4e-b1d2-3c4d5e6f7a8b"
    })
    .to_string()
}

/// DashScope's incremental stream of a text reply with `deltas` deltas.
fn qwen_stream(deltas: usize) -> Vec<String> {
    (0..deltas)
        .map(|i| {
            let last = i + 1 == deltas;
            let data = json!({"output": {"choices": [{"message": {"role": "assistant",
                    "content": PIECES[i % PIECES.len()]}, "finish_reason": if last { "stop" } else { "null" }}]},
                "usage": {"input_tokens": 38, "output_tokens": i + 1, "total_tokens": 39 + i},
                "request_id": "5d0c5a8e-1b7a-9f4e-b1d2-3c4d5e6f7a8b"});
            format!("id:{}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n", i + 1)
        })
        .collect()
}

/// OpenAI's stream of a reply with `deltas` text deltas, one event per element: the role
/// chunk, the text, the finish chunk, the usage chunk (`include_usage`), `[DONE]`.
pub(crate) fn openai_stream(deltas: usize) -> Vec<String> {
    let chunk = |delta: Value, finish: Value, usage: Value| {
        let choices = if usage.is_null() {
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}])
        } else {
            json!([])
        };
        // OpenAI's key order (serde_json would sort the keys).
        format!(
            "data: {{\"id\":\"chatcmpl-AyPq3rXwJ9kZ8bN1mC2vB3nM4\",\"object\":\"chat.completion.chunk\",\
             \"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\
             \"system_fingerprint\":\"fp_f9f4fb6dbf\",\"choices\":{choices},\"usage\":{usage}}}\n\n"
        )
    };
    let mut events =
        vec![chunk(json!({"role": "assistant", "content": "", "refusal": null}), Value::Null, Value::Null)];
    for i in 0..deltas {
        events.push(chunk(json!({"content": PIECES[i % PIECES.len()]}), Value::Null, Value::Null));
    }
    events.push(chunk(json!({}), json!("stop"), Value::Null));
    events.push(chunk(
        json!({}),
        Value::Null,
        json!({"prompt_tokens": 58, "completion_tokens": deltas, "total_tokens": 58 + deltas,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}),
    ));
    events.push("data: [DONE]\n\n".to_string());
    events
}

/// Anthropic's stream of a text reply with `deltas` text deltas, one event per element.
pub(crate) fn anthropic_stream(deltas: usize) -> Vec<String> {
    let event = |kind: &str, data: Value| format!("event: {kind}\ndata: {data}\n\n");
    let mut events =
        vec![
        // Anthropic's key order for message_start, as the fixture has it.
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\
         \"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\
         \"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":38,\"cache_creation_input_tokens\":0,\
         \"cache_read_input_tokens\":0,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n"
            .to_string(),
        event("content_block_start", json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}})),
        "event: ping\ndata: {\"type\": \"ping\"}\n\n".to_string(),
    ];
    for i in 0..deltas {
        // Anthropic writes `type` first: the keys in its order.
        let text = Value::from(PIECES[i % PIECES.len()]);
        events.push(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\
             \"delta\":{{\"type\":\"text_delta\",\"text\":{text}}}}}\n\n"
        ));
    }
    events.push(event("content_block_stop", json!({"type": "content_block_stop", "index": 0})));
    events.push(
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\
         \"stop_sequence\":null},\"usage\":{\"output_tokens\":17}}\n\n"
            .to_string(),
    );
    events.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_string());
    events
}

/// The module measured: the workspace's (built as the tests build it), or the one the
/// `AI_PROXY_WASM` environment variable names (another build, to compare with).
fn plugin() -> Plugin {
    static PLUGIN_MODULE: OnceLock<Plugin> = OnceLock::new();
    PLUGIN_MODULE
        .get_or_init(|| match std::env::var("AI_PROXY_WASM") {
            Ok(path) => {
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                Plugin::from_bytes(PLUGIN, &bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
            }
            Err(_) => testing::plugin(PLUGIN),
        })
        .clone()
}

impl Route {
    fn vm(&self) -> Vm {
        let env = Env::with_manual_clock(Duration::from_secs(1_750_000_000));
        let vm = Vm::builder(&plugin())
            .env(&env)
            .config_json(&self.config)
            .start()
            .unwrap_or_else(|e| panic!("{PLUGIN}: {e}"));
        // The first requests warm what a VM builds once.
        let _ = self.chat(&vm);
        let _ = self.streamed(&vm, DELTAS);
        vm
    }

    /// The client's request, sent.
    fn send(&self, vm: &Vm, stream: bool) -> Stream {
        let req = match self.client {
            Protocol::OpenAi => request("POST", "ai.example.com", "/v1/chat/completions")
                .header("authorization", "Bearer client-key")
                .body(openai_request(stream)),
            Protocol::Anthropic => request("POST", "ai.example.com", "/v1/messages")
                .header("x-api-key", "client-key")
                .header("anthropic-version", "2023-06-01")
                .body(anthropic_request(stream)),
            Protocol::Responses => request("POST", "ai.example.com", "/v1/responses")
                .header("authorization", "Bearer client-key")
                .body(responses_request(stream)),
            Protocol::Bedrock | Protocol::Qwen | Protocol::MiniMaxPro | Protocol::Dify => {
                unreachable!("no route has these clients")
            }
            Protocol::Gemini => {
                let method = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
                let body = json!({"contents": [{"role": "user", "parts": [{"text": "Weather in Tokyo and Paris?"}]}]});
                request("POST", "ai.example.com", &format!("/v1beta/models/gemini-2.5-flash:{method}"))
                    .header("x-goog-api-key", "client-key")
                    .body(body.to_string())
            }
        };
        let s = req.header("content-type", "application/json").header("accept-encoding", "gzip").send(vm);
        assert!(
            s.upstream().headers.is_some(),
            "{}: the request was answered locally: {:?}",
            self.what,
            s.local_response()
        );
        s
    }

    /// A whole chat request: the request, the provider's JSON reply.
    fn chat(&self, vm: &Vm) -> Stream {
        let s = self.send(vm, false);
        let reply = match self.upstream {
            Protocol::OpenAi => OPENAI_REPLY.to_string(),
            Protocol::Anthropic => anthropic_reply(),
            Protocol::Gemini => gemini_reply(),
            Protocol::Bedrock => bedrock_reply(),
            Protocol::Qwen => qwen_reply(),
            Protocol::MiniMaxPro => minimax_reply(),
            Protocol::Dify => dify_reply(),
            Protocol::Responses => unreachable!("no route has a Responses provider"),
        };
        let length = reply.len().to_string();
        s.send_response_headers(
            [(":status", "200"), ("content-type", "application/json"), ("content-length", length.as_str())],
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        s.send_response_body(reply, true).unwrap_or_else(|e| panic!("{e}"));
        let body = s.response().body_text();
        let expected = match self.client {
            Protocol::OpenAi => "\"chat.completion\"",
            Protocol::Anthropic => "\"message\"",
            Protocol::Gemini => "\"candidates\"",
            Protocol::Responses => "\"response\"",
            Protocol::Bedrock | Protocol::Qwen | Protocol::MiniMaxPro | Protocol::Dify => {
                unreachable!("no route has these clients")
            }
        };
        assert!(body.contains(expected), "{}: {body}", self.what);
        s
    }

    /// The provider's stream of a reply with `deltas` text deltas.
    fn events(&self, deltas: usize) -> Vec<Vec<u8>> {
        let text = match self.upstream {
            Protocol::OpenAi => openai_stream(deltas),
            Protocol::Anthropic => anthropic_stream(deltas),
            Protocol::Gemini => gemini_stream(deltas),
            Protocol::Qwen => qwen_stream(deltas),
            Protocol::Responses => unreachable!("no route has a Responses provider"),
            Protocol::MiniMaxPro => minimax_stream(deltas),
            Protocol::Dify => dify_stream(deltas),
            Protocol::Bedrock => return bedrock_stream(deltas),
        };
        text.into_iter().map(String::into_bytes).collect()
    }

    /// The request and the stream's headers: what the events then arrive on.
    fn stream_head(&self, vm: &Vm) -> Stream {
        let s = self.send(vm, true);
        let content_type = match self.upstream {
            Protocol::Bedrock => "application/vnd.amazon.eventstream",
            _ => "text/event-stream",
        };
        s.send_response_headers([(":status", "200"), ("content-type", content_type)], false)
            .unwrap_or_else(|e| panic!("{e}"));
        s
    }

    /// A streamed request; the instructions of each upstream event (one chunk each).
    fn streamed(&self, vm: &Vm, deltas: usize) -> (Stream, Vec<u64>) {
        let s = self.stream_head(vm);
        let events = self.events(deltas);
        let mut costs = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let before = s.instructions();
            s.send_response_body(event, i + 1 == events.len()).unwrap_or_else(|e| panic!("{e}"));
            costs.push(s.instructions() - before);
        }
        (s, costs)
    }
}

/// The text deltas' events after the first (which also opens the client's message or block):
/// a stream's steady state.
fn delta_costs(route: &Route, costs: &[u64]) -> Vec<u64> {
    // Gemini's chunks are the deltas themselves, the last one finishing the reply.
    let (skip, take) = match route.upstream {
        Protocol::OpenAi => (2, DELTAS - 1),
        Protocol::Anthropic => (4, DELTAS - 1),
        Protocol::Gemini | Protocol::Qwen | Protocol::Responses => (1, DELTAS - 2),
        Protocol::MiniMaxPro | Protocol::Dify => (1, DELTAS - 2),
        Protocol::Bedrock => (2, DELTAS - 1),
    };
    costs.iter().skip(skip).take(take).copied().collect()
}

pub(crate) fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// Prints the tables; `requests` streamed requests per route for the memory column.
pub fn report(requests: usize) {
    println!();
    println!("ai-proxy: .wasm {} bytes (dist/ai-proxy/plugin.wasm, as `make build` ships it)", shipped_size(PLUGIN));
    println!();
    let events = DELTAS + 6;
    println!(
        "| ai-proxy route | chat request, not streamed (whole exchange) | streamed request: request + reply headers \
         | streamed text delta (median) | stream of ~{events} upstream events: body instructions | mean per event | largest event |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for route in routes() {
        let vm = route.vm();
        let chat = route.chat(&vm).instructions();
        let head = route.stream_head(&vm).instructions();
        let (_, costs) = route.streamed(&vm, DELTAS);
        if std::env::var("AI_DEBUG").is_ok() {
            eprintln!("{}: {costs:?}", route.what);
        }
        let body: u64 = costs.iter().sum();
        let max = costs.iter().copied().max().unwrap_or(0);
        println!(
            "| {} | {chat} | {head} | {} | {body} | {} | {max} |",
            route.what,
            median(&delta_costs(&route, &costs)),
            body / (costs.len().max(1) as u64)
        );
    }
    println!();
    println!(
        "| ai-proxy route | memory after 1 streamed request | after {requests} | before one stream of 10,000 events | after it |"
    );
    println!("|---|---:|---:|---:|---:|");
    for route in routes() {
        let vm = route.vm();
        let first = vm.memory_bytes();
        for _ in 1..requests {
            let _ = route.streamed_quietly(&vm, DELTAS);
        }
        let last = vm.memory_bytes();
        let _ = route.streamed_quietly(&vm, 10_000);
        let after = vm.memory_bytes();
        println!("| {} | {first} | {last} | {last} | {after} |", route.what);
    }
}

impl Route {
    /// A streamed request of `deltas` text deltas, without per-event accounting (the memory
    /// runs); checks the client's stream ended.
    fn streamed_quietly(&self, vm: &Vm, deltas: usize) -> Stream {
        let s = self.stream_head(vm);
        let events = self.events(deltas);
        for (i, event) in events.iter().enumerate() {
            s.send_response_body(event, i + 1 == events.len()).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(s.is_complete(), "{}: the stream did not end", self.what);
        s
    }
}

/// Where each route's instructions go, callback by callback (`-- ai calls`).
pub fn per_callback() {
    println!("| ai-proxy route | request | callback | calls | instructions (sum) | mean |");
    println!("|---|---|---|---:|---:|---:|");
    for route in routes() {
        let vm = route.vm();
        for (request, s) in [("chat", route.chat(&vm)), ("streamed", route.streamed(&vm, DELTAS).0)] {
            let mut rows: Vec<(&'static str, u64, u64)> = Vec::new();
            for call in s.calls() {
                match rows.iter_mut().find(|(name, _, _)| *name == call.callback) {
                    Some(row) => {
                        row.1 += 1;
                        row.2 += call.instructions;
                    }
                    None => rows.push((call.callback, 1, call.instructions)),
                }
            }
            for (callback, calls, sum) in rows {
                println!("| {} | {request} | {callback} | {calls} | {sum} | {} |", route.what, sum / calls);
            }
        }
    }
}
