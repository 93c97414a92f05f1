//! `promoteThinkingOnEmpty`: some models put their whole answer in their reasoning and leave
//! the content empty, which clients show as an empty reply. Such an answer gets its
//! reasoning as its content - in a whole OpenAI chat reply, or in a stream, where reasoning
//! is held back until it is known whether content follows.
//!
//! Differences from Go: in a stream, reasoning held back is sent (as reasoning) when
//! content or a tool call follows, where Go lost it; the promoted content comes before the
//! chunk that finishes the choice, where Go put it at the start of the last network chunk;
//! an answer with tool calls is not promoted (its reasoning is not a reply); `reasoning`
//! (vLLM's and OpenRouter's name) is read as `reasoning_content` is in both forms.

use crate::json::JsonDoc;
use serde_json::{json, Value};

/// The fields a reasoning text comes in.
const REASONING: [&str; 2] = ["reasoning_content", "reasoning"];

/// Promotes the reasoning of each choice of `doc` (a whole chat reply) that has no content.
pub fn whole(doc: &mut JsonDoc) {
    let count = doc.len(&["choices"]).unwrap_or(0);
    for i in 0..count {
        let index = i.to_string();
        let Some(Value::Object(message)) = doc.value(&["choices", &index, "message"]) else { continue };
        if has_content(&message) || has_tool_calls(&message) {
            continue;
        }
        let Some((field, reasoning)) = reasoning_of(&message) else { continue };
        doc.set(&["choices", &index, "message", "content"], &Value::String(reasoning));
        doc.remove(&["choices", &index, "message", field]);
    }
}

/// Promotion over a stream of OpenAI chat chunks (one per request).
#[derive(Debug, Default)]
pub struct Stream {
    /// Content (or a tool call) was seen: nothing more is held or promoted.
    answered: bool,
    /// The reasoning held back so far.
    held: String,
    /// The stream's id, creation time and model, for the chunks written here.
    id: Value,
    created: Value,
    model: Value,
}

impl Stream {
    /// The data of the events to send for the chunk `data` (an event's data); `None`: the
    /// event goes as it came.
    pub fn event(&mut self, data: &str) -> Option<Vec<Vec<u8>>> {
        if self.answered {
            return None;
        }
        if data.trim() == "[DONE]" {
            return self.promoted().map(|chunk| vec![chunk, data.as_bytes().to_vec()]);
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else { return None };
        let delta = chunk.pointer("/choices/0/delta").and_then(Value::as_object);
        let finishes = chunk.pointer("/choices/0/finish_reason").is_some_and(|f| !f.is_null())
            || (chunk.get("usage").is_some_and(|u| !u.is_null()) && chunk.pointer("/choices/0").is_none());
        for (field, slot) in [("id", &mut self.id), ("created", &mut self.created), ("model", &mut self.model)] {
            if let Some(value) = chunk.get(field) {
                *slot = value.clone();
            }
        }
        let mut out = Vec::new();
        let mut edited = None;
        if let Some(delta) = delta.filter(|_| !self.answered) {
            if has_content(delta) || has_tool_calls(delta) {
                self.answered = true;
                // What was held back is reasoning after all: it goes before the answer.
                if !self.held.is_empty() {
                    let held = std::mem::take(&mut self.held);
                    out.push(self.chunk(json!({"reasoning_content": held})));
                }
            } else if let Some((field, reasoning)) = reasoning_of(delta) {
                self.held.push_str(&reasoning);
                let mut doc = JsonDoc::parse(data.as_bytes()).ok()?;
                doc.remove(&["choices", "0", "delta", field]);
                edited = Some(doc.into_bytes());
            }
        }
        if finishes {
            out.extend(self.promoted());
        }
        if out.is_empty() && edited.is_none() {
            return None;
        }
        out.push(edited.unwrap_or_else(|| data.as_bytes().to_vec()));
        Some(out)
    }

    /// What is left at the end of a stream that had no `[DONE]` or finishing chunk.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.promoted()
    }

    /// The held reasoning as content, once, if no answer came.
    fn promoted(&mut self) -> Option<Vec<u8>> {
        if self.answered || self.held.is_empty() {
            return None;
        }
        self.answered = true;
        let held = std::mem::take(&mut self.held);
        Some(self.chunk(json!({"content": held})))
    }

    /// A chunk with `delta` for the first choice, in OpenAI's field order (the stream's id,
    /// creation time and model when it gave them).
    fn chunk(&self, delta: Value) -> Vec<u8> {
        let mut out = b"{".to_vec();
        let mut field = |name: &str, value: &Value| {
            if !value.is_null() {
                out.extend_from_slice(format!("\"{name}\":{value},").as_bytes());
            }
        };
        field("id", &self.id);
        field("object", &json!("chat.completion.chunk"));
        field("created", &self.created);
        field("model", &self.model);
        out.extend_from_slice(b"\"choices\":[{\"index\":0,\"delta\":");
        out.extend_from_slice(delta.to_string().as_bytes());
        out.extend_from_slice(b",\"finish_reason\":null}]}");
        out
    }
}

