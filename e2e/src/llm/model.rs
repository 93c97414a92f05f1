//! The mock's "model", the same for every protocol: what it answers and what that costs.
//!
//! - The subject is the text of the last user message (or of the last tool result, when the
//!   conversation ends with one). The answer is `Mock reply to: <subject>`.
//! - Reasoning, when asked for, is `Mock reasoning about: <subject>`, before the answer.
//! - Tools: when the request declares tools and its last message is the user's, every
//!   `call <tool>` in that message (a declared tool's name) becomes a tool call whose arguments
//!   are `{"q":"<the words after the name, up to the next call>"}`; then there is no text. A
//!   forced tool choice calls that tool (with the whole subject when the message names none).
//!   Tool call `k` of a conversation (counting those already in its history, from 1) has id
//!   `call_<k>` (OpenAI) or `toolu_<k>` (Anthropic).
//! - Stop sequences cut the text before the first one found; `max_tokens` cuts it to that many
//!   words (reasoning counted first).
//! - Tokens are whitespace-separated words: the prompt's are the words of every message's text
//!   (and of the system prompt), the reply's those of the reasoning, the text and each tool
//!   call's arguments JSON.

use serde_json::Value;

/// Word count, the mock's token count.
pub fn tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Message content as text: a string, or the text parts of an array (tool results' content
/// included), joined by spaces.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match (p["type"].as_str(), p.get("text").and_then(Value::as_str)) {
                (_, Some(text)) => Some(text.to_string()),
                (Some("tool_result"), None) => Some(content_text(&p["content"])),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Only the text parts of a content (no tool results): where `call <tool>` is looked for.
pub fn plain_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter(|p| p["type"].as_str().is_none_or(|t| t == "text"))
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The subject of `messages`: the text of the last message from the user or a tool.
pub fn subject(messages: &[Value]) -> String {
    messages
        .iter()
        .rev()
        .find(|m| matches!(m["role"].as_str(), Some("user" | "tool")))
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default()
}

/// How the request lets the model use its tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The message decides (`call <tool>`).
    Auto,
    /// Never.
    None,
    /// At least one call (OpenAI `required`, Anthropic `any`).
    Any,
    /// This tool.
    Tool(String),
}

/// What the answer is built from.
#[derive(Debug, Clone)]
pub struct Ask {
    /// See [`subject`].
    pub subject: String,
    /// The text of the last message when it is the user's (tool calls come only from it).
    pub user_text: Option<String>,
    /// Declared tool names.
    pub tools: Vec<String>,
    pub choice: ToolChoice,
    /// At most one tool call when false.
    pub parallel: bool,
    /// Reason before answering.
    pub reasoning: bool,
    /// Cut the reply to this many words.
    pub max_tokens: Option<u64>,
    /// Cut the text before the first of these.
    pub stop: Vec<String>,
    /// Tool calls already in the conversation (ids continue after them).
    pub prior_tool_calls: usize,
    /// `call_` or `toolu_`.
    pub id_prefix: &'static str,
}

/// A tool call of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// `{"q":"..."}`, compact.
    pub arguments: String,
}

/// Why the answer ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// It is complete.
    End,
    /// `max_tokens` cut it.
    Length,
    /// This stop sequence cut it.
    Sequence(String),
    /// It calls tools.
    ToolUse,
}

/// The answer, before any protocol shapes it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub reasoning: Option<String>,
    /// `None` when the answer calls tools.
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub stop: Stop,
}

impl Answer {
    /// Reasoning tokens.
    pub fn reasoning_tokens(&self) -> u64 {
        self.reasoning.as_deref().map_or(0, tokens)
    }

    /// Every output token: reasoning, text and tool call arguments.
    pub fn output_tokens(&self) -> u64 {
        self.reasoning_tokens()
            + self.text.as_deref().map_or(0, tokens)
            + self.tool_calls.iter().map(|c| tokens(&c.arguments)).sum::<u64>()
    }
}

