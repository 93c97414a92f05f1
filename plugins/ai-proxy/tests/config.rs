//! The configuration on the compiled module: errors that name the field, `providers` with
//! `activeProviderId`, rules that switch the provider, model mapping in the configuration's
//! order, and the settings accepted but not applied yet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::testing::request;
use higress_host::Vm;
use serde_json::{json, Value};

#[test]
fn errors_name_the_field() {
    for (config, expected) in [
        (json!({"provider": {"apiTokens": ["k"]}}), "provider.type: missing"),
        (json!({"provider": {"type": "openia"}}), "provider.type: unknown provider type `openia`"),
        (
            json!({"provider": {"type": "hunyuan"}}),
            "provider.type: `hunyuan` is a Higress provider type this module does not implement yet",
        ),
        (
            json!({"provider": {"type": "minimax", "apiTokens": ["k"], "minimaxApiType": "pro"}}),
            "provider.minimaxGroupId: missing: the Pro API (minimaxApiType: pro) needs it",
        ),
        (
            json!({"provider": {"type": "dify", "apiTokens": ["k"], "botType": "Workflow", "inputVariable": "q"}}),
            "provider.outputVariable: missing: a Workflow app needs the variable its answer is in",
        ),
        (json!({"provider": {"type": "deepseek"}}), "provider.apiTokens: no apiToken found"),
        (
            json!({"provider": {"type": "openai", "modelMapping": {"~gpt-(": "x"}}}),
            "provider.modelMapping.~gpt-(: invalid regular expression",
        ),
        (
            json!({"providers": [{"id": "a", "type": "openai"}], "activeProviderId": "b"}),
            "activeProviderId: `b` names no provider",
        ),
        (
            json!({"providers": [{"id": "a", "type": "x"}], "activeProviderId": "a"}),
            "providers[0].type: unknown provider type `x`",
        ),
        (
            json!({"provider": {"type": "azure", "apiTokens": ["k"], "azureServiceUrl": "https://x.com/"}}),
            "provider.azureServiceUrl: has no api-version",
        ),
        (
            json!({"provider": {"type": "openai", "protocol": "anthropic"}}),
            "provider.protocol: `anthropic`: expected openai or original",
        ),
        (json!({"provider": {"type": "openai", "apiTokens": "k"}}), "provider.apiTokens: invalid type"),
        (
            json!({"provider": {"type": "openai", "customSettings": [{"name": "max_tokens"}]}}),
            "provider.customSettings[0].value: missing",
        ),
        (
            json!({"_rules_": [{"_match_domain_": ["a.com"], "provider": {"type": "nope"}}]}),
            "_rules_[0].provider.type: unknown provider type `nope`",
        ),
    ] {
        let line = config_error(config.clone());
        assert!(
            line.contains(&format!("ai-proxy config error: {expected}")),
            "{config}\n  got: {line}\n  expected: {expected}"
        );
    }
}

fn upstream_host(vm: &Vm, host: &str) -> Option<String> {
    let s = post(vm, host, "/v1/chat/completions", &chat_body("m", false));
    s.upstream().header(":authority").map(str::to_string)
}

#[test]
fn the_active_provider_and_rules_that_switch_it() {
    let providers = json!([
        {"id": "ds", "type": "deepseek", "apiTokens": ["k"]},
        {"id": "oa", "type": "openai", "apiTokens": ["k"]}
    ]);
    let vm = vm(json!({
        "providers": providers,
        "activeProviderId": "ds",
        "_rules_": [
            {"_match_domain_": ["openai.gw"], "activeProviderId": "oa"},
            {"_match_domain_": ["off.gw"], "activeProviderId": ""}
        ]
    }));
    assert_eq!(upstream_host(&vm, "any.gw").as_deref(), Some("api.deepseek.com"));
    assert_eq!(upstream_host(&vm, "openai.gw").as_deref(), Some("api.openai.com"));
    assert_eq!(upstream_host(&vm, "off.gw").as_deref(), Some("off.gw"), "no active provider: untouched");

    let vm = self::vm(json!({"providers": providers}));
    let s = post(&vm, "x.gw", "/v1/chat/completions", &chat_body("m", false));
    assert_eq!(s.upstream().header(":authority"), Some("x.gw"));
    assert_eq!(s.upstream().header("authorization"), Some("Bearer client-key"), "an inert plugin changes nothing");
}

#[test]
fn model_mapping_follows_the_configurations_order() {
    // The keys in an order that is not sorted: the regular expressions are tried as written.
    let text = r#"{"provider": {"type": "openai", "apiTokens": ["k"], "modelMapping": {
        "*": "fallback",
        "~^gpt-4(.*)$": "second-$1",
        "~^gpt-(.*)$": "first-$1",
        "gpt-4o-mini": "exact",
        "gpt-*": "short",
        "gpt-4-*": "long"
    }}}"#;
    let vm = Vm::builder(&higress_host::testing::plugin(PLUGIN)).config(text).start().unwrap();
    let model = |asked: &str| -> String {
        let s = post(&vm, "gw", "/v1/chat/completions", &chat_body(asked, false));
        let body: Value = serde_json::from_slice(&s.upstream().body).unwrap();
        body["model"].as_str().unwrap().to_string()
    };
    assert_eq!(model("gpt-4o-mini"), "exact");
    assert_eq!(model("gpt-4-turbo"), "long", "the longest prefix");
    assert_eq!(model("gpt-3.5"), "short");
    assert_eq!(model("claude"), "fallback");
    // No prefix matches `o1`; of the two regular expressions the one written first wins.
    let text = text.replace("\"gpt-*\": \"short\",", "").replace("\"gpt-4-*\": \"long\"", "\"x*\": \"x\"");
    let vm2 = Vm::builder(&higress_host::testing::plugin(PLUGIN)).config(text).start().unwrap();
    let s = post(&vm2, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let body: Value = serde_json::from_slice(&s.upstream().body).unwrap();
    assert_eq!(body["model"], "second-o", "`~^gpt-4(.*)$` comes first in the config");
}

