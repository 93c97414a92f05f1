//! ai-statistics: what LLM traffic costs, as Higress's plugin of the same name records it -
//! token and latency counters per route, upstream, model and consumer, `ai_log` fields for
//! the access log, span tags, and configurable attributes taken from the request and the
//! reply (OpenAI, Anthropic or Gemini, whole or streamed). A drop-in for Higress's Go plugin,
//! with bounded memory on any stream and an optional cost per reply.
//!
//! Layout: `config` reads the configuration, `attribute` the attributes, `extract` reads
//! values from bodies and streams, `record` writes them (and the counters), `price` prices
//! a reply's usage.

mod attribute;
mod config;
mod extract;
mod price;
mod record;
#[cfg(test)]
mod schema;

use attribute::{Attribute, Source};
use config::{Compiled, Config};
use extract::StreamValues;
use higress_ai::path::{Any, Kind, Node, Scratch};
use higress_ai::usage::{MAX_EVENT_BYTES, MAX_JSON_BYTES};
use higress_ai::Usage;
use higress_sdk::prelude::*;
use higress_sdk::sse::Framer;
use record::Labels;
use serde_json::Value;

/// Session headers tried after `session_id_header` (agents that send one).
const SESSION_HEADERS: [&str; 4] =
    ["x-openclaw-session-key", "x-clawdbot-session-key", "x-moltbot-session-key", "x-agent-session"];
const CONSUMER_HEADER: &str = "x-mse-consumer";

/// One request's state.
#[derive(Default)]
struct AiStatistics {
    /// The request is counted (its path is enabled).
    on: bool,
    start_ms: u64,
    first_token_ms: Option<u64>,
    route: String,
    cluster: String,
    consumer: String,
    request_model: String,
    reply: Option<Reply>,
}

/// How the reply is read.
enum Reply {
    Stream(Box<Stream>),
    /// A whole reply, kept up to [`MAX_JSON_BYTES`] (`None` once over).
    Whole(Option<Vec<u8>>),
}

/// A stream being read.
struct Stream {
    framer: Framer,
    values: StreamValues,
    usage: Usage,
    model: Option<String>,
    chat_id: Option<String>,
    /// Events dropped for being longer than [`MAX_EVENT_BYTES`].
    dropped: usize,
    /// Where each event is read (its buffers reused).
    scratch: Scratch,
}

fn now_ms() -> u64 {
    higress_sdk::hostcalls::current_time_nanos().unwrap_or(0) / 1_000_000
}

