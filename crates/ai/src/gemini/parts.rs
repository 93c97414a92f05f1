//! A `Content`'s `parts` (`text`, `inlineData`, `fileData`, `functionCall`,
//! `functionResponse`, thoughts) read into [`Part`]s and written from them; requests and
//! replies share them.

use crate::chat::{ImageSource, Invalid, Part};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// Reads the parts at `at`. A part of a kind no other protocol has (`executableCode`,
/// `codeExecutionResult`, `videoMetadata`, ...) is dropped. A function call without an `id`
/// gets `call_<n>`, `n` counting the calls read so far (`calls`), so an OpenAI client can
/// send its result back; a `thoughtSignature` on a part that is not a thought becomes an
/// empty reasoning part before it, so the signature comes back on the next turn.
pub(super) fn read_parts(parts: &[Value], at: Loc, calls: &mut usize) -> Result<Vec<Part>, Invalid> {
    let mut out = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let loc = at.index(index);
        let part = Obj::new(part, loc)?;
        let signature = part.str("thoughtSignature")?.map(str::to_string);
        let thought = part.bool("thought")? == Some(true);
        if let Some(text) = part.str("text")? {
            if thought {
                out.push(Part::Reasoning { text: text.to_string(), signature });
                continue;
            }
            push_signature(&mut out, signature);
            out.push(Part::Text { text: text.to_string(), cache: None });
        } else if let Some(inline) = part.obj("inlineData")? {
            push_signature(&mut out, signature);
            let media_type = inline.str("mimeType")?.unwrap_or("application/octet-stream").to_string();
            let data = inline.req_str("data")?.to_string();
            out.push(Part::Image { source: ImageSource::Base64 { media_type, data }, cache: None });
        } else if let Some(file) = part.obj("fileData")? {
            push_signature(&mut out, signature);
            out.push(Part::Image { source: ImageSource::Url(file.req_str("fileUri")?.to_string()), cache: None });
        } else if let Some(call) = part.obj("functionCall")? {
            push_signature(&mut out, signature);
            let id = match call.str("id")? {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => format!("call_{calls}"),
            };
            *calls += 1;
            let arguments = match call.get("args") {
                Some(args) => args.to_string(),
                None => "{}".to_string(),
            };
            out.push(Part::ToolCall { id, name: call.req_str("name")?.to_string(), arguments });
        } else if let Some(response) = part.obj("functionResponse")? {
            out.push(read_function_response(&response)?);
        }
    }
    Ok(out)
}

/// An empty reasoning part carrying `signature`, when there is one.
fn push_signature(out: &mut Vec<Part>, signature: Option<String>) {
    if let Some(signature) = signature.filter(|s| !s.is_empty()) {
        out.push(Part::Reasoning { text: String::new(), signature: Some(signature) });
    }
}

/// `functionResponse: {id?, name, response}`: the result of the call `id` (else the one of
/// that name). Gemini's convention: `response.output` is the result, `response.error` a
/// failure, anything else the result as a whole.
fn read_function_response(response: &Obj) -> Result<Part, Invalid> {
    let name = response.req_str("name")?;
    let call_id = match response.str("id")? {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => name.to_string(),
    };
    let body = response.get("response").cloned().unwrap_or(Value::Null);
    let (value, is_error) = match (body.get("output"), body.get("error")) {
        (Some(output), _) => (output.clone(), false),
        (None, Some(error)) => (error.clone(), true),
        (None, None) => (body, false),
    };
    let text = match value {
        Value::String(text) => text,
        other => other.to_string(),
    };
    Ok(Part::ToolResult { call_id, content: vec![Part::Text { text, cache: None }], is_error })
}

/// Where a part is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// A request to Gemini: reasoning text is not sent back (only its signature, on the part
    /// that follows it), function calls and responses go without ids (Gemini pairs them by
    /// name and order).
    Request,
    /// A reply to a Gemini client.
    Reply,
}

/// Writes `parts` as Gemini parts. `names` gives the function name of a tool call id (a
/// `functionResponse` needs the name; OpenAI's tool messages have only the id).
pub(super) fn write_parts(parts: &[Part], target: Target, names: &dyn Fn(&str) -> Option<String>) -> Vec<Value> {
    let mut out = Vec::with_capacity(parts.len());
    let mut signature: Option<&str> = None;
    for part in parts {
        let mut written = match part {
            Part::Text { text, .. } if text.is_empty() => continue,
            Part::Text { text, .. } => object([("text", text.as_str().into())]),
            Part::Image { source, .. } => image(source),
            Part::Reasoning { text, signature: sig } => {
                if target == Target::Request || text.is_empty() {
                    signature = sig.as_deref().filter(|s| !s.is_empty()).or(signature);
                    continue;
                }
                let mut thought = object([("text", text.as_str().into()), ("thought", true.into())]);
                if let (Some(sig), Value::Object(map)) = (sig.as_deref().filter(|s| !s.is_empty()), &mut thought) {
                    map.insert("thoughtSignature".into(), sig.into());
                }
                out.push(thought);
                continue;
            }
            Part::ToolCall { id, name, arguments } => {
                let args = match serde_json::from_str::<Value>(arguments) {
                    Ok(args @ Value::Object(_)) => args,
                    _ => Value::Object(Map::new()),
                };
                let mut call = Map::new();
                if target == Target::Reply {
                    call.insert("id".into(), id.as_str().into());
                }
                call.insert("name".into(), name.as_str().into());
                call.insert("args".into(), args);
                object([("functionCall", Value::Object(call))])
            }
            Part::ToolResult { call_id, content, is_error } => {
                let name = names(call_id).unwrap_or_else(|| call_id.clone());
                let text = content
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text { text, .. } => Some(text.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                // JSON text is passed as JSON (Gemini reads the structure), anything else as text.
                let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
                let key = if *is_error { "error" } else { "output" };
                let mut response = Map::new();
                if target == Target::Reply {
                    response.insert("id".into(), call_id.as_str().into());
                }
                response.insert("name".into(), name.into());
                response.insert("response".into(), object([(key, value)]));
                object([("functionResponse", Value::Object(response))])
            }
        };
        if let (Some(sig), Value::Object(map)) = (signature.take(), &mut written) {
            map.insert("thoughtSignature".into(), sig.into());
        }
        out.push(written);
    }
    out
}

/// An image part: inline bytes as `inlineData`, a URL as `fileData` with the media type its
/// extension says (Gemini requires one; Go downloaded the image instead, inside the request).
fn image(source: &ImageSource) -> Value {
    match source {
        ImageSource::Base64 { media_type, data } => {
            object([("inlineData", object([("mimeType", media_type.as_str().into()), ("data", data.as_str().into())]))])
        }
        ImageSource::Url(url) => {
            object([("fileData", object([("mimeType", media_type_of(url).into()), ("fileUri", url.as_str().into())]))])
        }
    }
}

/// The image media type a URL's extension names (`image/jpeg` when it names none).
fn media_type_of(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
    match path.rsplit('.').next().unwrap_or_default() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => "image/jpeg",
    }
}
