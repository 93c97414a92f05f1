//! The admin listener (`hgw serve --admin-listen`): every plugin metric and the gateway's own
//! request statistics in Prometheus's text format, at `/stats/prometheus` (Envoy's path) and
//! `/metrics`.
//!
//! Plugin metrics are named as Higress's gateway exposes them: the names ai-statistics and
//! the token limits define, `route.<r>.upstream.<c>.model.<m>.consumer.<x>.metric.<name>`,
//! become `route_upstream_model_consumer_metric_<name>{ai_route,ai_cluster,ai_model,
//! ai_consumer}` (Higress's stats tags); any other name has every character Prometheus does
//! not take replaced by `_`, as Envoy writes custom stats.

use crate::stats::{Stats, BUCKETS};
use higress_abi::MetricType;
use higress_host::{Env, Metric};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;

/// Envoy's default histogram buckets, for histograms plugins record (their own units).
const PLUGIN_BUCKETS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0, 300000.0,
    600000.0, 1800000.0, 3600000.0,
];

/// Starts the admin listener on its own thread; returns the address it listens on.
pub fn start(address: SocketAddr, env: Env, stats: Arc<Stats>) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind(address).map_err(|e| format!("--admin-listen {address}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("hgw-admin".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return eprintln!("hgw: admin: {e}"),
            };
            runtime.block_on(serve(listener, env, stats));
        })
        .map_err(|e| e.to_string())?;
    Ok(local)
}

async fn serve(listener: std::net::TcpListener, env: Env, stats: Arc<Stats>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => return eprintln!("hgw: admin: {e}"),
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let (env, stats) = (env.clone(), stats.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                let response = answer(request.uri().path(), &env, &stats);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn answer(path: &str, env: &Env, stats: &Stats) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/stats/prometheus" | "/metrics" => {
            (200, "text/plain; version=0.0.4; charset=utf-8", prometheus(&env.metrics(), stats))
        }
        "/" => (200, "text/plain; charset=utf-8", "hgw admin: /stats/prometheus (also /metrics)\n".to_string()),
        _ => (404, "text/plain; charset=utf-8", "not found\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// One family's type and series (labels, metric).
type Family<'a> = (MetricType, Vec<(String, &'a Metric)>);

/// The Prometheus text of `metrics` (the plugins') and `stats` (the gateway's).
pub fn prometheus(metrics: &[Metric], stats: &Stats) -> String {
    // Series grouped by family name: one TYPE line each, as the format requires.
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for metric in metrics {
        let (family, labels) = family_of(&metric.name);
        families.entry(family).or_insert_with(|| (metric.kind, Vec::new())).1.push((labels, metric));
    }
    let mut out = String::new();
    for (family, (kind, series)) in &families {
        let kind_name = match kind {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        };
        let _ = writeln!(out, "# TYPE {family} {kind_name}");
        for (labels, metric) in series {
            match metric.kind {
                MetricType::Histogram => {
                    let values: Vec<f64> = metric.samples.iter().map(|s| *s as f64).collect();
                    histogram(&mut out, family, labels, &PLUGIN_BUCKETS, &values);
                }
                _ => {
                    let _ = writeln!(out, "{family}{} {}", braces(labels), metric.value);
                }
            }
        }
    }
    gateway(&mut out, stats);
    out
}

