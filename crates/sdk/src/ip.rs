//! Client addresses as proxies and clients write them: the `source.address` property
//! (`1.2.3.4:5678`, `[::1]:5678`) and headers such as `X-Forwarded-For` (`1.2.3.4, 10.0.0.1`).
//! Plugins that restrict or count by client address (ip-restriction, the rate limits) read
//! them the same way.

use std::net::{IpAddr, Ipv6Addr};

/// An address with an optional port and IPv6 brackets or zone: `1.2.3.4`, `1.2.3.4:80`,
/// `::1`, `[::1]:80`, `[::1]`, `fe80::1%eth0`. Spaces around it are ignored; an IPv4-mapped
/// IPv6 address (`::ffff:1.2.3.4`) is the IPv4 address, so one rule covers both forms.
/// Anything else (a host name, `unknown`, a bad port) is `None`.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = crate::ascii::trim(text);
    // Every address starts with a hex digit, `:` or `[`: anything else (a host name, a
    // header of 60 KiB of other text) is refused before any search in it.
    if !text.as_bytes().first().is_some_and(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'[')) {
        return None;
    }
    let address = if let Some(rest) = text.strip_prefix('[') {
        // `[v6]` or `[v6]:port`.
        let (inside, after) = rest.split_once(']')?;
        if !after.is_empty() {
            port(after.strip_prefix(':')?)?;
        }
        let ip = without_zone(inside).parse::<Ipv6Addr>().ok()?;
        return Some(IpAddr::V6(ip).to_canonical());
    } else if let Some((host, p)) = text.split_once(':').filter(|(_, p)| !p.contains(':')) {
        // Exactly one colon: an IPv4 address with a port.
        port(p)?;
        host
    } else {
        without_zone(text)
    };
    Some(address.parse::<IpAddr>().ok()?.to_canonical())
}

/// The first address of a list header (`X-Forwarded-For: client, proxy1, proxy2`): the
/// client as the first proxy saw it.
pub fn parse_forwarded_ip(value: &str) -> Option<IpAddr> {
    parse_forwarded_ip_bytes(value.as_bytes())
}

/// [`parse_forwarded_ip`] of a header value as the host holds it: cut at its first comma
/// (eight bytes at a time), and only that first address checked as UTF-8, so the rest of a
/// 60 KiB list is neither split nor checked.
pub fn parse_forwarded_ip_bytes(value: &[u8]) -> Option<IpAddr> {
    let first = value.get(..crate::scan::find(value, b',').unwrap_or(value.len()))?;
    parse_ip(std::str::from_utf8(first).ok()?)
}

/// A port: one to five decimal digits, 0-65535. The length is checked first, so a header
/// that ends in a long run of digits costs nothing to refuse.
fn port(text: &str) -> Option<u16> {
    if !(1..=5).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An IPv6 address without its zone (`fe80::1%eth0`): the zone names the interface the
/// address was seen on, not another address.
fn without_zone(text: &str) -> &str {
    match text.split_once('%') {
        Some((address, _)) if address.contains(':') => address,
        _ => text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<String> {
        parse_ip(text).map(|ip| ip.to_string())
    }

    #[test]
    fn addresses_with_and_without_ports() {
        assert_eq!(ip("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip(" 1.2.3.4:8080 ").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("::ffff:10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(ip("[::ffff:10.0.0.1]:80").as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn zones_are_dropped() {
        assert_eq!(ip("fe80::1%eth0").as_deref(), Some("fe80::1"));
        assert_eq!(ip("[fe80::1%25eth0]:80").as_deref(), Some("fe80::1"));
        assert_eq!(ip("1.2.3.4%eth0"), None);
    }

    #[test]
    fn garbage_is_none() {
        for text in [
            "",
            "unknown",
            "1.2.3.4:",
            "1.2.3.4:99999",
            "1.2.3.4:000080",
            "1.2.3.4:x",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[1.2.3.4]",
        ] {
            assert_eq!(ip(text), None, "{text:?}");
        }
        assert_eq!(ip("999.1.1.1"), None);
        assert_eq!(ip("example.com:80"), None);
        assert_eq!(ip(&format!("1.2.3.4:{}", "0".repeat(60_000))), None);
        assert_eq!(ip("1.2.3.4:00080").as_deref(), Some("1.2.3.4"));
    }

    #[test]
    fn forwarded_lists_give_their_first_address() {
        let first = |v: &str| parse_forwarded_ip(v).map(|ip| ip.to_string());
        assert_eq!(first("127.0.0.1:12,[fe80::1]:123").as_deref(), Some("127.0.0.1"));
        assert_eq!(first("[fe80::14d5:8aff:fed9:2114]:123,127.0.0.1").as_deref(), Some("fe80::14d5:8aff:fed9:2114"));
        assert_eq!(first("127.0.0.1 , [fe80::1]:123").as_deref(), Some("127.0.0.1"));
        assert_eq!(first(" , 1.2.3.4"), None);
        // Only the first address is read as text: what follows it may be any bytes.
        let bytes = |v: &[u8]| parse_forwarded_ip_bytes(v).map(|ip| ip.to_string());
        assert_eq!(bytes(b"1.2.3.4, \xff\xfe").as_deref(), Some("1.2.3.4"));
        assert_eq!(bytes(b"1.2.3.4\xff, 5.6.7.8"), None);
        assert_eq!(bytes("\u{3000}1.2.3.4\u{a0},x".as_bytes()).as_deref(), Some("1.2.3.4"));
    }
}
