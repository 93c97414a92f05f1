//! A `generateContent` request body, read into the model (a Gemini client) and written from it
//! (a Gemini provider). The model name is in the path, not in the body; so is streaming.

use super::parts::{read_parts, write_parts, Target};
use crate::chat::{Invalid, Message, Params, Part, Reasoning, Request, Role, Tool, ToolChoice};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Reads a `generateContent` body: `contents` (role `model` is the assistant, anything else
/// the user), `systemInstruction`, `tools[].functionDeclarations`, `toolConfig` and
/// `generationConfig`. Gemini accepts both spellings of its keys (`systemInstruction`,
/// `system_instruction`), and so does this. `model` and `stream` are left for the caller,
/// who has the path.
pub fn read_request(body: &Value) -> Result<Request, Invalid> {
    let root = Obj::of(body, Loc::Root).ok_or_else(|| Invalid::field("body", "a JSON object"))?;
    let mut calls = 0;
    let contents_at = root.at("contents");
    let Some(contents) = root.array("contents")? else {
        return Err(contents_at.invalid("an array of contents"));
    };
    let mut messages = Vec::with_capacity(contents.len());
    for (index, content) in contents.iter().enumerate() {
        let at = contents_at.index(index);
        let content = Obj::new(content, at)?;
        let role = match content.str("role")? {
            Some("model") => Role::Assistant,
            _ => Role::User,
        };
        let parts = content.array("parts")?.unwrap_or_default();
        let parts = read_parts(parts, content.at("parts"), &mut calls)?;
        messages.push(Message { role, parts, name: None });
    }
    let mut system = Vec::new();
    if let Some((key, instruction)) = either(&root, "systemInstruction", "system_instruction") {
        match instruction {
            Value::String(text) => system.push(Part::Text { text: text.clone(), cache: None }),
            other => {
                let instruction = Obj::new(other, root.at(key))?;
                let parts = instruction.array("parts")?.unwrap_or_default();
                system = read_parts(parts, instruction.at("parts"), &mut calls)?;
            }
        }
    }
    Ok(Request {
        model: String::new(),
        system,
        messages,
        tools: read_tools(&root)?,
        tool_choice: read_tool_choice(&root)?,
        params: read_params(&root)?,
        stream: false,
    })
}

/// The member spelled `camel` or `snake`, whichever is present, with the spelling used.
fn either<'v>(object: &Obj<'v, '_>, camel: &'static str, snake: &'static str) -> Option<(&'static str, &'v Value)> {
    object.get(camel).map(|v| (camel, v)).or_else(|| object.get(snake).map(|v| (snake, v)))
}

fn read_tools(root: &Obj) -> Result<Vec<Tool>, Invalid> {
    let mut tools = Vec::new();
    for (index, tool) in root.array("tools")?.unwrap_or_default().iter().enumerate() {
        let at = root.at("tools");
        let at = at.index(index);
        let tool = Obj::new(tool, at)?;
        // Google's own tools (search, code execution, ...) have no counterpart elsewhere.
        let Some((key, declarations)) = either(&tool, "functionDeclarations", "function_declarations") else {
            continue;
        };
        let at = tool.at(key);
        let Value::Array(declarations) = declarations else { return Err(at.invalid("an array")) };
        for (index, declaration) in declarations.iter().enumerate() {
            let declaration = Obj::new(declaration, at.index(index))?;
            let parameters = either(&declaration, "parametersJsonSchema", "parameters_json_schema")
                .or_else(|| declaration.get("parameters").map(|v| ("parameters", v)))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| object([("type", "object".into()), ("properties", Value::Object(Map::new()))]));
            tools.push(Tool {
                name: declaration.req_str("name")?.to_string(),
                description: declaration.str("description")?.map(str::to_string),
                parameters,
                cache: None,
            });
        }
    }
    Ok(tools)
}

