//! Embeddings: OpenAI's `POST .../v1/embeddings`, Gemini's `models/{m}:embedContent` and
//! `:batchEmbedContents`, Vertex AI's `publishers/google/models/{m}:predict`.
//!
//! The vectors are the mock's "model": [`embedding`] of the text, [`DEFAULT_DIMS`] values unless
//! the request asks for a size (OpenAI `dimensions`, Google `outputDimensionality`), each a
//! multiple of 1/1024 in [-1, 1) - exact as `f32` and as JSON, so a test predicts every
//! number. Equal texts have equal vectors; they are not normalized. Tokens are words
//! ([`super::model::tokens`]).
//!
//! | request | reply | checks (each a 400 in the API's shape) |
//! |---|---|---|
//! | OpenAI `{model, input: string \| [string] \| [int] \| [[int]], dimensions?, encoding_format?}` | `{object: "list", data: [{object: "embedding", index, embedding}], model, usage: {prompt_tokens, total_tokens}}`; `encoding_format: "base64"`: each embedding is its little-endian `f32`s in base64 | `model` present; `input` present, not empty, of those types; `dimensions` >= 1; `encoding_format` `float` or `base64` |
//! | Gemini `:embedContent` `{content: {parts: [{text}]}, model?, taskType?, title?, outputDimensionality?}` | `{embedding: {values}}` | only the API's names (an OpenAI body is caught); `content` with text parts; `model`, when given, the path's `models/{m}`; `taskType` one of the API's |
//! | Gemini `:batchEmbedContents` `{requests: [<as above, model required>]}` | `{embeddings: [{values}]}` | as above for each request, each `model` the path's `models/{m}`; 1 to 100 requests |
//! | Vertex `:predict` `{instances: [{content, task_type?, title?}], parameters?: {outputDimensionality?, autoTruncate?}}` | `{predictions: [{embeddings: {values, statistics: {token_count, truncated: false}}}], metadata: {billableCharacterCount}}` | `instances` 1 to 250 (`gemini-embedding-*`: one, as Vertex allows), each with a string `content` |
//!
//! `billableCharacterCount` counts the characters of every `content` but whitespace.

use super::gemini;
use super::model::tokens;
use super::openai;
use super::Reply;
use base64::Engine;
use serde_json::{json, Value};

/// Values in a vector unless the request asks for a size.
pub const DEFAULT_DIMS: usize = 8;
/// Largest size a request may ask for (gemini-embedding-001's full size).
pub const MAX_DIMS: usize = 3072;
/// Most requests in one `batchEmbedContents`.
const MAX_BATCH: usize = 100;
/// Most instances in one Vertex `predict`.
const MAX_INSTANCES: usize = 250;

/// The names an `EmbedContentRequest` may have, in both spellings.
const EMBED_FIELDS: &[&str] =
    &["model", "content", "taskType", "task_type", "title", "outputDimensionality", "output_dimensionality"];

/// Gemini's task types.
const TASK_TYPES: &[&str] = &[
    "TASK_TYPE_UNSPECIFIED",
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
];

/// The mock's embedding of `text`: `dims` values from a generator seeded with the text's
/// FNV-1a hash, each `k / 1024 - 1` for a `k` in `0..2048`.
pub fn embedding(text: &str, dims: usize) -> Vec<f32> {
    let mut state =
        text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (0..dims)
        .map(|_| {
            // splitmix64
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let k = u16::try_from(z >> 53).unwrap_or(0);
            f32::from(k) / 1024.0 - 1.0
        })
        .collect()
}

/// A vector as the JSON array of its values.
fn values(vector: &[f32]) -> Value {
    Value::Array(vector.iter().map(|v| json!(v)).collect())
}

