//! When a provider's keys fail: `failover` takes a failing key out of rotation and health
//! checks bring it back; `retryOnFailure` sends a failed request again with another key.
//! Both as Higress's, with their status patterns anchored. `fallback` (an extension) sends
//! it to other providers and models in order.

mod check;
mod fallback;
mod health;
mod retry;
mod statuses;

pub use check::run as check_keys;
pub use fallback::{remember as remember_original, start as fall_back, Failure, Fallback, Original, Pending};
pub use health::{Endpoint, Failover};
pub use retry::{remember, start as retry, Retry, Sent};