impl HttpPlugin for AiStatistics {
    type Config = Config;
    const REQUEST_BODY: BodyMode = BodyMode::Buffered;
    const RESPONSE_BODY: BodyMode = BodyMode::Streaming;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.compile()
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let config = &config.compiled;
        if !config.takes_path(http.path()) {
            http.skip_rest();
            return HeaderAction::Continue;
        }
        self.on = true;
        self.start_ms = now_ms();
        http.disable_reroute();
        let route = http.route_name();
        // An API route (`<api>@<version>@<...>@...`) counts under its API.
        let parts: Vec<&str> = route.split('@').collect();
        let api = if parts.len() >= 3 { parts.get(..3).unwrap_or_default().join("@") } else { "-".into() };
        self.route = if api == "-" { route.clone() } else { api.clone() };
        self.cluster = http.cluster_name();
        self.consumer = http.request_header(CONSUMER_HEADER).filter(|c| !c.is_empty()).unwrap_or_else(|| "none".into());
        http.set_user_attribute("api", api);
        let session = config
            .session_header
            .iter()
            .map(String::as_str)
            .chain(SESSION_HEADERS)
            .find_map(|h| http.request_header(h).filter(|v| !v.is_empty()));
        if let Some(session) = session {
            http.set_user_attribute("session_id", session);
        }
        record::span(http, "gen_ai.span.kind", &Value::from("LLM"));
        for attribute in &config.attributes {
            let value = match attribute.source {
                Some(Source::FixedValue) => Some(Value::String(attribute.value.clone())),
                Some(Source::RequestHeader) => http.request_header(&attribute.value).map(Value::String),
                _ => continue,
            };
            record::attribute(http, attribute, value, config.limit);
        }
        self.request_model = gemini_model(http.path()).unwrap_or_else(|| "UNKNOWN".into());
        HeaderAction::Continue
    }

    fn on_request_body(&mut self, http: &mut Http, config: &Config, body: &[u8]) -> DataAction {
        if !self.on {
            return DataAction::Continue;
        }
        let config = &config.compiled;
        // Read as tokens (no tree of values built): the model, the turns, the attributes.
        let mut scratch = Scratch::default();
        let root = scratch.read(body);
        if let Some(model) =
            root.and_then(|r| r.member(|k| k == "model")).and_then(|m| m.string()).filter(|m| !m.is_empty())
        {
            self.request_model = model;
        }
        record::span(http, "gen_ai.request.model", &Value::from(self.request_model.as_str()));
        http.set_user_attribute("chat_round", chat_round(root));
        for attribute in config.attributes.iter().filter(|a| a.at(Source::RequestBody)) {
            let value = root.and_then(|root| body_value(attribute, root));
            record::attribute(http, attribute, value, config.limit);
        }
        http.write_user_attributes_to(higress_sdk::http::AI_LOG_KEY);
        DataAction::Continue
    }

    fn on_response_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        if !self.on {
            return HeaderAction::Continue;
        }
        let config = &config.compiled;
        let content_type = http.response_header("content-type").unwrap_or_default();
        if !config.takes_content_type(&content_type) {
            self.on = false;
            http.dont_read_response_body();
            return HeaderAction::Continue;
        }
        for attribute in config.attributes.iter().filter(|a| a.source == Some(Source::ResponseHeader)) {
            let value = http.response_header(&attribute.value).map(Value::String);
            record::attribute(http, attribute, value, config.limit);
        }
        self.reply = Some(if content_type.contains("text/event-stream") {
            Reply::Stream(Box::new(Stream {
                framer: Framer::default(),
                values: StreamValues::new(&config.attributes, config.limit),
                usage: Usage::default(),
                model: None,
                chat_id: None,
                dropped: 0,
                scratch: Scratch::default(),
            }))
        } else {
            Reply::Whole(Some(Vec::new()))
        });
        if !http.has_response_body() {
            self.finish(http, config);
        }
        HeaderAction::Continue
    }

    fn on_response_body_chunk(
        &mut self,
        http: &mut Http,
        config: &Config,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> DataAction {
        let config = &config.compiled;
        match &mut self.reply {
            Some(Reply::Stream(stream)) => {
                if self.first_token_ms.is_none() {
                    let now = now_ms();
                    self.first_token_ms = Some(now);
                    http.set_user_attribute("llm_first_token_duration", now.saturating_sub(self.start_ms));
                }
                stream.feed(chunk, &config.attributes, config.usage_off);
            }
            Some(Reply::Whole(body)) => {
                if let Some(kept) = body {
                    if kept.len() + chunk.len() > MAX_JSON_BYTES {
                        log_warn!("reply over {MAX_JSON_BYTES} bytes: its usage and attributes are not read");
                        *body = None;
                    } else {
                        kept.extend_from_slice(chunk);
                    }
                }
            }
            None => return DataAction::Continue,
        }
        if end_of_stream {
            self.finish(http, config);
        }
        DataAction::Continue
    }
}

impl AiStatistics {
    /// The reply ended: its values, `ai_log`, the counters.
    fn finish(&mut self, http: &mut Http, config: &Compiled) {
        let Some(reply) = self.reply.take() else { return };
        let now = now_ms();
        http.set_user_attribute("llm_service_duration", now.saturating_sub(self.start_ms));
        let (usage, reply_model, streamed) = match reply {
            Reply::Stream(mut stream) => {
                stream.end(&config.attributes, config.usage_off);
                http.set_user_attribute("response_type", "stream");
                if let Some(id) = &stream.chat_id {
                    http.set_user_attribute("chat_id", id.as_str());
                }
                if stream.dropped > 0 {
                    log_warn!("{} stream events over {MAX_EVENT_BYTES} bytes were not read", stream.dropped);
                }
                let usage = if config.usage_off { Usage::default() } else { stream.usage };
                for (i, attribute) in
                    config.attributes.iter().enumerate().filter(|(_, a)| a.at(Source::ResponseStreamingBody))
                {
                    let value = stream.values.value(i, attribute).or_else(|| usage_value(attribute, &usage));
                    record::attribute(http, attribute, value, config.limit);
                }
                (usage, stream.model.take(), true)
            }
            Reply::Whole(body) => {
                http.set_user_attribute("response_type", "normal");
                let body: Value = body.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
                if let Some(id) = chat_id(&body) {
                    http.set_user_attribute("chat_id", id);
                }
                let mut usage = Usage::default();
                if !config.usage_off {
                    usage.update(&body);
                }
                for attribute in config.attributes.iter().filter(|a| a.at(Source::ResponseBody)) {
                    let value = body_value(attribute, Any::Value(&body)).or_else(|| usage_value(attribute, &usage));
                    record::attribute(http, attribute, value, config.limit);
                }
                (usage, reply_model(&body), false)
            }
        };
        let model = reply_model.filter(|m| !m.is_empty()).unwrap_or_else(|| self.request_model.clone());
        // Counted only when the reply said how many tokens it took (Go: total > 0).
        let total = usage.total_tokens();
        if !config.usage_off && usage.is_known() && total > 0 {
            let (input, output) = (usage.input.unwrap_or(0), usage.output.unwrap_or(0));
            http.set_user_attribute("model", model.as_str());
            http.set_user_attribute("input_token", input);
            http.set_user_attribute("output_token", output);
            http.set_user_attribute("total_token", total);
            record::span(http, "gen_ai.model_name", &Value::from(model.as_str()));
            record::span(http, "gen_ai.usage.input_tokens", &Value::from(input));
            record::span(http, "gen_ai.usage.output_tokens", &Value::from(output));
            record::span(http, "gen_ai.usage.total_tokens", &Value::from(total));
            let labels = Labels { route: &self.route, cluster: &self.cluster, model: &model, consumer: &self.consumer };
            labels.add("input_token", input);
            labels.add("output_token", output);
            labels.add("total_token", total);
            labels.add("cached_token", usage.cache_read.unwrap_or(0));
            labels.add("reasoning_token", usage.reasoning.unwrap_or(0));
            if let Some(cost) = config.prices.cost(&model, &usage) {
                http.set_user_attribute("cost", cost);
                labels.add("cost_micros", (cost * 1_000_000.0).round() as u64);
            }
            if streamed {
                if let Some(first) = self.first_token_ms {
                    labels.add("llm_first_token_duration", first.saturating_sub(self.start_ms));
                }
                labels.add("llm_stream_duration_count", 1);
            }
            labels.add("llm_service_duration", now.saturating_sub(self.start_ms));
            labels.add("llm_duration_count", 1);
        }
        http.write_user_attributes_to(higress_sdk::http::AI_LOG_KEY);
    }
}

