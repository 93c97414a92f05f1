//! redis-counter: counts requests per key in a fixed window in Redis, while the request
//! waits; adds the count to the request and the response, and optionally answers 429 over
//! a limit. Redis down means fail open: the request goes on uncounted.
//!
//! The example of a callout that pauses a stream and resumes it from the callback.

use higress_sdk::prelude::*;

/// INCR, and set the window's expiry on the first hit: one round trip per request.
const SCRIPT: &str = "local n = redis.call('INCR', KEYS[1]) \
    if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end \
    return n";

/// redis-counter's config: the Redis service and how requests are counted.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct Config {
    /// The Redis service the counts are kept in.
    redis: RedisConfig,
    /// Count per value of this request header (missing: `anonymous`); without it, per route.
    #[serde(default)]
    key_header: Option<String>,
    /// Redis key prefix: keys are `<prefix>:<value>`.
    #[serde(default = "default_prefix")]
    key_prefix: String,
    /// Window length in seconds (the key expires after it).
    #[serde(default = "default_window")]
    #[cfg_attr(test, schemars(range(min = 1)))]
    window_seconds: u64,
    /// Requests allowed per window (0: count only).
    #[serde(default)]
    limit: u64,
    #[serde(skip)]
    client: Option<RedisClient>,
}

fn default_prefix() -> String {
    "redis-counter".into()
}

fn default_window() -> u64 {
    60
}

#[derive(Default)]
struct RedisCounter {
    count: Option<i64>,
}

impl HttpPlugin for RedisCounter {
    type Config = Config;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        if config.window_seconds == 0 {
            return Err(ConfigError::at("window_seconds", "must be at least 1"));
        }
        let client = config.redis.client("redis")?;
        config.client = Some(client);
        Ok(())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let Some(client) = &config.client else { return HeaderAction::Continue };
        let subject = match &config.key_header {
            Some(name) => http.request_header(name).unwrap_or_else(|| "anonymous".into()),
            None => http.route_name(),
        };
        let key = format!("{}:{subject}", config.key_prefix);
        let window = config.window_seconds.to_string();
        let sent =
            client.eval(SCRIPT, &[&key], &[&window]).send(http, |me: &mut RedisCounter, http, config, result| {
                match result.map(|v| v.as_integer()) {
                    Ok(Some(count)) => {
                        me.count = Some(count);
                        let count_text = count.to_string();
                        if config.limit > 0 && count > i64::try_from(config.limit).unwrap_or(i64::MAX) {
                            let headers = [("x-request-count", count_text.as_str())];
                            http.send_local_response(429, "redis-counter.over_limit", &headers, b"Too many requests");
                            return;
                        }
                        http.set_request_header("x-request-count", &count_text);
                    }
                    Ok(None) => log_warn!("unexpected reply from the counting script; request not counted"),
                    Err(e) => log_warn!("redis unavailable ({e}); request not counted"),
                }
                http.resume_request();
            });
        match sent {
            Ok(_) => HeaderAction::StopAllIterationAndWatermark,
            Err(e) => {
                log_warn!("cannot call redis ({e}); request not counted");
                HeaderAction::Continue
            }
        }
    }

    fn on_response_headers(&mut self, http: &mut Http, _config: &Config) -> HeaderAction {
        if let Some(count) = self.count {
            http.set_response_header("x-request-count", &count.to_string());
        }
        HeaderAction::Continue
    }
}

higress_sdk::export_plugin!("redis-counter", RedisCounter);