/// `vector` as OpenAI's base64: its little-endian `f32`s.
pub fn base64_of(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---- OpenAI -------------------------------------------------------------------------------

fn openai_bad(message: &str, code: Option<&str>, param: Option<&str>) -> Reply {
    Reply::Json(400, openai::error(message, "invalid_request_error", code, param))
}

fn invalid_input() -> Reply {
    openai_bad(
        "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
        None,
        None,
    )
}

/// A token list's text (its ids, space-separated) and token count.
fn token_list(items: &[Value]) -> Option<(String, u64)> {
    let ids: Option<Vec<String>> = items.iter().map(|v| v.as_u64().map(|id| id.to_string())).collect();
    let ids = ids.filter(|ids| !ids.is_empty())?;
    let count = ids.len() as u64;
    Some((ids.join(" "), count))
}

/// The texts of `input` and their tokens: a string, strings, one token list or token lists.
fn inputs(input: &Value) -> Option<Vec<(String, u64)>> {
    match input {
        Value::String(text) if !text.is_empty() => Some(vec![(text.clone(), tokens(text))]),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) if items.iter().all(Value::is_number) => token_list(items).map(|one| vec![one]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) if !text.is_empty() => Some((text.clone(), tokens(text))),
                Value::Array(ids) => token_list(ids),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Answers an OpenAI embeddings request.
pub fn openai(body: &[u8]) -> Reply {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => return openai_bad("The body of your request must be a JSON object.", Some("invalid_json"), None),
        Err(e) => {
            let message = format!("We could not parse the JSON body of your request: {e}");
            return openai_bad(&message, Some("invalid_json"), None);
        }
    };
    let Some(model) = request["model"].as_str().filter(|m| !m.is_empty()) else {
        return openai_bad("you must provide a model parameter", Some("missing_model"), Some("model"));
    };
    if request["input"].is_null() {
        return openai_bad("Missing required parameter: 'input'.", Some("missing_required_parameter"), Some("input"));
    }
    let Some(texts) = inputs(&request["input"]) else { return invalid_input() };
    let dims = match &request["dimensions"] {
        Value::Null => DEFAULT_DIMS,
        value => match value.as_i64() {
            Some(n) if n < 1 => {
                let message = format!(
                    "Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got {n} instead."
                );
                return openai_bad(&message, Some("integer_below_min_value"), Some("dimensions"));
            }
            Some(n) if n as u64 > MAX_DIMS as u64 => {
                let message = format!(
                    "Invalid 'dimensions': integer above maximum value. Expected a value <= {MAX_DIMS}, but got {n} instead."
                );
                return openai_bad(&message, Some("integer_above_max_value"), Some("dimensions"));
            }
            Some(n) => usize::try_from(n).unwrap_or(DEFAULT_DIMS),
            None => {
                let message = "Invalid type for 'dimensions': expected an integer.";
                return openai_bad(message, Some("invalid_type"), Some("dimensions"));
            }
        },
    };
    let base64 = match request["encoding_format"].as_str() {
        None if request["encoding_format"].is_null() => false,
        Some("float") => false,
        Some("base64") => true,
        _ => {
            let shown = request["encoding_format"]
                .as_str()
                .map_or_else(|| request["encoding_format"].to_string(), str::to_string);
            let message = format!("Invalid value: '{shown}'. Supported values are: 'float' and 'base64'.");
            return openai_bad(&message, Some("invalid_value"), Some("encoding_format"));
        }
    };
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, (text, _))| {
            let vector = embedding(text, dims);
            let embedding = if base64 { json!(base64_of(&vector)) } else { values(&vector) };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let prompt: u64 = texts.iter().map(|(_, n)| n).sum();
    Reply::Json(
        200,
        json!({"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt}}),
    )
}

// ---- Gemini -------------------------------------------------------------------------------

fn google_bad(message: &str) -> Reply {
    Reply::Json(400, gemini::error(400, "INVALID_ARGUMENT", message))
}

/// A member in either spelling.
fn either<'v>(object: &'v Value, camel: &str, snake: &str) -> &'v Value {
    match object.get(camel) {
        Some(value) if !value.is_null() => value,
        _ => object.get(snake).unwrap_or(&Value::Null),
    }
}

/// An `outputDimensionality` (`at`: where it is, for the message).
fn dimensionality(value: &Value, at: &str) -> Result<usize, String> {
    match value {
        Value::Null => Ok(DEFAULT_DIMS),
        value => match value.as_u64() {
            Some(n @ 1..) if n <= MAX_DIMS as u64 => Ok(usize::try_from(n).unwrap_or(DEFAULT_DIMS)),
            _ => Err(format!(
                "* {at}.output_dimensionality: outputDimensionality must be between 1 and {MAX_DIMS}, got {value}\n"
            )),
        },
    }
}

/// The text and size of one `EmbedContentRequest` (`at`: where it is, for the messages);
/// `model`: the model the path names, which a `model` member must be (`required`: in a batch).
fn embed_request(request: &Value, at: &str, model: &str, required: bool) -> Result<(String, usize), String> {
    let Some(object) = request.as_object() else { return Err(format!("Invalid value at '{at}': expected an object")) };
    if let Some(unknown) = object.keys().find(|k| !EMBED_FIELDS.contains(&k.as_str())) {
        return Err(format!("Invalid JSON payload received. Unknown name \"{unknown}\" at '{at}': Cannot find field."));
    }
    let expected = format!("models/{model}");
    match request["model"].as_str() {
        None if required => return Err(format!("* {at}.model: model is required and must be \"{expected}\"\n")),
        Some(given) if given != expected => {
            return Err(format!(
                "* {at}.model: the model of every request of a batch must be the model of the batch: \"{given}\" is not \"{expected}\"\n"
            ))
        }
        _ => {}
    }
    let parts = request["content"]["parts"].as_array().map(Vec::as_slice).unwrap_or_default();
    if request["content"].is_null() {
        return Err(format!("* {at}.content: content is not specified\n"));
    }
    if parts.is_empty() {
        return Err(format!("* {at}.content.parts: contents.parts must not be empty.\n"));
    }
    let mut texts = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        match part["text"].as_str() {
            Some(text) => texts.push(text),
            None => return Err(format!("* {at}.content.parts[{j}]: only text can be embedded\n")),
        }
    }
    if let Some(task) = either(request, "taskType", "task_type").as_str() {
        if !TASK_TYPES.contains(&task) {
            return Err(format!(
                "Invalid value at '{at}.task_type' (type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType), \"{task}\""
            ));
        }
    }
    let dims = dimensionality(either(request, "outputDimensionality", "output_dimensionality"), at)?;
    Ok((texts.join(" "), dims))
}

