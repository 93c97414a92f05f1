//! Google's OAuth 2.0 token endpoint (`oauth2.googleapis.com`) for service accounts:
//! `POST /token` with `application/x-www-form-urlencoded`
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>` (the values
//! percent-encoded or not). Vertex AI's OAuth routes ([`super::vertex`]) take only the tokens
//! issued here.
//!
//! The assertion is checked as Google does, against the e2e service account
//! (`e2e/config/vertex-service-account.json`, [`SERVICE_ACCOUNT`]); each failure is a 400
//! `{"error", "error_description"}` with Google's words:
//!
//! | check | `error`: `error_description` |
//! |---|---|
//! | a form body whose `grant_type` is the JWT bearer grant | `unsupported_grant_type`: `Invalid grant_type: <it>` |
//! | an `assertion` | `invalid_request`: `Missing required parameter: assertion` |
//! | three base64url parts, JSON header and claims | `invalid_grant`: `Invalid JWT: ...` |
//! | claim `iss` is the account's `client_email` | `invalid_grant`: `Invalid grant: account not found` |
//! | header `alg: RS256`, `kid` the account's `private_key_id`, an RS256 signature by its key | `invalid_grant`: `Invalid JWT Signature.` |
//! | claim `aud` is the account's `token_uri` | `invalid_grant`: `Invalid JWT: Failed audience check. ...` |
//! | `iat` <= now + 60 s, `exp` > now, 0 < `exp - iat` <= 3600 | `invalid_grant`: `Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. ...` |
//! | claim `scope` (space-separated) has `https://www.googleapis.com/auth/cloud-platform` | `invalid_scope`: `Invalid OAuth scope or ID token audience provided.` |
//!
//! A good assertion gets 200 `{"access_token": "ya29.mock-<n>", "expires_in": 3599,
//! "token_type": "Bearer"}`; the token is valid for those 3599 s ([`Tokens`]). Another method:
//! 405 `invalid_request`.
//!
//! The journal records each exchange with protocol `google-oauth` and, as its key, the
//! assertion's `iss` (unverified): `GET /__mock/requests?protocol=google-oauth` counts the
//! exchanges, and a fault armed for that key fails them.

use super::record::query_param;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The service account JSON key the e2e stack configures ai-proxy with.
pub const SERVICE_ACCOUNT: &str = include_str!("../../config/vertex-service-account.json");
/// The JWT bearer grant.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The scope Vertex AI wants.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Seconds an issued token lives (`expires_in`).
pub const EXPIRES_IN: u64 = 3599;
/// The clock skew `iat` may have.
const SKEW: u64 = 60;
/// The longest assertion (`exp - iat`).
const MAX_LIFETIME: u64 = 3600;

/// base64url, padded or not.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A service account: who it is and its key.
pub struct Account {
    pub client_email: String,
    pub private_key_id: String,
    pub token_uri: String,
    private_key: RsaPrivateKey,
    public_key: RsaPublicKey,
}

impl Account {
    /// The account of a service account JSON key.
    pub fn parse(json_key: &str) -> Result<Account, String> {
        let value: Value = serde_json::from_str(json_key).map_err(|e| format!("the service account key: {e}"))?;
        let field = |name: &str| {
            value[name].as_str().filter(|v| !v.is_empty()).map(str::to_string).ok_or(format!("no `{name}`"))
        };
        let private_key = RsaPrivateKey::from_pkcs8_pem(&field("private_key")?)
            .map_err(|e| format!("`private_key` is not an RSA key in PKCS#8 PEM: {e}"))?;
        Ok(Account {
            client_email: field("client_email")?,
            private_key_id: field("private_key_id")?,
            token_uri: field("token_uri")?,
            public_key: private_key.to_public_key(),
            private_key,
        })
    }

    /// The e2e account ([`SERVICE_ACCOUNT`]), or why it is unusable.
    pub fn e2e() -> Result<&'static Account, &'static str> {
        static ACCOUNT: OnceLock<Result<Account, String>> = OnceLock::new();
        ACCOUNT.get_or_init(|| Account::parse(SERVICE_ACCOUNT)).as_ref().map_err(String::as_str)
    }

