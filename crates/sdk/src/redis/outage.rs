//! Telling the log about a Redis outage once, not once per request: a gateway under load
//! would otherwise write a warning for every request while Redis is down.

use super::{RedisError, RedisResult, Value};
use std::cell::Cell;

/// Whether this VM's last Redis command failed. Keep one per client (in the plugin's config)
/// and report every command's outcome to it.
#[derive(Debug, Default)]
pub struct Outage {
    down: Cell<bool>,
}

impl Outage {
    /// A command failed: logged at warn with `consequence` (what the plugin does meanwhile)
    /// when Redis was answering until now, at debug otherwise.
    pub fn failed(&self, error: &RedisError, consequence: &str) {
        if self.down.replace(true) {
            crate::log_debug!("redis still unavailable ({error})");
        } else {
            crate::log_warn!("redis unavailable ({error}): {consequence} until it answers again");
        }
    }

    /// A command was answered: logged once when it ends an outage.
    pub fn answered(&self) {
        if self.down.replace(false) {
            crate::log_info!("redis answers again");
        }
    }

    /// A command's outcome read with `parse`: the parsed reply, or `None` when the command
    /// failed or its reply is not what `parse` expects (a Redis answering garbage). Either
    /// way the outage is kept up to date; `consequence` is what the plugin does meanwhile.
    pub fn read<T>(
        &self,
        result: RedisResult,
        consequence: &str,
        parse: impl FnOnce(&Value) -> Option<T>,
    ) -> Option<T> {
        let error = match result {
            Ok(reply) => match parse(&reply) {
                Some(parsed) => {
                    self.answered();
                    return Some(parsed);
                }
                None => RedisError::Malformed(format!("unexpected reply {reply:?}")),
            },
            Err(error) => error,
        };
        self.failed(&error, consequence);
        None
    }

    /// Whether the last command failed.
    pub fn is_down(&self) -> bool {
        self.down.get()
    }
}
