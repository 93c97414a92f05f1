//! Where values go: `ai_log` (the attributes wasm-go's plugins merge into the `ai_log`
//! property), a property of their own (`as_separate_log_field`), the trace span
//! (`trace_span_tag.<key>` properties), and the counters Higress's gateway exposes.

use crate::attribute::Attribute;
use crate::extract::clip;
use higress_sdk::metrics::Counter;
use higress_sdk::prelude::*;
use serde_json::Value;

/// The prefix of the properties Higress's tracing turns into span tags.
const SPAN_PREFIX: &str = "trace_span_tag.";

/// Writes one attribute's value (or its default when it has none) where it is configured to go.
pub fn attribute(http: &mut Http, attribute: &Attribute, value: Option<Value>, limit: usize) {
    let value = match value.filter(|v| !v.is_null() && v.as_str() != Some("")) {
        Some(value) => value,
        None if !attribute.default_value.is_empty() => Value::String(attribute.default_value.clone()),
        None => return,
    };
    let value = limited(value, limit);
    if attribute.to_log {
        if attribute.separate {
            // The property holds the value's text JSON-escaped, as wasm-go's `MarshalStr`.
            let text = match &value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let quoted = Value::String(text).to_string();
            let escaped = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default();
            http.set_property(&[attribute.key.as_str()], escaped.as_bytes());
        } else {
            http.set_user_attribute(&attribute.key, value.clone());
        }
    }
    if attribute.to_span {
        let key = if attribute.span_key.is_empty() { &attribute.key } else { &attribute.span_key };
        span(http, key, &value);
    }
}

/// A value within `limit`: a long string keeps its head and tail; anything else whose JSON
/// text is longer becomes that text clipped (Go clipped Go's own printing of it).
fn limited(value: Value, limit: usize) -> Value {
    match value {
        Value::String(s) if s.len() > limit => Value::String(clip(&s, limit)),
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => value,
        other => {
            let text = other.to_string();
            if text.len() > limit {
                Value::String(clip(&text, limit))
            } else {
                other
            }
        }
    }
}

/// Sets the span tag `key` (strings as they are, anything else as its JSON text).
pub fn span(http: &mut Http, key: &str, value: &Value) {
    let text = match value {
        Value::String(s) if s.is_empty() => return,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    http.set_property(&[&[SPAN_PREFIX, key].concat()], text.as_bytes());
}

/// The labels of one request's metrics.
pub struct Labels<'a> {
    pub route: &'a str,
    pub cluster: &'a str,
    pub model: &'a str,
    pub consumer: &'a str,
}

impl Labels<'_> {
    /// Adds `by` to the counter `metric` (nothing for 0, as Go: the counter is not even
    /// defined).
    pub fn add(&self, metric: &str, by: u64) {
        if by == 0 {
            return;
        }
        let name = format!(
            "route.{}.upstream.{}.model.{}.consumer.{}.metric.{metric}",
            self.route, self.cluster, self.model, self.consumer
        );
        match Counter::new(&name) {
            Ok(counter) => counter.increment(by),
            Err(status) => log_debug!("metric {name}: {status}"),
        }
    }
}
