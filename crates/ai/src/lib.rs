//! What Higress's AI plugins share (ai-token-ratelimit now; ai-statistics and ai-proxy build
//! on it): the usage a reply reports, read from any provider's shape, whole or streamed.

pub mod chat;
pub mod usage;

pub use usage::{Usage, UsageExtractor};
