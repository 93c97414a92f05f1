//! Conversation tidying on an OpenAI chat request before it leaves: `contextCleanupCommands`
//! (a user message such as `/clear` drops everything said before it) and
//! `mergeConsecutiveMessages` (providers that require user and assistant turns to alternate).
//!
//! The `messages` array is rebuilt from the raw text of the messages kept: a message nothing
//! happened to leaves byte for byte as it came, with every field the gateway does not know.
//! Go decoded the request into its own struct and encoded it again, losing every field that
//! struct lacks (`tool_choice`, `response_format`...), the second message's `tool_calls` of
//! a merged pair, and content parts of types it did not know.

use crate::json::JsonDoc;
use serde_json::{json, Value};

/// What is done to a conversation (from the provider's config).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tidy {
    /// `contextCleanupCommands`: user messages that clear the conversation before them.
    pub cleanup_commands: Vec<String>,
    /// `mergeConsecutiveMessages` (or `hiclawMode`).
    pub merge: bool,
}

impl Tidy {
    /// Whether anything is to be done.
    pub fn is_active(&self) -> bool {
        self.merge || !self.cleanup_commands.is_empty()
    }

    /// Tidies the `messages` of `doc`, a chat request in OpenAI's protocol; leaves `doc`
    /// untouched when nothing changes (or it has no array of messages).
    pub fn apply(&self, doc: &mut JsonDoc) {
        if !self.is_active() {
            return;
        }
        let count = doc.len(&["messages"]).unwrap_or(0);
        let mut messages: Vec<Message> =
            (0..count).filter_map(|i| doc.raw(&["messages", &i.to_string()]).map(Message::new)).collect();
        let mut changed = self.cleanup(&mut messages);
        if self.merge {
            changed |= merge(&mut messages);
        }
        if !changed {
            return;
        }
        let mut array = Vec::with_capacity(doc.as_bytes().len());
        array.push(b'[');
        for (i, message) in messages.iter().enumerate() {
            if i > 0 {
                array.push(b',');
            }
            message.write(&mut array);
        }
        array.push(b']');
        doc.set_raw(&["messages"], &array);
    }

    /// Drops everything before the last user message that is a cleanup command, but the
    /// system (and `developer`) messages, and the command itself.
    fn cleanup(&self, messages: &mut Vec<Message>) -> bool {
        if self.cleanup_commands.is_empty() {
            return false;
        }
        let is_command = |m: &Message| {
            m.role() == Some("user") && m.text().is_some_and(|text| self.cleanup_commands.contains(&text))
        };
        let Some(at) = messages.iter().rposition(is_command) else { return false };
        let mut index = 0;
        messages.retain(|m| {
            let keep = index > at || (index < at && matches!(m.role(), Some("system" | "developer")));
            index += 1;
            keep
        });
        true
    }
}

/// Merges each run of user (or of assistant) messages into its first message.
fn merge(messages: &mut Vec<Message>) -> bool {
    let mut merged: Vec<Message> = Vec::with_capacity(messages.len());
    let mut changed = false;
    for message in messages.drain(..) {
        let role = message.role().map(str::to_string);
        match merged.last_mut() {
            Some(last) if matches!(role.as_deref(), Some("user" | "assistant")) && last.role() == role.as_deref() => {
                last.absorb(message);
                changed = true;
            }
            _ => merged.push(message),
        }
    }
    *messages = merged;
    changed
}

/// One message: its text as sent, and its decoded form once it is looked into.
struct Message<'a> {
    raw: &'a [u8],
    value: Value,
    /// The message's text once edited.
    edited: Option<Vec<u8>>,
}

impl<'a> Message<'a> {
    fn new(raw: &'a [u8]) -> Message<'a> {
        Message { raw, value: serde_json::from_slice(raw).unwrap_or(Value::Null), edited: None }
    }

    fn role(&self) -> Option<&str> {
        self.value.get("role").and_then(Value::as_str)
    }

    /// The text of the message: its string content, or its text parts joined by lines.
    fn text(&self) -> Option<String> {
        match self.value.get("content")? {
            Value::String(text) => Some(text.clone()),
            Value::Array(parts) => {
                let texts: Vec<&str> = parts
                    .iter()
                    .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect();
                (!texts.is_empty()).then(|| texts.join("\n"))
            }
            _ => None,
        }
    }

    /// Takes `next`'s content (two texts joined by a blank line, else both as parts) and
    /// its tool calls; the first message's other fields stay, in their order.
    fn absorb(&mut self, next: Message) {
        let Value::Object(mut next) = next.value else { return };
        let Some(object) = self.value.as_object_mut() else { return };
        let Ok(mut doc) = JsonDoc::parse(self.edited.as_deref().unwrap_or(self.raw)) else { return };
        if let Some(content) = join(object.get("content").cloned(), next.remove("content")) {
            doc.set(&["content"], &content);
            object.insert("content".into(), content);
        }
        if let Some(Value::Array(mut more)) = next.remove("tool_calls") {
            let calls = match object.get_mut("tool_calls") {
                Some(Value::Array(calls)) => {
                    calls.append(&mut more);
                    Value::Array(calls.clone())
                }
                _ => Value::Array(more),
            };
            doc.set(&["tool_calls"], &calls);
            object.insert("tool_calls".into(), calls);
        }
        self.edited = Some(doc.into_bytes());
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.edited.as_deref().unwrap_or(self.raw));
    }
}

