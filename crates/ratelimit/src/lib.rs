//! What Higress's Redis rate-limit plugins share: the rule model and finding the rule item a
//! request falls under. Each plugin keeps its own counting script and replies.

pub mod rules;
pub mod source;

pub use rules::{Combination, LimitKey, Limits, Matcher, RuleItem, Source, Window, CONSUMER_HEADER};
