//! What Higress's AI plugins share: the usage a reply reports, read from any provider's shape
//! (ai-token-ratelimit, ai-statistics), and the translation of chat requests, replies and
//! streams between protocols through one model (ai-proxy): `chat` is the model, `openai` and
//! `anthropic` the adapters, `translate` joins a client's protocol to a provider's.

pub mod anthropic;
pub mod bedrock;
pub mod chat;
pub mod dify;
pub mod embeddings;
pub mod gemini;
pub(crate) mod json;
pub mod minimax;
pub mod openai;
pub mod path;
pub mod qwen;
pub mod responses;
pub mod scan;
pub mod translate;
pub mod usage;

pub use usage::{Usage, UsageExtractor};
