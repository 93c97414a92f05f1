//! Anthropic requests: read into the model from fixtures shaped as Anthropic's API reference
//! documents them, and written from the model as an OpenAI client's conversation becomes it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_ai::anthropic::{read_request, write_request};
use higress_ai::chat::{ImageSource, Message, Params, Part, Reasoning, Request, Role, Tool, ToolChoice};
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let text = match name {
        "request_agent" => include_str!("fixtures/anthropic/request_agent.json"),
        "request_extract" => include_str!("fixtures/anthropic/request_extract.json"),
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

fn text(text: &str) -> Part {
    Part::Text { text: text.into(), cache: None }
}

fn cached(text: &str, cache: Value) -> Part {
    Part::Text { text: text.into(), cache: Some(cache) }
}

fn call(id: &str, name: &str, arguments: &str) -> Part {
    Part::ToolCall { id: id.into(), name: name.into(), arguments: arguments.into() }
}

fn message(role: Role, parts: Vec<Part>) -> Message {
    Message { role, parts, name: None }
}

fn arguments(part: &Part) -> Value {
    match part {
        Part::ToolCall { arguments, .. } => serde_json::from_str(arguments).unwrap(),
        other => panic!("not a tool call: {other:?}"),
    }
}

#[test]
fn claude_code_request_is_read_whole() {
    let request = read_request(&fixture("request_agent")).unwrap();
    assert_eq!(request.model, "claude-sonnet-4-5-20250929");
    assert!(request.stream);
    // Every system block, in order, with its cache_control; the billing line without `cch`.
    assert_eq!(
        request.system,
        vec![
            text("x-anthropic-billing-header: cc_version=2.0.14.3a3; cc_entrypoint=cli;"),
            cached("You are Claude Code, Anthropic's official CLI for Claude.", json!({"type": "ephemeral"})),
            cached(
                "Working directory: /home/dev/shop\nIs directory a git repo: Yes",
                json!({"type": "ephemeral", "ttl": "1h"})
            ),
        ]
    );
    assert_eq!(request.messages.len(), 3);

    // The document is dropped; both image sources are kept.
    let first = &request.messages[0];
    assert_eq!(first.role, Role::User);
    assert_eq!(
        first.parts,
        vec![
            text("Why does the checkout test fail? The CI screenshot is attached."),
            Part::Image {
                source: ImageSource::Base64 {
                    media_type: "image/png".into(),
                    data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
                        .into(),
                },
                cache: None,
            },
            Part::Image { source: ImageSource::Url("https://ci.example.com/artifacts/1234/diff.png".into()), cache: None },
        ]
    );

    // Thinking keeps its signature, redacted thinking is dropped, tool inputs become JSON text.
    let second = &request.messages[1];
    assert_eq!(second.role, Role::Assistant);
    assert_eq!(second.parts.len(), 4);
    assert_eq!(
        second.parts[0],
        Part::Reasoning {
            text: "The user wants the cause of a failing test. I should read the test and run it.".into(),
            signature: Some(
                "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxZXa3X4Z2Y2X1V0Zz0iMKq1x9h0K7KxPqZ8y5bM3k2e9VbT5wQ==".into()
            ),
        }
    );
    assert_eq!(second.parts[1], text("Let me look at the test and run it."));
    assert!(
        matches!(&second.parts[2], Part::ToolCall { id, name, .. } if id == "toolu_01A09q90qw90lq917835lq9" && name == "Read")
    );
    assert_eq!(arguments(&second.parts[2]), json!({"file_path": "/home/dev/shop/src/checkout.test.ts", "limit": 200}));
    assert!(matches!(&second.parts[3], Part::ToolCall { name, .. } if name == "Bash"));
    assert_eq!(arguments(&second.parts[3]), json!({"command": "npm test -- checkout", "timeout": 120000}));

    // Tool results: string content, block content with an image, is_error; then the text.
    let third = &request.messages[2];
    assert_eq!(
        third.parts,
        vec![
            Part::ToolResult {
                call_id: "toolu_01A09q90qw90lq917835lq9".into(),
                content: vec![text(
                    "1\timport { checkout } from './checkout';\n2\ttest('total', () => expect(checkout(cart).items).toHaveLength(2));"
                )],
                is_error: false,
            },
            Part::ToolResult {
                call_id: "toolu_01B7v3Jm4Xg2kP8sWq5nR1tY".into(),
                content: vec![
                    text("Exit code 1\nExpected length: 2\nReceived length: 3"),
                    Part::Image {
                        source: ImageSource::Url("https://ci.example.com/artifacts/1234/run.png".into()),
                        cache: None
                    },
                ],
                is_error: true,
            },
            cached("Focus on the cart total.", json!({"type": "ephemeral"})),
        ]
    );

    // Client tools with schema and cache_control; the server tool (web search) is dropped.
    assert_eq!(request.tools.len(), 2);
    assert_eq!(request.tools[0].name, "Read");
    assert_eq!(request.tools[0].description.as_deref(), Some("Reads a file from the local filesystem."));
    assert_eq!(request.tools[0].parameters["required"], json!(["file_path"]));
    assert_eq!(request.tools[0].parameters["$schema"], json!("http://json-schema.org/draft-07/schema#"));
    assert_eq!(request.tools[0].cache, None);
    assert_eq!(request.tools[1].cache, Some(json!({"type": "ephemeral"})));
    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));

    assert_eq!(
        request.params,
        Params {
            max_tokens: Some(32000),
            temperature: Some(json!(1)),
            top_p: None,
            top_k: None,
            stop: vec![],
            reasoning: Some(Reasoning { effort: None, budget_tokens: Some(31999) }),
            parallel_tool_calls: None,
            user: Some("user_2f5c1d_account_8e1d44_session_0b7e9a11".into()),
            include_usage: Some(true),
            response_format: None,
        }
    );
}

