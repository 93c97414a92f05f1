//! Converse content blocks (`text`, `image`, `toolUse`, `toolResult`, `reasoningContent`,
//! `cachePoint`) read into [`Part`]s and written from them; requests and replies share them.

use crate::chat::{ImageSource, Invalid, Part};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// Reads the blocks at `at` into `out`. A `cachePoint` marks the part before it as cached
/// (Anthropic's `cache_control`, with its `ttl`); blocks no other protocol has (`document`,
/// `video`, `guardContent`, `citationsContent`, redacted reasoning) are dropped.
pub(super) fn read_blocks(blocks: &[Value], at: Loc, out: &mut Vec<Part>) -> Result<(), Invalid> {
    for (index, block) in blocks.iter().enumerate() {
        let block = Obj::new(block, at.index(index))?;
        if let Some(text) = block.str("text")? {
            out.push(Part::Text { text: text.to_string(), cache: None });
        } else if let Some(image) = block.obj("image")? {
            out.push(Part::Image { source: read_image(&image)?, cache: None });
        } else if let Some(call) = block.obj("toolUse")? {
            let arguments = match call.get("input") {
                Some(input) => input.to_string(),
                None => "{}".to_string(),
            };
            out.push(Part::ToolCall {
                id: call.req_str("toolUseId")?.to_string(),
                name: call.req_str("name")?.to_string(),
                arguments,
            });
        } else if let Some(result) = block.obj("toolResult")? {
            out.push(read_tool_result(&result)?);
        } else if let Some(reasoning) = block.obj("reasoningContent")? {
            if let Some(text) = reasoning.obj("reasoningText")? {
                out.push(Part::Reasoning {
                    text: text.str("text")?.unwrap_or_default().to_string(),
                    signature: text.str("signature")?.map(str::to_string),
                });
            }
        } else if let Some(point) = block.obj("cachePoint")? {
            mark_cached(out, &point)?;
        }
    }
    Ok(())
}

/// `image: {format, source: {bytes}}` (base64 in JSON). An image in S3 cannot be passed to
/// another provider, which could not read it.
fn read_image(image: &Obj) -> Result<ImageSource, Invalid> {
    let format = image.req_str("format")?;
    let source = image.req_obj("source")?;
    if let Some(bytes) = source.str("bytes")? {
        return Ok(ImageSource::Base64 { media_type: format!("image/{format}"), data: bytes.to_string() });
    }
    Err(source.at("bytes").invalid("base64 image bytes (an image in S3 cannot go to another provider)"))
}

/// `toolResult: {toolUseId, content: [{text} | {json} | {image}], status}`; JSON content
/// becomes its text.
fn read_tool_result(result: &Obj) -> Result<Part, Invalid> {
    let mut content = Vec::new();
    let at = result.at("content");
    for (index, block) in result.array("content")?.unwrap_or_default().iter().enumerate() {
        let block = Obj::new(block, at.index(index))?;
        if let Some(text) = block.str("text")? {
            content.push(Part::Text { text: text.to_string(), cache: None });
        } else if let Some(json) = block.get("json") {
            content.push(Part::Text { text: json.to_string(), cache: None });
        } else if let Some(image) = block.obj("image")? {
            content.push(Part::Image { source: read_image(&image)?, cache: None });
        }
    }
    Ok(Part::ToolResult {
        call_id: result.req_str("toolUseId")?.to_string(),
        content,
        is_error: result.str("status")? == Some("error"),
    })
}

/// The part before a `cachePoint` is where Anthropic's `cache_control` goes.
fn mark_cached(out: &mut [Part], point: &Obj) -> Result<(), Invalid> {
    let mut cache = Map::new();
    cache.insert("type".into(), "ephemeral".into());
    if let Some(ttl) = point.str("ttl")? {
        cache.insert("ttl".into(), ttl.into());
    }
    if let Some(Part::Text { cache: slot, .. } | Part::Image { cache: slot, .. }) = out.last_mut() {
        *slot = Some(Value::Object(cache));
    }
    Ok(())
}

/// `{"cachePoint": {"type": "default", "ttl"?}}` for an Anthropic `cache_control`, whose
/// `ttl` (`5m`, `1h`) Bedrock takes too.
pub(super) fn cache_point(cache: &Value) -> Value {
    let mut point = Map::new();
    point.insert("type".into(), "default".into());
    if let Some(ttl) = cache.get("ttl").and_then(Value::as_str) {
        point.insert("ttl".into(), ttl.into());
    }
    object([("cachePoint", Value::Object(point))])
}

/// Where blocks are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// A request to Bedrock: reasoning goes back only with its signature (Claude refuses
    /// reasoning it did not sign), cached parts are followed by a `cachePoint`.
    Request,
    /// A reply to a Bedrock client.
    Reply,
}

/// Whether `text` can be a text block (Bedrock refuses blank ones).
pub(super) fn has_text(text: &str) -> bool {
    !text.trim().is_empty()
}

