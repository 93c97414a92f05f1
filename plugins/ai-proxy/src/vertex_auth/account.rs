//! A Google service account: its JSON key read once at start, and the signed JWT (RS256)
//! exchanged for an access token at its `token_uri` (the OAuth 2.0 JWT bearer grant).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

/// The scope every Vertex call needs.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// How long an assertion is valid (Google's maximum).
const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// The fields of a service account's JSON key that the token exchange needs.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(default)]
    client_email: String,
    #[serde(default)]
    private_key_id: String,
    #[serde(default)]
    private_key: String,
    #[serde(default)]
    token_uri: String,
}

/// A service account ready to sign assertions.
pub struct Account {
    email: String,
    key_id: String,
    /// Where the assertion is exchanged (`https://oauth2.googleapis.com/token`): its audience.
    pub token_uri: String,
    key: SigningKey<Sha256>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Account").field("email", &self.email).field("token_uri", &self.token_uri).finish()
    }
}

impl Account {
    /// Reads a service account's JSON key; the error says what is wrong with it.
    pub fn parse(json_key: &str) -> Result<Account, String> {
        let file: KeyFile =
            serde_json::from_str(json_key).map_err(|e| format!("not a service account's JSON key: {e}"))?;
        for (name, value) in
            [("client_email", &file.client_email), ("private_key", &file.private_key), ("token_uri", &file.token_uri)]
        {
            if value.trim().is_empty() {
                return Err(format!("the service account key has no `{name}`"));
            }
        }
        let key = RsaPrivateKey::from_pkcs8_pem(file.private_key.trim())
            .map_err(|e| format!("`private_key` is not an RSA key in PKCS#8 PEM: {e}"))?;
        Ok(Account {
            email: file.client_email,
            key_id: file.private_key_id,
            token_uri: file.token_uri,
            key: SigningKey::<Sha256>::new(key),
        })
    }

    /// A signed assertion for the token exchange, issued at `now` (Unix seconds).
    pub fn assertion(&self, now: u64) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.key_id});
        let claims = json!({
            "iss": self.email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let mut jwt = URL_SAFE_NO_PAD.encode(header.to_string());
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self.key.sign(jwt.as_bytes()).to_bytes();
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
        jwt
    }

    /// The form body of the token request.
    pub fn token_request(&self, now: u64) -> String {
        ["grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=", &self.assertion(now)].concat()
    }
}
