//! Load measurements with `wrk` (Debian's package): requests per second and latency
//! percentiles through the gateway, and the gateway's peak memory. `make bench` prints them.

use std::process::Command;

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Requests per second.
    pub rps: f64,
    /// Median latency, as wrk prints it (`1.02ms`).
    pub p50: String,
    /// 99th percentile latency.
    pub p99: String,
}

/// Runs wrk against `http://<address>/` with `Host: host` and `headers`.
pub fn wrk(
    address: &str,
    host: &str,
    headers: &[(String, String)],
    seconds: u64,
    connections: u32,
) -> Result<Measured, String> {
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
        "-H",
        &format!("Host: {host}"),
    ]);
    for (name, value) in headers {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    let output = command
        .arg(format!("http://{address}/"))
        .output()
        .map_err(|e| format!("cannot run wrk ({e}): apt-get install wrk"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!("wrk failed: {}{text}", String::from_utf8_lossy(&output.stderr)));
    }
    parse(&text)
}

/// Reads wrk's `--latency` report. Any non-2xx answer or socket error makes it an error: a
/// load number is only meaningful when every request succeeded.
pub fn parse(text: &str) -> Result<Measured, String> {
    if let Some(line) = text.lines().find(|l| l.contains("Non-2xx") || l.contains("Socket errors")) {
        return Err(format!("not every request succeeded: {}\n{text}", line.trim()));
    }
    let field = |prefix: &str| -> Option<String> {
        text.lines().map(str::trim).find_map(|l| l.strip_prefix(prefix)).map(|rest| rest.trim().to_string())
    };
    let rps =
        field("Requests/sec:").and_then(|v| v.parse().ok()).ok_or_else(|| format!("no Requests/sec in:\n{text}"))?;
    let p50 = field("50%").ok_or_else(|| format!("no 50% latency in:\n{text}"))?;
    let p99 = field("99%").ok_or_else(|| format!("no 99% latency in:\n{text}"))?;
    Ok(Measured { rps, p50, p99 })
}

/// A process's peak resident memory (`VmHWM`) and current one (`VmRSS`), in KiB (Linux).
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Some((value("VmHWM:")?, value("VmRSS:")?))
}

/// CPU time (user + system, seconds) a process and its direct children have used so far
/// (Linux): the gateway's threads, or nginx's master and workers. Compared before and after
/// a load run, it gives the proxy's own CPU per request, which the machine's other tenants
/// disturb far less than requests per second.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let mut ticks = stat_fields(pid).map(|(_, t)| t)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some((parent, t)) = stat_fields(child) {
            if parent == pid {
                ticks += t;
            }
        }
    }
    // Linux reports these in USER_HZ, 100 per second on every architecture it runs on.
    Some(ticks as f64 / 100.0)
}

/// A process's parent and its `utime + stime` in ticks, from `/proc/<pid>/stat`.
fn stat_fields(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields are counted after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let parent = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((parent, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 5s test @ http://127.0.0.1:19000/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21ms    1.01ms  21.20ms   92.91%
    Req/Sec    15.18k     1.23k   17.73k    70.00%
  Latency Distribution
     50%    1.00ms
     75%    1.25ms
     90%    1.80ms
     99%    5.17ms
  151034 requests in 5.00s, 47.43MB read
Requests/sec:  30190.66
Transfer/sec:      9.48MB
";

    #[test]
    fn reads_the_report() {
        assert_eq!(parse(REPORT), Ok(Measured { rps: 30190.66, p50: "1.00ms".into(), p99: "5.17ms".into() }));
        let failed = REPORT.replace("Requests/sec", "  Non-2xx or 3xx responses: 12\nRequests/sec");
        assert!(parse(&failed).unwrap_err().contains("Non-2xx or 3xx responses: 12"));
        assert!(parse("garbage").is_err());
    }

    #[test]
    fn counts_cpu_of_this_process() {
        let before = cpu_seconds(std::process::id()).unwrap_or_default();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = cpu_seconds(std::process::id()).unwrap_or_default() - before;
        assert!(used > 0.1, "{used} s of CPU for 0.3 s of spinning");
    }

    #[test]
    fn reads_memory_of_this_process() {
        let (peak, now) = memory_kib(std::process::id()).unwrap_or_default();
        assert!(peak >= now && now > 0);
    }
}
