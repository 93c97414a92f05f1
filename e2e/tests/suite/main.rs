//! The end-to-end suite: real HTTP to `$GATEWAY_URL`, one virtual host per plugin (see
//! `e2e/config`), and to the LLM mock at `$LLM_MOCK_URL` for the cases that check the mock
//! itself. The same tests pass through the local gateway (`make e2e-local`) and
//! through Higress's gateway in Docker (`make e2e`), so they assert only what both do.

mod ai_cache;
mod ai_proxy;
mod ai_proxy_cloud;
mod ai_proxy_failover;
mod ai_statistics;
mod ai_token_ratelimit;
mod basic_auth;
mod chain;
mod cluster_key_rate_limit;
mod cors;
mod custom_response;
mod demo;
mod ext_auth;
mod hello_world;
mod hmac_auth;
mod ip_restriction;
mod jwt_auth;
mod key_auth;
mod key_rate_limit;
mod llm;
mod proxy;
mod redis_counter;
mod request_block;
mod sdk_clients;
mod transformer;

use higress_e2e::client::Gateway;

/// The gateway under test.
pub fn gateway() -> Gateway {
    Gateway::from_env()
}

/// The LLM mock itself, not through the gateway: `$LLM_MOCK_URL` (`e2e-stack test` and `make
/// e2e` set it; with `make run`, it is the `LLM mock` address it prints).
pub fn llm_mock() -> Gateway {
    match std::env::var("LLM_MOCK_URL") {
        Ok(url) if !url.is_empty() => Gateway::new(&url),
        _ => panic!("LLM_MOCK_URL is not set: run the suite with `make e2e-local` or `make e2e`, or set it to the mock's address (`make run` prints it)"),
    }
}

/// A value no other test run uses (Redis keys, gates).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{prefix}-{nanos}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}