/// Two contents as one: strings joined by a blank line, otherwise the parts of both (a
/// string becomes a text part); a missing or null content adds nothing.
fn join(first: Option<Value>, second: Option<Value>) -> Option<Value> {
    match (first.filter(|v| !v.is_null()), second.filter(|v| !v.is_null())) {
        (Some(Value::String(a)), Some(Value::String(b))) => Some(Value::String(format!("{a}\n\n{b}"))),
        (Some(a), Some(b)) => {
            let mut both = parts(a);
            both.extend(parts(b));
            Some(Value::Array(both))
        }
        (one, other) => one.or(other),
    }
}

/// A content as parts (anything else than a string or an array is kept as one part, for the
/// provider to judge).
fn parts(content: Value) -> Vec<Value> {
    match content {
        Value::Array(parts) => parts,
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        other => vec![other],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tidied(tidy: &Tidy, body: &str) -> String {
        let mut doc = JsonDoc::parse(body.as_bytes()).unwrap();
        tidy.apply(&mut doc);
        String::from_utf8(doc.into_bytes()).unwrap()
    }

    fn cleanup() -> Tidy {
        Tidy { cleanup_commands: vec!["/clear".into(), "清除上下文".into()], merge: false }
    }

    #[test]
    fn a_cleanup_command_drops_what_came_before_it_but_system_messages() {
        let body = r#"{"model":"m","tool_choice":"auto","messages":[{"role":"system","content":"s","x":1},{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"developer","content":"d"},{"role":"user","content":"/clear"},{"role":"user", "content":"c"}]}"#;
        let expected = r#"{"model":"m","tool_choice":"auto","messages":[{"role":"system","content":"s","x":1},{"role":"developer","content":"d"},{"role":"user", "content":"c"}]}"#;
        assert_eq!(tidied(&cleanup(), body), expected);
    }

    #[test]
    fn the_last_command_counts_and_text_parts_match_too() {
        let body = r#"{"messages":[{"role":"user","content":"/clear"},{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"清除上下文"}]},{"role":"user","content":"b"}]}"#;
        assert_eq!(tidied(&cleanup(), body), r#"{"messages":[{"role":"user","content":"b"}]}"#);
    }

    #[test]
    fn without_a_command_the_body_is_untouched() {
        for body in [
            r#"{"messages":[{"role":"user","content":"/clear please"},{"role":"assistant","content":"/clear"}]}"#,
            r#"{"messages":"no"}"#,
            r#"{"model":"m"}"#,
            r#"{"messages":[1,null,{"role":"user","content":"/clea"}]}"#,
        ] {
            let mut doc = JsonDoc::parse(body.as_bytes()).unwrap();
            cleanup().apply(&mut doc);
            assert!(!doc.changed(), "{body}");
        }
    }

    fn merging() -> Tidy {
        Tidy { cleanup_commands: Vec::new(), merge: true }
    }

    #[test]
    fn consecutive_user_or_assistant_messages_are_merged() {
        let body = r#"{"messages":[{"role":"system","content":"s1"},{"role":"system","content":"s2"},{"role":"user","content":"a","name":"n"},{"role":"user","content":"b"},{"role":"user","content":"c"},{"role":"assistant","content":"x"},{"role":"tool","content":"t1"},{"role":"tool","content":"t2"}]}"#;
        let out: Value = serde_json::from_str(&tidied(&merging(), body)).unwrap();
        assert_eq!(
            out["messages"],
            json!([{"role":"system","content":"s1"},{"role":"system","content":"s2"},
                {"role":"user","content":"a\n\nb\n\nc","name":"n"},{"role":"assistant","content":"x"},
                {"role":"tool","content":"t1"},{"role":"tool","content":"t2"}])
        );
    }

    #[test]
    fn merged_parts_and_tool_calls_are_all_kept() {
        let image = json!({"type":"image_url","image_url":{"url":"data:x"}});
        let audio = json!({"type":"input_audio","input_audio":{"data":"y"}});
        let body = json!({"messages":[
            {"role":"user","content":"look"},
            {"role":"user","content":[image, audio]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},
            {"role":"assistant","tool_calls":[{"id":"2"}]},
            {"role":"assistant","content":"done"}]});
        let out: Value = serde_json::from_str(&tidied(&merging(), &body.to_string())).unwrap();
        assert_eq!(out["messages"][0]["content"], json!([{"type":"text","text":"look"}, image, audio]));
        assert_eq!(
            out["messages"][1],
            json!({"role":"assistant","content":"done","tool_calls":[{"id":"1"},{"id":"2"}]})
        );
        assert_eq!(out["messages"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn alternating_messages_are_untouched() {
        let body = r#"{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}"#;
        let mut doc = JsonDoc::parse(body.as_bytes()).unwrap();
        merging().apply(&mut doc);
        assert!(!doc.changed());
    }

    #[test]
    fn cleanup_comes_before_merging() {
        let tidy = Tidy { cleanup_commands: vec!["/clear".into()], merge: true };
        let body = r#"{"messages":[{"role":"user","content":"a"},{"role":"user","content":"/clear"},{"role":"user","content":"b"},{"role":"user","content":"c"}]}"#;
        assert_eq!(tidied(&tidy, body), r#"{"messages":[{"role":"user","content":"b\n\nc"}]}"#);
    }
}
