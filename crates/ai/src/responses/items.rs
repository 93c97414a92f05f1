//! The items a response is made of (`message`, `reasoning`, `function_call`), written for a
//! whole reply and for a stream's events, and read back into the model's parts (from a
//! provider's reply, and from a client's input, which holds the same items).

use crate::chat::{Invalid, Part};
use crate::json::{object, Obj};
use serde_json::{Map, Value};

/// `{type: output_text, text, annotations: []}`.
pub(super) fn output_text(text: &str) -> Value {
    object([("type", "output_text".into()), ("text", text.into()), ("annotations", Value::Array(Vec::new()))])
}

/// An assistant message item holding `content` (`output_text` parts).
pub(super) fn message_item(id: &str, content: Vec<Value>, status: &str) -> Value {
    object([
        ("id", id.into()),
        ("type", "message".into()),
        ("status", status.into()),
        ("role", "assistant".into()),
        ("content", Value::Array(content)),
    ])
}

/// `{type: summary_text, text}`.
pub(super) fn summary_text(text: &str) -> Value {
    object([("type", "summary_text".into()), ("text", text.into())])
}

/// A reasoning item: its text as one summary part (none when it has no text) and its
/// signature as `encrypted_content`, which clients send back unchanged.
pub(super) fn reasoning_item(id: &str, text: &str, signature: Option<&str>) -> Value {
    let summary = match text {
        "" => Vec::new(),
        text => vec![summary_text(text)],
    };
    let mut item = Map::new();
    item.insert("id".into(), id.into());
    item.insert("type".into(), "reasoning".into());
    item.insert("summary".into(), Value::Array(summary));
    if let Some(signature) = signature {
        item.insert("encrypted_content".into(), signature.into());
    }
    Value::Object(item)
}

/// A function call item (a finished call's arguments go through [`arguments_text`]; a
/// streamed one starts with none, which its deltas add to).
pub(super) fn function_call_item(id: &str, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    object([
        ("id", id.into()),
        ("type", "function_call".into()),
        ("status", status.into()),
        ("call_id", call_id.into()),
        ("name", name.into()),
        ("arguments", arguments.into()),
    ])
}

/// Arguments as clients parse them: no arguments are `{}`.
pub(super) fn arguments_text(arguments: &str) -> &str {
    if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    }
}

/// A reasoning item as a part: its reasoning text (`content`) when it has one, else its
/// summary parts joined by blank lines, with `encrypted_content` as the signature. `None`
/// for an item with neither text nor signature.
pub(super) fn reasoning_part(item: &Obj) -> Result<Option<Part>, Invalid> {
    let mut text = String::new();
    for key in ["content", "summary"] {
        let Some(parts) = item.array(key)? else { continue };
        let at = item.at(key);
        for (i, part) in parts.iter().enumerate() {
            let part_at = at.index(i);
            let part = Obj::new(part, part_at)?;
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(part.req_str("text")?);
        }
        if !text.is_empty() {
            break;
        }
    }
    let signature = item.str("encrypted_content")?.filter(|s| !s.is_empty()).map(str::to_string);
    if text.is_empty() && signature.is_none() {
        return Ok(None);
    }
    Ok(Some(Part::Reasoning { text, signature }))
}

/// A function call item as a part: `call_id`, `name`, `arguments` (a string of JSON; some
/// providers send the object, which is serialised).
pub(super) fn function_call_part(item: &Obj) -> Result<Part, Invalid> {
    let arguments = match item.get("arguments") {
        None => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(value @ Value::Object(_)) => value.to_string(),
        Some(_) => return Err(item.at("arguments").invalid("a string of JSON")),
    };
    Ok(Part::ToolCall { id: item.req_str("call_id")?.to_string(), name: item.req_str("name")?.to_string(), arguments })
}

/// The text of an assistant message's content: its `output_text` parts (and `input_text`,
/// which the short form of input messages uses), and a refusal as what was said.
pub(super) fn message_text(item: &Obj) -> Result<String, Invalid> {
    let content = match item.get("content") {
        None => return Ok(String::new()),
        Some(Value::String(text)) => return Ok(text.clone()),
        Some(Value::Array(content)) => content,
        Some(_) => return Err(item.at("content").invalid("a string or an array of content parts")),
    };
    let at = item.at("content");
    let mut text = String::new();
    for (i, part) in content.iter().enumerate() {
        let part_at = at.index(i);
        let part = Obj::new(part, part_at)?;
        match part.req_str("type")? {
            "output_text" | "input_text" | "text" => text.push_str(part.req_str("text")?),
            "refusal" => text.push_str(part.req_str("refusal")?),
            _ => return Err(part.at("type").invalid("output_text or refusal")),
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Loc;
    use serde_json::json;

    #[test]
    fn reasoning_reads_text_before_summary() {
        let item = json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "a"}, {"type": "summary_text", "text": "b"}]});
        let part = reasoning_part(&Obj::new(&item, Loc::Root).unwrap()).unwrap();
        assert_eq!(part, Some(Part::Reasoning { text: "a\n\nb".into(), signature: None }));
        let item = json!({"summary": [{"type": "summary_text", "text": "s"}], "content": [{"type": "reasoning_text", "text": "raw"}], "encrypted_content": "sig"});
        let part = reasoning_part(&Obj::new(&item, Loc::Root).unwrap()).unwrap();
        assert_eq!(part, Some(Part::Reasoning { text: "raw".into(), signature: Some("sig".into()) }));
        let empty = json!({"summary": []});
        assert_eq!(reasoning_part(&Obj::new(&empty, Loc::Root).unwrap()).unwrap(), None);
        let bad = json!({"summary": [{"type": "summary_text"}]});
        assert_eq!(
            reasoning_part(&Obj::new(&bad, Loc::Root).unwrap()).unwrap_err().0,
            "summary[0].text: expected a string"
        );
        assert_eq!(
            reasoning_item("rs_1", "", Some("s")),
            json!({"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "s"})
        );
        assert_eq!(function_call_item("fc", "c", "f", "", "in_progress")["arguments"], "");
        assert_eq!(arguments_text(" "), "{}");
    }
}
