//! Cost accounting (an extension: Higress's plugin has none): `model_prices` maps a model
//! (exactly, or `*` for any other) to its prices per million tokens - `input`, `output`,
//! `cached_input` (prompt tokens read from a cache; default `input`) and `cache_write`
//! (prompt tokens written to a cache, Anthropic; default `input`). A reply's cost goes to
//! `ai_log` as `cost` and to the counter `cost_micros` (millionths of the currency unit, so
//! a counter of integers adds up exactly).

use higress_ai::Usage;
use higress_sdk::prelude::*;
use serde_json::Value;

/// One model's prices, per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cached_input: f64,
    pub cache_write: f64,
}

/// The price table.
#[derive(Debug, Default)]
pub struct Prices {
    models: Vec<(String, Price)>,
    any: Option<Price>,
}

impl Prices {
    /// Reads `model_prices` (at `field`); absent: no cost accounting.
    pub fn parse(raw: Option<&Value>, field: &str) -> Result<Prices, ConfigError> {
        let Some(raw) = raw.filter(|v| !v.is_null()) else { return Ok(Prices::default()) };
        let table = raw.as_object().ok_or_else(|| ConfigError::at(field, "expected an object: model -> prices"))?;
        let mut prices = Prices::default();
        for (model, entry) in table {
            let at = format!("{field}.{model}");
            let entry = entry.as_object().ok_or_else(|| ConfigError::at(&at, "expected an object"))?;
            let number = |key: &str| -> Result<Option<f64>, ConfigError> {
                match entry.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => v
                        .as_f64()
                        .filter(|n| *n >= 0.0 && n.is_finite())
                        .map(Some)
                        .ok_or_else(|| ConfigError::at(format!("{at}.{key}"), "expected a price (a number >= 0)")),
                }
            };
            for key in entry.keys() {
                if !matches!(key.as_str(), "input" | "output" | "cached_input" | "cache_write") {
                    return Err(ConfigError::at(
                        format!("{at}.{key}"),
                        "unknown price (input, output, cached_input, cache_write)",
                    ));
                }
            }
            let input = number("input")?.unwrap_or(0.0);
            let price = Price {
                input,
                output: number("output")?.unwrap_or(0.0),
                cached_input: number("cached_input")?.unwrap_or(input),
                cache_write: number("cache_write")?.unwrap_or(input),
            };
            if model == "*" {
                prices.any = Some(price);
            } else {
                prices.models.push((model.clone(), price));
            }
        }
        Ok(prices)
    }

    /// The cost of `usage` for `model`, in currency units (`None`: no price for it).
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        let price = self.models.iter().find(|(m, _)| m == model).map(|(_, p)| *p).or(self.any)?;
        let tokens = |n: Option<u64>| n.unwrap_or(0) as f64;
        let micros = tokens(usage.uncached_input()) * price.input
            + tokens(usage.cache_read) * price.cached_input
            + tokens(usage.cache_creation) * price.cache_write
            + tokens(usage.output) * price.output;
        Some(micros / 1_000_000.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usage(reply: Value) -> Usage {
        let mut usage = Usage::default();
        usage.update(&reply);
        usage
    }

    #[test]
    fn cached_tokens_are_priced_apart() {
        let prices = Prices::parse(
            Some(
                &json!({"gpt-4o": {"input": 2.5, "output": 10, "cached_input": 1.25}, "*": {"input": 1, "output": 2}}),
            ),
            "model_prices",
        )
        .unwrap();
        let openai = usage(json!({"usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
            "prompt_tokens_details": {"cached_tokens": 400}}}));
        // 600 uncached x 2.5 + 400 cached x 1.25 + 100 x 10, per million.
        assert!((prices.cost("gpt-4o", &openai).unwrap() - 0.0030).abs() < 1e-12);
        assert!((prices.cost("other", &openai).unwrap() - 0.0012).abs() < 1e-12, "`*`: cached at the input price");
        assert_eq!(Prices::default().cost("gpt-4o", &openai), None);
    }

    #[test]
    fn bad_prices_name_the_field() {
        let error = Prices::parse(Some(&json!({"m": {"input": -1}})), "model_prices").unwrap_err();
        assert!(error.to_string().contains("model_prices.m.input"), "{error}");
        let error = Prices::parse(Some(&json!({"m": {"inptu": 1}})), "model_prices").unwrap_err();
        assert!(error.to_string().contains("model_prices.m.inptu"), "{error}");
    }
}
