//! The plugin's configuration, with Higress's keys, and its compilation into [`Direction`]s.
//!
//! Item fields are read as Go's gjson `String()` reads them, so a YAML `newValue: true` or
//! `newValue: 20` is the text `true` / `20`. Unlike Go, whose checks fail silently (an unknown
//! `operate` dropped that rule and every later one), a mistake fails plugin start and names
//! the field.

use crate::json::{self, Node};
use crate::number;
use crate::ops::{Direction, Key, Op, Source, Template, Value};
use crate::strategy::Strategy;
use higress_dfa::{Pattern, Replacement};
use higress_sdk::prelude::*;
use serde_json::{Map, Value as Json};

/// An item of `headers`, `querys` or `body`: its fields as the user wrote them.
type Item = Map<String, Json>;

/// The configuration: kept as JSON until [`Config::compile`] reads it (walking the JSON by
/// hand rather than deriving a typed shape keeps serde's generic code out of the module). Its
/// JSON Schema is that of `crate::schema::ConfigShape`, which mirrors what `compile` reads.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Config {
    #[cfg_attr(test, schemars(with = "crate::schema::ConfigShape"))]
    raw: Json,
    /// Whether Envoy may pick a new route after the request headers changed (`reroute`).
    #[serde(skip)]
    pub reroute: bool,
    /// `reqRules`, compiled (`None` when absent or empty).
    #[serde(skip)]
    pub request: Option<Direction>,
    /// `respRules`, compiled.
    #[serde(skip)]
    pub response: Option<Direction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operate {
    Remove,
    Rename,
    Replace,
    Add,
    Append,
    Map,
    Dedupe,
}

/// What a rule's items apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Headers,
    Query,
    Body,
}

impl Target {
    fn field(self) -> &'static str {
        match self {
            Target::Headers => "headers",
            Target::Query => "querys",
            Target::Body => "body",
        }
    }
}

impl Config {
    /// Checks the rules and compiles them; the error names the field.
    pub fn compile(&mut self) -> Result<(), ConfigError> {
        let raw = std::mem::take(&mut self.raw);
        let root = raw.as_object().ok_or_else(|| ConfigError::new("expected an object"))?;
        self.reroute = match root.get("reroute") {
            None | Some(Json::Null) => true,
            Some(Json::Bool(reroute)) => *reroute,
            Some(_) => return Err(ConfigError::at("reroute", "expected a boolean")),
        };
        let requests = list(root.get("reqRules"), "reqRules", "rules")?;
        let responses = list(root.get("respRules"), "respRules", "rules")?;
        if requests.is_none() && responses.is_none() {
            return Err(ConfigError::at("reqRules", "at least one of reqRules and respRules is required"));
        }
        self.request = direction(requests.unwrap_or_default(), "reqRules", true)?;
        self.response = direction(responses.unwrap_or_default(), "respRules", false)?;
        Ok(())
    }
}

/// An array field (`None` when absent or null).
fn list<'a>(value: Option<&'a Json>, at: &str, of: &str) -> Result<Option<&'a [Json]>, ConfigError> {
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(items)) => Ok(Some(items)),
        Some(_) => Err(ConfigError::at(at, format!("expected an array of {of}"))),
    }
}

fn object<'a>(value: &'a Json, at: &str) -> Result<&'a Item, ConfigError> {
    value.as_object().ok_or_else(|| ConfigError::at(at, "expected an object"))
}

fn direction(rules: &[Json], field: &str, request: bool) -> Result<Option<Direction>, ConfigError> {
    if rules.is_empty() {
        return Ok(None);
    }
    let mut compiled = Direction::default();
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let rule = object(rule, &at)?;
        let operate = operate(rule.get("operate"), &at)?;
        let from = match operate {
            Operate::Map => map_from(rule.get("mapSource"), &at)?,
            _ => None,
        };
        for target in [Target::Headers, Target::Query, Target::Body] {
            let items_at = format!("{at}.{}", target.field());
            let Some(items) = list(rule.get(target.field()), &items_at, "items")?.filter(|items| !items.is_empty())
            else {
                continue;
            };
            if target == Target::Query && !request {
                log_warn!("{items_at} is ignored: a response has no query");
                continue;
            }
            let source = source(from, target, &at, request)?;
            let items = items.iter().enumerate().map(|(j, item)| object(item, &format!("{items_at}[{j}]")));
            let items = items.collect::<Result<Vec<&Item>, _>>()?;
            let op = compile_op(operate, source, target, &items, &items_at)?;
            match target {
                Target::Headers => compiled.headers.push(op),
                Target::Query => compiled.query.push(op),
                Target::Body => compiled.body.push(op),
            }
        }
    }
    Ok(Some(compiled))
}

