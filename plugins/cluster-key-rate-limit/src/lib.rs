//! cluster-key-rate-limit: limits requests per key (a header, parameter, cookie, consumer or
//! client address, or every request) in fixed windows counted in Redis, so that every gateway
//! instance shares the limit. A drop-in for Higress's plugin of the same name: same config,
//! same Redis keys, same replies; every window a key sets is enforced.

mod script;

use higress_ratelimit::{LimitConfig, Queries};
use higress_sdk::prelude::*;
use script::Outcome;

/// The config: requests per window, counted in Redis.
type Config = LimitConfig<Queries>;

/// The prefix of every Redis key, as Higress's plugin writes them.
const PREFIX: &str = "higress-cluster-key-rate-limit";

const LIMIT_HEADER: &str = "X-RateLimit-Limit";
const REMAINING_HEADER: &str = "X-RateLimit-Remaining";
const RESET_HEADER: &str = "X-RateLimit-Reset";
/// What happens while Redis does not answer.
const UNLIMITED: &str = "requests pass unlimited";

#[derive(Default)]
struct ClusterKeyRateLimit {
    /// The admitted request's quota, for the response headers.
    quota: Option<Outcome>,
}

impl HttpPlugin for ClusterKeyRateLimit {
    type Config = Config;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.validate()
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let Some(client) = &config.client else { return HeaderAction::Continue };
        let counters = config.counters(PREFIX, http);
        if counters.keys.is_empty() {
            // No rule item applies: not limited.
            http.skip_rest();
            return HeaderAction::Continue;
        }
        let arguments = higress_ratelimit::script_arguments(&counters.windows);
        let count = counters.windows.len();
        let sent = client.eval(script::SCRIPT, &counters.keys, &arguments).send(
            http,
            move |me: &mut ClusterKeyRateLimit, http, config, result| match config.outage.read(
                result,
                UNLIMITED,
                |reply| script::outcome(reply, count),
            ) {
                Some(outcome) if outcome.refused => reject(http, config, &outcome),
                outcome => {
                    me.quota = outcome;
                    http.resume_request();
                }
            },
        );
        match sent {
            Ok(_) => HeaderAction::StopAllIterationAndWatermark,
            Err(error) => {
                config.outage.failed(&error, UNLIMITED);
                HeaderAction::Continue
            }
        }
    }

    fn on_response_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        if let (Some(quota), true) = (self.quota, config.show_limit_quota_header) {
            http.set_response_header(LIMIT_HEADER, &quota.count.to_string());
            http.set_response_header(REMAINING_HEADER, &quota.left.to_string());
        }
        HeaderAction::Continue
    }
}

/// The refusal: `rejected_code` and `rejected_msg`, when the spent window resets, and the
/// quota when asked for.
fn reject(http: &mut Http, config: &Config, outcome: &Outcome) {
    let reset = outcome.reset.to_string();
    let limit = outcome.count.to_string();
    let mut headers = Vec::with_capacity(3);
    if config.show_limit_quota_header {
        headers.push((LIMIT_HEADER, limit.as_str()));
        headers.push((REMAINING_HEADER, "0"));
    }
    headers.push((RESET_HEADER, reset.as_str()));
    http.send_local_response(
        config.rejected_code,
        "cluster-key-rate-limit.rejected",
        &headers,
        config.rejected_msg.as_bytes(),
    );
}

higress_sdk::export_plugin!("cluster-key-rate-limit", ClusterKeyRateLimit);
