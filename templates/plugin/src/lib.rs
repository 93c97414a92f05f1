//! {{name}}: adds the configured `message` to every request as the `x-{{name}}` header.
//!
//! Made by `make new-plugin` from `templates/plugin`: a typed config with one validated
//! field and one phase. Replace them with what the plugin does.

use higress_sdk::prelude::*;

/// The request header this plugin sets.
const HEADER: &str = "x-{{name}}";

/// The config. Its JSON Schema (`config.schema.json`, which `hgw check` validates configs
/// with) is derived in tests only, from these types and their doc comments:
/// `UPDATE_SCHEMAS=1 cargo test -p {{name}} config_schema` writes it.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct Config {
    /// The header's value: one line of text.
    #[cfg_attr(test, schemars(regex(pattern = r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")))]
    message: String,
}

/// Per-request state (none yet): a value is created for every request the rules select.
#[derive(Default)]
struct {{Type}};

impl HttpPlugin for {{Type}} {
    type Config = Config;

    /// An error fails plugin start and is logged with the field's path.
    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        if config.message.trim().is_empty() {
            return Err(ConfigError::at("message", "cannot be empty"));
        }
        if config.message.chars().any(char::is_control) {
            return Err(ConfigError::at("message", "must be one line of text (no control characters)"));
        }
        Ok(())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        http.set_request_header(HEADER, &config.message);
        HeaderAction::Continue
    }
}

higress_sdk::export_plugin!("{{name}}", {{Type}});