#[test]
fn sampling_and_forced_tool_are_read() {
    let request = read_request(&fixture("request_extract")).unwrap();
    assert_eq!(request.system, vec![text("You extract invoice fields. Answer with the tool only.")]);
    assert_eq!(
        request.messages,
        vec![message(
            Role::User,
            vec![text("Invoice INV-2024-0042 from ACME GmbH, total 1,234.50 EUR, due 2024-07-31.")]
        )]
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::Tool("record_invoice".into())));
    assert!(!request.stream);
    let params = &request.params;
    // temperature 0 survives as the number 0; disable_parallel_tool_use is parallel calls off.
    assert_eq!(params.temperature, Some(json!(0)));
    assert_eq!(params.temperature.as_ref().unwrap().to_string(), "0");
    assert_eq!(params.top_p, Some(json!(0.9)));
    assert_eq!(params.top_k, Some(json!(40)));
    assert_eq!(params.max_tokens, Some(1024));
    assert_eq!(params.stop, vec!["</invoice>".to_string(), "\n\nHuman:".to_string()]);
    assert_eq!(params.parallel_tool_calls, Some(false));
    assert_eq!(params.user, None);
    assert_eq!(params.reasoning, None);
    assert_eq!(params.include_usage, None);
}

#[test]
fn tool_choice_and_thinking_variants() {
    let read = |extra: Value| {
        let mut body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        read_request(&body).unwrap()
    };
    // `any` is required (Go kept "any", which OpenAI has not).
    let any = read(json!({"tool_choice": {"type": "any", "disable_parallel_tool_use": false}}));
    assert_eq!((any.tool_choice, any.params.parallel_tool_calls), (Some(ToolChoice::Required), None));
    let none = read(json!({"tool_choice": {"type": "none"}}));
    assert_eq!(none.tool_choice, Some(ToolChoice::None));
    let auto = read(json!({"tool_choice": {"type": "auto", "disable_parallel_tool_use": true}}));
    assert_eq!((auto.tool_choice, auto.params.parallel_tool_calls), (Some(ToolChoice::Auto), Some(false)));

    assert_eq!(read(json!({"thinking": {"type": "disabled"}})).params.reasoning, None);
    let adaptive = read(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}));
    assert_eq!(adaptive.params.reasoning, Some(Reasoning { effort: Some("high".into()), budget_tokens: None }));
    let budget = read(json!({"thinking": {"type": "enabled", "budget_tokens": 2048}})).params.reasoning.unwrap();
    assert_eq!((budget.budget(), budget.effort()), (2048, "low"));
    // A system string that is empty is no system part; stream true asks OpenAI for usage.
    // Claude Code's billing line loses its per-request `cch` in the string form too.
    let billed = read(json!({"system": "x-anthropic-billing-header: cc_version=2.1.1; cch=9f2e1;"}));
    assert_eq!(billed.system, vec![text("x-anthropic-billing-header: cc_version=2.1.1;")]);
    let streamed = read(json!({"system": "", "stream": true}));
    assert!(streamed.system.is_empty());
    assert_eq!(streamed.params.include_usage, Some(true));
}

