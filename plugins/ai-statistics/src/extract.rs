//! Values read from bodies: one JSON body at once (a request, a whole reply), or a stream's
//! events one by one as they arrive. A stream is never kept: each attribute keeps only what
//! its rule needs (the first value, the last one, or an appended text clipped to its head and
//! tail), so memory stays bounded however long the stream is. Go kept every chunk of the
//! stream until its end (#3814: gateways ran out of memory).

use crate::attribute::{Attribute, Builtin, Rule};
use higress_ai::path::{Node, Path};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// What a value longer than the limit becomes: its head and its tail around this.
const CUT: &str = " [truncated] ";

/// `text` as written: whole, or clipped to `limit` (its first and last halves).
pub fn clip(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let half = limit / 2;
    let head = floor(text, half);
    let tail = ceil(text, text.len().saturating_sub(half));
    [text.get(..head).unwrap_or_default(), CUT, text.get(tail..).unwrap_or_default()].concat()
}

/// The char boundary at or before `at`.
fn floor(text: &str, at: usize) -> usize {
    (0..=at.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0)
}

/// The char boundary at or after `at`.
fn ceil(text: &str, at: usize) -> usize {
    (at..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len())
}

/// A text appended to piece by piece, kept to its head and tail once longer than the limit.
#[derive(Debug, Default, Clone)]
pub struct Clipped {
    limit: usize,
    head: String,
    /// The text after the head, once the limit was passed (its last half-limit kept).
    tail: Option<String>,
}

impl Clipped {
    pub fn new(limit: usize) -> Clipped {
        Clipped { limit, head: String::new(), tail: None }
    }

