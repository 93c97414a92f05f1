//! One access-log line per request: time, method, path, status, route, upstream cluster,
//! duration, the attributes plugins wrote to `custom_log`, and `ai_log` when AI plugins
//! wrote one.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where lines go (shared by the workers).
#[derive(Clone)]
pub enum AccessLog {
    /// Not written.
    Off,
    /// Standard output.
    Stdout,
    /// A file (appended).
    File(Arc<Mutex<std::fs::File>>),
}

/// What a line says.
pub struct Entry<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub route: &'a str,
    pub cluster: &'a str,
    pub duration: Duration,
    pub request_id: &'a str,
    /// The `custom_log` property as plugins wrote it (a string-escaped JSON object).
    pub custom_log: Option<String>,
    /// The `ai_log` property (the same form), which Higress's access log prints as `ai_log`.
    pub ai_log: Option<String>,
}

impl<'a> Entry<'a> {
    /// A request the gateway refused itself before routing it (no route, cluster or plugin
    /// attributes).
    pub fn refused(method: &'a str, path: &'a str, status: u16, duration: Duration, request_id: &'a str) -> Self {
        Entry { method, path, status, route: "", cluster: "", duration, request_id, custom_log: None, ai_log: None }
    }
}

impl AccessLog {
    /// Writes one line.
    pub fn write(&self, entry: &Entry<'_>) {
        if matches!(self, AccessLog::Off) {
            return;
        }
        let attributes = entry.custom_log.as_deref().and_then(unescape).unwrap_or_else(|| "-".into());
        let ai_log = entry.ai_log.as_deref().and_then(unescape).map(|log| format!(" ai_log={log}")).unwrap_or_default();
        let line = format!(
            "{} \"{} {}\" {} route={} upstream={} duration_ms={} request_id={} attributes={}{}\n",
            timestamp(SystemTime::now()),
            entry.method,
            entry.path,
            entry.status,
            if entry.route.is_empty() { "-" } else { entry.route },
            if entry.cluster.is_empty() { "-" } else { entry.cluster },
            entry.duration.as_millis(),
            entry.request_id,
            attributes,
            ai_log
        );
        match self {
            AccessLog::Off => {}
            AccessLog::Stdout => {
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            AccessLog::File(file) => {
                if let Ok(mut f) = file.lock() {
                    let _ = f.write_all(line.as_bytes());
                }
            }
        }
    }
}

/// `custom_log` holds a JSON object escaped as a JSON string body (wasm-go's format).
fn unescape(raw: &str) -> Option<String> {
    let text: String = serde_json::from_str(&format!("\"{raw}\"")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(value.to_string())
}

/// RFC 3339 UTC time with milliseconds.
pub fn timestamp(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)), "2023-11-14T22:13:20.123Z");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn custom_log() {
        assert_eq!(unescape(r#"{\"a\":1}"#).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(unescape("garbage"), None);
    }
}
