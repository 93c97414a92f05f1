//! ai-token-ratelimit: limits the LLM tokens a key (a header, parameter, cookie, consumer or
//! client address, or every request) may spend per window, counted in Redis. A request is
//! refused while its key's window is overdrawn; the tokens of each reply (its usage, from an
//! OpenAI, Anthropic or Gemini reply, streamed or not) are taken when the reply ends. A
//! drop-in for Higress's plugin of the same name.

mod script;

use higress_ai::UsageExtractor;
use higress_ratelimit::{Counters, LimitConfig, Tokens};
use higress_sdk::prelude::*;

/// The config: tokens per window, counted in Redis.
type Config = LimitConfig<Tokens>;

/// The prefix of every Redis key, as Higress's plugin writes them.
const PREFIX: &str = "higress-token-ratelimit";
const RESET_HEADER: &str = "X-TokenRateLimit-Reset";

#[derive(Default)]
struct AiTokenRateLimit {
    /// Set once the request is admitted: what its reply's tokens are taken from.
    draw: Option<Counters>,
    usage: Option<UsageExtractor>,
}

/// A refusal, in the metric Higress's plugin keeps.
fn count_refusal(config: &Config, http: &Http) {
    let consumer = http.request_header(higress_ratelimit::CONSUMER_HEADER).unwrap_or_else(|| "none".into());
    config.count(&format!(
        "route.{}.upstream.{}.model.none.consumer.{consumer}.metric.token_ratelimit_count",
        http.route_name(),
        http.cluster_name()
    ));
}

impl HttpPlugin for AiTokenRateLimit {
    type Config = Config;
    const RESPONSE_BODY: BodyMode = BodyMode::Streaming;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.validate()
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let Some(client) = &config.client else { return HeaderAction::Continue };
        let draw = config.counters(PREFIX, http);
        if draw.keys.is_empty() {
            // Nothing limits this request: its reply is not read either.
            http.skip_rest();
            return HeaderAction::Continue;
        }
        let arguments = higress_ratelimit::script_arguments(&draw.windows);
        let windows = draw.windows.len();
        let sent = client.eval(script::CHECK, &draw.keys, &arguments).send(
            http,
            move |_: &mut AiTokenRateLimit, http, config, result| match config.outage.read(
                result,
                "requests pass unlimited",
                |reply| script::refusal(reply, windows),
            ) {
                Some((true, reset)) => {
                    http.set_user_attribute("token_ratelimit_status", "limited");
                    http.write_user_attributes_to(higress_sdk::http::AI_LOG_KEY);
                    count_refusal(config, http);
                    let reset = reset.to_string();
                    http.send_local_response(
                        config.rejected_code,
                        "ai-token-ratelimit.rejected",
                        &[(RESET_HEADER, reset.as_str())],
                        config.rejected_msg.as_bytes(),
                    );
                }
                _ => http.resume_request(),
            },
        );
        self.draw = Some(draw);
        match sent {
            Ok(_) => HeaderAction::StopAllIterationAndWatermark,
            Err(error) => {
                config.outage.failed(&error, "requests pass unlimited");
                HeaderAction::Continue
            }
        }
    }

    fn on_response_headers(&mut self, http: &mut Http, _config: &Config) -> HeaderAction {
        if self.draw.is_some() && !http.local_response_sent() {
            let content_type = http.response_header("content-type").unwrap_or_default();
            self.usage = Some(UsageExtractor::new(&content_type));
        }
        HeaderAction::Continue
    }

    fn on_response_body_chunk(
        &mut self,
        _http: &mut Http,
        config: &Config,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> DataAction {
        let Some(usage) = &mut self.usage else { return DataAction::Continue };
        usage.feed(chunk);
        if !end_of_stream {
            return DataAction::Continue;
        }
        let usage = usage.finish();
        self.usage = None;
        let (Some(draw), Some(client)) = (self.draw.take(), &config.client) else { return DataAction::Continue };
        if !usage.is_known() {
            log_warn!("no token usage in the reply: nothing counted");
            return DataAction::Continue;
        }
        let tokens = usage.total_tokens();
        if tokens == 0 {
            return DataAction::Continue;
        }
        let mut arguments = higress_ratelimit::script_arguments(&draw.windows);
        arguments.push(tokens.to_string());
        // Sent from the root context: the count lands even when the stream is gone first. A
        // failure is an outage the requests' checks report (once): at debug here, not per reply.
        let sent = client.eval(script::SPEND, &draw.keys, &arguments).send_from_root(move |result| {
            if let Err(error) = result {
                log_debug!("{tokens} tokens not counted: {error}");
            }
        });
        if let Err(error) = sent {
            config.outage.failed(&error, "tokens go uncounted");
        }
        DataAction::Continue
    }
}

higress_sdk::export_plugin!("ai-token-ratelimit", AiTokenRateLimit);
