//! A reply of a rule: `status_code`, `headers` (`key=value`) and `body`, with the
//! `content-type` Go derives.

use higress_sdk::prelude::*;

const JSON: &str = "application/json; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// A reply, ready to send.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    status: u32,
    /// Configured headers in order, then `content-type` (when there is one).
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    /// Builds a reply; errors are relative to the rule (`headers[1]`, `status_code`).
    /// `content-length` entries are dropped (the proxy sets it); `content-type` defaults to
    /// JSON when the body parses as JSON, else plain text.
    pub fn new(status: Option<&str>, headers: &[String], body: String) -> Result<Reply, ConfigError> {
        let status = match status {
            None => 200,
            Some(text) => match text.parse::<u32>() {
                Ok(code) if (100..=599).contains(&code) => code,
                _ => return Err(ConfigError::at("status_code", format!("`{text}` is not a status code (100 to 599)"))),
            },
        };
        let mut content_type = None;
        let mut pairs = Vec::with_capacity(headers.len() + 1);
        for (i, header) in headers.iter().enumerate() {
            let at = || format!("headers[{i}]");
            let Some((key, value)) = header.split_once('=') else {
                return Err(ConfigError::at(
                    at(),
                    format!("invalid header pair format: `{header}` (expected key=value)"),
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() || !key.bytes().all(is_token) {
                return Err(ConfigError::at(at(), format!("`{key}` is not a header name")));
            }
            if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(ConfigError::at(at(), "a header value cannot contain CR, LF or NUL"));
            }
            if key.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.to_string());
            } else if !key.eq_ignore_ascii_case("content-length") {
                pairs.push((key.to_string(), value.to_string()));
            }
        }
        let content_type = content_type.or_else(|| match body.as_str() {
            // Go sends an empty content-type here; none is sent instead.
            "" => None,
            // Parsed as a `Value`: the SDK parses configs so, no second JSON parser in the module.
            json if serde_json::from_slice::<serde_json::Value>(json.as_bytes()).is_ok() => Some(JSON.to_string()),
            _ => Some(TEXT.to_string()),
        });
        if let Some(content_type) = content_type {
            pairs.push(("content-type".to_string(), content_type));
        }
        Ok(Reply { status, headers: pairs, body })
    }

    /// Answers the stream with this reply.
    pub fn send(&self, http: &mut Http, details: &str) {
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        http.send_local_response(self.status, details, &headers, self.body.as_bytes());
    }
}

/// A `tchar` of RFC 9110: what a header name is made of.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(headers: &[&str], body: &str) -> Reply {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        Reply::new(None, &headers, body.to_string()).unwrap()
    }

    fn pairs(r: &Reply) -> Vec<(&str, &str)> {
        r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn content_type_rules() {
        assert_eq!(pairs(&reply(&["Hello=World"], r#"{"a":1}"#)), [("Hello", "World"), ("content-type", JSON)]);
        assert_eq!(pairs(&reply(&[], "not json")), [("content-type", TEXT)]);
        assert_eq!(
            pairs(&reply(&[" Content-Type = text/html ", "k=v"], "{}")),
            [("k", "v"), ("content-type", "text/html")]
        );
        assert_eq!(pairs(&reply(&["Content-Length=99", "a=b=c", "e="], "")), [("a", "b=c"), ("e", "")]);
        assert_eq!(reply(&[], "").status, 200);
    }

    #[test]
    fn bad_headers_and_codes() {
        let err = |status: Option<&str>, headers: &[&str]| {
            let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
            Reply::new(status, &headers, String::new()).unwrap_err().to_string()
        };
        assert!(err(None, &["ok=1", "novalue"]).starts_with("headers[1]: invalid header pair format"));
        assert!(err(None, &["=v"]).starts_with("headers[0]: `` is not a header name"));
        assert!(err(None, &["a b=v"]).starts_with("headers[0]: `a b` is not a header name"));
        assert!(err(None, &["a=x\r\ny: z"]).starts_with("headers[0]: a header value cannot contain"));
        assert!(err(Some("abc"), &[]).starts_with("status_code: `abc` is not a status code"));
        assert!(err(Some("99"), &[]).starts_with("status_code:"));
        assert!(err(Some("600"), &[]).starts_with("status_code:"));
    }
}
