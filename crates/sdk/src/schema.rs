//! The JSON Schema of a plugin's configuration, generated from its Rust config types.
//!
//! A plugin derives `schemars::JsonSchema` on its config types in test builds only
//! (`#[cfg_attr(test, derive(schemars::JsonSchema))]`), so no module carries schemars.
//! [`export_plugin!`](crate::export_plugin) defines a test that writes the schema to
//! `config.schema.json` beside the plugin's `Cargo.toml` (`UPDATE_SCHEMAS=1`) and otherwise
//! fails when the committed file is out of date. `make build` ships that file next to the
//! module, the image carries it, and `hgw check` validates WasmPlugin configs with it.
//!
//! The schema says what one config object (the global one, or a rule's) may hold. How rules
//! relate to the global config is in the `x-higress` keyword, which validators ignore:
//! `mergeGlobalIntoRules` (a rule is the global config with its keys on top, so a rule is
//! checked merged) and `ruleOnlyKeys` (global keys not copied into rules).

use crate::plugin::HttpPlugin;
pub use schemars;
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The file name of a schema, beside the plugin's `Cargo.toml`, its module in `dist/` and in
/// its image.
pub const FILE_NAME: &str = "config.schema.json";

/// What a plugin is: its name, version and one-line description (its `Cargo.toml`'s).
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    /// The plugin's name (`export_plugin!`'s).
    pub name: &'a str,
    /// Its crate's version.
    pub version: &'a str,
    /// Its crate's description: the schema's.
    pub description: &'a str,
}

/// The schema of `P`'s config, with the `x-higress` keyword.
pub fn generate<P: HttpPlugin>(about: About<'_>) -> Value
where
    P::Config: JsonSchema,
{
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<P::Config>();
    let mut value = schema.to_value();
    if let Value::Object(object) = &mut value {
        let About { name, version, description } = about;
        object.insert("title".into(), Value::String(format!("{name} {version} configuration")));
        object.insert("description".into(), Value::String(description.to_string()));
        object.insert(
            "x-higress".into(),
            json!({
                "plugin": name,
                "version": version,
                "mergeGlobalIntoRules": P::MERGE_GLOBAL_INTO_RULES,
                "ruleOnlyKeys": P::RULE_ONLY_KEYS,
            }),
        );
    }
    sorted(value)
}

/// Compares `P`'s schema with `<manifest_dir>/config.schema.json`; with `UPDATE_SCHEMAS` set
/// in the environment, writes it instead.
pub fn check_file<P: HttpPlugin>(about: About<'_>, manifest_dir: &str) -> Result<(), String>
where
    P::Config: JsonSchema,
{
    let schema = generate::<P>(about);
    let path = Path::new(manifest_dir).join(FILE_NAME);
    let text = serde_json::to_string_pretty(&schema).map_err(|e| e.to_string())? + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        return std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()));
    }
    let fix =
        format!("run `UPDATE_SCHEMAS=1 cargo test -p {} config_schema` and commit {}", about.name, path.display());
    let committed = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}; {fix}", path.display()))?;
    let committed: Value = serde_json::from_str(&committed).map_err(|e| format!("{}: {e}; {fix}", path.display()))?;
    if committed != schema {
        return Err(format!("{} is not the schema of the config types: {fix}", path.display()));
    }
    Ok(())
}

/// `value` with every object's keys in order, so the file does not depend on whether some
/// crate turned on serde_json's `preserve_order`.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