    pub fn push(&mut self, piece: &str) {
        let half = self.limit / 2;
        match &mut self.tail {
            None => {
                self.head.push_str(piece);
                if self.head.len() > self.limit {
                    let cut = floor(&self.head, half);
                    self.tail = Some(self.head.split_off(cut));
                }
            }
            Some(tail) => tail.push_str(piece),
        }
        if let Some(tail) = &mut self.tail {
            // Amortised: trimmed when twice what is kept.
            if tail.len() > 2 * half.max(1) {
                let keep = ceil(tail, tail.len() - half);
                tail.drain(..keep);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_empty()
    }

    /// The text, with the cut marked when something was dropped.
    pub fn text(&self) -> String {
        match &self.tail {
            None => self.head.clone(),
            Some(tail) => {
                let half = self.limit / 2;
                let from = ceil(tail, tail.len().saturating_sub(half));
                [self.head.as_str(), CUT, tail.get(from..).unwrap_or_default()].concat()
            }
        }
    }
}

/// The value at `path` in `root` as JSON (`None`: missing or `null`).
pub fn value_at<N: Node>(path: &Path, root: N) -> Option<Value> {
    let text = path.json(root)?;
    serde_json::from_str(&text).ok()
}

/// A value that counts as given: not missing, not `null`, not `""`.
fn given(value: Option<Value>) -> Option<Value> {
    value.filter(|v| !v.is_null() && v.as_str() != Some(""))
}

/// The paths built-ins are read at in whole bodies, compiled once.
struct BodyPaths {
    question: Option<Path>,
    system: Option<Path>,
    system_message: Option<Path>,
    answer: Option<Path>,
    answer_anthropic: Option<Path>,
    reasoning: Option<Path>,
    thinking: Option<Path>,
    tool_calls: Option<Path>,
    tool_use: Option<Path>,
}

fn body_paths() -> &'static BodyPaths {
    static PATHS: OnceLock<BodyPaths> = OnceLock::new();
    PATHS.get_or_init(|| {
        // Constant paths that compile (a unit test checks each).
        let path = |p: &str| Path::compile(p).ok();
        BodyPaths {
            question: path("messages.@reverse.0.content"),
            system: path("system"),
            system_message: path("messages.#(role==\"system\").content"),
            answer: path("choices.0.message.content"),
            answer_anthropic: path("content.#(type==\"text\").text"),
            reasoning: path("choices.0.message.reasoning_content"),
            thinking: path("content.#(type==\"thinking\").thinking"),
            tool_calls: path("choices.0.message.tool_calls"),
            tool_use: path("content.#(type==\"tool_use\")#"),
        }
    })
}

/// The value of a built-in in a request body or a whole reply, as Go reads it (OpenAI's
/// paths, then Anthropic's).
pub fn builtin_in_body<N: Node>(builtin: Builtin, root: N) -> Option<Value> {
    let paths = body_paths();
    let at = |path: &Option<Path>| given(value_at(path.as_ref()?, root));
    match builtin {
        Builtin::Question => at(&paths.question),
        Builtin::System => at(&paths.system).or_else(|| at(&paths.system_message)),
        Builtin::Answer => at(&paths.answer).or_else(|| at(&paths.answer_anthropic)),
        Builtin::Reasoning => at(&paths.reasoning).or_else(|| at(&paths.thinking)),
        Builtin::ToolCalls => at(&paths.tool_calls).or_else(|| {
            let calls = at(&paths.tool_use)?;
            let calls: Vec<Value> = calls
                .as_array()?
                .iter()
                .enumerate()
                .map(|(i, block)| {
                    let arguments = block.get("input").map(Value::to_string).unwrap_or_default();
                    let field = |k: &str| block.get(k).cloned().unwrap_or(Value::Null);
                    json!({"index": i, "id": field("id"), "type": "tool_use",
                           "function": {"name": field("name"), "arguments": arguments}})
                })
                .collect();
            given(Some(Value::Array(calls)))
        }),
        _ => None,
    }
}

/// What one attribute keeps of a stream.
#[derive(Debug)]
enum Kept {
    /// Not read from the stream.
    Nothing,
    First(Option<Value>),
    Replace(Option<Value>),
    Append(Clipped),
}

/// What a stream's events gave the attributes so far.
#[derive(Debug)]
pub struct StreamValues {
    /// One per attribute, in order.
    kept: Vec<Kept>,
    answer: Clipped,
    answer_anthropic: Clipped,
    reasoning: Clipped,
    tools: ToolCalls,
    /// Which built-ins are read.
    wants: Wants,
    paths: Paths,
}

#[derive(Debug, Default, Clone, Copy)]
struct Wants {
    answer: bool,
    reasoning: bool,
    tools: bool,
}

/// The paths of the built-ins in stream events.
#[derive(Debug)]
struct Paths {
    answer: Option<Path>,
    answer_anthropic: Option<Path>,
    reasoning: Option<Path>,
    thinking: Option<Path>,
}

impl StreamValues {
    /// For `attributes`, texts clipped at `limit`.
    pub fn new(attributes: &[Attribute], limit: usize) -> StreamValues {
        use crate::attribute::Source::ResponseStreamingBody as Stream;
        let kept = attributes
            .iter()
            .map(|a| match (a.at(Stream), &a.path, a.rule) {
                (true, Some(_), Rule::First) => Kept::First(None),
                (true, Some(_), Rule::Replace) => Kept::Replace(None),
                (true, Some(_), Rule::Append) => Kept::Append(Clipped::new(limit)),
                _ => Kept::Nothing,
            })
            .collect();
        let mut wants = Wants::default();
        for a in attributes.iter().filter(|a| a.at(Stream)) {
            match a.builtin {
                Some(Builtin::Answer) => wants.answer = true,
                Some(Builtin::Reasoning) => wants.reasoning = true,
                Some(Builtin::ToolCalls) => wants.tools = true,
                _ => {}
            }
        }
        let path = |p: &str| Path::compile(p).ok();
        StreamValues {
            kept,
            answer: Clipped::new(limit),
            answer_anthropic: Clipped::new(limit),
            reasoning: Clipped::new(limit),
            tools: ToolCalls::new(limit),
            wants,
            paths: Paths {
                answer: path("choices.0.delta.content"),
                answer_anthropic: path("delta.text"),
                reasoning: path("choices.0.delta.reasoning_content"),
                thinking: path("delta.thinking"),
            },
        }
    }

