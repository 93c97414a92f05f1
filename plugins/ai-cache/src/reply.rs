//! The answer in an upstream's reply, for the cache: the value at `cacheValueFrom` of a JSON
//! reply, or the values at `cacheStreamValueFrom` of every event of a stream appended (events
//! framed by the SDK, so one split across chunks is read whole). A reply that is not an answer
//! to keep - an error, tool calls, nothing at the path, garbage - yields why not instead.

use crate::config::Config;
use higress_ai::path::{Any, Kind, Node, Path, Scratch};
use higress_sdk::scan;
use higress_sdk::sse::Framer;

/// Longest JSON reply (or streamed answer) kept for the cache.
pub const MAX_BODY_BYTES: usize = 16 << 20;
/// Longest unfinished event held between chunks.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// Why a reply is not cached.
pub type NotCached = &'static str;

/// Reads one reply.
pub enum Reader {
    Json { body: Vec<u8>, spoiled: Option<NotCached> },
    Stream { framer: Framer, answer: Answer },
}

/// What a stream's events said so far.
#[derive(Default)]
pub struct Answer {
    text: String,
    spoiled: Option<NotCached>,
    done: bool,
    scratch: Scratch,
}

impl Reader {
    pub fn json() -> Reader {
        Reader::Json { body: Vec::new(), spoiled: None }
    }

    pub fn stream() -> Reader {
        Reader::Stream { framer: Framer::default(), answer: Answer::default() }
    }

    /// Whether nothing more can make the reply cacheable (its chunks need not be read).
    pub fn spoiled(&self) -> bool {
        match self {
            Reader::Json { spoiled, .. } => spoiled.is_some(),
            Reader::Stream { answer, .. } => answer.spoiled.is_some(),
        }
    }

    pub fn feed(&mut self, chunk: &[u8], config: &Config) {
        match self {
            Reader::Json { body, spoiled } => {
                if spoiled.is_some() {
                    return;
                }
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    *spoiled = Some("the reply is over 16 MiB");
                    *body = Vec::new();
                    return;
                }
                body.extend_from_slice(chunk);
            }
            Reader::Stream { framer, answer } => {
                if answer.spoiled.is_some() {
                    return;
                }
                framer.feed(chunk, &mut |_, data| answer.event(data, config));
                if framer.pending().len() > MAX_EVENT_BYTES {
                    answer.spoiled = Some("an event is over 1 MiB");
                }
            }
        }
    }

    /// The reply ended: the answer to cache, or why there is none.
    pub fn finish(&mut self, config: &Config) -> Result<String, NotCached> {
        match self {
            Reader::Json { body, spoiled } => {
                if let Some(why) = spoiled {
                    return Err(why);
                }
                let mut scratch = Scratch::default();
                let root = scratch.read(body).ok_or("the reply is not JSON")?;
                if is_error(root) {
                    return Err("the reply is an error");
                }
                if has_tool_calls(root, &config.reply_tool_calls) {
                    return Err("the reply calls tools");
                }
                nonblank(config.value_from.string(root))
            }
            Reader::Stream { framer, answer } => {
                if let Some((_, data)) = framer.finish() {
                    answer.event(data.as_deref(), config);
                }
                if let Some(why) = answer.spoiled {
                    return Err(why);
                }
                nonblank(Some(std::mem::take(&mut answer.text)))
            }
        }
    }
}

impl Answer {
    /// One event's `data`.
    fn event(&mut self, data: Option<&[u8]>, config: &Config) {
        let Some(data) = data else { return };
        if self.spoiled.is_some() || self.done {
            return;
        }
        if data.trim_ascii() == b"[DONE]" {
            self.done = true;
            return;
        }
        let Some(root) = self.scratch.read(data) else {
            self.spoiled = Some("an event is not JSON");
            return;
        };
        // The checks below look for words an event without them cannot hold: most events are
        // passed over by a scan of their bytes instead of a walk of their tree.
        if scan::contains(data, b"error") && is_error(root) {
            self.spoiled = Some("the stream carries an error");
            return;
        }
        let tools = scan::contains(data, b"tool_");
        if (tools || !config.default_tool_calls_from) && config.tool_calls_from.has_content(root)
            || tools && has_tool_calls(root, &config.stream_tool_calls)
        {
            self.spoiled = Some("the reply calls tools");
            return;
        }
        // Events without the value (a usage chunk, Azure's prompt filter results) add nothing.
        if let Some(text) = config.stream_value_from.string(root) {
            if self.text.len() + text.len() > MAX_BODY_BYTES {
                self.spoiled = Some("the answer is over 16 MiB");
                return;
            }
            self.text.push_str(&text);
        }
    }
}

/// Signs of tool calls besides the configured path: `(path, value)` where the value at the
/// path equals `value` (or, without one, carries anything).
pub type ToolCallSigns = Vec<(Path, Option<&'static str>)>;

fn has_tool_calls(root: Any, signs: &ToolCallSigns) -> bool {
    signs.iter().any(|(path, value)| match value {
        Some(value) => path.string(root).as_deref() == Some(*value),
        None => path.has_content(root),
    })
}

/// An error body: an `error` member that carries something (OpenAI, Anthropic), or Anthropic's
/// `"type": "error"`.
fn is_error(root: Any) -> bool {
    if root.kind() != Kind::Object {
        return false;
    }
    let error = root.member(|k| k == "error").is_some_and(|e| !matches!(e.kind(), Kind::Null | Kind::False));
    error || root.member(|k| k == "type").and_then(|t| t.string()).as_deref() == Some("error")
}

fn nonblank(value: Option<String>) -> Result<String, NotCached> {
    match value {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err("the answer is empty"),
    }
}