/// The tool calls `text` asks for: every `call <declared tool>`, with the words up to the
/// next such marker as `q`.
pub fn requested_calls(text: &str, tools: &[String]) -> Vec<(String, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut calls: Vec<(String, Vec<&str>)> = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let name = words.get(i + 1).filter(|name| *word == "call" && tools.iter().any(|t| t == *name));
        match name {
            Some(name) => {
                calls.push((name.to_string(), Vec::new()));
                i += 2;
            }
            None => {
                if let Some((_, q)) = calls.last_mut() {
                    q.push(word);
                }
                i += 1;
            }
        }
    }
    calls.into_iter().map(|(name, q)| (name, q.join(" "))).collect()
}

/// The first `n` words of `text` (and what separates them), or all of it.
pub fn first_words(text: &str, n: u64) -> &str {
    let mut count = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            in_word = true;
            count += 1;
            if count > n {
                return text.get(..i).unwrap_or(text).trim_end();
            }
        }
    }
    text
}

/// The answer to `ask`.
pub fn answer(ask: &Ask) -> Answer {
    let reasoning = ask.reasoning.then(|| format!("Mock reasoning about: {}", ask.subject));
    let mut calls = match (&ask.choice, &ask.user_text) {
        (ToolChoice::None, _) => Vec::new(),
        (_, Some(text)) if !ask.tools.is_empty() => requested_calls(text, &ask.tools),
        _ => Vec::new(),
    };
    match &ask.choice {
        ToolChoice::Tool(name) => {
            calls.retain(|(n, _)| n == name);
            if calls.is_empty() {
                calls.push((name.clone(), ask.subject.clone()));
            }
        }
        ToolChoice::Any if calls.is_empty() => {
            if let Some(first) = ask.tools.first() {
                calls.push((first.clone(), ask.subject.clone()));
            }
        }
        _ => {}
    }
    if !ask.parallel {
        calls.truncate(1);
    }
    if !calls.is_empty() {
        let tool_calls = calls
            .into_iter()
            .enumerate()
            .map(|(i, (name, q))| ToolCall {
                id: format!("{}{}", ask.id_prefix, ask.prior_tool_calls + i + 1),
                name,
                arguments: serde_json::json!({ "q": q }).to_string(),
            })
            .collect();
        return Answer { reasoning, text: None, tool_calls, stop: Stop::ToolUse };
    }
    let mut text = format!("Mock reply to: {}", ask.subject);
    let mut stop = Stop::End;
    if let Some((at, sequence)) =
        ask.stop.iter().filter(|s| !s.is_empty()).filter_map(|s| text.find(s.as_str()).map(|at| (at, s))).min()
    {
        stop = Stop::Sequence(sequence.clone());
        text.truncate(at);
    }
    if let Some(max) = ask.max_tokens {
        let allowed = max.saturating_sub(reasoning.as_deref().map_or(0, tokens));
        if tokens(&text) > allowed {
            text = first_words(&text, allowed).to_string();
            stop = Stop::Length;
        }
    }
    Answer { reasoning, text: Some(text), tool_calls: Vec::new(), stop }
}

/// `text` in streamed pieces, one per word, each with the whitespace that follows it: their
/// concatenation is `text`.
pub fn word_pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut after_word = false;
    for c in text.chars() {
        if !c.is_whitespace() && after_word {
            pieces.push(std::mem::take(&mut current));
            after_word = false;
        }
        if c.is_whitespace() && !current.is_empty() {
            after_word = true;
        }
        current.push(c);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// `text` in pieces of at most `size` characters (tool call arguments as they are streamed).
pub fn char_pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size.max(1)).map(|c| c.iter().collect()).collect()
}

