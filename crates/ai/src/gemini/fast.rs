//! A stream chunk read straight into typed fields, strings borrowed from the chunk: what a
//! Gemini stream is made of (a candidate with a few text parts, the running usage) costs a
//! fraction of building its `Value`. Anything this reader does not take as the general path
//! would (an `error` object, a `null` where a list is, a key met twice, a number that is not a
//! count, bytes that are not UTF-8) makes it give up, and the chunk is read as a `Value`.

use super::finish_from_gemini;
use crate::chat::{Event, FinishReason};
use crate::usage::Usage;
use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// `T` read from a JSON object only: serde's derived structs also take arrays (fields by
/// position), which the general path refuses.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Only<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        deserializer.deserialize_map(Only(PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk<'a> {
    #[serde(borrow, default)]
    candidates: Option<Vec<Obj<Candidate<'a>>>>,
    #[serde(default)]
    usage_metadata: Option<Obj<UsageMetadata>>,
    #[serde(borrow, default)]
    response_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model_version: Option<Cow<'a, str>>,
    #[serde(default)]
    prompt_feedback: Option<IgnoredAny>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow, default)]
    content: Option<Obj<Content<'a>>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow, default)]
    parts: Option<Vec<Obj<PartIn<'a>>>>,
}

/// A part: text (or a thought) only; any other kind of part gives up.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PartIn<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(default)]
    thought: Option<bool>,
    #[serde(borrow, default)]
    thought_signature: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    total_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
}

/// The events of the chunk `data` (trimmed, not empty), appended to `events`; `started` and
/// `calls` are the decoder's. `None`: the chunk is not one this reader takes (nothing was
/// appended, nothing changed).
pub(super) fn decode(data: &[u8], started: &mut bool, calls: usize, events: &mut Vec<Event>) -> Option<()> {
    let Obj(chunk) = serde_json::from_slice::<Obj<Chunk>>(data).ok()?;
    if chunk.error.is_some() {
        return None;
    }
    let candidate = match &chunk.candidates {
        Some(candidates) => candidates.first().map(|Obj(c)| c),
        None => None,
    };
    // A blocked prompt (no candidate, feedback): the general path says it.
    if candidate.is_none() && chunk.prompt_feedback.is_some() {
        return None;
    }
    if !*started {
        *started = true;
        let id = chunk.response_id.unwrap_or_default().into_owned();
        let model = chunk.model_version.unwrap_or_default().into_owned();
        events.push(Event::Start { id, model });
    }
    if let Some(candidate) = candidate {
        let parts = candidate.content.as_ref().and_then(|Obj(c)| c.parts.as_deref()).unwrap_or_default();
        for Obj(part) in parts {
            let signature = part.thought_signature.as_deref().filter(|s| !s.is_empty());
            if part.thought == Some(true) {
                if !part.text.is_empty() {
                    events.push(Event::Reasoning(part.text.to_string()));
                }
                if let Some(signature) = part.thought_signature.as_deref() {
                    events.push(Event::ReasoningSignature(signature.to_string()));
                }
                continue;
            }
            if let Some(signature) = signature {
                events.push(Event::ReasoningSignature(signature.to_string()));
            }
            if !part.text.is_empty() {
                events.push(Event::Text(part.text.to_string()));
            }
        }
        if let Some(reason) = &candidate.finish_reason {
            let finish: FinishReason = finish_from_gemini(reason, calls > 0);
            events.push(Event::Finish(finish));
        }
    }
    if let Some(Obj(meta)) = chunk.usage_metadata {
        let mut usage = Usage::default();
        usage.input = meta.prompt_token_count;
        usage.output = match (meta.candidates_token_count, meta.thoughts_token_count) {
            (None, None) => None,
            (c, t) => Some(c.unwrap_or(0).saturating_add(t.unwrap_or(0))),
        };
        usage.total = meta.total_token_count;
        usage.cache_read = meta.cached_content_token_count;
        usage.reasoning = meta.thoughts_token_count;
        events.push(Event::Usage(usage));
    }
    Some(())
}