#[test]
fn bad_requests_name_the_field() {
    let cases = [
        (json!([]), "request body: expected a JSON object"),
        (json!({"model": "m"}), "messages: expected an array of messages"),
        (json!({"model": 3, "messages": []}), "model: expected a string"),
        (json!({"messages": ["hi"]}), "messages[0]: expected a message object"),
        (json!({"messages": [{"role": "system", "content": "x"}]}), "messages[0].role: expected user or assistant"),
        (
            json!({"messages": [{"role": "user"}]}),
            "messages[0].content: expected a string or an array of content blocks",
        ),
        (
            json!({"messages": [{"role": "user", "content": 7}]}),
            "messages[0].content: expected a string or an array of content blocks",
        ),
        (
            json!({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "text", "text": "b"}, {"type": "video"}]}]}),
            "messages[1].content[1].type: expected text, image, tool_use, tool_result or thinking",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "text"}]}]}),
            "messages[0].content[0].text: expected a string",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]}),
            "messages[0].content[0].tool_use_id: expected a string",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "tool_use"}]}]}]}),
            "messages[0].content[0].content[0].type: expected text or image",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "AA=="}}]}]}),
            "messages[0].content[0].source.media_type: expected a string",
        ),
        (
            json!({"messages": [{"role": "assistant", "content": [{"type": "thinking", "signature": "s"}]}]}),
            "messages[0].content[0].thinking: expected a string",
        ),
        (json!({"messages": [], "system": 5}), "system: expected a string or an array of text blocks"),
        (json!({"messages": [], "system": [{"type": "image"}]}), "system[0].type: expected text"),
        (json!({"messages": [], "tools": [{"name": "f"}]}), "tools[0].input_schema: expected an object"),
        (json!({"messages": [], "tools": [{"input_schema": {}}]}), "tools[0].name: expected a string"),
        (
            json!({"messages": [], "tool_choice": {"type": "function"}}),
            "tool_choice.type: expected auto, any, none or tool",
        ),
        (json!({"messages": [], "tool_choice": {"type": "tool"}}), "tool_choice.name: expected a string"),
        (json!({"messages": [], "tool_choice": "auto"}), "tool_choice: expected an object"),
        (json!({"messages": [], "max_tokens": -1}), "max_tokens: expected a non-negative integer"),
        (json!({"messages": [], "temperature": "0.5"}), "temperature: expected a number"),
        (json!({"messages": [], "top_k": true}), "top_k: expected a number"),
        (json!({"messages": [], "stop_sequences": ["a", 1]}), "stop_sequences[1]: expected a string"),
        (json!({"messages": [], "stream": "yes"}), "stream: expected a boolean"),
        (
            json!({"messages": [], "thinking": {"type": "enabled"}}),
            "thinking.budget_tokens: expected a non-negative integer",
        ),
        (json!({"messages": [], "thinking": {"type": "on"}}), "thinking.type: expected enabled, adaptive or disabled"),
        (json!({"messages": [], "metadata": {"user_id": 5}}), "metadata.user_id: expected a string"),
    ];
    for (body, expected) in cases {
        assert_eq!(read_request(&body).unwrap_err().0, expected, "{body}");
    }
}

#[test]
fn anthropic_request_survives_the_model() {
    // Read and written back, a Claude Code request loses only what the model drops (the
    // document, redacted thinking, the server tool, the billing `cch`) and, thinking being
    // on, the temperature Anthropic refuses with it.
    let written = write_request(&read_request(&fixture("request_agent")).unwrap());
    let mut expected = fixture("request_agent");
    expected["system"][0]["text"] = json!("x-anthropic-billing-header: cc_version=2.0.14.3a3; cc_entrypoint=cli;");
    expected["messages"][0]["content"].as_array_mut().unwrap().remove(3);
    expected["messages"][1]["content"].as_array_mut().unwrap().remove(1);
    expected["tools"].as_array_mut().unwrap().remove(2);
    expected["messages"][2]["content"][0]["content"] =
        json!([{"type": "text", "text": expected["messages"][2]["content"][0]["content"]}]);
    expected.as_object_mut().unwrap().remove("temperature");
    assert_eq!(written, expected);

    let written = write_request(&read_request(&fixture("request_extract")).unwrap());
    let mut expected = fixture("request_extract");
    expected["messages"][0]["content"] = json!([{"type": "text", "text": expected["messages"][0]["content"]}]);
    let fields = expected.as_object_mut().unwrap();
    fields.remove("stream");
    fields.remove("metadata");
    assert_eq!(written, expected);
}