fn operate(value: Option<&Json>, at: &str) -> Result<Operate, ConfigError> {
    let name = value.and_then(text).unwrap_or_default().to_ascii_lowercase();
    let operates = [
        ("remove", Operate::Remove),
        ("rename", Operate::Rename),
        ("replace", Operate::Replace),
        ("add", Operate::Add),
        ("append", Operate::Append),
        ("map", Operate::Map),
        ("dedupe", Operate::Dedupe),
    ];
    let found = operates.iter().find(|(n, _)| *n == name).map(|(_, op)| *op);
    found.ok_or_else(|| {
        let message = if name.is_empty() { "is required".to_string() } else { format!("unknown operation `{name}`") };
        ConfigError::at(
            format!("{at}.operate"),
            format!("{message} (remove, rename, replace, add, append, map or dedupe)"),
        )
    })
}

/// Where a `map` rule reads (`None`: each target from itself), checked once per rule.
fn map_from(value: Option<&Json>, at: &str) -> Result<Option<Target>, ConfigError> {
    let Some(name) = value.and_then(text) else { return Ok(None) };
    let from = [Target::Headers, Target::Query, Target::Body].into_iter().find(|t| t.field() == name);
    match from {
        Some(from) => Ok(Some(from)),
        None => Err(ConfigError::at(
            format!("{at}.mapSource"),
            format!("unknown map source `{name}` (headers, querys or body)"),
        )),
    }
}

/// The source a map on `target` reads: its own kind is the target itself.
fn source(from: Option<Target>, target: Target, at: &str, request: bool) -> Result<Source, ConfigError> {
    let source = match from {
        None => Source::Own,
        Some(from) if from == target => Source::Own,
        Some(Target::Headers) => Source::Headers,
        Some(Target::Query) => Source::Querys,
        Some(Target::Body) => Source::Body,
    };
    if source == Source::Querys && !request {
        log_warn!("{at}.mapSource: querys maps nothing in a response, which has no query");
    }
    if source == Source::Body && target == Target::Headers && !request {
        // Go waits for the body with the headers held, which proxy-wasm turns into holding
        // the body too: the response hangs.
        return Err(ConfigError::at(
            format!("{at}.mapSource"),
            "body cannot be mapped into response headers: they are sent before the body is read",
        ));
    }
    Ok(source)
}

fn compile_op(operate: Operate, source: Source, target: Target, items: &[&Item], at: &str) -> Result<Op, ConfigError> {
    let key_of = |item: &Item, at: &str, name: &str, every: bool| key(item, at, name, target, every);
    let set_items = |value_field: &str, every: bool| {
        each(items, at, |item, at| Ok((key_of(item, at, "key", every)?, value(item, at, value_field, target)?)))
    };
    Ok(match operate {
        Operate::Remove => Op::Remove(each(items, at, |item, at| key_of(item, at, "key", true))?),
        Operate::Rename => Op::Rename(each(items, at, |item, at| {
            Ok((key_of(item, at, "oldKey", false)?, key_of(item, at, "newKey", false)?))
        })?),
        Operate::Replace => Op::Replace(set_items("newValue", true)?),
        Operate::Add => Op::Add(set_items("value", false)?),
        Operate::Append => Op::Append(set_items("appendValue", false)?),
        Operate::Map => {
            let from_target = match source {
                Source::Own => target,
                Source::Headers => Target::Headers,
                Source::Querys => Target::Query,
                Source::Body => Target::Body,
            };
            Op::Map(
                source,
                each(items, at, |item, at| {
                    Ok((key(item, at, "fromKey", from_target, true)?, key_of(item, at, "toKey", false)?))
                })?,
            )
        }
        Operate::Dedupe => {
            Op::Dedupe(each(items, at, |item, at| Ok((key_of(item, at, "key", false)?, strategy(item, at)?)))?)
        }
    })
}

/// `f` applied to every item, each with its own path.
fn each<T>(
    items: &[&Item],
    at: &str,
    f: impl Fn(&Item, &str) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    items.iter().enumerate().map(|(j, item)| f(item, &format!("{at}[{j}]"))).collect()
}

fn strategy(item: &Item, at: &str) -> Result<Strategy, ConfigError> {
    let name = item.get("strategy").and_then(text).unwrap_or_default();
    Strategy::parse(&name).ok_or_else(|| {
        ConfigError::at(
            format!("{at}.strategy"),
            format!(
                "unknown strategy `{name}` (RETAIN_FIRST, RETAIN_LAST, RETAIN_UNIQUE, SPLIT_AND_RETAIN_FIRST or \
                 SPLIT_AND_RETAIN_LAST)"
            ),
        )
    })
}

/// The key in field `name`: required; lower-cased for headers; in a body, a JSON path that
/// may walk every element (`#`) only when `every` allows it.
fn key(item: &Item, at: &str, name: &str, target: Target, every: bool) -> Result<Key, ConfigError> {
    let text = item.get(name).and_then(text).filter(|t| !t.is_empty());
    let text = text.ok_or_else(|| ConfigError::at(format!("{at}.{name}"), "is required"))?;
    let text = if target == Target::Headers { text.to_ascii_lowercase() } else { text };
    if target == Target::Headers && !is_header_name(&text) {
        return Err(ConfigError::at(format!("{at}.{name}"), format!("`{text}` is not a valid header name")));
    }
    let key = Key::new(text);
    if target == Target::Body && !every && key.path.has_each() {
        return Err(ConfigError::at(
            format!("{at}.{name}"),
            "`#` (every element of an array) is only supported by replace's and remove's key and map's fromKey",
        ));
    }
    Ok(key)
}