/// Appends the blocks `part` becomes to `out`. An image by URL is [`Invalid`]: Converse
/// takes image bytes only (Go dropped the image and sent the rest).
pub(super) fn write_part(part: &Part, target: Target, out: &mut Vec<Value>) -> Result<(), Invalid> {
    let (block, cache) = match part {
        Part::Text { text, .. } if !has_text(text) => return Ok(()),
        Part::Text { text, cache } => (object([("text", text.as_str().into())]), cache),
        Part::Image { source, cache } => (write_image(source)?, cache),
        Part::Reasoning { text, signature } => {
            let signature = signature.as_deref().filter(|s| !s.is_empty());
            if target == Target::Request && signature.is_none() {
                return Ok(());
            }
            let mut reasoning = Map::new();
            reasoning.insert("text".into(), text.as_str().into());
            if let Some(signature) = signature {
                reasoning.insert("signature".into(), signature.into());
            }
            let block = object([("reasoningText", Value::Object(reasoning))]);
            (object([("reasoningContent", block)]), &None)
        }
        Part::ToolCall { id, name, arguments } => {
            let input = match serde_json::from_str::<Value>(arguments) {
                Ok(input @ Value::Object(_)) => input,
                _ => Value::Object(Map::new()),
            };
            let call = object([("toolUseId", id.as_str().into()), ("name", name.as_str().into()), ("input", input)]);
            (object([("toolUse", call)]), &None)
        }
        Part::ToolResult { call_id, content, is_error } => (write_tool_result(call_id, content, *is_error)?, &None),
    };
    out.push(block);
    if let (Target::Request, Some(cache)) = (target, cache) {
        out.push(cache_point(cache));
    }
    Ok(())
}

/// `image: {format, source: {bytes}}`: PNG, JPEG, GIF and WebP, the formats Converse takes.
fn write_image(source: &ImageSource) -> Result<Value, Invalid> {
    match source {
        ImageSource::Base64 { media_type, data } => {
            let format = match media_type.to_ascii_lowercase().as_str() {
                "image/png" => "png",
                "image/jpeg" | "image/jpg" => "jpeg",
                "image/gif" => "gif",
                "image/webp" => "webp",
                other => {
                    return Err(Invalid(format!(
                        "image of type {other}: Bedrock's Converse takes png, jpeg, gif or webp images"
                    )))
                }
            };
            let source = object([("bytes", data.as_str().into())]);
            Ok(object([("image", object([("format", format.into()), ("source", source)]))]))
        }
        ImageSource::Url(url) => Err(Invalid(format!(
            "image {url}: Bedrock's Converse takes images only as bytes (a data: URL), not by URL"
        ))),
    }
}

/// `toolResult: {toolUseId, content, status?}`: text and images; `status: error` for a
/// failed call.
fn write_tool_result(call_id: &str, content: &[Part], is_error: bool) -> Result<Value, Invalid> {
    let mut blocks = Vec::with_capacity(content.len());
    for part in content {
        match part {
            Part::Text { text, .. } if has_text(text) => blocks.push(object([("text", text.as_str().into())])),
            Part::Image { source, .. } => blocks.push(write_image(source)?),
            _ => {}
        }
    }
    let mut result = Map::new();
    result.insert("toolUseId".into(), call_id.into());
    result.insert("content".into(), Value::Array(blocks));
    if is_error {
        result.insert("status".into(), "error".into());
    }
    Ok(object([("toolResult", Value::Object(result))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_round_trip() {
        let blocks = json!([
            {"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "sig"}}},
            {"text": "Hello"},
            {"cachePoint": {"type": "default", "ttl": "1h"}},
            {"image": {"format": "png", "source": {"bytes": "iVBO"}}},
            {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}},
            {"toolResult": {"toolUseId": "t1", "content": [{"json": {"ok": true}}, {"text": "done"}], "status": "error"}},
            {"document": {"format": "pdf", "name": "d", "source": {"bytes": "JVBE"}}},
            {"reasoningContent": {"redactedContent": "abc"}}
        ]);
        let mut parts = Vec::new();
        read_blocks(blocks.as_array().unwrap(), Loc::Root, &mut parts).unwrap();
        assert_eq!(parts.len(), 5, "{parts:?}");
        assert_eq!(
            parts[1],
            Part::Text { text: "Hello".into(), cache: Some(json!({"type": "ephemeral", "ttl": "1h"})) }
        );
        assert!(matches!(&parts[3], Part::ToolCall { arguments, .. } if arguments == "{\"a\":1}"));
        assert!(matches!(&parts[4], Part::ToolResult { is_error: true, content, .. } if content.len() == 2));

        let mut written = Vec::new();
        for part in &parts {
            write_part(part, Target::Request, &mut written).unwrap();
        }
        assert_eq!(written[..4], blocks.as_array().unwrap()[..4]);
        assert_eq!(written[5]["toolResult"]["content"][0], json!({"text": "{\"ok\":true}"}));
    }

    #[test]
    fn what_converse_cannot_take() {
        let url = Part::Image { source: ImageSource::Url("https://x.test/cat.png".into()), cache: None };
        let error = write_part(&url, Target::Request, &mut Vec::new()).unwrap_err();
        assert!(error.0.contains("https://x.test/cat.png"), "{error}");
        let heic = Part::Image {
            source: ImageSource::Base64 { media_type: "image/heic".into(), data: "AAAA".into() },
            cache: None,
        };
        assert!(write_part(&heic, Target::Request, &mut Vec::new()).unwrap_err().0.contains("image/heic"));
        let unsigned = Part::Reasoning { text: "hmm".into(), signature: None };
        let mut out = Vec::new();
        write_part(&unsigned, Target::Request, &mut out).unwrap();
        write_part(&Part::Text { text: "  ".into(), cache: None }, Target::Request, &mut out).unwrap();
        assert!(out.is_empty(), "unsigned reasoning and blank text are not sent: {out:?}");
        write_part(&unsigned, Target::Reply, &mut out).unwrap();
        assert_eq!(out, vec![json!({"reasoningContent": {"reasoningText": {"text": "hmm"}}})]);
        let s3 = json!([{"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k"}}}}]);
        let error = read_blocks(s3.as_array().unwrap(), Loc::Named("messages[0].content"), &mut Vec::new());
        assert!(error.unwrap_err().0.starts_with("messages[0].content[0].image.source.bytes"));
    }
}
