//! Vertex's OAuth access token: put on each request from the copy every VM shares, and
//! fetched when there is none (or it expires within `vertexTokenRefreshAhead` seconds) by
//! one request for all.
//!
//! The request that finds no token takes the fetch lock (`cache.rs`) and exchanges a signed
//! assertion at the token endpoint through `vertexAuthServiceName`; it waits for the answer.
//! Requests arriving meanwhile park (`higress_sdk::park`) instead of fetching again: those
//! of the same VM are woken by the answer, those of other VMs by a tick that sees the new
//! token (or the lock given up, when one of them then fetches). A failed exchange answers
//! its waiting requests 500 (`ai-proxy.vertex.load_ak_failed`, as Higress); the next request
//! tries again.

mod account;
mod cache;

use crate::config::Config;
use crate::AiProxy;
use account::Account;
use higress_sdk::prelude::*;
use higress_sdk::{hostcalls, park};
use serde_json::Value;
use std::cell::Cell;
use std::time::Duration;

/// What a request does once its token is on it.
pub type Next = fn(&mut AiProxy, &mut Http, &Config);

/// Where a request stands after [`authorize`].
pub enum Step {
    /// The token is on the request: go on.
    Ready,
    /// The request waits (it was stopped; `next` runs when the token is there).
    Waiting,
    /// No token can be had: the request was answered 500.
    Failed,
}

/// The service account and where its tokens are exchanged and kept.
#[derive(Debug)]
pub struct OAuth {
    account: Account,
    client: HttpClient,
    token_path: String,
    /// The shared-data key of the token (and of the lock, with `-refresh`), and the key
    /// requests park under.
    cache_key: String,
    refresh_ahead: u64,
    timeout: Duration,
    /// This VM is fetching.
    fetching: Cell<bool>,
    /// When this VM's last exchange failed (ms): the requests it wakes then fail too.
    failed_at_ms: Cell<u64>,
}

impl OAuth {
    /// The OAuth of a service account's JSON key, exchanged through `service` (port 443).
    pub fn new(
        json_key: &str,
        service: &str,
        cache_key: String,
        refresh_ahead: u64,
        timeout_ms: u64,
    ) -> Result<OAuth, String> {
        let account = Account::parse(json_key)?;
        let rest = account.token_uri.split_once("://").map_or(account.token_uri.as_str(), |(_, rest)| rest);
        let (host, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, "/token"),
        };
        if host.is_empty() {
            return Err(format!("`token_uri` {} has no host", account.token_uri));
        }
        let cluster = Cluster::Fqdn { fqdn: service.to_string(), port: 443, host: Some(host.to_string()) };
        Ok(OAuth {
            token_path: path.to_string(),
            account,
            client: HttpClient::new(cluster),
            cache_key,
            refresh_ahead,
            timeout: Duration::from_millis(timeout_ms),
            fetching: Cell::new(false),
            failed_at_ms: Cell::new(0),
        })
    }
}

/// Puts the access token on the request now, or stops it until `next` can run.
pub fn authorize(http: &mut Http, oauth: &OAuth, next: Next) -> Step {
    let now_ms = now_ms();
    if let Some(token) = cache::token(&oauth.cache_key, now_ms / 1000, oauth.refresh_ahead) {
        http.set_request_header("authorization", &["Bearer ", &token].concat());
        return Step::Ready;
    }
    wait(http, oauth, next, now_ms)
}

/// Fetches the token for everyone when no one does, else parks until someone has.
fn wait(http: &mut Http, oauth: &OAuth, next: Next, now_ms: u64) -> Step {
    let lock_until = now_ms.saturating_add(u64::try_from(oauth.timeout.as_millis()).unwrap_or(u64::MAX)) + 1000;
    if oauth.fetching.get() || !cache::lock(&oauth.cache_key, now_ms, lock_until) {
        park::park::<AiProxy>(http, &oauth.cache_key, move |me, http, config| woken(me, http, config, next));
        return Step::Waiting;
    }
    match fetch(http, oauth, next, now_ms) {
        Ok(()) => {
            oauth.fetching.set(true);
            Step::Waiting
        }
        Err(message) => {
            cache::unlock(&oauth.cache_key);
            fail(http, &message);
            Step::Failed
        }
    }
}

