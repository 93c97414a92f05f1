//! The admin listener: Prometheus text with the plugins' metrics and the gateway's request
//! counters and latency histogram, scraped as Prometheus scrapes it.

use crate::{echo_routes, Gw};
use higress_e2e::client::Gateway;

#[test]
fn the_metrics_page_has_plugin_metrics_and_request_counts() {
    let echo = higress_e2e::echo::spawn().to_string();
    let config = echo_routes(&["metrics.test", "plain.test"])
        + &crate::wasm_plugin("probe", "sdk-probe", "  matchRules:\n    - domain: [metrics.test]\n      config: {}\n");
    let gw = Gw::start(&config, &echo, 2);
    for _ in 0..3 {
        let reply = gw.client().get("metrics.test", "/").header("x-probe", "metrics").send();
        assert_eq!(reply.status, 200);
    }
    assert_eq!(gw.client().get("plain.test", "/x").send().status, 200);
    assert_eq!(gw.client().get("nowhere.test", "/").send().status, 404);

    let admin = Gateway::new(&gw.admin);
    let page = admin.get("admin", "/stats/prometheus").send();
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = page.text();
    // Both workers' VMs add to the same counter: 3 requests, 2 each.
    assert!(text.contains("# TYPE sdk_probe_requests counter\nsdk_probe_requests 6\n"), "{text}");
    assert!(text.contains("# TYPE sdk_probe_gauge gauge\n"), "{text}");
    assert!(text.contains("sdk_probe_sizes_bucket{le=\"10\"} 6\n"), "{text}");
    assert!(text.contains("sdk_probe_sizes_count 6\n"), "{text}");
    assert!(
        text.contains(
            "hgw_requests_total{route=\"metrics.test\",cluster=\"outbound|80||echo.static\",status=\"200\"} 3\n"
        ),
        "{text}"
    );
    assert!(text
        .contains("hgw_requests_total{route=\"plain.test\",cluster=\"outbound|80||echo.static\",status=\"200\"} 1\n"));
    assert!(text.contains("hgw_requests_total{route=\"\",cluster=\"\",status=\"404\"} 1\n"), "{text}");
    assert!(text.contains("hgw_request_duration_seconds_count{route=\"metrics.test\"} 3\n"));
    assert!(text.contains("hgw_request_duration_seconds_bucket{route=\"metrics.test\",le=\"+Inf\"} 3\n"));
    // Every line is a comment or `name{labels} value`, as the text format requires.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap_or_default();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert_eq!(admin.get("admin", "/metrics").send().text(), admin.get("admin", "/stats/prometheus").send().text());
    assert_eq!(admin.get("admin", "/nothing").send().status, 404);
}
