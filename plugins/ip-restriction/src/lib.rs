//! ip-restriction: lets requests through or refuses them by client address, against an
//! allow or a deny list of IPv4/IPv6 addresses and CIDR ranges. A drop-in for Higress's Go
//! plugin of the same name (same config, status and body); in deny mode a request whose
//! address cannot be read passes, and replies carry `ip-restriction.*` details.

mod config;
mod ip_set;

use config::{Config, List};
use higress_sdk::ip::{parse_forwarded_ip_bytes, parse_ip};
use higress_sdk::prelude::*;
use std::net::IpAddr;

#[derive(Default)]
struct IpRestriction;

impl HttpPlugin for IpRestriction {
    type Config = Config;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.compile()
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        // Decided here, once: no later phase of this request concerns the plugin.
        http.skip_rest();
        let c = &config.compiled;
        let ip = client_ip(http, c.header.as_deref());
        let refused = match (&c.list, ip) {
            (List::Allow(set), Some(ip)) if !set.contains(ip) => Some("ip-restriction.ip_not_allowed"),
            (List::Allow(_), None) => Some("ip-restriction.get_ip_failed"),
            (List::Deny(set), Some(ip)) if set.contains(ip) => Some("ip-restriction.ip_denied"),
            (List::Deny(_), None) => {
                log_debug!("client address unreadable; a deny list lets the request through");
                None
            }
            _ => None,
        };
        let Some(details) = refused else { return HeaderAction::Continue };
        http.send_local_response(c.status, details, &[], c.body.as_bytes());
        HeaderAction::StopIteration
    }
}

/// The client's address: the first address of `header`, or the connection's peer.
fn client_ip(http: &Http, header: Option<&str>) -> Option<IpAddr> {
    match header {
        Some(name) => parse_forwarded_ip_bytes(&http.request_header_bytes(name)?),
        None => parse_ip(std::str::from_utf8(&http.property(&["source", "address"])?).ok()?),
    }
}

higress_sdk::export_plugin!("ip-restriction", IpRestriction);