/// A header name: RFC 9110 token characters, after a `:` for a pseudo-header.
fn is_header_name(name: &str) -> bool {
    let token = name.strip_prefix(':').unwrap_or(name);
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The value in field `name` (empty when absent), its template, and in a body its
/// `value_type`.
fn value(item: &Item, at: &str, name: &str, target: Target) -> Result<Value, ConfigError> {
    let text = item.get(name).and_then(text).unwrap_or_default();
    if target == Target::Headers && text.contains(['\r', '\n', '\0']) {
        return Err(ConfigError::at(format!("{at}.{name}"), "a header value cannot hold CR, LF or NUL"));
    }
    let template = template(item, at, &text)?;
    let json = match target {
        Target::Body => typed(item, at, name, &text)?,
        _ => None,
    };
    Ok(Value { text, template, json })
}

/// `host_pattern`, else `path_pattern` (Go takes the host's when both are set).
fn template(item: &Item, at: &str, value: &str) -> Result<Option<Template>, ConfigError> {
    for (field, on_host) in [("host_pattern", true), ("path_pattern", false)] {
        let Some(pattern) = item.get(field).and_then(text).filter(|p| !p.is_empty()) else { continue };
        let regex =
            Pattern::with_groups(&pattern).map_err(|e| ConfigError::at(format!("{at}.{field}"), e.to_string()))?;
        let replacement = Replacement::new(value, &regex);
        return Ok(Some(Template { regex, on_host, replacement }));
    }
    Ok(None)
}

/// A body value's `value_type` applied to its text, once: `None` for `string` (the value is
/// then text, and may be a template).
fn typed(item: &Item, at: &str, name: &str, text: &str) -> Result<Option<Node<'static>>, ConfigError> {
    let kind = item.get("value_type").and_then(self::text).unwrap_or_default().to_ascii_lowercase();
    let bad =
        |what: &str| ConfigError::at(format!("{at}.{name}"), format!("`{text}` is not {what} (value_type {kind})"));
    match kind.as_str() {
        "" | "string" => Ok(None),
        "object" => json::parse_lazily(text).map(|node| Some(node.into_owned())).ok_or_else(|| bad("JSON")),
        "boolean" => match text {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Some(Node::Scalar("true".into()))),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Some(Node::Scalar("false".into()))),
            _ => Err(bad("a boolean")),
        },
        "number" => number::normalize(text).map(|n| Some(Node::Scalar(n.into()))).ok_or_else(|| bad("a finite number")),
        _ => Err(ConfigError::at(
            format!("{at}.value_type"),
            format!("unknown value type `{kind}` (object, boolean, number or string)"),
        )),
    }
}

/// A field as Go's gjson `String()` reads it: a string as it is, `null` as absent, any
/// other value as its JSON text.
fn text(value: &Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed_value(kind: &str, text: &str) -> Result<Option<String>, String> {
        let item = json!({"value_type": kind}).as_object().unwrap().clone();
        typed(&item, "body[0]", "value", text).map(|n| n.map(|n| n.to_json())).map_err(|e| e.to_string())
    }

    /// Go's `TestConvertByJsonType`.
    #[test]
    fn value_types() {
        let object = "{\"array\": [1, 2, 3],   \"object\": {     \"first\": \"hello\",     \"second\": \"world\"   } }";
        assert_eq!(
            typed_value("object", object).unwrap().as_deref(),
            Some(r#"{"array":[1,2,3],"object":{"first":"hello","second":"world"}}"#)
        );
        assert_eq!(typed_value("boolean", "true").unwrap().as_deref(), Some("true"));
        assert_eq!(typed_value("boolean", "F").unwrap().as_deref(), Some("false"));
        assert_eq!(
            typed_value("boolean", "null").unwrap_err(),
            "body[0].value: `null` is not a boolean (value_type boolean)"
        );
        assert_eq!(typed_value("number", "10").unwrap().as_deref(), Some("10"));
        assert_eq!(typed_value("number", "1.50").unwrap().as_deref(), Some("1.5"));
        assert_eq!(typed_value("number", "1e3").unwrap().as_deref(), Some("1000"));
        assert!(typed_value("number", "NaN").is_err());
        assert!(typed_value("number", "").is_err());
        assert!(typed_value("number", " 1").is_err());
        assert_eq!(typed_value("string", "hello world").unwrap(), None);
        assert_eq!(typed_value("", "x").unwrap(), None);
        assert_eq!(
            typed_value("integer", "10").unwrap_err(),
            "body[0].value_type: unknown value type `integer` (object, boolean, number or string)"
        );
        assert_eq!(typed_value("OBJECT", "[1]").unwrap().as_deref(), Some("[1]"));
        assert!(typed_value("object", "{").is_err());
    }

    #[test]
    fn fields_read_as_gjson_strings() {
        assert_eq!(text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(text(&json!(20)).as_deref(), Some("20"));
        assert_eq!(text(&json!({"a": 1})).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(text(&json!(null)), None);
    }
}