    /// A JWT of `header` and `claims`, signed RS256 with the account's key (whatever `header`
    /// says).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", B64URL.encode(header.to_string()), B64URL.encode(claims.to_string()));
        let signature = SigningKey::<Sha256>::new(self.private_key.clone()).sign(input.as_bytes());
        format!("{input}.{}", B64URL.encode(signature.to_bytes()))
    }

    /// The assertion a client makes at `now` (Unix seconds): what ai-proxy sends.
    pub fn assertion(&self, now: u64) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.private_key_id});
        let claims = json!({"iss": self.client_email, "scope": SCOPE, "aud": self.token_uri,
            "iat": now, "exp": now + MAX_LIFETIME});
        self.sign(&header, &claims)
    }

    /// The token request body of [`Account::assertion`].
    pub fn token_request(&self, now: u64) -> String {
        format!("grant_type={GRANT_TYPE}&assertion={}", self.assertion(now))
    }
}

/// What a token is, to Vertex AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Valid,
    Expired,
    /// Never issued here.
    Unknown,
}

/// The tokens the endpoint issued and when they expire, shared by the mock's connections.
#[derive(Clone, Default)]
pub struct Tokens {
    issued: Arc<Mutex<HashMap<String, Instant>>>,
    count: Arc<AtomicU64>,
}