/// What an OpenAI client's agent loop becomes in the model (as the OpenAI adapter reads it).
fn openai_conversation() -> Request {
    Request {
        model: "claude-sonnet-4-5-20250929".into(),
        system: vec![text("You are a shopping assistant."), text("Prices are in EUR.")],
        messages: vec![
            message(Role::User, vec![text("What's in my cart? Also check stock of A1.")]),
            message(
                Role::Assistant,
                vec![
                    Part::Reasoning { text: "Need the cart and the stock.".into(), signature: None },
                    text(""),
                    call("call_Vq8y3", "get_cart", "{}"),
                    call("call_K2p9x", "check_stock", r#"{"sku":"A1""#),
                ],
            ),
            message(
                Role::User,
                vec![Part::ToolResult {
                    call_id: "call_Vq8y3".into(),
                    content: vec![text("2 items")],
                    is_error: false,
                }],
            ),
            message(
                Role::User,
                vec![Part::ToolResult { call_id: "call_K2p9x".into(), content: vec![text("timeout")], is_error: true }],
            ),
            message(Role::User, vec![text("  \n")]),
            message(Role::User, vec![text("Thanks, and the total?")]),
        ],
        tools: vec![
            Tool { name: "get_cart".into(), description: Some("The cart.".into()), parameters: json!({}), cache: None },
            Tool { name: "check_stock".into(), description: None, parameters: Value::Null, cache: None },
        ],
        tool_choice: Some(ToolChoice::Required),
        params: Params {
            max_tokens: None,
            temperature: Some(json!(0)),
            top_p: Some(json!(0.0)),
            top_k: None,
            stop: vec!["END".into()],
            reasoning: Some(Reasoning { effort: Some("high".into()), budget_tokens: None }),
            parallel_tool_calls: Some(false),
            user: Some("u-42".into()),
            include_usage: Some(true),
            response_format: None,
        },
        stream: true,
    }
}

#[test]
fn openai_conversation_becomes_a_valid_anthropic_request() {
    let written = write_request(&openai_conversation());
    assert_eq!(
        written,
        json!({
            "model": "claude-sonnet-4-5-20250929",
            // No max_tokens given: 4096. No thinking: the tool choice forces a call.
            "max_tokens": 4096,
            // Both system messages (Go kept the last).
            "system": [
                {"type": "text", "text": "You are a shopping assistant."},
                {"type": "text", "text": "Prices are in EUR."}
            ],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "What's in my cart? Also check stock of A1."}]},
                // Unsigned reasoning and the empty text are left out; broken arguments are {}.
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "call_Vq8y3", "name": "get_cart", "input": {}},
                    {"type": "tool_use", "id": "call_K2p9x", "name": "check_stock", "input": {}}
                ]},
                // Both results in one user turn, before the text that followed them.
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_Vq8y3", "content": [{"type": "text", "text": "2 items"}]},
                    {"type": "tool_result", "tool_use_id": "call_K2p9x", "content": [{"type": "text", "text": "timeout"}], "is_error": true},
                    {"type": "text", "text": "Thanks, and the total?"}
                ]}
            ],
            "tools": [
                {"name": "get_cart", "description": "The cart.", "input_schema": {"type": "object"}},
                {"name": "check_stock", "input_schema": {"type": "object", "properties": {}}}
            ],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            // Zeros are sent (Go dropped them).
            "temperature": 0,
            "top_p": 0.0,
            "stop_sequences": ["END"],
            "stream": true,
            "metadata": {"user_id": "u-42"}
        })
    );
}

