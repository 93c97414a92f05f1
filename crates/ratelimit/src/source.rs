//! Which rule item applies to a request, and the value it limits by.

use crate::rules::{LimitKey, RuleItem, Source, CONSUMER_HEADER};
use higress_sdk::{cookie, url, Http};
use std::net::{IpAddr, SocketAddr};

/// The first rule item whose source the request has and one of whose keys matches it: the
/// item, the key and the value (the last part of the Redis key).
pub fn find<'c>(http: &Http, items: &'c [RuleItem]) -> Option<(&'c RuleItem, &'c LimitKey, String)> {
    items.iter().find_map(|item| {
        let (key, value) = matched(http, item)?;
        Some((item, key, value))
    })
}

fn matched<'c>(http: &Http, item: &'c RuleItem) -> Option<(&'c LimitKey, String)> {
    let value = match &item.source {
        Source::Header(name) => http.request_header(name)?,
        Source::Consumer => http.request_header(CONSUMER_HEADER)?,
        Source::Param(name) => url::query_values_any(http.path(), &[name], 1).pop()?,
        Source::Cookie(name) => {
            let header = http.request_header("cookie")?;
            cookie::value(&header, name).filter(|v| !v.is_empty())?.to_string()
        }
        Source::Ip(header) => {
            let text = match header {
                Some(name) => http.request_header(name)?.split(',').next().unwrap_or_default().trim().to_string(),
                None => http.property_string(&["source", "address"])?,
            };
            let ip = parse_ip(&text)?;
            let key = item.keys.iter().find(|k| k.contains(ip))?;
            return Some((key, ip.to_string()));
        }
    };
    let key = item.keys.iter().find(|k| k.matches(&value))?;
    Some((key, value))
}

/// An address as clients and proxies write it: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`;
/// an IPv4-mapped IPv6 address is the IPv4 address.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).and_then(|t| t.parse().ok()))?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ip = |s: &str| parse_ip(s).map(|ip| ip.to_string());
        assert_eq!(ip("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip(" 1.2.3.4:8080 ").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("::ffff:10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(ip("unknown"), None);
        assert_eq!(ip(""), None);
    }
}