/// The gateway's request counters, latency histogram and VM rebuilds.
fn gateway(out: &mut String, stats: &Stats) {
    let snapshot = stats.snapshot();
    out.push_str("# HELP hgw_requests_total Requests served, by route, upstream cluster and status.\n");
    out.push_str("# TYPE hgw_requests_total counter\n");
    for ((route, cluster, status), count) in &snapshot.requests {
        let labels = format!("route=\"{}\",cluster=\"{}\",status=\"{status}\"", escape(route), escape(cluster));
        let _ = writeln!(out, "hgw_requests_total{{{labels}}} {count}");
    }
    out.push_str("# HELP hgw_request_duration_seconds Time from a request's arrival to its end, by route.\n");
    out.push_str("# TYPE hgw_request_duration_seconds histogram\n");
    for (route, h) in &snapshot.durations {
        let labels = format!("route=\"{}\"", escape(route));
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(h.buckets.iter()) {
            cumulative += count;
            let _ = writeln!(out, "hgw_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "hgw_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "hgw_request_duration_seconds_sum{{{labels}}} {}", h.sum);
        let _ = writeln!(out, "hgw_request_duration_seconds_count{{{labels}}} {}", h.count);
    }
    if !snapshot.rebuilds.is_empty() {
        out.push_str("# HELP hgw_wasm_vm_rebuilds_total Plugin VMs replaced by a fresh one, by plugin and cause (trap, requested: wasm_need_rebuild).\n");
        out.push_str("# TYPE hgw_wasm_vm_rebuilds_total counter\n");
        for ((plugin, cause), count) in &snapshot.rebuilds {
            let labels = format!("plugin=\"{}\",cause=\"{}\"", escape(plugin), escape(cause));
            let _ = writeln!(out, "hgw_wasm_vm_rebuilds_total{{{labels}}} {count}");
        }
    }
}

/// A histogram's series from raw observations.
fn histogram(out: &mut String, family: &str, labels: &str, bounds: &[f64], values: &[f64]) {
    let sep = if labels.is_empty() { "" } else { "," };
    for bound in bounds {
        let count = values.iter().filter(|v| **v <= *bound).count();
        let _ = writeln!(out, "{family}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{family}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", values.len());
    let _ = writeln!(out, "{family}_sum{} {}", braces(labels), values.iter().sum::<f64>());
    let _ = writeln!(out, "{family}_count{} {}", braces(labels), values.len());
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

/// The family name and labels of a plugin metric (see the module's doc).
pub fn family_of(name: &str) -> (String, String) {
    if let Some((values, metric)) = tagged(name) {
        let tags = ["ai_route", "ai_cluster", "ai_model", "ai_consumer"];
        let labels: Vec<String> =
            tags.iter().zip(&values).map(|(tag, value)| format!("{tag}=\"{}\"", escape(value))).collect();
        let prefix =
            if values.len() == 4 { "route_upstream_model_consumer_metric_" } else { "route_upstream_model_metric_" };
        return (format!("{prefix}{}", sanitize(metric)), labels.join(","));
    }
    (sanitize(name), String::new())
}

/// `route.<r>.upstream.<c>.model.<m>[.consumer.<x>].metric.<name>`: the tag values and the
/// name (each value up to the first marker that follows it, as Higress's tag regexes).
fn tagged(name: &str) -> Option<(Vec<&str>, &str)> {
    let rest = name.strip_prefix("route.")?;
    let (route, rest) = rest.split_once(".upstream.")?;
    let (cluster, rest) = rest.split_once(".model.")?;
    let (head, metric) = rest.split_once(".metric.")?;
    let values = match head.split_once(".consumer.") {
        Some((model, consumer)) => vec![route, cluster, model, consumer],
        None => vec![route, cluster, head],
    };
    Some((values, metric))
}

/// A name Prometheus takes: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn sanitize(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' }).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

/// A label value escaped as the text format wants.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, kind: MetricType, value: i64, samples: &[u64]) -> Metric {
        Metric { name: name.into(), kind, value, samples: samples.to_vec() }
    }

    #[test]
    fn ai_metrics_get_higress_names_and_labels() {
        let metrics = [
            metric(
                "route.ai-route.internal.upstream.outbound|443||llm.dns.model.qwen2.5-max.consumer.none.metric.input_token",
                MetricType::Counter,
                24,
                &[],
            ),
            metric("route.r.upstream.c.model.m.consumer.x\"y.metric.input_token", MetricType::Counter, 1, &[]),
            metric("route.r.upstream.c.model.m.metric.output_token", MetricType::Counter, 5, &[]),
            metric("my-plugin.calls", MetricType::Gauge, -3, &[]),
        ];
        let text = prometheus(&metrics, &Stats::default());
        assert!(text.contains("# TYPE route_upstream_model_consumer_metric_input_token counter\n"), "{text}");
        assert_eq!(text.matches("# TYPE route_upstream_model_consumer_metric_input_token").count(), 1);
        assert!(text.contains(
            "route_upstream_model_consumer_metric_input_token{ai_route=\"ai-route.internal\",\
             ai_cluster=\"outbound|443||llm.dns\",ai_model=\"qwen2.5-max\",ai_consumer=\"none\"} 24\n"
        ));
        assert!(text.contains("ai_consumer=\"x\\\"y\"} 1\n"), "{text}");
        assert!(text
            .contains("route_upstream_model_metric_output_token{ai_route=\"r\",ai_cluster=\"c\",ai_model=\"m\"} 5\n"));
        assert!(text.contains("# TYPE my_plugin_calls gauge\nmy_plugin_calls -3\n"), "{text}");
    }

    #[test]
    fn histograms_are_cumulative() {
        let metrics = [metric("lat", MetricType::Histogram, 0, &[3, 7, 70000])];
        let text = prometheus(&metrics, &Stats::default());
        assert!(text.contains("lat_bucket{le=\"5\"} 1\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("lat_bucket{le=\"+Inf\"} 3\nlat_sum 70010\nlat_count 3\n"));
        let stats = Stats::default();
        stats.record("r1", "outbound|80||echo.static", 200, std::time::Duration::from_millis(2));
        let text = prometheus(&[], &stats);
        assert!(
            text.contains("hgw_requests_total{route=\"r1\",cluster=\"outbound|80||echo.static\",status=\"200\"} 1\n")
        );
        assert!(text.contains("hgw_request_duration_seconds_bucket{route=\"r1\",le=\"0.0025\"} 1\n"), "{text}");
        assert!(text.contains("hgw_request_duration_seconds_count{route=\"r1\"} 1\n"));
    }
}
