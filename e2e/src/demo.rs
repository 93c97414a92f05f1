//! The requests `make run` prints as curl commands: one or two per plugin, each with the
//! status it gets. The suite sends every one of them (`demo_commands_work`), so the printed
//! commands are known to work.

use crate::sign::{http_date, jwt, now, HmacRequest};
use base64::Engine;
use serde_json::json;

/// One demo request.
#[derive(Debug, Clone)]
pub struct DemoRequest {
    /// What it shows.
    pub title: String,
    /// Method.
    pub method: &'static str,
    /// Virtual host (one per plugin in `e2e/config`).
    pub host: &'static str,
    /// Path with query.
    pub path: String,
    /// Headers besides `Host`.
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Option<String>,
    /// The status it gets.
    pub status: u16,
}

impl DemoRequest {
    fn new(title: &str, method: &'static str, host: &'static str, path: &str, status: u16) -> DemoRequest {
        DemoRequest { title: title.into(), method, host, path: path.into(), headers: Vec::new(), body: None, status }
    }

    fn header(mut self, name: &str, value: &str) -> DemoRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn body(mut self, body: &str) -> DemoRequest {
        self.body = Some(body.into());
        self
    }

    /// The curl command that sends it to the gateway at `address` (`127.0.0.1:8080`).
    pub fn curl(&self, address: &str) -> String {
        let mut parts = vec!["curl -sS -i".to_string()];
        if self.body.is_some() && (self.host == "llm.e2e.local" || self.host.starts_with("ai-proxy")) {
            parts.push("-N".into());
        }
        let implied = if self.body.is_some() { "POST" } else { "GET" };
        if self.method != implied {
            parts.push(format!("-X {}", self.method));
        }
        parts.push(format!("-H {}", quote(&format!("Host: {}", self.host))));
        for (name, value) in &self.headers {
            parts.push(format!("-H {}", quote(&format!("{name}: {value}"))));
        }
        if let Some(body) = &self.body {
            parts.push(format!("--data-raw {}", quote(body)));
        }
        parts.push(quote(&format!("http://{address}{}", self.path)));
        parts.join(" ")
    }
}

