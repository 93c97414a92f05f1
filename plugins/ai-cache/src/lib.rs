//! ai-cache: answers an LLM request from Redis when the same question was answered before,
//! and stores the upstream's answer otherwise. A drop-in for Higress's `ai-cache` (its Redis
//! string-match cache; semantic caching is refused at config time).
//!
//! The flow, as Higress's: a JSON request is held until its body is read; the key (the last
//! question, or every user question, with the model and optionally the consumer, hashed) is
//! looked up with `GET`; a hit is answered at once with the reply template (`ai-cache.hit`),
//! a miss goes upstream and its answer - read from the JSON reply, or appended from the
//! stream's events - is stored with `SET` / `SETEX` when the reply ends. `cache_status`
//! (`hit`, `miss`, `skip`) goes into the `ai_log` property.

mod config;
mod key;
mod reply;
#[cfg(test)]
mod schema;

use config::{Config, Strategy};
use higress_sdk::http::AI_LOG_KEY;
use higress_sdk::prelude::*;
use higress_sdk::redis::Value;
use reply::Reader;

/// `on` sends the request upstream without the cache (and its answer is not stored).
const SKIP_HEADER: &str = "x-higress-skip-ai-cache";
/// Largest request body read (Go's `SetRequestBodyBufferLimit`): a larger one gets 413.
const MAX_REQUEST_BODY: u32 = 100 << 20;
/// What requests do while Redis is down.
const WHILE_DOWN: &str = "requests go upstream uncached";
const STATUS: &str = "cache_status";
/// The consumer an auth plugin identified.
const CONSUMER_HEADER: &str = "x-mse-consumer";

#[derive(Default)]
struct AiCache {
    /// The client asked to bypass the cache.
    skip: bool,
    /// `x-mse-consumer`, when the key includes it.
    consumer: Option<String>,
    /// The Redis key while the answer may still be stored (looked up, not a hit).
    key: Option<String>,
    stream: bool,
    reader: Option<Reader>,
}

/// A `GET` reply: `Some(None)` for no value.
fn cached(reply: &Value) -> Option<Option<String>> {
    match reply {
        Value::Nil => Some(None),
        Value::Bulk(_) | Value::Simple(_) => Some(reply.as_string()),
        _ => None,
    }
}

fn status(http: &mut Http, status: &'static str) {
    http.set_user_attribute(STATUS, status);
    http.write_user_attributes_to(AI_LOG_KEY);
}

impl AiCache {
    /// Answers from the cache.
    fn hit(&mut self, http: &mut Http, config: &Config, answer: &str) {
        self.key = None;
        status(http, "hit");
        let (content_type, template) = if self.stream {
            ("text/event-stream; charset=utf-8", &config.stream_response_template)
        } else {
            ("application/json; charset=utf-8", &config.response_template)
        };
        http.send_local_response(200, "ai-cache.hit", &[("content-type", content_type)], &template.fill(answer));
    }

    /// Stores a miss's answer under its key.
    fn store(config: &Config, key: &str, answer: &str) {
        let Some(client) = &config.client else { return };
        let ttl = config.cache.ttl;
        // SET, or SETEX with the TTL: the commands Go's plugin sends.
        let command =
            if ttl == 0 { client.set(key, answer) } else { client.command(&["SETEX", key, &ttl.to_string(), answer]) };
        // From the root context: the answer lands when the stream is gone first. A failure is
        // an outage the lookups report (once): at debug here.
        let sent = command.send_from_root(|result| {
            if let Err(error) = result {
                log_debug!("answer not stored: {error}");
            }
        });
        if let Err(error) = sent {
            config.outage.failed(&error, WHILE_DOWN);
        }
    }
}

impl HttpPlugin for AiCache {
    type Config = Config;
    const REQUEST_BODY: BodyMode = BodyMode::Buffered;
    const RESPONSE_BODY: BodyMode = BodyMode::Streaming;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.connect();
        Ok(())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        http.disable_reroute();
        if http.request_header(SKIP_HEADER).as_deref() == Some("on") {
            self.skip = true;
            http.dont_read_request_body();
            return HeaderAction::Continue;
        }
        let json =
            http.request_header("content-type").is_some_and(|t| t.to_ascii_lowercase().contains("application/json"));
        if !json || config.strategy == Strategy::Disabled || http.request_body_mode() == BodyMode::Skip {
            // Nothing to look up: neither the request nor its reply is read.
            http.skip_rest();
            return HeaderAction::Continue;
        }
        // The reply must come back readable.
        http.remove_request_header("accept-encoding");
        if config.include_consumer {
            self.consumer = http.request_header(CONSUMER_HEADER);
        }
        http.limit_request_body(MAX_REQUEST_BODY);
        HeaderAction::StopIteration
    }

    fn on_request_body(&mut self, http: &mut Http, config: &Config, body: &[u8]) -> DataAction {
        let lookup = match key::lookup(body, config, self.consumer.as_deref()) {
            Ok(lookup) => lookup,
            Err(why) => {
                log_debug!("not cached: {why}");
                http.skip_rest();
                return DataAction::Continue;
            }
        };
        let Some(client) = &config.client else { return DataAction::Continue };
        self.stream = lookup.stream;
        let sent = client.get(&lookup.key).send(http, |me: &mut AiCache, http, config, result| {
            match config.outage.read(result, WHILE_DOWN, cached).flatten() {
                Some(answer) if !answer.trim().is_empty() => me.hit(http, config, &answer),
                _ => http.resume_request(),
            }
        });
        self.key = Some(lookup.key);
        match sent {
            Ok(_) => DataAction::StopIterationAndBuffer,
            Err(error) => {
                config.outage.failed(&error, WHILE_DOWN);
                DataAction::Continue
            }
        }
    }

    fn on_response_headers(&mut self, http: &mut Http, _config: &Config) -> HeaderAction {
        if self.skip {
            status(http, "skip");
            http.skip_rest();
            return HeaderAction::Continue;
        }
        if self.key.is_none() {
            // A hit (this is its local reply), or nothing was looked up.
            http.skip_rest();
            return HeaderAction::Continue;
        }
        status(http, "miss");
        // Only an upstream's successful answer is an answer to keep.
        if http.response_header(":status").as_deref() != Some("200") || !http.has_response_body() {
            self.key = None;
            http.skip_rest();
            return HeaderAction::Continue;
        }
        let event_stream =
            http.response_header("content-type").is_some_and(|t| t.to_ascii_lowercase().contains("text/event-stream"));
        self.reader = Some(if self.stream || event_stream { Reader::stream() } else { Reader::json() });
        HeaderAction::Continue
    }

    fn on_response_body_chunk(
        &mut self,
        http: &mut Http,
        config: &Config,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> DataAction {
        let Some(reader) = &mut self.reader else { return DataAction::Continue };
        reader.feed(chunk, config);
        if !end_of_stream && !reader.spoiled() {
            return DataAction::Continue;
        }
        let answer = reader.finish(config);
        self.reader = None;
        let key = self.key.take();
        match (answer, key) {
            (Ok(answer), Some(key)) => AiCache::store(config, &key, &answer),
            (Err(why), _) => {
                log_debug!("answer not cached: {why}");
                http.skip_rest();
            }
            _ => {}
        }
        DataAction::Continue
    }
}

higress_sdk::export_plugin!("ai-cache", AiCache);