/// A stable, opaque signature for a thinking block (FNV-1a of its text, in hex).
pub fn signature(thinking: &str) -> String {
    let hash =
        thinking.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("mock-signature-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ask(text: &str, tools: &[&str]) -> Ask {
        Ask {
            subject: text.into(),
            user_text: Some(text.into()),
            tools: tools.iter().map(|t| t.to_string()).collect(),
            choice: ToolChoice::Auto,
            parallel: true,
            reasoning: false,
            max_tokens: None,
            stop: Vec::new(),
            prior_tool_calls: 0,
            id_prefix: "call_",
        }
    }

    #[test]
    fn texts_and_subjects() {
        assert_eq!(tokens("  a b\tc\n"), 3);
        let messages = [
            json!({"role": "user", "content": "first"}),
            json!({"role": "assistant", "content": "x"}),
            json!({"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}]}),
        ];
        assert_eq!(subject(&messages), "second part");
        let tool_result = json!([{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "sunny"}]}, {"type": "text", "text": "and?"}]);
        assert_eq!(content_text(&tool_result), "sunny and?");
        assert_eq!(plain_text(&tool_result), "and?");
        assert_eq!(subject(&[json!({"role": "user", "content": "q"}), json!({"role": "tool", "content": "42"})]), "42");
    }

    #[test]
    fn tool_calls_come_from_the_message() {
        let tools = ["get_weather".to_string(), "search".to_string()];
        assert_eq!(
            requested_calls("please call get_weather Paris today then call search rust  books", &tools),
            vec![("get_weather".into(), "Paris today then".into()), ("search".into(), "rust books".into())]
        );
        assert_eq!(requested_calls("call unknown x", &tools), vec![]);
        assert_eq!(requested_calls("call", &tools), vec![]);
        let answer = answer(&Ask { prior_tool_calls: 2, ..ask("call search a \"b\"", &["search"]) });
        assert_eq!(answer.stop, Stop::ToolUse);
        assert_eq!(answer.tool_calls[0].id, "call_3");
        assert_eq!(answer.tool_calls[0].arguments, r#"{"q":"a \"b\""}"#);
        assert_eq!(answer.text, None);
        let forced =
            super::answer(&Ask { choice: ToolChoice::Tool("search".into()), ..ask("hello there", &["search"]) });
        assert_eq!(forced.tool_calls[0].arguments, r#"{"q":"hello there"}"#);
        let none = super::answer(&Ask { choice: ToolChoice::None, ..ask("call search x", &["search"]) });
        assert!(none.tool_calls.is_empty());
        let single = super::answer(&Ask { parallel: false, ..ask("call a x call b y", &["a", "b"]) });
        assert_eq!(single.tool_calls.len(), 1);
    }

    #[test]
    fn stops_and_lengths() {
        let cut = answer(&Ask { stop: vec!["to:".into()], ..ask("one two", &[]) });
        assert_eq!((cut.text.as_deref(), cut.stop), (Some("Mock reply "), Stop::Sequence("to:".into())));
        let short = answer(&Ask { max_tokens: Some(2), ..ask("one two", &[]) });
        assert_eq!((short.text.as_deref(), short.stop), (Some("Mock reply"), Stop::Length));
        let reasoning = answer(&Ask { reasoning: true, max_tokens: Some(100), ..ask("one  two", &[]) });
        assert_eq!(reasoning.reasoning.as_deref(), Some("Mock reasoning about: one  two"));
        assert_eq!((reasoning.output_tokens(), reasoning.reasoning_tokens()), (10, 5));
        assert_eq!(first_words("a  b c", 2), "a  b");
        assert_eq!(first_words("a b", 5), "a b");
        assert_eq!(first_words("a b", 0), "");
    }

    #[test]
    fn pieces_add_up() {
        for text in ["Mock reply to: one  two\nthree ", "", " x", "é ü"] {
            assert_eq!(word_pieces(text).concat(), text);
        }
        assert_eq!(word_pieces("a b  c"), vec!["a ", "b  ", "c"]);
        assert_eq!(char_pieces(r#"{"q":"héllo"}"#, 5), vec![r#"{"q":"#, r#""héll"#, r#"o"}"#]);
        assert_eq!(signature("x"), signature("x"));
        assert_ne!(signature("x"), signature("y"));
    }
}