fn object(body: &[u8]) -> Result<Value, Reply> {
    match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(google_bad("Invalid JSON payload received. Expected an object.")),
        Err(e) => Err(google_bad(&format!("Invalid JSON payload received. {e}"))),
    }
}

/// Answers `models/{model}:embedContent`.
pub fn gemini_embed(model: &str, body: &[u8]) -> Reply {
    let request = match object(body) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    match embed_request(&request, "EmbedContentRequest", model, false) {
        Ok((text, dims)) => Reply::Json(200, json!({"embedding": {"values": values(&embedding(&text, dims))}})),
        Err(message) => google_bad(&message),
    }
}

/// Answers `models/{model}:batchEmbedContents`.
pub fn gemini_batch(model: &str, body: &[u8]) -> Reply {
    let request = match object(body) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    if let Some(unknown) = request.as_object().and_then(|o| o.keys().find(|k| *k != "requests")) {
        return google_bad(&format!("Invalid JSON payload received. Unknown name \"{unknown}\": Cannot find field."));
    }
    let requests = match &request["requests"] {
        Value::Array(requests) if !requests.is_empty() => requests,
        _ => return google_bad("* BatchEmbedContentsRequest.requests: requests is not specified\n"),
    };
    if requests.len() > MAX_BATCH {
        return google_bad(&format!(
            "* BatchEmbedContentsRequest.requests: at most {MAX_BATCH} requests can be in one batch\n"
        ));
    }
    let mut embeddings = Vec::new();
    for (i, one) in requests.iter().enumerate() {
        match embed_request(one, &format!("BatchEmbedContentsRequest.requests[{i}]"), model, true) {
            Ok((text, dims)) => embeddings.push(json!({"values": values(&embedding(&text, dims))})),
            Err(message) => return google_bad(&message),
        }
    }
    Reply::Json(200, json!({"embeddings": embeddings}))
}

// ---- Vertex AI ----------------------------------------------------------------------------