    /// Whether any event needs reading.
    pub fn reads(&self) -> bool {
        self.wants.answer
            || self.wants.reasoning
            || self.wants.tools
            || self.kept.iter().any(|k| !matches!(k, Kept::Nothing))
    }

    /// Takes one event: `root` its data read, `data` its text.
    pub fn event<N: Node>(&mut self, attributes: &[Attribute], root: N, data: &[u8]) {
        for (kept, attribute) in self.kept.iter_mut().zip(attributes) {
            let Some(path) = &attribute.path else { continue };
            match kept {
                Kept::Nothing => {}
                Kept::First(slot) => {
                    if slot.is_none() {
                        *slot = value_at(path, root);
                    }
                }
                Kept::Replace(slot) => {
                    if let Some(value) = value_at(path, root) {
                        *slot = Some(value);
                    }
                }
                Kept::Append(text) => {
                    if let Some(piece) = path.string(root) {
                        text.push(&piece);
                    }
                }
            }
        }
        let append = |clip: &mut Clipped, path: &Option<Path>| {
            if let Some(piece) = path.as_ref().and_then(|p| p.string(root)) {
                clip.push(&piece);
            }
        };
        if self.wants.answer {
            append(&mut self.answer, &self.paths.answer);
            append(&mut self.answer_anthropic, &self.paths.answer_anthropic);
        }
        if self.wants.reasoning {
            append(&mut self.reasoning, &self.paths.reasoning);
            append(&mut self.reasoning, &self.paths.thinking);
        }
        // Tool calls are rare: only events that may carry one are parsed for them.
        let tools = [&b"tool_calls"[..], b"tool_use", b"partial_json"];
        if self.wants.tools && tools.iter().any(|t| higress_sdk::scan::contains(data, t)) {
            if let Ok(event) = serde_json::from_slice::<Value>(data) {
                self.tools.event(&event);
            }
        }
    }

    /// The value the stream gave attribute number `index`: its own path's, else its
    /// built-in's.
    pub fn value(&self, index: usize, attribute: &Attribute) -> Option<Value> {
        let own = match self.kept.get(index) {
            Some(Kept::First(v) | Kept::Replace(v)) => v.clone(),
            Some(Kept::Append(text)) => Some(Value::String(text.text())),
            _ => None,
        };
        given(own).or_else(|| match attribute.builtin? {
            Builtin::Answer => {
                let text = if self.answer.is_empty() { &self.answer_anthropic } else { &self.answer };
                given(Some(Value::String(text.text())))
            }
            Builtin::Reasoning => given(Some(Value::String(self.reasoning.text()))),
            Builtin::ToolCalls => self.tools.value(),
            _ => None,
        })
    }
}

/// Tool calls assembled from a stream: OpenAI's deltas by index, Anthropic's `tool_use`
/// blocks with their streamed input.
#[derive(Debug)]
struct ToolCalls {
    limit: usize,
    calls: BTreeMap<u64, Call>,
}

#[derive(Debug)]
struct Call {
    id: String,
    kind: String,
    name: String,
    arguments: Clipped,
}

impl ToolCalls {
    fn new(limit: usize) -> ToolCalls {
        ToolCalls { limit, calls: BTreeMap::new() }
    }

    fn call(&mut self, index: u64) -> &mut Call {
        let limit = self.limit;
        self.calls.entry(index).or_insert_with(|| Call {
            id: String::new(),
            kind: String::new(),
            name: String::new(),
            arguments: Clipped::new(limit),
        })
    }

