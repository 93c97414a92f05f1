//! Content blocks (`{"type": "text", ...}`, `image`, `tool_use`, `tool_result`, `thinking`),
//! read into [`Part`]s and written from them; requests and replies share them.

use crate::chat::{ImageSource, Invalid, Part};
use crate::json::{object, with_cache, Loc, Obj};
use serde_json::{Map, Value};

/// Block types that only Anthropic can use, dropped when read: `redacted_thinking` (encrypted
/// reasoning no other provider can read or verify), `document` (PDFs and plain-text
/// documents: the model has no documents) and the exchanges of Anthropic's server-side tools
/// (web search, code execution, MCP), which ran on Anthropic's side.
fn is_dropped(kind: &str) -> bool {
    matches!(kind, "redacted_thinking" | "document" | "search_result" | "container_upload")
        || matches!(kind, "server_tool_use" | "mcp_tool_use")
        || kind.ends_with("_tool_result")
}

/// Where a block is read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    /// A message of a request, or a reply's content.
    Message,
    /// The content of a `tool_result`: text and images only.
    ToolResult,
}

/// One content block at `at` (a [`Loc`], or a name: `"messages[0].content[1]"`); `None` for
/// a block that is dropped ([`is_dropped`]).
pub(super) fn read_block<'a>(block: &Value, at: impl Into<Loc<'a>>, context: Context) -> Result<Option<Part>, Invalid> {
    let at = at.into();
    let block = Obj::of(block, at).ok_or_else(|| at.invalid("a content block object"))?;
    let kind = block.req_str("type")?;
    let part = match (kind, context) {
        ("text", _) => Part::Text { text: block.req_str("text")?.to_string(), cache: block.cache_control()? },
        ("image", _) => Part::Image { source: read_image_source(&block)?, cache: block.cache_control()? },
        ("tool_use", Context::Message) => Part::ToolCall {
            id: block.req_str("id")?.to_string(),
            name: block.req_str("name")?.to_string(),
            arguments: tool_arguments(&block)?,
        },
        ("tool_result", Context::Message) => read_tool_result(&block)?,
        ("thinking", Context::Message) => Part::Reasoning {
            text: block.req_str("thinking")?.to_string(),
            signature: block.str("signature")?.map(str::to_string),
        },
        (kind, _) if is_dropped(kind) => return Ok(None),
        (_, Context::Message) => {
            return Err(block.at("type").invalid("text, image, tool_use, tool_result or thinking"))
        }
        (_, Context::ToolResult) => return Err(block.at("type").invalid("text or image")),
    };
    Ok(Some(part))
}

/// Every block of `blocks` (at `at`) in order, without the dropped ones.
pub(super) fn read_blocks(blocks: &[Value], at: Loc, context: Context) -> Result<Vec<Part>, Invalid> {
    let mut parts = Vec::with_capacity(blocks.len());
    for (index, block) in blocks.iter().enumerate() {
        parts.extend(read_block(block, at.index(index), context)?);
    }
    Ok(parts)
}

/// Content that is a string (one text part; none when empty) or an array of blocks.
pub(super) fn read_content(value: &Value, at: Loc, context: Context) -> Result<Vec<Part>, Invalid> {
    match value {
        Value::String(text) if text.is_empty() => Ok(Vec::new()),
        Value::String(text) => Ok(vec![Part::Text { text: text.clone(), cache: None }]),
        Value::Array(blocks) => read_blocks(blocks, at, context),
        _ => Err(at.invalid("a string or an array of content blocks")),
    }
}

/// `tool_use.input` as JSON text (what OpenAI's `arguments` are); `{}` when absent.
fn tool_arguments(block: &Obj) -> Result<String, Invalid> {
    match block.get("input") {
        None => Ok("{}".to_string()),
        Some(input) if input.is_object() => Ok(input.to_string()),
        Some(_) => Err(block.at("input").invalid("an object")),
    }
}

fn read_tool_result(block: &Obj) -> Result<Part, Invalid> {
    let content = match block.get("content") {
        None => Vec::new(),
        Some(content) => read_content(content, block.at("content"), Context::ToolResult)?,
    };
    Ok(Part::ToolResult {
        call_id: block.req_str("tool_use_id")?.to_string(),
        content,
        is_error: block.bool("is_error")?.unwrap_or(false),
    })
}

/// `source`: `{"type": "base64", "media_type", "data"}` or `{"type": "url", "url"}`. A
/// `file` source (an id in Anthropic's Files API) means nothing to another provider.
fn read_image_source(block: &Obj) -> Result<ImageSource, Invalid> {
    let source = block.req_obj("source")?;
    match source.req_str("type")? {
        "base64" => Ok(ImageSource::Base64 {
            media_type: source.req_str("media_type")?.to_string(),
            data: source.req_str("data")?.to_string(),
        }),
        "url" => Ok(ImageSource::Url(source.req_str("url")?.to_string())),
        _ => Err(source.at("type").invalid("base64 or url")),
    }
}

