//! Each plugin's README config tables agree with its config schema (`config.schema.json`,
//! generated from the plugin's Rust config types): every top-level key is in a config table
//! and every nested one is documented (in a table, or named in the text around it), every key
//! a table documents is one the plugin reads (a table of a nested object, "Each consumer:",
//! names its keys relative to it), and the type a table gives fits the schema's.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `serviceName` and `service_name` are one key to a reader (Higress accepts both spellings).
fn norm(key: &str) -> String {
    key.to_ascii_lowercase().replace(['_', '-'], "")
}

/// Every property name anywhere in the schema ($defs, items, alternatives included), as
/// written. Names that are not identifiers (a map's known keys, `openai/v1/chatcompletions`)
/// are values more than keys, and left out.
fn names(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get("properties") {
                out.extend(properties.keys().filter(|k| !k.contains('/')).cloned());
            }
            object.values().for_each(|v| names(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| names(v, out)),
        _ => {}
    }
}

/// Every subschema that has properties: where a table of a nested object starts.
fn objects<'a>(schema: &'a Value, out: &mut Vec<&'a Value>) {
    match schema {
        Value::Object(object) => {
            if object.get("properties").is_some_and(Value::is_object) {
                out.push(schema);
            }
            object.values().for_each(|v| objects(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| objects(v, out)),
        _ => {}
    }
}

/// `schema` with `$ref`s followed and `anyOf`/`oneOf`/`allOf` spread out.
fn alternatives<'a>(root: &'a Value, schema: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        if let Some(found) = root.pointer(target) {
            alternatives(root, found, out);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for item in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            alternatives(root, item, out);
        }
    }
    out.push(schema);
}

/// The schemas of the property at `path` (`cache.type`, `consumers[].name`) from the root,
/// else from any object of the schema (a table of a nested object).
fn at_any_path<'a>(root: &'a Value, path: &[String]) -> Vec<&'a Value> {
    let found = at_path(root, root, path);
    if !found.is_empty() {
        return found;
    }
    let mut starts = Vec::new();
    objects(root, &mut starts);
    starts.into_iter().flat_map(|start| at_path(root, start, path)).collect()
}

/// The schemas of the property at `path` from `start`.
fn at_path<'a>(root: &'a Value, start: &'a Value, path: &[String]) -> Vec<&'a Value> {
    let mut current = vec![start];
    for segment in path {
        let mut next = Vec::new();
        for schema in current {
            let mut options = Vec::new();
            alternatives(root, schema, &mut options);
            let mut items = Vec::new();
            for option in &options {
                if let Some(item) = option.get("items") {
                    alternatives(root, item, &mut items);
                }
                if let Some(extra) = option.get("additionalProperties").filter(|v| v.is_object()) {
                    alternatives(root, extra, &mut items);
                }
            }
            for option in options.into_iter().chain(items) {
                if let Some(Value::Object(properties)) = option.get("properties") {
                    next.extend(properties.iter().filter(|(k, _)| norm(k) == norm(segment)).map(|(_, v)| v));
                }
            }
        }
        current = next;
    }
    current
}

/// The JSON types the schemas at a path allow; `None` when one of them does not say.
fn schema_types(root: &Value, schemas: &[&Value]) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for schema in schemas {
        let mut options = Vec::new();
        alternatives(root, schema, &mut options);
        let mut said = false;
        for option in options {
            match option.get("type") {
                Some(Value::String(t)) => {
                    out.insert(t.clone());
                    said = true;
                }
                Some(Value::Array(list)) => {
                    out.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
                    said = true;
                }
                _ => {}
            }
            if option.get("enum").is_some() || option.get("const").is_some() {
                said = false;
            }
        }
        if !said {
            return None;
        }
    }
    Some(out)
}

