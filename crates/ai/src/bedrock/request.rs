//! A Converse request body, read into the model (a Bedrock client) and written from it (a
//! Bedrock provider). The model id is in the path (`/model/{modelId}/converse`), not in the
//! body; so is streaming (`/converse-stream`).

use super::content::{cache_point, read_blocks, write_part, Target};
use crate::chat::{Invalid, Message, Params, Part, Reasoning, Request, Role, Tool, ToolChoice};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// The text of the user turn put first when a conversation does not start with one (Converse
/// refuses a conversation that starts with the assistant; an OpenAI request of system
/// messages only has no message at all).
const OPENING_TURN: &str = "(continued)";
/// `maxTokens` beside a thinking budget when the request gave none: room for the answer.
const ANSWER_TOKENS: u64 = 4096;
/// The smallest thinking budget Claude takes.
const MIN_BUDGET: u64 = 1024;

/// Reads a Converse body: `messages`, `system`, `inferenceConfig`, `toolConfig`, and the
/// reasoning asked for in `additionalModelRequestFields` (`thinking` or the older
/// `reasoning_config` with `budget_tokens`, Nova's `reasoningConfig` with
/// `maxReasoningEffort`, and Claude's `top_k`). `model` and `stream` are left for the caller,
/// who has the path.
pub fn read_request(body: &Value) -> Result<Request, Invalid> {
    let root = Obj::of(body, Loc::Root).ok_or_else(|| Invalid::field("body", "a JSON object"))?;
    let messages_at = root.at("messages");
    let Some(messages) = root.array("messages")? else {
        return Err(messages_at.invalid("an array of messages"));
    };
    let mut request = Request::default();
    for (index, message) in messages.iter().enumerate() {
        let message = Obj::new(message, messages_at.index(index))?;
        let role = match message.req_str("role")? {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            _ => return Err(message.at("role").invalid("user or assistant")),
        };
        let mut parts = Vec::new();
        read_blocks(message.array("content")?.unwrap_or_default(), message.at("content"), &mut parts)?;
        request.messages.push(Message { role, parts, name: None });
    }
    read_blocks(root.array("system")?.unwrap_or_default(), root.at("system"), &mut request.system)?;
    if let Some(config) = root.obj("toolConfig")? {
        read_tool_config(&config, &mut request)?;
    }
    request.params = read_params(&root)?;
    Ok(request)
}

/// `toolConfig: {tools: [{toolSpec: {name, description, inputSchema: {json}}} | {cachePoint}],
/// toolChoice: {auto: {}} | {any: {}} | {tool: {name}}}`.
fn read_tool_config(config: &Obj, request: &mut Request) -> Result<(), Invalid> {
    let tools_at = config.at("tools");
    for (index, tool) in config.array("tools")?.unwrap_or_default().iter().enumerate() {
        let tool = Obj::new(tool, tools_at.index(index))?;
        if let Some(spec) = tool.obj("toolSpec")? {
            let parameters = match spec.obj("inputSchema")? {
                Some(schema) => schema.get("json").cloned().unwrap_or(Value::Null),
                None => Value::Null,
            };
            request.tools.push(Tool {
                name: spec.req_str("name")?.to_string(),
                description: spec.str("description")?.map(str::to_string),
                parameters,
                cache: None,
            });
        } else if let (Some(point), Some(last)) = (tool.obj("cachePoint")?, request.tools.last_mut()) {
            let mut cache = object([("type", "ephemeral".into())]);
            if let (Some(ttl), Value::Object(map)) = (point.str("ttl")?, &mut cache) {
                map.insert("ttl".into(), ttl.into());
            }
            last.cache = Some(cache);
        }
    }
    if let Some(choice) = config.obj("toolChoice")? {
        request.tool_choice = if choice.get("auto").is_some() {
            Some(ToolChoice::Auto)
        } else if choice.get("any").is_some() {
            Some(ToolChoice::Required)
        } else if let Some(tool) = choice.obj("tool")? {
            Some(ToolChoice::Tool(tool.req_str("name")?.to_string()))
        } else {
            None
        };
    }
    Ok(())
}