    fn event(&mut self, event: &Value) {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        if let Some(deltas) = event.pointer("/choices/0/delta/tool_calls").and_then(Value::as_array) {
            for delta in deltas {
                let index = delta.get("index").and_then(Value::as_u64).unwrap_or(0);
                let call = self.call(index);
                for (slot, value) in [
                    (&mut call.id, text(delta.get("id"))),
                    (&mut call.kind, text(delta.get("type"))),
                    (&mut call.name, text(delta.pointer("/function/name"))),
                ] {
                    if !value.is_empty() {
                        *slot = value;
                    }
                }
                call.arguments.push(&text(delta.pointer("/function/arguments")));
            }
            return;
        }
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match event.get("type").and_then(Value::as_str) {
            Some("content_block_start") if event.pointer("/content_block/type") == Some(&json!("tool_use")) => {
                let call = self.call(index);
                call.id = text(event.pointer("/content_block/id"));
                call.name = text(event.pointer("/content_block/name"));
                call.kind = "tool_use".into();
                // A start carries `input: {}`, then the input streams: Go wrote both ("{}{...}").
                match event.pointer("/content_block/input") {
                    Some(Value::Object(input)) if !input.is_empty() => {
                        call.arguments.push(&Value::Object(input.clone()).to_string())
                    }
                    _ => {}
                }
            }
            Some("content_block_delta") => {
                if let (Some(call), Some(piece)) =
                    (self.calls.get_mut(&index), event.pointer("/delta/partial_json").and_then(Value::as_str))
                {
                    call.arguments.push(piece);
                }
            }
            _ => {}
        }
    }

    fn value(&self) -> Option<Value> {
        if self.calls.is_empty() {
            return None;
        }
        let calls = self
            .calls
            .iter()
            .map(|(index, call)| {
                let mut object = Map::new();
                object.insert("index".into(), json!(index));
                if !call.id.is_empty() {
                    object.insert("id".into(), json!(call.id));
                }
                if !call.kind.is_empty() {
                    object.insert("type".into(), json!(call.kind));
                }
                object.insert("function".into(), json!({"name": call.name, "arguments": call.arguments.text()}));
                Value::Object(object)
            })
            .collect();
        Some(Value::Array(calls))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builtin_paths_compile() {
        for path in [
            "messages.@reverse.0.content",
            "system",
            "messages.#(role==\"system\").content",
            "choices.0.message.content",
            "content.#(type==\"text\").text",
            "choices.0.message.reasoning_content",
            "content.#(type==\"thinking\").thinking",
            "choices.0.message.tool_calls",
            "content.#(type==\"tool_use\")#",
        ] {
            assert!(Path::compile(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn long_texts_keep_their_head_and_tail() {
        assert_eq!(clip("abcdefghij", 20), "abcdefghij");
        assert_eq!(clip("abcdefghij", 4), "ab [truncated] ij");
        assert_eq!(clip("ééééé", 4), "é [truncated] é", "cut on character boundaries");
        for limit in [1, 4, 7, 100] {
            let text: String = (0..1000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            let mut clipped = Clipped::new(limit);
            for piece in text.as_bytes().chunks(13) {
                clipped.push(std::str::from_utf8(piece).unwrap());
            }
            assert_eq!(clipped.text(), clip(&text, limit), "limit {limit}");
        }
    }

    #[test]
    fn streamed_tool_calls_are_assembled() {
        let mut tools = ToolCalls::new(1000);
        for event in [
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":""}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}),
        ] {
            tools.event(&event);
        }
        assert_eq!(
            tools.value().unwrap(),
            json!([{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}])
        );
        let mut tools = ToolCalls::new(1000);
        for event in [
            json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"g","input":{}}}),
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"b\""}}),
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":":2}"}}),
        ] {
            tools.event(&event);
        }
        assert_eq!(
            tools.value().unwrap(),
            json!([{"index":1,"id":"t","type":"tool_use","function":{"name":"g","arguments":"{\"b\":2}"}}])
        );
    }
}