/// Whether a message (or a delta) has content: a string that is not blank, or parts.
fn has_content(message: &serde_json::Map<String, Value>) -> bool {
    match message.get("content") {
        None | Some(Value::Null) => false,
        Some(Value::String(text)) => !text.trim().is_empty(),
        Some(Value::Array(parts)) => !parts.is_empty(),
        Some(_) => true,
    }
}

fn has_tool_calls(message: &serde_json::Map<String, Value>) -> bool {
    message.get("tool_calls").and_then(Value::as_array).is_some_and(|calls| !calls.is_empty())
}

/// The field the reasoning is in, and its text (not empty).
fn reasoning_of(message: &serde_json::Map<String, Value>) -> Option<(&'static str, String)> {
    REASONING.into_iter().find_map(|field| match message.get(field) {
        Some(Value::String(text)) if !text.is_empty() => Some((field, text.clone())),
        _ => None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn whole_of(body: Value) -> Value {
        let mut doc = JsonDoc::parse(body.to_string().as_bytes()).unwrap();
        whole(&mut doc);
        serde_json::from_slice(&doc.into_bytes()).unwrap()
    }

    #[test]
    fn an_empty_answer_gets_its_reasoning() {
        let out = whole_of(json!({"id": "x", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "", "reasoning_content": "the answer"}},
            {"index": 1, "message": {"role": "assistant", "content": null, "reasoning": "other"}},
            {"index": 2, "message": {"role": "assistant", "content": "kept", "reasoning_content": "r"}},
            {"index": 3, "message": {"role": "assistant", "content": null, "reasoning_content": "r",
                "tool_calls": [{"id": "c"}]}},
        ]}));
        assert_eq!(out["choices"][0]["message"], json!({"role": "assistant", "content": "the answer"}));
        assert_eq!(out["choices"][1]["message"], json!({"role": "assistant", "content": "other"}));
        assert_eq!(out["choices"][2]["message"]["content"], "kept");
        assert_eq!(out["choices"][2]["message"]["reasoning_content"], "r");
        assert_eq!(out["choices"][3]["message"]["content"], Value::Null);
    }

    fn run(events: &[&str]) -> Vec<String> {
        let mut stream = Stream::default();
        let mut out = Vec::new();
        for data in events {
            match stream.event(data) {
                Some(list) => out.extend(list.into_iter().map(|d| String::from_utf8(d).unwrap())),
                None => out.push(data.to_string()),
            }
        }
        out.extend(stream.finish().map(|d| String::from_utf8(d).unwrap()));
        out
    }

    fn delta(field: &str, text: &str) -> String {
        json!({"id": "c1", "created": 7, "model": "m", "choices": [{"index": 0, "delta": {field: text}}]}).to_string()
    }

    const FINISH: &str = r#"{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;

    #[test]
    fn a_stream_without_content_gets_its_reasoning_as_content_before_it_finishes() {
        let (a, b) = (delta("reasoning_content", "think "), delta("reasoning_content", "hard"));
        let out = run(&[&a, &b, FINISH, "[DONE]"]);
        assert_eq!(out.len(), 5, "{out:?}");
        let first: Value = serde_json::from_str(&out[0]).unwrap();
        assert_eq!(first["choices"][0]["delta"], json!({}));
        let promoted: Value = serde_json::from_str(&out[2]).unwrap();
        assert_eq!(promoted["choices"][0]["delta"], json!({"content": "think hard"}));
        assert_eq!((promoted["id"].as_str(), promoted["model"].as_str()), (Some("c1"), Some("m")));
        assert_eq!(out[3], FINISH);
        assert_eq!(out[4], "[DONE]");
    }

    #[test]
    fn reasoning_held_back_is_sent_as_reasoning_when_content_follows() {
        let (a, b) = (delta("reasoning", "think"), delta("content", "answer"));
        let out = run(&[&a, &b, FINISH, "[DONE]"]);
        let held: Value = serde_json::from_str(&out[1]).unwrap();
        assert_eq!(held["choices"][0]["delta"], json!({"reasoning_content": "think"}));
        assert_eq!(out[2], b);
        assert_eq!(&out[3..], [FINISH, "[DONE]"]);
    }

    #[test]
    fn a_stream_cut_short_still_gets_its_answer() {
        let a = delta("reasoning_content", "only thoughts");
        let out = run(&[&a]);
        let promoted: Value = serde_json::from_str(out.last().unwrap()).unwrap();
        assert_eq!(promoted["choices"][0]["delta"]["content"], "only thoughts");
    }

    #[test]
    fn a_stream_with_content_passes_untouched() {
        let (a, b) = (delta("content", "hi"), delta("reasoning_content", "later"));
        assert_eq!(run(&[&a, &b, FINISH, "[DONE]"]), [a.as_str(), b.as_str(), FINISH, "[DONE]"]);
    }
}