/// Answers Vertex AI's `publishers/google/models/{model}:predict` with text embeddings.
pub fn vertex_predict(model: &str, body: &[u8]) -> Reply {
    let request = match object(body) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let instances = match &request["instances"] {
        Value::Array(instances) if !instances.is_empty() => instances,
        Value::Null => return google_bad("instances is required: a list of {\"content\": <text>}."),
        _ => return google_bad("instances must be a non-empty list of {\"content\": <text>}."),
    };
    let most = if model.starts_with("gemini-embedding") { 1 } else { MAX_INSTANCES };
    if instances.len() > most {
        return google_bad(&format!(
            "{model} supports at most {most} instance(s) per request; this request has {}.",
            instances.len()
        ));
    }
    let parameters = &request["parameters"];
    if !parameters.is_null() && !parameters.is_object() {
        return google_bad("parameters must be an object.");
    }
    let dims = match dimensionality(either(parameters, "outputDimensionality", "output_dimensionality"), "parameters") {
        Ok(dims) => dims,
        Err(message) => return google_bad(&message),
    };
    if !either(parameters, "autoTruncate", "auto_truncate").is_null()
        && !either(parameters, "autoTruncate", "auto_truncate").is_boolean()
    {
        return google_bad("parameters.autoTruncate must be a boolean.");
    }
    let mut predictions = Vec::new();
    let mut characters = 0;
    for (i, instance) in instances.iter().enumerate() {
        let Some(text) = instance["content"].as_str() else {
            return google_bad(&format!("instances[{i}].content is required: the text to embed (a string)."));
        };
        characters += text.chars().filter(|c| !c.is_whitespace()).count();
        predictions.push(json!({"embeddings": {"values": values(&embedding(text, dims)),
            "statistics": {"token_count": tokens(text), "truncated": false}}}));
    }
    Reply::Json(200, json!({"predictions": predictions, "metadata": {"billableCharacterCount": characters}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(reply: Reply) -> (u16, Value) {
        match reply {
            Reply::Json(status, value) => (status, value),
            Reply::Stream(..) => (0, Value::Null),
        }
    }

    #[test]
    fn vectors_are_deterministic_exact_and_sized() {
        let a = embedding("hello", DEFAULT_DIMS);
        assert_eq!(a.len(), 8);
        assert_eq!(a, embedding("hello", 8));
        assert_ne!(a, embedding("hello!", 8));
        assert_eq!(embedding("hello", 3), a[..3], "a shorter vector is a prefix");
        for v in embedding("x", 500) {
            assert!((-1.0..1.0).contains(&v));
            assert_eq!((v * 1024.0).fract(), 0.0, "{v} is a multiple of 1/1024");
            // Exact through JSON: a value parsed back as f64 is the f32.
            let parsed: f64 = serde_json::from_str(&json!(v).to_string()).unwrap();
            assert_eq!(parsed, f64::from(v));
        }
        assert_eq!(embedding("", 0), Vec::<f32>::new());
        let bytes = base64::engine::general_purpose::STANDARD.decode(base64_of(&[0.5, -1.0])).unwrap();
        assert_eq!(bytes, [0.5f32.to_le_bytes(), (-1.0f32).to_le_bytes()].concat());
    }

    #[test]
    fn openai_shapes_and_checks() {
        let body = json!({"model": "text-embedding-3-small", "input": ["one two", "three"], "dimensions": 3});
        let (status, value) = answer(openai(body.to_string().as_bytes()));
        assert_eq!(status, 200);
        assert_eq!(value["object"], "list");
        assert_eq!(value["model"], "text-embedding-3-small");
        assert_eq!(value["data"][1]["object"], "embedding");
        assert_eq!(value["data"][1]["index"], 1);
        assert_eq!(value["data"][1]["embedding"], values(&embedding("three", 3)));
        assert_eq!(value["usage"], json!({"prompt_tokens": 3, "total_tokens": 3}));
        let one = json!({"model": "m", "input": "hi", "encoding_format": "base64"});
        let (_, value) = answer(openai(one.to_string().as_bytes()));
        assert_eq!(value["data"][0]["embedding"], json!(base64_of(&embedding("hi", DEFAULT_DIMS))));
        let ids = json!({"model": "m", "input": [[1, 2], [3]]});
        let (_, value) = answer(openai(ids.to_string().as_bytes()));
        assert_eq!(value["data"][0]["embedding"], values(&embedding("1 2", DEFAULT_DIMS)));
        assert_eq!(value["usage"]["prompt_tokens"], 3);
        let status_of = |body: Value| answer(openai(body.to_string().as_bytes())).0;
        assert_eq!(status_of(json!({"input": "x"})), 400);
        assert_eq!(status_of(json!({"model": "m"})), 400);
        assert_eq!(status_of(json!({"model": "m", "input": ""})), 400);
        assert_eq!(status_of(json!({"model": "m", "input": []})), 400);
        assert_eq!(status_of(json!({"model": "m", "input": [{"text": "x"}]})), 400);
        assert_eq!(status_of(json!({"model": "m", "input": "x", "dimensions": 0})), 400);
        assert_eq!(status_of(json!({"model": "m", "input": "x", "encoding_format": "int8"})), 400);
    }

    #[test]
    fn gemini_shapes_and_checks() {
        let body = json!({"requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 2}]});
        let (status, value) = answer(gemini_batch("gemini-embedding-001", body.to_string().as_bytes()));
        assert_eq!(status, 200, "{value}");
        assert_eq!(
            value,
            json!({"embeddings": [{"values": values(&embedding("a", 8))}, {"values": values(&embedding("b", 2))}]})
        );
        let other_model = json!({"requests": [{"model": "models/x", "content": {"parts": [{"text": "a"}]}}]});
        let (status, value) = answer(gemini_batch("gemini-embedding-001", other_model.to_string().as_bytes()));
        assert_eq!((status, value["error"]["status"].clone()), (400, json!("INVALID_ARGUMENT")));
        assert!(value["error"]["message"].as_str().unwrap().contains("requests[0].model"), "{value}");
        let no_model = json!({"requests": [{"content": {"parts": [{"text": "a"}]}}]});
        assert_eq!(answer(gemini_batch("e", no_model.to_string().as_bytes())).0, 400);
        let openai_body = json!({"model": "e", "input": ["a"]});
        let (_, value) = answer(gemini_batch("e", openai_body.to_string().as_bytes()));
        assert!(value["error"]["message"].as_str().unwrap().contains("Unknown name"), "{value}");
        assert_eq!(answer(gemini_batch("e", br#"{"requests": []}"#)).0, 400);

        let single = json!({"content": {"parts": [{"text": "x"}, {"text": "y"}]}, "taskType": "RETRIEVAL_QUERY"});
        let (status, value) = answer(gemini_embed("e", single.to_string().as_bytes()));
        assert_eq!((status, value), (200, json!({"embedding": {"values": values(&embedding("x y", 8))}})));
        let bad_task = json!({"content": {"parts": [{"text": "x"}]}, "taskType": "SEARCH"});
        assert_eq!(answer(gemini_embed("e", bad_task.to_string().as_bytes())).0, 400);
        let bad_size = json!({"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 0});
        assert_eq!(answer(gemini_embed("e", bad_size.to_string().as_bytes())).0, 400);
        assert_eq!(answer(gemini_embed("e", br#"{"content": {"parts": []}}"#)).0, 400);
    }

    #[test]
    fn vertex_predict_shapes_and_checks() {
        let body = json!({"instances": [{"content": "one"}, {"content": "two  words"}],
            "parameters": {"outputDimensionality": 3}});
        let (status, value) = answer(vertex_predict("text-embedding-005", body.to_string().as_bytes()));
        assert_eq!(status, 200, "{value}");
        assert_eq!(
            value["predictions"][1],
            json!({"embeddings": {"values": values(&embedding("two  words", 3)),
                "statistics": {"token_count": 2, "truncated": false}}})
        );
        assert_eq!(value["metadata"], json!({"billableCharacterCount": 11}));
        let (status, value) = answer(vertex_predict("gemini-embedding-001", body.to_string().as_bytes()));
        assert_eq!((status, value["error"]["status"].clone()), (400, json!("INVALID_ARGUMENT")), "one instance");
        let status_of = |body: Value| answer(vertex_predict("text-embedding-005", body.to_string().as_bytes())).0;
        assert_eq!(status_of(json!({"input": ["x"]})), 400);
        assert_eq!(status_of(json!({"instances": []})), 400);
        assert_eq!(status_of(json!({"instances": [{"text": "x"}]})), 400);
        assert_eq!(
            status_of(json!({"instances": [{"content": "x"}], "parameters": {"outputDimensionality": -1}})),
            400
        );
        assert_eq!(status_of(json!({"instances": [{"content": "x"}], "parameters": {"autoTruncate": "no"}})), 400);
    }
}
