//! Client-side credentials for the auth plugins: HMAC request signatures (hmac-auth's
//! Aliyun-style scheme) and JWTs signed with the jwt-auth tests' keys. The suite and the
//! demo commands `make run` prints both use them.

use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;
use sha2::Sha256;
use std::path::{Path, PathBuf};

/// The workspace this crate was built in.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The jwt-auth test keys (`plugins/jwt-auth/tests/keys`), which `e2e/config` trusts.
fn key_file(name: &str) -> Result<Vec<u8>, String> {
    let path = workspace_root().join("plugins/jwt-auth/tests/keys").join(name);
    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A JWT signed with key `kid` (`ed-1` EdDSA, `rsa-1` RS256, `hs-1` HS256).
pub fn jwt(kid: &str, claims: &Value) -> Result<String, String> {
    let (algorithm, key) = match kid {
        "ed-1" => (Algorithm::EdDSA, EncodingKey::from_ed_pem(&key_file("ed-1.pem")?).map_err(|e| e.to_string())?),
        "rsa-1" => (Algorithm::RS256, EncodingKey::from_rsa_pem(&key_file("rsa-1.pem")?).map_err(|e| e.to_string())?),
        "hs-1" => (Algorithm::HS256, EncodingKey::from_secret(&key_file("hs-1.secret")?)),
        other => return Err(format!("no e2e key `{other}`")),
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).map_err(|e| e.to_string())
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// A request to sign for hmac-auth.
#[derive(Debug, Clone, Default)]
pub struct HmacRequest {
    /// Method.
    pub method: String,
    /// Path with query (parameters are signed sorted and decoded; keep them unencoded here).
    pub path: String,
    /// Headers sent as they are; `accept`, `content-md5`, `content-type` and `date` among
    /// them are part of the string to sign.
    pub headers: Vec<(String, String)>,
    /// Further headers that are listed in `x-ca-signature-headers` and signed.
    pub signed_headers: Vec<(String, String)>,
}

impl HmacRequest {
    fn get(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map_or("", |(_, v)| v.as_str())
    }

    /// hmac-auth's string to sign.
    pub fn string_to_sign(&self) -> String {
        let mut text = String::new();
        for part in [
            self.method.as_str(),
            self.get("accept"),
            self.get("content-md5"),
            self.get("content-type"),
            self.get("date"),
        ] {
            text.push_str(part);
            text.push('\n');
        }
        let mut signed: Vec<(String, &str)> =
            self.signed_headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.as_str())).collect();
        signed.sort();
        for (name, value) in signed {
            text.push_str(&format!("{name}:{value}\n"));
        }
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        text.push_str(path);
        let mut params: Vec<(&str, &str)> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !params.iter().any(|(seen, _)| *seen == k) {
                params.push((k, v));
            }
        }
        params.sort();
        if !params.is_empty() {
            let joined: Vec<String> =
                params.iter().map(|(k, v)| if v.is_empty() { k.to_string() } else { format!("{k}={v}") }).collect();
            text.push('?');
            text.push_str(&joined.join("&"));
        }
        text
    }

    /// Every header to send: the given ones, the signed ones, `x-ca-key`, the signature and,
    /// with signed headers, `x-ca-signature-headers`.
    pub fn sign(&self, key: &str, secret: &str) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        headers.extend(self.signed_headers.iter().cloned());
        headers.push(("x-ca-key".into(), key.into()));
        headers.push(("x-ca-signature".into(), hmac_sha256(secret, &self.string_to_sign())));
        if !self.signed_headers.is_empty() {
            let names: Vec<&str> = self.signed_headers.iter().map(|(n, _)| n.as_str()).collect();
            headers.push(("x-ca-signature-headers".into(), names.join(",")));
        }
        headers
    }
}

/// Base64 of HMAC-SHA256.
pub fn hmac_sha256(secret: &str, text: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// An HTTP date for now (`Date` header).
pub fn http_date() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_follows_the_hmac_auth_scheme() {
        let request = HmacRequest {
            method: "POST".into(),
            path: "/p/q?b=2&a=1&a=9&empty=".into(),
            headers: vec![("Content-Type".into(), "application/json".into()), ("date".into(), "D".into())],
            signed_headers: vec![("X-Ca-Nonce".into(), "n".into()), ("x-b".into(), "v".into())],
        };
        assert_eq!(request.string_to_sign(), "POST\n\n\napplication/json\nD\nx-b:v\nx-ca-nonce:n\n/p/q?a=1&b=2&empty");
        let headers = request.sign("key", "secret");
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["Content-Type", "date", "X-Ca-Nonce", "x-b", "x-ca-key", "x-ca-signature", "x-ca-signature-headers"]
        );
        assert_eq!(
            hmac_sha256("key", "The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
        );
    }

    #[test]
    fn tokens_carry_the_key_id() {
        let token = jwt("hs-1", &serde_json::json!({"sub": "s"})).unwrap_or_default();
        let header = token.split('.').next().unwrap_or_default();
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap_or_default();
        let header: Value = serde_json::from_slice(&decoded).unwrap_or_default();
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("HS256"), Some("hs-1")));
        assert!(jwt("nope", &serde_json::json!({})).is_err());
    }
}