#[test]
fn failover_and_retry_settings_are_checked_field_by_field() {
    for (config, expected) in [
        (json!({"failover": {"enabled": true}}), "provider.failover.healthCheckModel: missing"),
        (json!({"failover": "on"}), "provider.failover: expected an object"),
        (
            json!({"failover": {"enabled": true, "healthCheckModel": "m", "failureThreshold": "3"}}),
            "provider.failover.failureThreshold: expected a positive integer",
        ),
        (
            json!({"failover": {"enabled": true, "healthCheckModel": "m", "failoverOnStatus": ["5(.*"]}}),
            "provider.failover.failoverOnStatus[0]: `5(.*`",
        ),
        (json!({"retryOnFailure": {"enabled": true, "maxRetries": -1}}), "provider.retryOnFailure.maxRetries"),
        (json!({"retryOnFailure": {"enabled": true, "retryOnStatus": "5.*"}}), "provider.retryOnFailure.retryOnStatus"),
    ] {
        let mut provider = json!({"type": "openai", "apiTokens": ["k"]});
        for (key, value) in config.as_object().unwrap() {
            provider[key] = value.clone();
        }
        let line = config_error(json!({ "provider": provider }));
        assert!(line.contains(expected), "{config}: {line}");
    }
    // Switched off, they are not checked further (as Higress).
    let vm = provider(json!({"type": "openai", "apiTokens": ["k"], "failover": {"enabled": false}}));
    assert!(vm.logged("plugin start successfully"));
}

#[test]
fn custom_settings_fill_or_override() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"], "customSettings": [
        {"name": "max_tokens", "value": 100},
        {"name": "temperature", "value": 0.2, "overwrite": false},
        {"name": "top_k", "value": 5},
        {"name": "extra.flag", "value": true, "mode": "raw"}
    ]}));
    let body = json!({"model": "m", "messages": [], "max_tokens": 9, "temperature": 1});
    let (_, sent) = sent(&post(&vm, "gw", "/v1/chat/completions", &body));
    assert_eq!(sent["max_tokens"], 100);
    assert_eq!(sent["temperature"], 1);
    assert!(sent.get("top_k").is_none(), "top_k has no place in OpenAI's protocol");
    assert_eq!(sent["extra"], json!({"flag": true}));
}

#[test]
fn base_paths() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"], "basePath": "/llm"}));
    let s = request("GET", "gw", "/llm/v1/models").send(&vm);
    assert_eq!(s.upstream().header(":path"), Some("/v1/models"));
    let vm = provider(
        json!({"type": "generic", "basePath": "/llm", "basePathHandling": "prepend", "providerBasePath": "/p"}),
    );
    let s = request("GET", "gw", "/v1/models").send(&vm);
    assert_eq!(s.upstream().header(":path"), Some("/p/llm/v1/models"));
}

#[test]
fn the_context_file_is_fetched_once_and_put_before_the_conversation() {
    let env = higress_host::Env::new();
    let vm = Vm::builder(&higress_host::testing::plugin(PLUGIN))
        .env(&env)
        .config_json(&json!({"provider": {"type": "deepseek", "apiTokens": ["k"],
            "context": {"fileUrl": "http://files.local/ctx.txt", "serviceName": "files.static", "servicePort": 80}}}))
        .start()
        .unwrap();
    let body =
        json!({"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]});
    let s = post(&vm, "gw", "/v1/chat/completions", &body);
    assert!(s.upstream().headers.is_none(), "the request waits for the file");
    let calls = vm.take_new_http_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].cluster, "outbound|80||files.static");
    assert_eq!(calls[0].headers.get(":path"), Some("/ctx.txt"));
    assert_eq!(calls[0].headers.get(":authority"), Some("files.local"));
    vm.respond_http_call(calls[0].token, higress_host::HttpResponse::new(200, &[], "Known facts.")).unwrap();
    let (_, first) = sent(&s);
    assert_eq!(first["messages"][1], json!({"role": "system", "content": "Known facts."}));
    assert_eq!(first["messages"][2]["role"], "user");
    // The second request uses the copy.
    let s = post(&vm, "gw", "/v1/chat/completions", &body);
    assert!(vm.take_new_http_calls().is_empty());
    assert_eq!(sent(&s).1["messages"][1]["content"], "Known facts.");

    let vm = Vm::builder(&higress_host::testing::plugin(PLUGIN))
        .env(&env)
        .config_json(&json!({"provider": {"type": "claude", "apiTokens": ["k"],
            "context": {"fileUrl": "http://files.local/ctx.txt", "serviceName": "files.static", "servicePort": 80}}}))
        .start()
        .unwrap();
    let s = post(&vm, "gw", "/v1/chat/completions", &body);
    let call = vm.take_new_http_calls().remove(0);
    vm.respond_http_call(call.token, higress_host::HttpResponse::new(404, &[], "")).unwrap();
    let local = s.local_response().unwrap();
    assert_eq!((local.status, local.details.as_str()), (500, "ai-proxy.claude.load_ctx_failed"));
}