/// Reads the blocks of `system` (at `at`): text blocks only.
pub(super) fn read_system_blocks(value: &Value, at: Loc) -> Result<Vec<(String, Option<Value>)>, Invalid> {
    let Some(blocks) = value.as_array() else {
        return Err(at.invalid("a string or an array of text blocks"));
    };
    let mut texts = Vec::with_capacity(blocks.len());
    for (index, block) in blocks.iter().enumerate() {
        let block_at = at.index(index);
        let block = Obj::of(block, block_at).ok_or_else(|| block_at.invalid("a text block object"))?;
        if block.req_str("type")? != "text" {
            return Err(block.at("type").invalid("text"));
        }
        texts.push((block.req_str("text")?.to_string(), block.cache_control()?));
    }
    Ok(texts)
}

/// `{"type": "text", "text", "cache_control"?}`.
pub(super) fn text_block(text: &str, cache: Option<&Value>) -> Value {
    with_cache(object([("type", "text".into()), ("text", text.into())]), cache)
}

/// `{"type": "image", "source", "cache_control"?}`.
pub(super) fn image_block(source: &ImageSource, cache: Option<&Value>) -> Value {
    let source = match source {
        ImageSource::Base64 { media_type, data } => object([
            ("type", "base64".into()),
            ("media_type", media_type.as_str().into()),
            ("data", data.as_str().into()),
        ]),
        ImageSource::Url(url) => object([("type", "url".into()), ("url", url.as_str().into())]),
    };
    with_cache(object([("type", "image".into()), ("source", source)]), cache)
}

/// `{"type": "thinking", "thinking", "signature"}`.
pub(super) fn thinking_block(text: &str, signature: &str) -> Value {
    object([("type", "thinking".into()), ("thinking", text.into()), ("signature", signature.into())])
}

/// `{"type": "tool_use", "id", "name", "input"}`.
pub(super) fn tool_use_block(id: &str, name: &str, arguments: &str) -> Value {
    object([("type", "tool_use".into()), ("id", id.into()), ("name", name.into()), ("input", tool_input(arguments))])
}

/// A tool call's JSON-text arguments as Anthropic's `input`, which must be an object.
/// Arguments that are not a JSON object (empty, cut short, or a model's broken JSON) become
/// `{}`: the call was made and its result follows, and Anthropic rejects the whole request
/// for an `input` that is not an object, so the text cannot be passed on as it is.
pub(super) fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        _ => Value::Object(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_read_and_written() {
        let text = json!({"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}});
        let part = read_block(&text, "m", Context::Message).unwrap().unwrap();
        assert_eq!(part, Part::Text { text: "hi".into(), cache: Some(json!({"type": "ephemeral"})) });
        assert_eq!(text_block("hi", Some(&json!({"type": "ephemeral"}))), text);

        let image = json!({"type": "image", "source": {"type": "url", "url": "https://x/a.png"}});
        let part = read_block(&image, "m", Context::ToolResult).unwrap().unwrap();
        assert_eq!(part, Part::Image { source: ImageSource::Url("https://x/a.png".into()), cache: None });
        assert_eq!(image_block(&ImageSource::Url("https://x/a.png".into()), None), image);

        let call = json!({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}});
        let part = read_block(&call, "m", Context::Message).unwrap().unwrap();
        assert_eq!(part, Part::ToolCall { id: "toolu_1".into(), name: "f".into(), arguments: r#"{"a":[1,2]}"#.into() });
        assert_eq!(tool_use_block("toolu_1", "f", r#"{"a":[1,2]}"#), call);
    }

    #[test]
    fn tool_input_is_always_an_object() {
        assert_eq!(tool_input(r#"{"q":"x"}"#), json!({"q": "x"}));
        assert_eq!(tool_input(""), json!({}));
        assert_eq!(tool_input(r#"{"q":"#), json!({}));
        assert_eq!(tool_input("[1]"), json!({}));
    }

    #[test]
    fn dropped_and_refused_types() {
        for kind in ["redacted_thinking", "document", "server_tool_use", "web_search_tool_result", "mcp_tool_result"] {
            assert_eq!(read_block(&json!({"type": kind}), "m", Context::Message).unwrap(), None, "{kind}");
        }
        let err = read_block(&json!({"type": "audio"}), "messages[0].content[1]", Context::Message).unwrap_err();
        assert_eq!(err.0, "messages[0].content[1].type: expected text, image, tool_use, tool_result or thinking");
        let err = read_block(&json!({"type": "tool_use", "id": "a", "name": "b"}), "c[0]", Context::ToolResult);
        assert_eq!(err.unwrap_err().0, "c[0].type: expected text or image");
        let err = read_block(&json!("text"), "c[0]", Context::Message).unwrap_err();
        assert_eq!(err.0, "c[0]: expected a content block object");
        let file = json!({"type": "image", "source": {"type": "file", "file_id": "file_1"}});
        assert_eq!(
            read_block(&file, "c[0]", Context::Message).unwrap_err().0,
            "c[0].source.type: expected base64 or url"
        );
        let no_source = json!({"type": "image"});
        assert_eq!(read_block(&no_source, "c[0]", Context::Message).unwrap_err().0, "c[0].source: expected an object");
        let bad_input = json!({"type": "tool_use", "id": "a", "name": "b", "input": "{}"});
        assert_eq!(read_block(&bad_input, "c[0]", Context::Message).unwrap_err().0, "c[0].input: expected an object");
    }
}
