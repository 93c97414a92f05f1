//! A message's `content`: a string (text models), or a list of items each holding one of
//! `text`, `image`, `audio`, `video` (multimodal models); and the tool calls of an assistant
//! message, shaped as OpenAI's. Requests, replies and streams share them.

use crate::chat::{ImageSource, Invalid, Part};
use crate::json::{object, Obj};
use serde_json::Value;
use std::borrow::Cow;

/// The parts of the content at `key` (none when absent). `images`: whether `{image}` items are
/// allowed (user messages). Audio and video cannot be carried to another protocol: refused,
/// naming the item, rather than silently never seen by the model. Empty texts are dropped.
pub(super) fn read_content(message: &Obj, key: &str, images: bool) -> Result<Vec<Part>, Invalid> {
    let items = match message.get(key) {
        None => return Ok(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => return Ok(Vec::new()),
        Some(Value::String(text)) => return Ok(vec![Part::Text { text: text.clone(), cache: None }]),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(message.at(key).invalid("a string or a list of content items")),
    };
    let at = message.at(key);
    let mut parts = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let item_at = at.index(index);
        let item = Obj::new(item, item_at)?;
        if let Some(text) = item.str("text")? {
            if !text.is_empty() {
                parts.push(Part::Text { text: text.to_string(), cache: item.cache_control()? });
            }
        } else if let (true, Some(url)) = (images, item.str("image")?) {
            parts.push(Part::Image { source: ImageSource::from_url(url), cache: None });
        } else if images {
            return Err(item_at.invalid("a {text} or {image} item (audio and video cannot be translated)"));
        } else {
            return Err(item_at.invalid("a {text} item"));
        }
    }
    Ok(parts)
}

/// The text of the content at `key`: the string, or the list's texts joined (a multimodal
/// reply's `[{text}]`); other items are skipped.
pub(super) fn content_text<'v>(message: &Obj<'v, '_>, key: &str) -> Result<Cow<'v, str>, Invalid> {
    match message.get(key) {
        None => Ok(Cow::Borrowed("")),
        Some(Value::String(text)) => Ok(Cow::Borrowed(text)),
        Some(Value::Array(items)) => {
            Ok(Cow::Owned(items.iter().filter_map(|item| item.get("text").and_then(Value::as_str)).collect()))
        }
        Some(_) => Err(message.at(key).invalid("a string or a list of content items")),
    }
}

/// A call of an assistant message, `{id?, type?, index?, function: {name, arguments}}`; one
/// without an id is `call_<position>` (Qwen has answered with empty ids), so its result can be
/// sent back.
pub(super) fn read_tool_call(call: &Obj, position: usize) -> Result<Part, Invalid> {
    let function = call.req_obj("function")?;
    let id = match call.str("id")? {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("call_{position}"),
    };
    Ok(Part::ToolCall {
        id,
        name: function.req_str("name")?.to_string(),
        arguments: arguments(&function)?.into_owned(),
    })
}

/// A function's `arguments` as JSON text: a string, as Qwen sends them, or an object (which
/// some clients send), serialized.
pub(super) fn arguments<'v>(function: &Obj<'v, '_>) -> Result<Cow<'v, str>, Invalid> {
    match function.get("arguments") {
        None => Ok(Cow::Borrowed("")),
        Some(Value::String(text)) => Ok(Cow::Borrowed(text)),
        Some(value @ Value::Object(_)) => Ok(Cow::Owned(value.to_string())),
        Some(_) => Err(function.at("arguments").invalid("a string of JSON")),
    }
}

/// A tool call as DashScope writes it: OpenAI's shape.
pub(super) use crate::openai::tool_call as write_tool_call;

/// A `{text}` item.
pub(super) fn text_item(text: &str) -> Value {
    object([("text", text.into())])
}

/// An `{image}` item: a URL, or inline bytes as a `data:` URL (which DashScope takes).
pub(super) fn image_item(source: &ImageSource) -> Value {
    object([("image", source.to_url().into())])
}

/// The texts of `parts` joined with `separator`.
pub(super) fn joined_text(parts: &[Part], separator: &str) -> String {
    let texts: Vec<&str> = parts
        .iter()
        .filter_map(|part| match part {
            Part::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join(separator)
}