fn read_params(root: &Obj) -> Result<Params, Invalid> {
    let mut params = Params::default();
    if let Some(config) = root.obj("inferenceConfig")? {
        params.max_tokens = config.u64("maxTokens")?;
        params.temperature = config.number("temperature")?;
        params.top_p = config.number("topP")?;
        let stops_at = config.at("stopSequences");
        for (index, stop) in config.array("stopSequences")?.unwrap_or_default().iter().enumerate() {
            let Value::String(stop) = stop else { return Err(stops_at.index(index).invalid("a string")) };
            params.stop.push(stop.clone());
        }
    }
    if let Some(fields) = root.obj("additionalModelRequestFields")? {
        params.top_k = fields.number("top_k")?;
        params.reasoning = read_reasoning(&fields)?;
    }
    Ok(params)
}

/// The reasoning asked for: Claude's `thinking` (`reasoning_config` in AWS's first examples)
/// `{type: enabled | adaptive, budget_tokens}`, or Nova's `reasoningConfig {type: enabled,
/// maxReasoningEffort}`.
fn read_reasoning(fields: &Obj) -> Result<Option<Reasoning>, Invalid> {
    for key in ["thinking", "reasoning_config"] {
        if let Some(thinking) = fields.obj(key)? {
            return Ok(match thinking.str("type")? {
                Some("disabled") => None,
                _ => Some(Reasoning { effort: None, budget_tokens: thinking.u64("budget_tokens")? }),
            });
        }
    }
    if let Some(config) = fields.obj("reasoningConfig")? {
        if config.str("type")? == Some("enabled") {
            let effort = config.str("maxReasoningEffort")?.map(str::to_string);
            return Ok(Some(Reasoning { effort, budget_tokens: None }));
        }
    }
    Ok(None)
}

/// Writes a Converse body. [`Invalid`] for what Converse cannot take: an image by URL (it
/// takes bytes only), or of a format other than PNG, JPEG, GIF and WebP.
///
/// - `system`: every system text, in order (each cached one followed by a `cachePoint`).
/// - `messages`: consecutive messages of one role joined into one turn (Converse wants turns
///   to alternate), tool results first in their user turn (Claude's rule), a user turn put
///   first when the conversation does not start with one; blank text and reasoning without
///   a signature are left out (Bedrock refuses both).
/// - `inferenceConfig`: `maxTokens`, `temperature`, `topP` (`0` kept: Go dropped zeros),
///   `stopSequences`.
/// - `toolConfig`: the tools with their schema as given (an object schema at least), and
///   `toolChoice` when the request has one: auto and none → `auto` (Converse has no `none`),
///   required → `any`, a tool → `tool`.
/// - Reasoning → `additionalModelRequestFields.thinking {type: enabled, budget_tokens}`,
///   with Go's budgets for an effort (low 1024, medium 4096, high 16384) or the budget given,
///   kept below `maxTokens` (which is the budget and 4096 when the request gave none); left
///   out when `tool_choice` forces a call or the last tool calls came without signed
///   reasoning, which Claude refuses. With thinking on, `temperature` is left out and `topP`
///   raised to 0.95, as Claude requires.
/// - `top_k` → `additionalModelRequestFields.top_k` (Claude's name) for an Anthropic model.
pub fn write_request(request: &Request) -> Result<Value, Invalid> {
    let messages = write_messages(&request.messages)?;
    let mut body = Map::new();
    body.insert("messages".into(), Value::Array(messages));
    let mut system = Vec::new();
    for part in &request.system {
        if let Part::Text { .. } = part {
            write_part(part, Target::Request, &mut system)?;
        }
    }
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let budget = thinking_budget(request, body.get("messages"));
    let config = inference_config(&request.params, budget);
    if !config.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(config));
    }
    if !request.tools.is_empty() {
        body.insert("toolConfig".into(), tool_config(&request.tools, request.tool_choice.as_ref()));
    }
    let mut fields = Map::new();
    if let Some(budget) = budget {
        fields.insert("thinking".into(), object([("type", "enabled".into()), ("budget_tokens", budget.into())]));
    }
    if let (Some(top_k), None, true) = (&request.params.top_k, budget, request.model.contains("anthropic.")) {
        fields.insert("top_k".into(), top_k.clone());
    }
    if !fields.is_empty() {
        body.insert("additionalModelRequestFields".into(), Value::Object(fields));
    }
    Ok(Value::Object(body))
}