#[test]
fn thinking_follows_anthropic_rules() {
    let mut request = Request {
        model: "claude-opus-4-1-20250805".into(),
        messages: vec![
            message(Role::Assistant, vec![text("Hello! How can I help?")]),
            message(Role::User, vec![text("Prove there are infinitely many primes.")]),
        ],
        params: Params {
            temperature: Some(json!(0.7)),
            top_p: Some(json!(0.5)),
            top_k: Some(json!(5)),
            reasoning: Some(Reasoning { effort: Some("medium".into()), budget_tokens: None }),
            ..Params::default()
        },
        ..Request::default()
    };
    let written = write_request(&request);
    // The budget fits under max_tokens; temperature and top_k are refused with thinking, top_p
    // is raised to 0.95; the conversation gets the user turn Anthropic wants first.
    assert_eq!(
        written,
        json!({
            "model": "claude-opus-4-1-20250805",
            "max_tokens": 8192 + 4096,
            "thinking": {"type": "enabled", "budget_tokens": 8192},
            "top_p": 0.95,
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "(continued)"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "Hello! How can I help?"}]},
                {"role": "user", "content": [{"type": "text", "text": "Prove there are infinitely many primes."}]}
            ]
        })
    );

    // A budget at or over the given max_tokens shrinks below it.
    request.params.max_tokens = Some(4000);
    request.params.reasoning = Some(Reasoning { effort: None, budget_tokens: Some(10000) });
    assert_eq!(write_request(&request)["thinking"], json!({"type": "enabled", "budget_tokens": 3999}));

    // In a tool loop whose calls came from another provider (no signed thinking before them),
    // Anthropic refuses thinking: it is left out, and the sampling parameters stay.
    request.messages = vec![
        message(Role::User, vec![text("Weather in Paris?")]),
        message(
            Role::Assistant,
            vec![
                Part::Reasoning { text: "call it".into(), signature: None },
                call("call_1", "weather", r#"{"city":"Paris"}"#),
            ],
        ),
        message(
            Role::User,
            vec![Part::ToolResult { call_id: "call_1".into(), content: vec![text("18C")], is_error: false }],
        ),
    ];
    let written = write_request(&request);
    assert_eq!(written.get("thinking"), None);
    assert_eq!((&written["temperature"], &written["top_p"], &written["top_k"]), (&json!(0.7), &json!(0.5), &json!(5)));
    assert_eq!(written["messages"][1]["content"][0]["input"], json!({"city": "Paris"}));

    // With the signed thinking block Anthropic gave, thinking stays on.
    request.messages[1].parts[0] = Part::Reasoning { text: "call it".into(), signature: Some("sig".into()) };
    let written = write_request(&request);
    assert_eq!(written["thinking"], json!({"type": "enabled", "budget_tokens": 3999}));
    assert_eq!(
        written["messages"][1]["content"][0],
        json!({"type": "thinking", "thinking": "call it", "signature": "sig"})
    );
}

#[test]
fn tool_choices_are_converted() {
    let tools = vec![Tool { name: "f".into(), description: None, parameters: json!({"type": "object"}), cache: None }];
    let choice = |choice: Option<ToolChoice>, parallel: Option<bool>, tools: &Vec<Tool>| {
        let request = Request {
            messages: vec![message(Role::User, vec![text("x")])],
            tools: tools.clone(),
            tool_choice: choice,
            params: Params { parallel_tool_calls: parallel, ..Params::default() },
            ..Request::default()
        };
        write_request(&request).get("tool_choice").cloned()
    };
    assert_eq!(choice(Some(ToolChoice::Auto), None, &tools), Some(json!({"type": "auto"})));
    assert_eq!(choice(Some(ToolChoice::Required), Some(true), &tools), Some(json!({"type": "any"})));
    assert_eq!(choice(Some(ToolChoice::None), Some(false), &tools), Some(json!({"type": "none"})));
    assert_eq!(
        choice(Some(ToolChoice::Tool("f".into())), Some(false), &tools),
        Some(json!({"type": "tool", "name": "f", "disable_parallel_tool_use": true}))
    );
    assert_eq!(choice(None, Some(false), &tools), Some(json!({"type": "auto", "disable_parallel_tool_use": true})));
    assert_eq!(choice(None, None, &tools), None);
    // Without tools Anthropic takes no tool_choice.
    assert_eq!(choice(Some(ToolChoice::Required), Some(false), &vec![]), None);
}

#[test]
fn system_forms_and_images() {
    let mut request = Request {
        system: vec![text("Be brief.")],
        messages: vec![message(
            Role::User,
            vec![
                Part::Image { source: ImageSource::from_url("data:image/jpeg;base64,/9j/4AAQ"), cache: None },
                Part::Image {
                    source: ImageSource::Url("https://example.com/cat.png".into()),
                    cache: Some(json!({"type": "ephemeral"})),
                },
            ],
        )],
        ..Request::default()
    };
    let written = write_request(&request);
    // A lone plain system text is the `system` string.
    assert_eq!(written["system"], json!("Be brief."));
    assert_eq!(
        written["messages"][0]["content"],
        json!([
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}, "cache_control": {"type": "ephemeral"}}
        ])
    );
    // A cached one is a block (its cache_control kept); blank ones and images are left out.
    request.system = vec![
        cached("Long policy…", json!({"type": "ephemeral"})),
        text(" "),
        Part::Image { source: ImageSource::Url("https://example.com/x.png".into()), cache: None },
    ];
    assert_eq!(
        write_request(&request)["system"],
        json!([{"type": "text", "text": "Long policy…", "cache_control": {"type": "ephemeral"}}])
    );
    request.system = vec![text("")];
    assert_eq!(write_request(&request).get("system"), None);
    // No message at all (a system-only OpenAI request): the opening user turn.
    request.messages.clear();
    assert_eq!(
        write_request(&request)["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "(continued)"}]}])
    );
}
