//! Logging through `proxy_log`, in the format of Higress's Go plugins:
//! `[plugin-name] [plugin-id] [request-id] message` (`nil` for a missing id).
//!
//! The host's level is cached: read at plugin start and again the first time a stream checks
//! a level (the host may change it at runtime), so a stream that logs nothing costs nothing
//! and a disabled level costs one comparison and no formatting. The request id is the
//! `x_request_id` property, as wasm-go reads it, fetched when a line of the stream is first
//! written.

use higress_abi::LogLevel;
use std::cell::RefCell;
use std::fmt::{self, Write};

struct LogState {
    plugin: &'static str,
    version: &'static str,
    plugin_id: Option<String>,
    level: LogLevel,
    /// The stream `level` was last read for (`Some(None)`: the root context).
    level_read_for: Option<Option<u32>>,
    /// The stream whose callback runs (`None` at the root).
    stream: Option<u32>,
    /// The request id fetched for a stream.
    request_id: Option<(u32, Option<String>)>,
}

thread_local! {
    static STATE: RefCell<LogState> = const {
        RefCell::new(LogState { plugin: "plugin", version: "", plugin_id: None, level: LogLevel::Trace, level_read_for: None, stream: None, request_id: None })
    };
}

/// Whether a line at `level` would be written.
pub fn enabled(level: LogLevel) -> bool {
    STATE.with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else { return true };
        if s.level_read_for != Some(s.stream) {
            if let Ok(current) = crate::hostcalls::log_level() {
                s.level = current;
            }
            s.level_read_for = Some(s.stream);
        }
        level >= s.level
    })
}

/// Writes one line at `level` (use the `log_*!` macros, which skip formatting when disabled).
pub fn write(level: LogLevel, args: fmt::Arguments<'_>) {
    let mut line = String::with_capacity(64);
    let _ = STATE.with(|s| -> fmt::Result {
        let Ok(mut s) = s.try_borrow_mut() else { return Ok(()) };
        if let Some(stream) = s.stream {
            if s.request_id.as_ref().map(|(id, _)| *id) != Some(stream) {
                let id = crate::hostcalls::get_property(&[REQUEST_ID_PROPERTY]).ok().flatten();
                s.request_id = Some((stream, id.filter(|v| !v.is_empty()).map(crate::hostcalls::into_string)));
            }
        }
        let request_id = match (&s.stream, &s.request_id) {
            (Some(stream), Some((id, value))) if stream == id => value.as_deref(),
            _ => None,
        };
        write!(line, "[{}] [{}] [{}] ", s.plugin, s.plugin_id.as_deref().unwrap_or("nil"), request_id.unwrap_or("nil"))
    });
    let _ = line.write_fmt(args);
    let _ = crate::hostcalls::log(level, &line);
}

/// The property Higress (and wasm-go's log) reads the request id from.
const REQUEST_ID_PROPERTY: &str = "x_request_id";

pub(crate) fn set_plugin(plugin: &'static str, version: &'static str) {
    STATE.with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.plugin = plugin;
            s.version = version;
        }
    });
}

/// The plugin crate's version (from `export_plugin!`).
pub(crate) fn plugin_version() -> &'static str {
    STATE.with(|s| s.try_borrow().map(|s| s.version).unwrap_or_default())
}

/// The panic hook: `[plugin] panicked at file:line:col: message` at Critical, so a trap in a
/// deployed module says where and why before the module aborts (the default hook writes to
/// a stderr that proxies discard).
pub(crate) fn panic_line(info: &std::panic::PanicHookInfo<'_>) {
    // The state may be borrowed by the code that panicked: then the name is unknown.
    let plugin = STATE.with(|s| s.try_borrow().map(|s| s.plugin).unwrap_or("plugin"));
    let message = info.payload_as_str().unwrap_or("(a non-string panic payload)");
    let line = match info.location() {
        Some(at) => format!("[{plugin}] panicked at {}:{}:{}: {message}", at.file(), at.line(), at.column()),
        None => format!("[{plugin}] panicked: {message}"),
    };
    let _ = crate::hostcalls::log(LogLevel::Critical, &line);
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
                s.level_read_for = Some(s.stream);
            }
        });
    }
}

/// Makes `stream` the stream whose request id log lines carry (`None`: the root context).
pub(crate) fn set_stream(stream: Option<u32>) {
    STATE.with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.stream = stream;
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