impl Stream {
    fn feed(&mut self, chunk: &[u8], attributes: &[Attribute], usage_off: bool) {
        let mut framer = std::mem::take(&mut self.framer);
        framer.feed(chunk, &mut |_, data| {
            if let Some(data) = data {
                self.event(data, attributes, usage_off);
            }
        });
        if framer.pending().len() > MAX_EVENT_BYTES {
            // An event this long is dropped rather than held.
            framer = Framer::default();
            self.dropped += 1;
        }
        self.framer = framer;
    }

    fn end(&mut self, attributes: &[Attribute], usage_off: bool) {
        if let Some(data) = self.framer.finish().and_then(|(_, data)| data) {
            self.event(&data, attributes, usage_off);
        }
    }

    /// One event: parsed only when something reads it.
    fn event(&mut self, data: &[u8], attributes: &[Attribute], usage_off: bool) {
        let has = |needle: &[u8]| higress_sdk::scan::contains(data, needle);
        let wanted = self.values.reads()
            || (!usage_off && has_usage(data))
            || (self.chat_id.is_none() && (has(b"\"id\"") || has(b"responseId")));
        if !wanted {
            return;
        }
        if !usage_off && has_usage(data) {
            if let Ok(event) = serde_json::from_slice::<Value>(data) {
                self.usage.update(&event);
                if self.model.is_none() {
                    self.model = reply_model(&event);
                }
            }
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        if let Some(root) = scratch.read(data) {
            if self.chat_id.is_none() {
                self.chat_id = chat_id_of(root);
            }
            self.values.event(attributes, root, data);
        }
        self.scratch = scratch;
    }
}

/// Whether an event has a usage object (`"usage": {`, `"usageMetadata": {`): OpenAI's chunks
/// all carry `"usage": null`, and only the last one is worth parsing for it.
fn has_usage(data: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = data.get(from..).and_then(|d| higress_sdk::scan::find(d, b'u')).map(|p| p + from) {
        from = at + 1;
        let Some(rest) = data.get(at..) else { break };
        let name_end = if rest.starts_with(b"usageMetadata\"") {
            13
        } else if rest.starts_with(b"usage\"") {
            5
        } else {
            continue;
        };
        let after = rest.get(name_end + 1..).unwrap_or_default();
        let mut value = after.iter().skip_while(|b| b.is_ascii_whitespace());
        if value.next() != Some(&b':') {
            continue;
        }
        if value.find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return true;
        }
    }
    false
}

/// An attribute's value in a JSON body: its path's, else its built-in's.
fn body_value<N: Node>(attribute: &Attribute, root: N) -> Option<Value> {
    let own = attribute.path.as_ref().and_then(|p| extract::value_at(p, root));
    own.filter(|v| v.as_str() != Some("")).or_else(|| extract::builtin_in_body(attribute.builtin?, root))
}

