//! OpenAI's embeddings API (`/v1/embeddings`) in front of providers that have their own:
//! Gemini's `batchEmbedContents` and Vertex's `predict`.
//!
//! Each input is one request of the batch, and each vector comes back at its input's
//! `index` (Go numbered them all 0, so a client could not tell which vector was which).
//! A client asking for `encoding_format: "base64"` (the OpenAI SDKs' default) gets the
//! vectors as little-endian `f32`s in base64, as OpenAI sends them; Go sent float lists,
//! which those SDKs cannot decode.

use crate::chat::Invalid;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

/// An embeddings API other than OpenAI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedder {
    /// Gemini's `models/{m}:batchEmbedContents`.
    Gemini,
    /// Vertex AI's `models/{m}:predict`.
    Vertex,
}

/// An OpenAI embeddings request, as far as a translation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingRequest {
    /// The model asked for.
    pub model: String,
    /// The texts, in order.
    pub inputs: Vec<String>,
    /// `dimensions`: the vectors' length, when asked.
    pub dimensions: Option<u64>,
    /// Whether the client wants base64 vectors.
    pub base64: bool,
}

/// Reads an OpenAI embeddings request. Token-id inputs cannot be sent to a provider that
/// takes text: they are refused, naming the field.
pub fn read_request(body: &Value) -> Result<EmbeddingRequest, Invalid> {
    let model = body.get("model").and_then(Value::as_str).unwrap_or_default().to_string();
    let inputs = match body.get("input") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(text) => Ok(text.clone()),
                _ => Err(Invalid(format!("input[{i}]: expected text (token ids cannot be sent to this provider)"))),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(Invalid::field("input", "a string or a non-empty array of strings")),
    };
    let dimensions = match body.get("dimensions") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_u64().ok_or_else(|| Invalid::field("dimensions", "a positive integer"))?),
    };
    let base64 = match body.get("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(format)) if format == "float" => false,
        Some(Value::String(format)) if format == "base64" => true,
        Some(_) => return Err(Invalid::field("encoding_format", "float or base64")),
    };
    Ok(EmbeddingRequest { model, inputs, dimensions, base64 })
}

impl Embedder {
    /// The provider's request body for `request` (the model is in the path).
    pub fn write_request(self, request: &EmbeddingRequest) -> Value {
        match self {
            Embedder::Gemini => {
                let model = request.model.strip_prefix("models/").unwrap_or(&request.model);
                let requests = request
                    .inputs
                    .iter()
                    .map(|text| {
                        let mut one = Map::new();
                        one.insert("model".into(), format!("models/{model}").into());
                        one.insert("content".into(), json!({"parts": [{"text": text}]}));
                        if let Some(dimensions) = request.dimensions {
                            one.insert("outputDimensionality".into(), dimensions.into());
                        }
                        Value::Object(one)
                    })
                    .collect();
                json!({"requests": Value::Array(requests)})
            }
            Embedder::Vertex => {
                let instances = request.inputs.iter().map(|text| json!({"content": text})).collect();
                let mut body = Map::new();
                body.insert("instances".into(), Value::Array(instances));
                if let Some(dimensions) = request.dimensions {
                    body.insert("parameters".into(), json!({"outputDimensionality": dimensions}));
                }
                Value::Object(body)
            }
        }
    }

    /// The provider's reply as OpenAI's: one `embedding` per vector, at its input's index,
    /// with the token count when the provider reports one.
    pub fn reply_to_openai(self, body: &Value, request: &EmbeddingRequest) -> Result<Value, Invalid> {
        let (list, at) = match self {
            Embedder::Gemini => ("embeddings", "embeddings"),
            Embedder::Vertex => ("predictions", "predictions"),
        };
        let items = body.get(list).and_then(Value::as_array).ok_or_else(|| Invalid::field(at, "an array"))?;
        let mut data = Vec::with_capacity(items.len());
        let mut tokens = 0u64;
        for (index, item) in items.iter().enumerate() {
            let vector = match self {
                Embedder::Gemini => item.get("values"),
                Embedder::Vertex => {
                    let embeddings = item.get("embeddings");
                    tokens += embeddings
                        .and_then(|e| e.pointer("/statistics/token_count"))
                        .and_then(Value::as_f64)
                        .map_or(0, |n| n.max(0.0) as u64);
                    embeddings.and_then(|e| e.get("values"))
                }
            };
            let values = vector
                .and_then(Value::as_array)
                .ok_or_else(|| Invalid::field(&format!("{at}[{index}].values"), "an array of numbers"))?;
            let embedding =
                if request.base64 { base64_vector(values, index, at)? } else { Value::Array(values.clone()) };
            data.push(json!({"object": "embedding", "index": index, "embedding": embedding}));
        }
        Ok(json!({
            "object": "list",
            "data": data,
            "model": request.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }))
    }
}

/// A vector as OpenAI's base64: its numbers as little-endian `f32`s.
fn base64_vector(values: &[Value], index: usize, at: &str) -> Result<Value, Invalid> {
    let mut bytes = Vec::with_capacity(values.len() * 4);
    for (i, value) in values.iter().enumerate() {
        let number = value.as_f64().ok_or_else(|| Invalid::field(&format!("{at}[{index}].values[{i}]"), "a number"))?;
        bytes.extend_from_slice(&(number as f32).to_le_bytes());
    }
    Ok(Value::String(STANDARD.encode(&bytes)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors_are_little_endian_f32s() {
        let vector = base64_vector(&[json!(1.0), json!(-2.5)], 0, "x").unwrap();
        let bytes = STANDARD.decode(vector.as_str().unwrap()).unwrap();
        assert_eq!(bytes, [1.0f32.to_le_bytes(), (-2.5f32).to_le_bytes()].concat());
        assert!(base64_vector(&[json!("a")], 3, "predictions").unwrap_err().0.contains("predictions[3].values[0]"));
    }
}
