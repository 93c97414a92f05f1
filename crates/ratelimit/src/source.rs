//! Which rule item applies to a request, and the value it limits by.

use crate::rules::{LimitKey, RuleItem, Source, CONSUMER_HEADER};
use higress_sdk::ip::{parse_forwarded_ip_bytes, parse_ip};
use higress_sdk::{cookie, url, Http};

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
            let ip = match header {
                Some(name) => parse_forwarded_ip_bytes(&http.request_header_bytes(name)?)?,
                None => parse_ip(&http.property_string(&["source", "address"])?)?,
            };
            let key = item.keys.iter().find(|k| k.contains(ip))?;
            return Some((key, ip.to_string()));
        }
    };
    let key = item.keys.iter().find(|k| k.matches(&value))?;
    Some((key, value))
}