/// The value of a token built-in.
fn usage_value(attribute: &Attribute, usage: &Usage) -> Option<Value> {
    use attribute::Builtin::*;
    let cached = usage.cache_read;
    let reasoning = usage.reasoning;
    match attribute.builtin? {
        ReasoningTokens => reasoning.map(Value::from),
        CachedTokens => cached.map(Value::from),
        InputTokenDetails => {
            let mut details = serde_json::Map::new();
            if let Some(n) = cached {
                details.insert("cached_tokens".into(), n.into());
            }
            if let Some(n) = usage.cache_creation {
                details.insert("cache_creation_input_tokens".into(), n.into());
            }
            (!details.is_empty()).then(|| Value::String(Value::Object(details).to_string()))
        }
        OutputTokenDetails => reasoning.map(|n| Value::String(serde_json::json!({"reasoning_tokens": n}).to_string())),
        _ => None,
    }
}

/// A reply's id (`id`, the Responses API's `response.id`, Gemini's `responseId`,
/// Anthropic's `message.id`).
fn chat_id(reply: &Value) -> Option<&str> {
    [&["id"][..], &["response", "id"], &["responseId"], &["message", "id"]]
        .iter()
        .find_map(|path| path.iter().try_fold(reply, |v, k| v.get(k)).and_then(Value::as_str))
        .filter(|id| !id.is_empty())
}

/// [`chat_id`] of an event read as tokens.
fn chat_id_of<N: Node>(event: N) -> Option<String> {
    let field = |node: N, key: &str| node.member(|k| k == key);
    [
        field(event, "id"),
        field(event, "response").and_then(|r| field(r, "id")),
        field(event, "responseId"),
        field(event, "message").and_then(|m| field(m, "id")),
    ]
    .into_iter()
    .flatten()
    .find_map(|id| id.string().filter(|id| !id.is_empty()))
}

/// The model a reply names (`model`, `response.model`, `message.model`, Gemini's
/// `modelVersion`).
fn reply_model(reply: &Value) -> Option<String> {
    [&["model"][..], &["response", "model"], &["message", "model"], &["modelVersion"]]
        .iter()
        .find_map(|path| path.iter().try_fold(reply, |v, k| v.get(k)).and_then(model_text))
}

fn model_text(value: &Value) -> Option<String> {
    value.as_str().filter(|m| !m.is_empty()).map(str::to_string)
}

/// The model of a Gemini path (`/v1beta/models/<model>:streamGenerateContent?alt=sse`). Go
/// matched the path with its query, so streamed Gemini requests never had one.
fn gemini_model(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or_default();
    let (_, tail) = path.rsplit_once("/models/")?;
    let (model, method) = tail.split_once(':')?;
    let word = method.strip_suffix("Content")?;
    let valid =
        !model.is_empty() && !model.contains('/') && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| model.to_string())
}

/// The number of user turns: OpenAI's and Anthropic's `messages`, Gemini's `contents`.
fn chat_round(body: Option<Any>) -> u64 {
    let Some(body) = body else { return 0 };
    let role = |item: &Any| item.member(|k| k == "role").and_then(|r| r.string());
    if let Some(messages) = body.member(|k| k == "messages").filter(|m| m.kind() == Kind::Array) {
        return messages.elements().iter().filter(|m| role(m).as_deref() == Some("user")).count() as u64;
    }
    if let Some(contents) = body.member(|k| k == "contents").filter(|c| c.kind() == Kind::Array) {
        return contents.elements().iter().filter(|c| matches!(role(c).as_deref(), None | Some("user"))).count() as u64;
    }
    0
}

higress_sdk::export_plugin!("ai-statistics", AiStatistics);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_models_come_from_the_path() {
        assert_eq!(
            gemini_model("/v1beta/models/gemini-2.0-flash:generateContent").as_deref(),
            Some("gemini-2.0-flash")
        );
        assert_eq!(
            gemini_model("/v1beta/models/gemini-pro:streamGenerateContent?alt=sse").as_deref(),
            Some("gemini-pro")
        );
        assert_eq!(gemini_model("/v1/chat/completions"), None);
        assert_eq!(gemini_model("/v1/models/x:embed"), None);
    }

    #[test]
    fn only_usage_objects_count() {
        assert!(has_usage(br#"{"choices":[],"usage":{"total_tokens":1}}"#));
        assert!(has_usage(br#"{"usageMetadata" : {"promptTokenCount":1}}"#));
        assert!(has_usage(br#"{"message":{"usage": {"input_tokens":1}}}"#));
        assert!(!has_usage(br#"{"id":"x","choices":[{"delta":{"content":"usage"}}],"usage":null}"#));
        assert!(!has_usage(br#"{"usage_x":{}}"#));
    }
}