/// The JSON types a README type cell names (`array of string`, `bool`, `string or object`).
fn readme_types(cell: &str) -> BTreeSet<&'static str> {
    let first = cell.split(" of ").next().unwrap_or_default().to_ascii_lowercase();
    let mut out = BTreeSet::new();
    for word in first.split(|c: char| !c.is_ascii_alphabetic()) {
        match word {
            "string" | "strings" => out.insert("string"),
            "bool" | "boolean" => out.insert("boolean"),
            "int" | "integer" => out.insert("integer"),
            "number" => out.insert("number"),
            "array" | "list" => out.insert("array"),
            "object" | "map" => out.insert("object"),
            _ => false,
        };
    }
    out
}

/// One documented key: its path segments and the type cell of its row.
struct Row {
    text: String,
    path: Vec<String>,
    kind: Option<String>,
}

/// The rows of every table whose first column is `key`.
fn readme_rows(readme: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    for line in readme.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells: Vec<String> = line.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect();
        match &columns {
            None => {
                if cells.first().is_some_and(|c| c == "key") {
                    columns = Some(cells);
                }
            }
            Some(header) => {
                if cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
                    continue;
                }
                let kind = header.iter().position(|h| h == "type").and_then(|i| cells.get(i)).cloned();
                let key = cells.first().cloned().unwrap_or_default();
                for token in key.split('`').skip(1).step_by(2) {
                    let path: Vec<String> = token
                        .split('.')
                        .map(|s| s.trim_end_matches("[]").trim_end_matches("[*]").to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    if path.iter().any(|s| s.starts_with('<') || s.contains(['*', ' ', '=', ':'])) {
                        continue;
                    }
                    rows.push(Row { text: token.to_string(), path, kind: kind.clone() });
                }
            }
        }
    }
    rows
}

#[test]
fn readme_config_tables_match_the_schemas() {
    let mut problems = Vec::new();
    let mut plugins: Vec<PathBuf> = std::fs::read_dir(workspace().join("plugins"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    plugins.sort();
    for dir in plugins {
        let plugin = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Ok(text) = std::fs::read_to_string(dir.join("config.schema.json")) else {
            problems.push(format!(
                "{plugin}: no config.schema.json (`UPDATE_SCHEMAS=1 cargo test -p {plugin} config_schema`)"
            ));
            continue;
        };
        let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{plugin}: {e}"));
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
        let rows = readme_rows(&readme);
        let in_tables: BTreeSet<String> = rows.iter().flat_map(|r| r.path.iter().map(|s| norm(s))).collect();
        let in_text: BTreeSet<String> = readme
            .split('`')
            .skip(1)
            .step_by(2)
            .flat_map(|code| {
                code.split(['.', ':', ' ', '[', ']', '=', '{', '}', ',', '"', '\'']).map(norm).collect::<Vec<_>>()
            })
            .collect();
        let top: Vec<String> =
            schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
        let top_in_tables: BTreeSet<String> = rows.iter().filter_map(|r| r.path.first()).map(|s| norm(s)).collect();
        for key in &top {
            if !top_in_tables.contains(&norm(key)) && !in_tables.contains(&norm(key)) {
                problems.push(format!("{plugin}: the top-level key `{key}` is in no README config table"));
            }
        }
        let mut known = BTreeSet::new();
        names(&schema, &mut known);
        for name in known.iter().filter(|n| !top.contains(n)) {
            if !in_tables.contains(&norm(name)) && !in_text.contains(&norm(name)) {
                problems.push(format!("{plugin}: the schema's `{name}` is not documented in the README"));
            }
        }
        for row in &rows {
            let found = at_any_path(&schema, &row.path);
            if found.is_empty() {
                problems.push(format!("{plugin}: README documents `{}`, which the config types do not have", row.text));
                continue;
            }
            let (Some(cell), Some(types)) = (&row.kind, schema_types(&schema, &found)) else { continue };
            let said = readme_types(cell);
            let fits = said.is_empty()
                || said.iter().any(|t| types.contains(*t) || (*t == "number" && types.contains("integer")));
            if !fits {
                problems.push(format!("{plugin}: README gives `{}` the type `{cell}`, the schema {types:?}", row.text));
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