/// Single-quotes `text` for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The demo requests, with fresh credentials (JWTs valid for a day, HMAC dated now).
pub fn requests() -> Result<Vec<DemoRequest>, String> {
    let basic = |c: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(c));
    let token = jwt("ed-1", &json!({"iss": "https://e2e.example", "sub": "demo-user", "exp": now() + 86_400}))?;
    let signed = HmacRequest {
        method: "GET".into(),
        path: "/orders?page=1".into(),
        headers: vec![("accept".into(), "application/json".into()), ("date".into(), http_date())],
        signed_headers: Vec::new(),
    };
    let mut hmac = DemoRequest::new(
        "hmac-auth: a signed request (valid for 15 minutes)",
        "GET",
        "hmac-auth.e2e.local",
        "/orders?page=1",
        200,
    );
    for (name, value) in signed.sign("e2e-app-key-1", "e2e-app-secret-1") {
        hmac = hmac.header(&name, &value);
    }
    let chat = r#"{"model":"mock-gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello through the gateway"}]}"#;
    Ok(vec![
        DemoRequest::new(
            "hello-world: the echo upstream sees x-hello-world and x-request-body-bytes",
            "POST",
            "hello-world.e2e.local",
            "/anything",
            200,
        )
        .body("hi"),
        DemoRequest::new("hello-world: the gateway answers by itself", "GET", "hello-reply.e2e.local", "/", 200),
        DemoRequest::new("key-auth: no key -> 401", "GET", "key-auth.e2e.local", "/", 401),
        DemoRequest::new(
            "key-auth: a key in a header -> 200, X-Mse-Consumer: consumer1 upstream",
            "GET",
            "key-auth.e2e.local",
            "/",
            200,
        )
        .header("x-api-key", "e2e-key-consumer1"),
        DemoRequest::new(
            "key-auth: /admin allows consumer2 only -> 403",
            "GET",
            "key-auth.e2e.local",
            "/admin?apikey=e2e-key-consumer1",
            403,
        ),
        DemoRequest::new("basic-auth: user and password -> 200", "GET", "basic-auth.e2e.local", "/", 200)
            .header("authorization", &basic("admin:123456")),
        DemoRequest::new("basic-auth: a consumer not allowed here -> 403", "GET", "basic-auth.e2e.local", "/", 403)
            .header("authorization", &basic("guest:abc")),
        DemoRequest::new(
            "jwt-auth: an EdDSA token -> 200, x-user-id from the sub claim",
            "GET",
            "jwt-auth.e2e.local",
            "/profile",
            200,
        )
        .header("authorization", &format!("Bearer {token}")),
        DemoRequest::new("jwt-auth: no token -> 403", "GET", "jwt-auth.e2e.local", "/profile", 403),
        hmac,
        DemoRequest::new(
            "redis-counter: x-request-count counts in Redis (limit 3 per minute -> 429)",
            "GET",
            "redis-counter.e2e.local",
            "/",
            200,
        )
        .header("x-counter-key", &format!("demo-{}", now())),
        DemoRequest::new(
            "LLM mock: a streamed chat completion (SSE passes through chunk by chunk)",
            "POST",
            "llm.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("authorization", "Bearer sk-demo")
        .header("content-type", "application/json")
        .body(chat),
        DemoRequest::new(
            "key-rate-limit: key `demo` may pass once a minute",
            "GET",
            "key-rate-limit.e2e.local",
            "/",
            200,
        )
        .header("x-ca-key", "demo"),
        DemoRequest::new(
            "key-rate-limit: a second time within the minute, 429 Too many requests",
            "GET",
            "key-rate-limit.e2e.local",
            "/",
            429,
        )
        .header("x-ca-key", "demo"),
        DemoRequest::new(
            "cluster-key-rate-limit: key `demo` may pass twice a minute (counted in Redis)",
            "GET",
            "cluster-key-rate-limit.e2e.local",
            "/",
            200,
        )
        .header("x-ca-key", "demo"),
        DemoRequest::new(
            "ai-token-ratelimit: 20 tokens a minute per x-api-key; this reply spends 11",
            "POST",
            "ai-token-ratelimit.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("x-api-key", "demo")
        .header("authorization", "Bearer sk-demo")
        .header("content-type", "application/json")
        .body(r#"{"model":"mock-gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"count to three"}]}"#),
        DemoRequest::new(
            "transformer: headers and query rewritten (upstream: /get?k2-new=v2&k3=v31, x-renamed, x-add-append)",
            "GET",
            "transformer.e2e.local",
            "/get?k1=v11&k2=v2",
            200,
        )
        .header("x-not-renamed", "test")
        .header("x-remove", "gone"),
        DemoRequest::new(
            "transformer: a JSON body rewritten (password masked, user.name -> user.login, x-user-id from user.id)",
            "POST",
            "transformer.e2e.local",
            "/login",
            200,
        )
        .header("content-type", "application/json")
        .body(r#"{"user":{"id":7,"name":"ann"},"password":"secret"}"#),
        DemoRequest::new(
            "transformer: the JSON answer rewritten (method -> verb, headers removed, transformed: true)",
            "GET",
            "transformer-response.e2e.local",
            "/",
            200,
        ),
        DemoRequest::new(
            "request-block: /swagger.html is a blocked URL, 403 blocked by request-block",
            "GET",
            "request-block.e2e.local",
            "/docs/Swagger.html",
            403,
        ),
        DemoRequest::new(
            "request-block: a body containing `hello world` (any case) is blocked",
            "POST",
            "request-block.e2e.local",
            "/foo",
            403,
        )
        .body("say Hello World"),
        DemoRequest::new(
            "request-block: other requests pass to the upstream",
            "POST",
            "request-block.e2e.local",
            "/foo",
            200,
        )
        .body("hello higress"),
        DemoRequest::new(
            "custom-response: every request on this domain gets the mock reply",
            "GET",
            "custom-response.e2e.local",
            "/",
            200,
        ),
        DemoRequest::new(
            "custom-response: the upstream's 429 becomes a 302 redirect",
            "GET",
            "custom-response-status.e2e.local",
            "/status/429",
            302,
        ),
        DemoRequest::new(
            "custom-response: basic-auth's 401 is replaced by a JSON reply",
            "GET",
            "custom-response-auth.e2e.local",
            "/",
            200,
        ),
        DemoRequest::new(
            "cors: a preflight from an allowed origin -> 204 with Access-Control-Allow-*",
            "OPTIONS",
            "cors.e2e.local",
            "/api",
            204,
        )
        .header("origin", "http://app.e2e.test")
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "Content-Type"),
        DemoRequest::new(
            "cors: a request from an allowed origin -> 200, Access-Control-Allow-Origin echoed",
            "GET",
            "cors.e2e.local",
            "/api",
            200,
        )
        .header("origin", "http://web.clients.e2e.test:8080"),
        DemoRequest::new(
            "ip-restriction: X-Forwarded-For in the deny list -> 403 {\"message\": ...}",
            "GET",
            "ip-restriction.e2e.local",
            "/",
            403,
        )
        .header("x-forwarded-for", "192.0.2.10"),
        DemoRequest::new(
            "ip-restriction: any other address -> 200",
            "GET",
            "ip-restriction.e2e.local",
            "/",
            200,
        )
        .header("x-forwarded-for", "198.51.100.8"),
        DemoRequest::new(
            "ext-auth: the auth service allows Bearer good; the upstream sees its x-user-id",
            "GET",
            "ext-auth.e2e.local",
            "/orders?page=1",
            200,
        )
        .header("authorization", crate::auth::GOOD_TOKEN),
        DemoRequest::new(
            "ext-auth: any other credential gets the auth service's 401 and www-authenticate",
            "GET",
            "ext-auth.e2e.local",
            "/orders",
            401,
        )
        .header("authorization", "Bearer wrong"),
        DemoRequest::new(
            "ext-auth: forward_auth mode, the request described in x-forwarded-* headers",
            "DELETE",
            "ext-auth-forward.e2e.local",
            "/orders/7",
            200,
        )
        .header("authorization", crate::auth::GOOD_TOKEN),
        DemoRequest::new(
            "ext-auth: the auth service fails (503); failure_mode_allow lets the request through",
            "GET",
            "ext-auth-open.e2e.local",
            "/auth-fail",
            200,
        ),
        DemoRequest::new(
            "ai-proxy: an OpenAI client to Claude, streamed (Anthropic's events come back as OpenAI chunks)",
            "POST",
            "ai-proxy-claude.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("content-type", "application/json")
        .body(r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"count to three"}]}"#),
        DemoRequest::new(
            "ai-proxy: a Claude client to an OpenAI-protocol provider, streamed (OpenAI chunks come back as Anthropic events)",
            "POST",
            "ai-proxy-openai.e2e.local",
            "/v1/messages",
            200,
        )
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(r#"{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"count to three"}]}"#),
        DemoRequest::new(
            "ai-proxy: an OpenAI client to Gemini, a tool called (Gemini's functionCall comes back as tool_calls)",
            "POST",
            "ai-proxy-gemini.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("content-type", "application/json")
        .body(r#"{"model":"gpt-4o","messages":[{"role":"user","content":"please call lookup the weather in Paris"}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]}"#),
        DemoRequest::new(
            "ai-proxy: an OpenAI client to Vertex AI with a service account (the gateway signs an assertion and exchanges it for a token once)",
            "POST",
            "ai-proxy-vertex.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("content-type", "application/json")
        .body(r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}"#),
        DemoRequest::new(
            "ai-proxy: an OpenAI client to Bedrock, streamed (signed with SigV4; AWS's binary event stream comes back as OpenAI chunks)",
            "POST",
            "ai-proxy-bedrock.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("content-type", "application/json")
        .body(r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"count to three"}]}"#),
        DemoRequest::new(
            "ai-proxy: OpenAI's Responses API to a chat-only provider (translated to chat completions and back)",
            "POST",
            "ai-proxy-deepseek.e2e.local",
            "/v1/responses",
            200,
        )
        .header("content-type", "application/json")
        .body(r#"{"model":"gpt-4o","instructions":"be brief","input":"count to three"}"#),
        DemoRequest::new(
            "ai-proxy: fallback - the provider in use fails (the mock is asked for a 503), Claude answers instead",
            "POST",
            "ai-proxy-fallback.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("content-type", "application/json")
        .header("x-mock-status", "503")
        .body(r#"{"model":"gpt-4o","messages":[{"role":"user","content":"are you there"}]}"#),
        DemoRequest::new(
            "ai-proxy: an OpenAI client to an OpenAI-protocol provider (model mapped, the gateway's key)",
            "POST",
            "ai-proxy-openai.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("content-type", "application/json")
        .body(r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}"#),
        DemoRequest::new(
            "ai-statistics: a chat of consumer `demo` counted (its tokens then show on the metrics page printed above, ai_consumer=\"demo\"; the access log has its ai_log)",
            "POST",
            "ai-proxy-openai.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("content-type", "application/json")
        .header("x-mse-consumer", "demo")
        .body(r#"{"model":"gpt-4o","messages":[{"role":"user","content":"count to three"}]}"#),
        DemoRequest::new(
            "ai-cache: asked twice, the second answer comes from Redis (\"id\":\"from-cache\", no trip to the LLM)",
            "POST",
            "ai-cache.e2e.local",
            "/v1/chat/completions",
            200,
        )
        .header("authorization", "Bearer sk-demo")
        .header("content-type", "application/json")
        .body(r#"{"model":"mock-gpt-4o","messages":[{"role":"user","content":"what is a cache?"}]}"#),
        // make new-plugin: demos above this line
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_commands_are_shell_safe() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        let demo = DemoRequest::new("t", "POST", "h.test", "/p?q=1", 200).header("x-a", "b c").body("{\"k\": 'v'}");
        assert_eq!(
            demo.curl("127.0.0.1:8080"),
            r#"curl -sS -i -H 'Host: h.test' -H 'x-a: b c' --data-raw '{"k": '\''v'\''}' 'http://127.0.0.1:8080/p?q=1'"#
        );
        let put = DemoRequest::new("t", "PUT", "h.test", "/", 200);
        assert_eq!(put.curl("a:1"), "curl -sS -i -X PUT -H 'Host: h.test' 'http://a:1/'");
    }
}
