//! ext-auth: adds the configured `message` to every request as the `x-ext-auth` header.
//!
//! Made by `make new-plugin` from `templates/plugin`: a typed config with one validated
//! field and one phase. Replace them with what the plugin does.

use higress_sdk::prelude::*;

/// The request header this plugin sets.
const HEADER: &str = "x-ext-auth";

#[derive(Deserialize)]
struct Config {
    /// The header's value: one line of text.
    message: String,
}

/// Per-request state (none yet): a value is created for every request the rules select.
#[derive(Default)]
struct ExtAuth;

impl HttpPlugin for ExtAuth {
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

higress_sdk::export_plugin!("ext-auth", ExtAuth);