fn write_messages(messages: &[Message]) -> Result<Vec<Value>, Invalid> {
    let mut turns: Vec<(Role, Vec<Value>)> = Vec::with_capacity(messages.len());
    for message in messages {
        let mut blocks = Vec::with_capacity(message.parts.len());
        for part in &message.parts {
            write_part(part, Target::Request, &mut blocks)?;
        }
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((role, last)) if *role == message.role => last.extend(blocks),
            _ => turns.push((message.role, blocks)),
        }
    }
    if turns.first().map(|(role, _)| *role) != Some(Role::User) {
        turns.insert(0, (Role::User, vec![object([("text", OPENING_TURN.into())])]));
    }
    Ok(turns
        .into_iter()
        .map(|(role, blocks)| {
            let (role, blocks) = match role {
                Role::User => ("user", results_first(blocks)),
                Role::Assistant => ("assistant", blocks),
            };
            object([("role", role.into()), ("content", Value::Array(blocks))])
        })
        .collect())
}

/// The blocks with the `toolResult` ones first, each group in its order.
fn results_first(blocks: Vec<Value>) -> Vec<Value> {
    let (mut results, others): (Vec<Value>, Vec<Value>) =
        blocks.into_iter().partition(|block| block.get("toolResult").is_some());
    results.extend(others);
    results
}

/// The thinking budget to send, if any (see [`write_request`]).
fn thinking_budget(request: &Request, messages: Option<&Value>) -> Option<u64> {
    let reasoning = request.params.reasoning.as_ref()?;
    let forced = matches!(request.tool_choice, Some(ToolChoice::Required) | Some(ToolChoice::Tool(_)));
    if (forced && !request.tools.is_empty()) || !thinking_fits(messages) {
        return None;
    }
    let from_effort = match reasoning.effort.as_deref() {
        Some("medium") => 4096,
        Some("high") => 16384,
        _ => MIN_BUDGET,
    };
    let wanted = reasoning.budget_tokens.unwrap_or(from_effort).max(MIN_BUDGET);
    match request.params.max_tokens {
        Some(max) if wanted >= max => Some(max.saturating_sub(1)).filter(|fits| *fits >= MIN_BUDGET),
        _ => Some(wanted),
    }
}

/// Whether Claude takes thinking with these messages: the assistant turn whose tool calls the
/// last user turn answers must start with signed reasoning, which one from another provider
/// has not.
fn thinking_fits(messages: Option<&Value>) -> bool {
    let Some([.., assistant, user]) = messages.and_then(Value::as_array).map(Vec::as_slice) else { return true };
    let blocks = |message: &Value| message.get("content").and_then(Value::as_array).cloned().unwrap_or_default();
    let answers_tools = user.get("role").and_then(Value::as_str) == Some("user")
        && blocks(user).iter().any(|block| block.get("toolResult").is_some());
    !answers_tools || blocks(assistant).first().is_some_and(|block| block.get("reasoningContent").is_some())
}

fn inference_config(params: &Params, budget: Option<u64>) -> Map<String, Value> {
    let mut config = Map::new();
    let max_tokens = match (params.max_tokens, budget) {
        (None, Some(budget)) => Some(budget.saturating_add(ANSWER_TOKENS)),
        (max, _) => max,
    };
    if let Some(max) = max_tokens {
        config.insert("maxTokens".into(), max.into());
    }
    if let (Some(temperature), None) = (&params.temperature, budget) {
        config.insert("temperature".into(), temperature.clone());
    }
    if let Some(top_p) = &params.top_p {
        let top_p = match top_p.as_f64() {
            Some(p) if budget.is_some() && p < 0.95 => Value::from(0.95),
            _ => top_p.clone(),
        };
        config.insert("topP".into(), top_p);
    }
    if !params.stop.is_empty() {
        config.insert("stopSequences".into(), params.stop.iter().map(|s| Value::from(s.as_str())).collect());
    }
    config
}

