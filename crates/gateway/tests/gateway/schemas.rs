//! Every plugin's config schema (`plugins/<plugin>/config.schema.json`, generated from its
//! Rust config types and shipped beside its module) accepts the WasmPlugins its README shows,
//! and `hgw check` refuses a config with a wrong type, naming the field. The e2e config is
//! checked with the schemas too (`docker.rs` loads it as `make build` lays out `dist/`).

use crate::{hgw, temp_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn plugins() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("plugins"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The WasmPlugin documents of the YAML blocks of a README.
fn readme_wasm_plugins(plugin: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(workspace().join("plugins").join(plugin).join("README.md"))
        .unwrap_or_else(|e| panic!("{plugin}: {e}"));
    let mut out = Vec::new();
    for block in text.split("```yaml\n").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        for document in serde_yaml_ng::Deserializer::from_str(block) {
            let value: Value = serde::Deserialize::deserialize(document)
                .unwrap_or_else(|e| panic!("{plugin}: README YAML block: {e}\n{block}"));
            if value["kind"] == "WasmPlugin" {
                out.push(value);
            }
        }
    }
    assert!(!out.is_empty(), "{plugin}: its README shows no WasmPlugin");
    out
}

/// A `dist/<plugin>/` with the module and its schema, as `make build` writes it.
fn dist(plugin: &str, root: &Path) -> PathBuf {
    let dir = root.join("dist").join(plugin);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let wasm = dir.join("plugin.wasm");
    std::fs::copy(higress_host::testing::build_plugin(plugin), &wasm).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(workspace().join("plugins").join(plugin).join("config.schema.json"), dir.join("config.schema.json"))
        .unwrap_or_else(|e| panic!("{plugin}: {e} (run `UPDATE_SCHEMAS=1 cargo test -p {plugin} config_schema`)"));
    wasm
}

/// `hgw check` of `documents` (WasmPlugins pointed at `wasm`): Ok, or hgw's message.
fn check(documents: &[Value], wasm: &Path, root: &Path) -> Result<(), String> {
    let mut yaml = String::new();
    for mut document in documents.iter().cloned() {
        document["spec"]["url"] = Value::String(format!("file://{}", wasm.display()));
        if let Some(spec) = document["spec"].as_object_mut() {
            spec.remove("sha256");
        }
        yaml.push_str("---\n");
        yaml.push_str(&serde_yaml_ng::to_string(&document).unwrap_or_else(|e| panic!("{e}")));
    }
    let file = root.join("gateway.yaml");
    std::fs::write(&file, yaml).unwrap_or_else(|e| panic!("{e}"));
    let (ok, _, stderr) = hgw(&["check", "--config", &file.display().to_string()]);
    if ok {
        Ok(())
    } else {
        Err(stderr)
    }
}

/// The JSON types a property schema allows (`type`, a list or one, through `$ref`s, `allOf`
/// and `anyOf` / `oneOf` alternatives); empty when one alternative does not say.
fn types(root: &Value, schema: &Value) -> Vec<String> {
    if let Some(target) = schema["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        return root.pointer(target).map(|s| types(root, s)).unwrap_or_default();
    }
    let alternatives = schema["anyOf"].as_array().or_else(|| schema["oneOf"].as_array());
    if let Some(alternatives) = alternatives.filter(|_| schema.get("type").is_none()) {
        let mut all = Vec::new();
        for alternative in alternatives {
            let some = types(root, alternative);
            if some.is_empty() {
                return Vec::new();
            }
            all.extend(some);
        }
        return all;
    }
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        // `allOf`: the types the first member that says allows (the others narrow them).
        _ => schema["allOf"]
            .as_array()
            .and_then(|all| all.iter().map(|s| types(root, s)).find(|t| !t.is_empty()))
            .unwrap_or_default(),
    }
}

/// A value none of `types` allows.
fn wrong_value(types: &[String]) -> Value {
    let has = |t: &str| types.iter().any(|x| x == t);
    if !has("object") {
        serde_json::json!({"wrong": [1]})
    } else if !has("integer") && !has("number") {
        Value::from(12345)
    } else {
        Value::Bool(true)
    }
}

#[test]
fn every_readme_example_passes_its_plugins_schema() {
    let root = temp_dir();
    let mut failures = Vec::new();
    for plugin in plugins() {
        let wasm = dist(&plugin, &root);
        for (i, document) in readme_wasm_plugins(&plugin).iter().enumerate() {
            if let Err(e) = check(std::slice::from_ref(document), &wasm, &root) {
                failures.push(format!("{plugin}: README WasmPlugin {}: {e}", i + 1));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_wrong_type_is_refused_naming_the_field() {
    let root = temp_dir();
    for plugin in plugins() {
        let wasm = dist(&plugin, &root);
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(wasm.with_file_name("config.schema.json")).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let example = readme_wasm_plugins(&plugin).remove(0);
        // The example's global config, else its first rule's.
        let (label, pointer) = match example["spec"]["defaultConfig"].as_object() {
            Some(global) if !global.is_empty() => ("spec.defaultConfig", "/spec/defaultConfig".to_string()),
            _ => ("spec.matchRules[0].config", "/spec/matchRules/0/config".to_string()),
        };
        let config = example.pointer(&pointer).and_then(Value::as_object).cloned().unwrap_or_default();
        let properties = schema["properties"].as_object().cloned().unwrap_or_default();
        // A key the example sets whose schema names its types.
        let Some((key, allowed)) = config
            .keys()
            .filter_map(|k| Some((k.clone(), types(&schema, properties.get(k)?))))
            .find(|(_, t)| !t.is_empty())
        else {
            panic!("{plugin}: the README example sets no key with a typed schema: {config:?}");
        };
        let mut broken = example.clone();
        if let Some(slot) = broken.pointer_mut(&format!("{pointer}/{key}")) {
            *slot = wrong_value(&allowed);
        }
        let error = check(&[broken], &wasm, &root).err().unwrap_or_else(|| panic!("{plugin}: a wrong `{key}` passed"));
        assert!(
            error.contains(&format!("{label}.{key}: WasmPlugin ")),
            "{plugin}: the error names {label}.{key}:\n{error}"
        );
    }
}