fn read_tool_choice(root: &Obj) -> Result<Option<ToolChoice>, Invalid> {
    let Some((key, config)) = either(root, "toolConfig", "tool_config") else { return Ok(None) };
    let config = Obj::new(config, root.at(key))?;
    let Some((key, calling)) = either(&config, "functionCallingConfig", "function_calling_config") else {
        return Ok(None);
    };
    let calling = Obj::new(calling, config.at(key))?;
    let allowed = either(&calling, "allowedFunctionNames", "allowed_function_names")
        .and_then(|(_, v)| v.as_array())
        .map(|names| names.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    Ok(match calling.str("mode")? {
        Some("ANY") => match allowed.as_slice() {
            [one] => Some(ToolChoice::Tool((*one).to_string())),
            _ => Some(ToolChoice::Required),
        },
        Some("NONE") => Some(ToolChoice::None),
        Some("AUTO") | Some("VALIDATED") => Some(ToolChoice::Auto),
        _ => None,
    })
}

fn read_params(root: &Obj) -> Result<Params, Invalid> {
    let mut params = Params::default();
    let Some((key, config)) = either(root, "generationConfig", "generation_config") else { return Ok(params) };
    let config = Obj::new(config, root.at(key))?;
    let number = |camel: &'static str, snake: &'static str| -> Result<Option<Value>, Invalid> {
        match either(&config, camel, snake) {
            None => Ok(None),
            Some((_, v @ Value::Number(_))) => Ok(Some(v.clone())),
            Some((key, _)) => Err(config.at(key).invalid("a number")),
        }
    };
    params.temperature = number("temperature", "temperature")?;
    params.top_p = number("topP", "top_p")?;
    params.top_k = number("topK", "top_k")?;
    params.max_tokens = number("maxOutputTokens", "max_output_tokens")?.and_then(|v| v.as_u64());
    if let Some((_, Value::Array(stops))) = either(&config, "stopSequences", "stop_sequences") {
        params.stop = stops.iter().filter_map(Value::as_str).map(str::to_string).collect();
    }
    if let Some((key, thinking)) = either(&config, "thinkingConfig", "thinking_config") {
        let thinking = Obj::new(thinking, config.at(key))?;
        let budget = either(&thinking, "thinkingBudget", "thinking_budget").and_then(|(_, v)| v.as_u64());
        let level = either(&thinking, "thinkingLevel", "thinking_level").and_then(|(_, v)| v.as_str());
        // A budget of 0 turns thinking off.
        if budget != Some(0) && (budget.is_some() || level.is_some()) {
            params.reasoning = Some(Reasoning { effort: level.map(str::to_ascii_lowercase), budget_tokens: budget });
        }
    }
    Ok(params)
}

/// Writes a `generateContent` body: the conversation as `contents` (consecutive messages of
/// one role joined, as Gemini wants turns), every system part in `systemInstruction`, tools as
/// `functionDeclarations` with their JSON Schema as given (`parametersJsonSchema`: Gemini's
/// older `parameters` refuses common JSON Schema keywords), `toolConfig`, and
/// `generationConfig` (`maxOutputTokens`, sampling, `stopSequences`, and `thinkingConfig`
/// for a reasoning request, with its budget). OpenAI parameters Gemini has no place for
/// (`parallel_tool_calls`, `user`, `stream_options`) are dropped.
pub fn write_request(request: &Request) -> Value {
    let names: HashMap<&str, &str> = request
        .messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let lookup = |id: &str| names.get(id).map(|n| (*n).to_string());
    let mut contents: Vec<Value> = Vec::with_capacity(request.messages.len());
    let mut last_role = None;
    for message in &request.messages {
        let parts = write_parts(&message.parts, Target::Request, &lookup);
        if parts.is_empty() {
            continue;
        }
        let role = match message.role {
            Role::User => "user",
            Role::Assistant => "model",
        };
        if last_role == Some(role) {
            if let Some(Value::Array(previous)) = contents.last_mut().and_then(|c| c.get_mut("parts")) {
                previous.extend(parts);
                continue;
            }
        }
        last_role = Some(role);
        contents.push(object([("role", role.into()), ("parts", Value::Array(parts))]));
    }
    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents));
    let system = write_parts(&request.system, Target::Request, &lookup);
    if !system.is_empty() {
        body.insert("systemInstruction".into(), object([("parts", Value::Array(system))]));
    }
    if !request.tools.is_empty() {
        let declarations = request.tools.iter().map(write_tool).collect();
        body.insert("tools".into(), Value::Array(vec![object([("functionDeclarations", Value::Array(declarations))])]));
    }
    if let Some(choice) = &request.tool_choice {
        let calling = match choice {
            ToolChoice::Auto => object([("mode", "AUTO".into())]),
            ToolChoice::Required => object([("mode", "ANY".into())]),
            ToolChoice::None => object([("mode", "NONE".into())]),
            ToolChoice::Tool(name) => {
                object([("mode", "ANY".into()), ("allowedFunctionNames", Value::Array(vec![name.as_str().into()]))])
            }
        };
        body.insert("toolConfig".into(), object([("functionCallingConfig", calling)]));
    }
    let config = write_generation_config(&request.params);
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Value::Object(body)
}

fn write_tool(tool: &Tool) -> Value {
    let mut declaration = Map::new();
    declaration.insert("name".into(), tool.name.as_str().into());
    if let Some(description) = &tool.description {
        declaration.insert("description".into(), description.as_str().into());
    }
    // A function without parameters has none (Gemini refuses an empty object schema's
    // `properties: {}` in some versions).
    let empty = tool.parameters.get("properties").and_then(Value::as_object).is_none_or(Map::is_empty);
    if !tool.parameters.is_null() && !empty {
        declaration.insert("parametersJsonSchema".into(), tool.parameters.clone());
    }
    Value::Object(declaration)
}

fn write_generation_config(params: &Params) -> Map<String, Value> {
    let mut config = Map::new();
    if let Some(max) = params.max_tokens {
        config.insert("maxOutputTokens".into(), max.into());
    }
    for (key, value) in [("temperature", &params.temperature), ("topP", &params.top_p), ("topK", &params.top_k)] {
        if let Some(value) = value {
            config.insert(key.into(), value.clone());
        }
    }
    if !params.stop.is_empty() {
        config.insert("stopSequences".into(), params.stop.iter().map(|s| Value::from(s.as_str())).collect());
    }
    if let Some(reasoning) = &params.reasoning {
        config.insert(
            "thinkingConfig".into(),
            object([("includeThoughts", true.into()), ("thinkingBudget", reasoning.budget().into())]),
        );
    }
    config
}
