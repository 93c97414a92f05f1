//! Logging through `proxy_log`, in the format of Higress's Go plugins:
//! `[plugin-name] [plugin-id] [request-id] message` (`nil` for a missing id).
//!
//! The host's level is cached and refreshed when a stream starts, so a disabled level costs
//! one comparison and no formatting.

use higress_abi::LogLevel;
use std::cell::RefCell;
use std::fmt::{self, Write};
use std::rc::Rc;

struct LogState {
    plugin: &'static str,
    plugin_id: Option<String>,
    level: LogLevel,
    request_id: Option<Rc<str>>,
}

thread_local! {
    static STATE: RefCell<LogState> = const {
        RefCell::new(LogState { plugin: "plugin", plugin_id: None, level: LogLevel::Trace, request_id: None })
    };
}

/// Whether a line at `level` would be written.
pub fn enabled(level: LogLevel) -> bool {
    STATE.with(|s| s.try_borrow().map(|s| level >= s.level).unwrap_or(true))
}

/// Writes one line at `level` (use the `log_*!` macros, which skip formatting when disabled).
pub fn write(level: LogLevel, args: fmt::Arguments<'_>) {
    let mut line = String::with_capacity(64);
    let _ = STATE.with(|s| -> fmt::Result {
        let Ok(s) = s.try_borrow() else { return Ok(()) };
        write!(
            line,
            "[{}] [{}] [{}] ",
            s.plugin,
            s.plugin_id.as_deref().unwrap_or("nil"),
            s.request_id.as_deref().unwrap_or("nil")
        )
    });
    let _ = line.write_fmt(args);
    let _ = crate::hostcalls::log(level, &line);
}

pub(crate) fn set_plugin(plugin: &'static str) {
    STATE.with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.plugin = plugin;
        }
    });
}

pub(crate) fn set_plugin_id(id: Option<String>) {
    STATE.with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.plugin_id = id;
        }
    });
}

/// Reads the host's level again (the host may change it at runtime).
pub(crate) fn refresh_level() {
    if let Ok(level) = crate::hostcalls::log_level() {
        STATE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                s.level = level;
            }
        });
    }
}

pub(crate) fn set_request_id(id: Option<Rc<str>>) {
    STATE.with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.request_id = id;
        }
    });
}

/// Name of the plugin, as given to `export_plugin!`.
pub fn plugin_name() -> &'static str {
    STATE.with(|s| s.try_borrow().map(|s| s.plugin).unwrap_or("plugin"))
}

#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    ($level:expr, $($arg:tt)+) => {
        if $crate::log::enabled($level) {
            $crate::log::write($level, format_args!($($arg)+));
        }
    };
}

/// Logs at trace level: `log_trace!("x = {}", x)`.
#[macro_export]
macro_rules! log_trace { ($($arg:tt)+) => { $crate::__log!($crate::abi::LogLevel::Trace, $($arg)+) }; }
/// Logs at debug level.
#[macro_export]
macro_rules! log_debug { ($($arg:tt)+) => { $crate::__log!($crate::abi::LogLevel::Debug, $($arg)+) }; }
/// Logs at info level.
#[macro_export]
macro_rules! log_info { ($($arg:tt)+) => { $crate::__log!($crate::abi::LogLevel::Info, $($arg)+) }; }
/// Logs at warn level.
#[macro_export]
macro_rules! log_warn { ($($arg:tt)+) => { $crate::__log!($crate::abi::LogLevel::Warn, $($arg)+) }; }
/// Logs at error level.
#[macro_export]
macro_rules! log_error { ($($arg:tt)+) => { $crate::__log!($crate::abi::LogLevel::Error, $($arg)+) }; }
/// Logs at critical level.
#[macro_export]
macro_rules! log_critical { ($($arg:tt)+) => { $crate::__log!($crate::abi::LogLevel::Critical, $($arg)+) }; }