/// Exchanges an assertion for a token; the answer continues this request and wakes the
/// others.
fn fetch(http: &mut Http, oauth: &OAuth, next: Next, sent_ms: u64) -> Result<(), String> {
    let body = oauth.account.token_request(sent_ms / 1000);
    let request = oauth
        .client
        .post(&oauth.token_path, body)
        .header("content-type", "application/x-www-form-urlencoded")
        .timeout(oauth.timeout);
    let sent = request.send(http, move |me: &mut AiProxy, http, config: &Config, response| {
        let Some(oauth) = oauth_of(config) else {
            http.resume_request();
            return;
        };
        oauth.fetching.set(false);
        let now_ms = now_ms();
        let result = token_of(response.status, &response.body, now_ms / 1000);
        cache::unlock(&oauth.cache_key);
        match result {
            Ok((token, expire_at)) => {
                cache::store(&oauth.cache_key, &token, expire_at);
                http.set_request_header("authorization", &["Bearer ", &token].concat());
                next(me, http, config);
            }
            Err(message) => {
                oauth.failed_at_ms.set(now_ms.max(1));
                fail(http, &message);
            }
        }
        park::wake(&oauth.cache_key);
    });
    sent.map(|_| ()).map_err(|e| format!("the token request could not be sent: {e}"))
}

/// A parked request, woken: the token is there, or the exchange it waited for failed, or
/// the lock was given up (it then tries itself).
fn woken(me: &mut AiProxy, http: &mut Http, config: &Config, next: Next) {
    let Some(oauth) = oauth_of(config) else {
        http.resume_request();
        return;
    };
    let now_ms = now_ms();
    if let Some(token) = cache::token(&oauth.cache_key, now_ms / 1000, oauth.refresh_ahead) {
        http.set_request_header("authorization", &["Bearer ", &token].concat());
        next(me, http, config);
    } else if now_ms.saturating_sub(oauth.failed_at_ms.get()) < 1000 {
        fail(http, "the token exchange this request waited for failed");
    } else if let Step::Ready = wait(http, oauth, next, now_ms) {
        next(me, http, config);
    }
}

/// Run by a tick in every VM with parked requests: wakes those whose token another VM has
/// fetched, or whose fetcher gave the lock up without one.
pub fn check_parked() {
    let now_ms = now_ms();
    for key in park::keys() {
        if cache::token(&key, now_ms / 1000, 0).is_some() || !cache::locked(&key, now_ms) {
            park::wake(&key);
        }
    }
}

/// The token and its expiry (Unix seconds) in the token endpoint's answer.
fn token_of(status: u16, body: &[u8], now: u64) -> Result<(String, u64), String> {
    if status != 200 {
        let text = String::from_utf8_lossy(body);
        return Err(format!("the token endpoint answered {status}: {}", text.chars().take(200).collect::<String>()));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the token endpoint's answer: {e}"))?;
    let token = value.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty());
    let token = token.ok_or("the token endpoint's answer has no access_token")?;
    let expires_in = value.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
    Ok((token.to_string(), now.saturating_add(expires_in)))
}

/// Answers the request 500, as Higress does when it cannot load the token.
fn fail(http: &mut Http, message: &str) {
    log_error!("vertex: failed to load the access token: {message}");
    let headers = [("content-type", "text/plain")];
    http.send_local_response(500, "ai-proxy.vertex.load_ak_failed", &headers, b"failed to load vertex ak");
}

fn oauth_of(config: &Config) -> Option<&OAuth> {
    config.active()?.vertex.as_ref()?.oauth.as_ref()
}

fn now_ms() -> u64 {
    hostcalls::current_time_nanos().unwrap_or(0) / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_read_or_refused_with_the_reason() {
        assert_eq!(
            token_of(200, br#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#, 100),
            Ok(("ya29.x".into(), 3699))
        );
        assert_eq!(token_of(200, br#"{"access_token":"t"}"#, 0), Ok(("t".into(), 3600)));
        assert!(token_of(400, br#"{"error":"invalid_grant"}"#, 0).unwrap_err().contains("400"));
        assert!(token_of(200, b"{}", 0).unwrap_err().contains("no access_token"));
        assert!(token_of(200, b"<html>", 0).is_err());
    }
}
