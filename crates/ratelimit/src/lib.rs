//! What Higress's Redis rate-limit plugins share: the rule model and finding the rule item a
//! request falls under. Each plugin keeps its own counting script and replies.

pub mod config;
pub mod rules;
#[cfg(feature = "schema")]
mod schema;
pub mod source;

pub use config::{Counters, LimitConfig, Queries, Tokens, Unit};
pub use rules::{Combination, LimitKey, Limits, Matcher, RuleItem, Source, Window, CONSUMER_HEADER};

/// The window arguments of the plugins' Lua scripts: each window's count and seconds.
pub fn script_arguments(windows: &[Window]) -> Vec<String> {
    windows.iter().flat_map(|w| [w.count.to_string(), w.seconds.to_string()]).collect()
}