fn tool_config(tools: &[Tool], choice: Option<&ToolChoice>) -> Value {
    let mut specs = Vec::with_capacity(tools.len());
    for tool in tools {
        let mut spec = Map::new();
        spec.insert("name".into(), tool.name.as_str().into());
        if let Some(description) = tool.description.as_deref().filter(|d| !d.is_empty()) {
            spec.insert("description".into(), description.into());
        }
        spec.insert("inputSchema".into(), object([("json", tool.object_schema())]));
        specs.push(object([("toolSpec", Value::Object(spec))]));
        if let Some(cache) = &tool.cache {
            specs.push(cache_point(cache));
        }
    }
    let mut config = Map::new();
    config.insert("tools".into(), Value::Array(specs));
    if let Some(choice) = choice {
        let choice = match choice {
            ToolChoice::Auto | ToolChoice::None => object([("auto", Value::Object(Map::new()))]),
            ToolChoice::Required => object([("any", Value::Object(Map::new()))]),
            ToolChoice::Tool(name) => object([("tool", object([("name", name.as_str().into())]))]),
        };
        config.insert("toolChoice".into(), choice);
    }
    Value::Object(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(max_tokens: Option<u64>, effort: Option<&str>, budget: Option<u64>) -> Request {
        let mut request = Request::default();
        request.messages.push(Message {
            role: Role::User,
            parts: vec![Part::Text { text: "hi".into(), cache: None }],
            name: None,
        });
        request.params.max_tokens = max_tokens;
        request.params.reasoning = Some(Reasoning { effort: effort.map(str::to_string), budget_tokens: budget });
        request
    }

    fn budget_of(request: &Request) -> Option<Value> {
        write_request(request).unwrap().pointer("/additionalModelRequestFields/thinking/budget_tokens").cloned()
    }

    #[test]
    fn budgets_as_go_gives_them_made_to_fit() {
        assert_eq!(budget_of(&request(None, Some("low"), None)), Some(json!(1024)));
        assert_eq!(budget_of(&request(None, Some("medium"), None)), Some(json!(4096)));
        assert_eq!(budget_of(&request(None, Some("high"), None)), Some(json!(16384)));
        assert_eq!(budget_of(&request(None, Some("minimal"), None)), Some(json!(1024)));
        assert_eq!(budget_of(&request(None, None, Some(3000))), Some(json!(3000)));
        assert_eq!(budget_of(&request(Some(8000), Some("high"), None)), Some(json!(7999)));
        assert_eq!(budget_of(&request(Some(1024), Some("low"), None)), None, "no room for thinking");
        let written = write_request(&request(None, Some("medium"), None)).unwrap();
        assert_eq!(written["inferenceConfig"]["maxTokens"], json!(4096 + 4096), "room for the answer");

        let mut forced = request(None, Some("high"), None);
        forced.tools.push(Tool { name: "f".into(), description: None, parameters: Value::Null, cache: None });
        forced.tool_choice = Some(ToolChoice::Required);
        assert_eq!(budget_of(&forced), None, "Claude refuses thinking with a forced tool call");
    }

    #[test]
    fn reasoning_fields_of_every_spelling() {
        let read = |fields: Value| {
            read_request(&json!({"messages": [], "additionalModelRequestFields": fields})).unwrap().params.reasoning
        };
        let budget = |b| Some(Reasoning { effort: None, budget_tokens: Some(b) });
        assert_eq!(read(json!({"thinking": {"type": "enabled", "budget_tokens": 2048}})), budget(2048));
        assert_eq!(read(json!({"reasoning_config": {"type": "enabled", "budget_tokens": 1500}})), budget(1500));
        assert_eq!(read(json!({"thinking": {"type": "disabled"}})), None);
        assert_eq!(
            read(json!({"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}})),
            Some(Reasoning { effort: Some("high".into()), budget_tokens: None })
        );
        assert_eq!(read(json!({"top_k": 5})), None);
    }
}
