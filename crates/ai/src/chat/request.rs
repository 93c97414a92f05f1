//! A chat request: system instructions, the conversation, the tools the model may call, and
//! the sampling parameters.

use serde_json::Value;

/// A chat request in no protocol in particular.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// The model asked for (after model mapping, the provider's).
    pub model: String,
    /// System instructions, in order. Every one is kept (Go kept only the last).
    pub system: Vec<Part>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// How the model must use them.
    pub tool_choice: Option<ToolChoice>,
    /// Sampling and output parameters.
    pub params: Params,
    /// Whether the reply is streamed.
    pub stream: bool,
}

/// Who said a message. Tool results are parts of a `User` message (as Anthropic has them);
/// the OpenAI adapter writes them as `role: tool` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The caller (and tool results).
    User,
    /// The model.
    Assistant,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said, in order.
    pub parts: Vec<Part>,
    /// The participant's name (OpenAI `name`), if given.
    pub name: Option<String>,
}

/// One piece of a message (or of the system instructions).
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text; `cache` is Anthropic's `cache_control`, kept where both sides have it.
    Text { text: String, cache: Option<Value> },
    /// An image.
    Image { source: ImageSource, cache: Option<Value> },
    /// The model's reasoning (Anthropic `thinking`, OpenAI-style `reasoning_content`);
    /// `signature` is Anthropic's, which must come back unchanged on the next turn.
    Reasoning { text: String, signature: Option<String> },
    /// A call of a tool by the model; `arguments` is JSON text, as OpenAI sends it (possibly
    /// incomplete while streaming).
    ToolCall { id: String, name: String, arguments: String },
    /// The result of a tool call, sent back by the caller.
    ToolResult { call_id: String, content: Vec<Part>, is_error: bool },
}

/// Where an image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// An `http(s)` URL.
    Url(String),
    /// Inline bytes, base64-encoded, with their media type.
    Base64 { media_type: String, data: String },
}

impl ImageSource {
    /// An OpenAI-style image URL: a `data:<type>;base64,<data>` URL becomes inline bytes.
    pub fn from_url(url: &str) -> ImageSource {
        let inline = url.strip_prefix("data:").and_then(|rest| rest.split_once(";base64,"));
        match inline {
            Some((media_type, data)) => ImageSource::Base64 { media_type: media_type.into(), data: data.into() },
            None => ImageSource::Url(url.into()),
        }
    }

    /// The OpenAI-style URL of this image (inline bytes as a `data:` URL).
    pub fn to_url(&self) -> String {
        match self {
            ImageSource::Url(url) => url.clone(),
            ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

/// A tool (a function) the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// Its parameters' JSON schema, as given.
    pub parameters: Value,
    /// Anthropic's `cache_control`.
    pub cache: Option<Value>,
}

/// How the model must use the tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// It decides (OpenAI `auto`, Anthropic `auto`).
    Auto,
    /// It must call one (OpenAI `required`, Anthropic `any`).
    Required,
    /// It must not call any (OpenAI `none`, Anthropic `none`).
    None,
    /// It must call this one.
    Tool(String),
}

impl ToolChoice {
    /// OpenAI's keywords (chat, the Responses API and DashScope share them): `auto`, `none`,
    /// `required`.
    pub fn keyword(word: &str) -> Option<ToolChoice> {
        match word {
            "auto" => Some(ToolChoice::Auto),
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            _ => None,
        }
    }
}

/// Sampling and output parameters. Numbers stay JSON numbers, so `0` and `0.0` survive as
/// given. A parameter the target protocol has no place for is dropped: a request is only
/// translated when its protocol changes (otherwise it is edited in place and keeps every
/// field).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// Most tokens to generate.
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    pub temperature: Option<Value>,
    /// Nucleus sampling.
    pub top_p: Option<Value>,
    /// Top-k sampling (Anthropic, Gemini).
    pub top_k: Option<Value>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Extended reasoning asked for.
    pub reasoning: Option<Reasoning>,
    /// `false`: at most one tool call per turn.
    pub parallel_tool_calls: Option<bool>,
    /// The end user, for the provider's abuse monitoring (OpenAI `user`, Anthropic
    /// `metadata.user_id`).
    pub user: Option<String>,
    /// OpenAI streams: whether the last chunk carries the usage.
    pub include_usage: Option<bool>,
    /// Structured output, in chat completions' shape (`{type: json_schema, json_schema:
    /// {name, schema, strict}}`, `{type: json_object}`): kept between OpenAI's chat and
    /// Responses APIs (the Responses API's `text.format`); other protocols have no place for it.
    pub response_format: Option<Value>,
}

/// Extended reasoning: an effort level, a token budget, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reasoning {
    /// `low`, `medium` or `high` (OpenAI `reasoning_effort`).
    pub effort: Option<String>,
    /// Tokens the model may spend reasoning (Anthropic `thinking.budget_tokens`).
    pub budget_tokens: Option<u64>,
}

impl Reasoning {
    /// The budget for an effort level (Higress's table: low 1024, medium 8192, high 16384,
    /// anything else 8192), or the budget given, at least 1024 (Anthropic's minimum).
    pub fn budget(&self) -> u64 {
        let from_effort = match self.effort.as_deref() {
            Some("low") | Some("minimal") => 1024,
            Some("high") => 16384,
            _ => 8192,
        };
        self.budget_tokens.unwrap_or(from_effort).max(1024)
    }

    /// The effort level for a budget (Higress: under 4096 low, under 16384 medium, else high),
    /// or the level given.
    pub fn effort(&self) -> &str {
        if let Some(effort) = &self.effort {
            return effort;
        }
        match self.budget_tokens.unwrap_or(8192) {
            b if b < 4096 => "low",
            b if b < 16384 => "medium",
            _ => "high",
        }
    }
}

impl Request {
    /// Adds a tool result to the conversation: to the last message when it is the caller's
    /// and holds only results (the results of one turn's calls travel together, as Anthropic
    /// and Gemini want them), else as a new user message.
    pub fn push_tool_result(&mut self, result: Part) {
        match self.messages.last_mut() {
            Some(last) if last.role == Role::User && only_tool_results(&last.parts) => last.parts.push(result),
            _ => self.messages.push(Message { role: Role::User, parts: vec![result], name: None }),
        }
    }
}

/// Whether `parts` are tool results and nothing else.
fn only_tool_results(parts: &[Part]) -> bool {
    !parts.is_empty() && parts.iter().all(|p| matches!(p, Part::ToolResult { .. }))
}

impl Tool {
    /// Its parameters as an object schema, as Anthropic's `input_schema` and Bedrock's
    /// `inputSchema` must be (OpenAI lets a function leave them out or send `{}`).
    pub fn object_schema(&self) -> Value {
        match &self.parameters {
            Value::Object(schema) => {
                let mut schema = schema.clone();
                schema.entry("type").or_insert_with(|| "object".into());
                Value::Object(schema)
            }
            _ => serde_json::json!({"type": "object", "properties": {}}),
        }
    }
}
