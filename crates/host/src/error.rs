//! Errors of the host. A plugin trap is an ordinary error value carrying the plugin's last
//! log lines, so a test failure says what the plugin was doing.

use higress_abi::LogLevel;
use std::fmt;

/// One line a plugin logged (or wrote to stdout/stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Level (stdout is Info, stderr is Error).
    pub level: LogLevel,
    /// The message.
    pub message: String,
}

impl fmt::Display for LogRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:?}] {}", self.level, self.message)
    }
}

/// An error of the host.
#[derive(Debug, Clone)]
pub enum HostError {
    /// The module could not be read, compiled or instantiated.
    Load(String),
    /// The plugin refused to start (`proxy_on_vm_start` / `proxy_on_configure` returned false).
    Start {
        /// Which step failed.
        message: String,
        /// What the plugin logged meanwhile.
        logs: Vec<LogRecord>,
    },
    /// The plugin trapped (panicked, ran out of fuel, ...) in a callback.
    Trap {
        /// The callback.
        callback: &'static str,
        /// The trap, with the wasm backtrace.
        message: String,
        /// The plugin's last log lines.
        logs: Vec<LogRecord>,
    },
    /// The VM trapped earlier and is no longer called, as Envoy treats a failed VM.
    Failed(String),
    /// The host was used wrongly (unknown token, ...).
    Usage(String),
}

impl HostError {
    /// The log lines attached to the error.
    pub fn logs(&self) -> &[LogRecord] {
        match self {
            HostError::Start { logs, .. } | HostError::Trap { logs, .. } => logs,
            _ => &[],
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Load(m) => write!(f, "cannot load plugin: {m}"),
            HostError::Start { message, logs } => {
                write!(f, "plugin start failed: {message}")?;
                for line in logs {
                    write!(f, "\n  {line}")?;
                }
                Ok(())
            }
            HostError::Trap { callback, message, logs } => {
                write!(f, "plugin trapped in {callback}: {message}")?;
                for line in logs {
                    write!(f, "\n  {line}")?;
                }
                Ok(())
            }
            HostError::Failed(m) => write!(f, "plugin VM failed earlier: {m}"),
            HostError::Usage(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for HostError {}