impl Tokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.issued.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new token, valid [`EXPIRES_IN`] seconds (expired ones are forgotten an hour after).
    pub fn issue(&self) -> String {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("ya29.mock-{n}");
        let now = Instant::now();
        let mut issued = self.lock();
        issued.retain(|_, expiry| now.saturating_duration_since(*expiry) < Duration::from_secs(3600));
        issued.insert(token.clone(), now + Duration::from_secs(EXPIRES_IN));
        token
    }

    /// What `token` is.
    pub fn state(&self, token: &str) -> TokenState {
        match self.lock().get(token) {
            Some(expiry) if Instant::now() < *expiry => TokenState::Valid,
            Some(_) => TokenState::Expired,
            None => TokenState::Unknown,
        }
    }

    /// How many tokens were issued.
    pub fn issued(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// An OAuth error body.
pub fn error(kind: &str, description: &str) -> Value {
    json!({"error": kind, "error_description": description})
}

/// The error body the endpoint answers a scripted `status` with.
pub fn status_error(status: u16) -> Value {
    match status {
        400 => error("invalid_grant", "Mock: scripted status 400."),
        401 => error("invalid_client", "The OAuth client was not found."),
        403 => error("access_denied", "Mock: scripted status 403."),
        429 => error("rate_limit_exceeded", "Rate limit exceeded."),
        500..=599 => error("internal_failure", "Backend Error"),
        _ => error("invalid_request", &format!("Mock: scripted status {status}.")),
    }
}

/// The form of a token request: its body when the content type is a form, else nothing.
fn form(content_type: Option<&str>, body: &[u8]) -> String {
    let is_form = content_type.is_some_and(|t| {
        t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if is_form {
        String::from_utf8_lossy(body).into_owned()
    } else {
        String::new()
    }
}

fn decode_json(part: &str) -> Option<Value> {
    let bytes = B64URL.decode(part).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}

/// The `iss` of a token request's assertion, unverified (the key the journal records).
pub fn issuer(content_type: Option<&str>, body: &[u8]) -> Option<String> {
    let assertion = query_param(&form(content_type, body), "assertion")?;
    let claims = decode_json(assertion.split('.').nth(1)?)?;
    claims["iss"].as_str().map(str::to_string)
}

const SHORT_LIVED: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

/// Checks `assertion` as Google does at `now` (Unix seconds): the `error` and
/// `error_description` of a bad one.
pub fn verify(assertion: &str, account: &Account, now: u64) -> Result<(), (&'static str, String)> {
    let grant = |description: &str| ("invalid_grant", description.to_string());
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(grant("Invalid JWT: the assertion is not three base64url parts joined by dots."));
    };
    let (Some(head), Some(body)) = (decode_json(header), decode_json(claims)) else {
        return Err(grant("Invalid JWT: the header and claims must be base64url-encoded JSON objects."));
    };
    if body["iss"].as_str() != Some(account.client_email.as_str()) {
        return Err(grant("Invalid grant: account not found"));
    }
    let signed = head["alg"] == "RS256"
        && head["kid"].as_str() == Some(account.private_key_id.as_str())
        && B64URL.decode(signature).ok().and_then(|bytes| Signature::try_from(bytes.as_slice()).ok()).is_some_and(
            |signature| {
                VerifyingKey::<Sha256>::new(account.public_key.clone())
                    .verify(format!("{header}.{claims}").as_bytes(), &signature)
                    .is_ok()
            },
        );
    if !signed {
        return Err(grant("Invalid JWT Signature."));
    }
    if body["aud"].as_str() != Some(account.token_uri.as_str()) {
        return Err(grant(&format!("Invalid JWT: Failed audience check. The right audience is {}", account.token_uri)));
    }
    let timely = match (body["iat"].as_u64(), body["exp"].as_u64()) {
        (Some(iat), Some(exp)) => iat <= now + SKEW && exp > now && exp > iat && exp - iat <= MAX_LIFETIME,
        _ => false,
    };
    if !timely {
        return Err(grant(SHORT_LIVED));
    }
    if !body["scope"].as_str().is_some_and(|s| s.split_whitespace().any(|scope| scope == SCOPE)) {
        return Err(("invalid_scope", "Invalid OAuth scope or ID token audience provided.".to_string()));
    }
    Ok(())
}

/// Answers a token request at `now` (Unix seconds): the status and body.
pub fn exchange(content_type: Option<&str>, body: &[u8], tokens: &Tokens, now: u64) -> (u16, Value) {
    let form = form(content_type, body);
    let grant_type = query_param(&form, "grant_type").unwrap_or_default();
    if grant_type != GRANT_TYPE {
        return (400, error("unsupported_grant_type", &format!("Invalid grant_type: {grant_type}")));
    }
    let Some(assertion) = query_param(&form, "assertion").filter(|a| !a.is_empty()) else {
        return (400, error("invalid_request", "Missing required parameter: assertion"));
    };
    let account = match Account::e2e() {
        Ok(account) => account,
        Err(why) => return (500, error("internal_failure", &format!("Mock: the service account: {why}"))),
    };
    match verify(&assertion, account, now) {
        Ok(()) => (200, json!({"access_token": tokens.issue(), "expires_in": EXPIRES_IN, "token_type": "Bearer"})),
        Err((kind, description)) => (400, error(kind, &description)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_750_000_000;
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn account() -> &'static Account {
        Account::e2e().unwrap()
    }

    fn claims(now: u64) -> Value {
        json!({"iss": account().client_email, "scope": SCOPE, "aud": account().token_uri,
            "iat": now, "exp": now + 3600})
    }

    fn header() -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": account().private_key_id})
    }

    fn refused(assertion: &str) -> (&'static str, String) {
        verify(assertion, account(), NOW).unwrap_err()
    }

    #[test]
    fn the_e2e_account_signs_what_it_verifies() {
        assert_eq!(account().client_email, "gateway@e2e-project.iam.gserviceaccount.com");
        assert_eq!(account().private_key_id, "e2e0key0id");
        assert_eq!(account().token_uri, "https://oauth2.googleapis.com/token");
        assert_eq!(verify(&account().assertion(NOW), account(), NOW), Ok(()));
        assert_eq!(verify(&account().assertion(NOW + 30), account(), NOW), Ok(()), "clock skew");
    }

    #[test]
    fn bad_signatures_keys_and_algorithms_are_refused() {
        let good = account().assertion(NOW);
        let (head, rest) = good.split_once('.').unwrap();
        let (body, signature) = rest.split_once('.').unwrap();
        // Another payload under the same signature.
        let mut changed = claims(NOW);
        changed["scope"] = json!(format!("{SCOPE} https://www.googleapis.com/auth/other"));
        let forged = format!("{head}.{}.{signature}", B64URL.encode(changed.to_string()));
        assert_eq!(refused(&forged), ("invalid_grant", "Invalid JWT Signature.".to_string()));
        // A signature that is not the key's: one bit changed.
        let mut bytes = B64URL.decode(signature).unwrap();
        bytes[10] ^= 1;
        let flipped = format!("{head}.{body}.{}", B64URL.encode(&bytes));
        assert_eq!(refused(&flipped).1, "Invalid JWT Signature.");
        // Unsigned, the wrong kid, another algorithm.
        assert_eq!(refused(&format!("{head}.{body}.")).1, "Invalid JWT Signature.");
        let wrong_kid = account().sign(&json!({"alg": "RS256", "kid": "other"}), &claims(NOW));
        assert_eq!(refused(&wrong_kid).1, "Invalid JWT Signature.");
        let no_kid = account().sign(&json!({"alg": "RS256", "typ": "JWT"}), &claims(NOW));
        assert_eq!(refused(&no_kid).1, "Invalid JWT Signature.");
        let hs256 = account().sign(&json!({"alg": "HS256", "kid": account().private_key_id}), &claims(NOW));
        assert_eq!(refused(&hs256).1, "Invalid JWT Signature.");
        assert!(refused("not-a-jwt").1.starts_with("Invalid JWT:"));
    }

    #[test]
    fn claims_are_checked() {
        let with = |change: &dyn Fn(&mut Value)| {
            let mut claims = claims(NOW);
            change(&mut claims);
            refused(&account().sign(&header(), &claims))
        };
        assert_eq!(
            with(&|c| c["iss"] = json!("someone@else.iam.gserviceaccount.com")).1,
            "Invalid grant: account not found"
        );
        let aud = with(&|c| c["aud"] = json!("https://www.googleapis.com/oauth2/v4/token"));
        assert_eq!(aud.0, "invalid_grant");
        assert!(aud.1.starts_with("Invalid JWT: Failed audience check."), "{}", aud.1);
        // Expired, from the future, too long, without times.
        let expired = |c: &mut Value| {
            c["iat"] = json!(NOW - 3600);
            c["exp"] = json!(NOW);
        };
        assert_eq!(with(&expired).1, SHORT_LIVED);
        assert_eq!(with(&|c| c["iat"] = json!(NOW + 61)).1, SHORT_LIVED);
        assert_eq!(with(&|c| c["exp"] = json!(NOW + 3601)).1, SHORT_LIVED);
        assert_eq!(with(&|c| c["exp"] = json!("later")).1, SHORT_LIVED);
        assert_eq!(
            with(&|c| c["scope"] = json!("https://www.googleapis.com/auth/devstorage.read_only")),
            ("invalid_scope", "Invalid OAuth scope or ID token audience provided.".to_string())
        );
        let mut scopes = claims(NOW);
        scopes["scope"] = json!(format!("openid {SCOPE}"));
        assert_eq!(verify(&account().sign(&header(), &scopes), account(), NOW), Ok(()), "one of the scopes");
    }

    #[test]
    fn exchanges_issue_tokens_that_expire() {
        let tokens = Tokens::default();
        let body = account().token_request(crate::llm::now());
        let (status, value) = exchange(FORM, body.as_bytes(), &tokens, crate::llm::now());
        assert_eq!(status, 200, "{value}");
        assert_eq!(value, json!({"access_token": "ya29.mock-1", "expires_in": 3599, "token_type": "Bearer"}));
        assert_eq!(tokens.state("ya29.mock-1"), TokenState::Valid);
        assert_eq!(tokens.state("ya29.other"), TokenState::Unknown);
        // Percent-encoded values are the same request.
        let encoded = body.replace(':', "%3A");
        assert_eq!(exchange(FORM, encoded.as_bytes(), &tokens, crate::llm::now()).1["access_token"], "ya29.mock-2");
        assert_eq!(tokens.issued(), 2);
        assert_eq!(issuer(FORM, body.as_bytes()).as_deref(), Some("gateway@e2e-project.iam.gserviceaccount.com"));
        // An expired assertion, a wrong grant, no assertion, JSON instead of a form.
        let (status, value) = exchange(FORM, account().token_request(NOW).as_bytes(), &tokens, NOW + 3600);
        assert_eq!((status, value["error"].clone()), (400, json!("invalid_grant")));
        let (status, value) = exchange(FORM, b"grant_type=client_credentials&assertion=x", &tokens, NOW);
        assert_eq!((status, value), (400, error("unsupported_grant_type", "Invalid grant_type: client_credentials")));
        let (_, value) = exchange(FORM, format!("grant_type={GRANT_TYPE}").as_bytes(), &tokens, NOW);
        assert_eq!(value["error"], "invalid_request");
        let (_, value) = exchange(Some("application/json"), body.as_bytes(), &tokens, NOW);
        assert_eq!(value["error"], "unsupported_grant_type");
        assert_eq!(tokens.issued(), 2);
    }
}
