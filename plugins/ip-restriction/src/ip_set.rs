//! A set of IP addresses and CIDR ranges, v4 and v6, built once at config time: each family
//! is a sorted list of disjoint ranges, so a lookup is one binary search whatever the size of
//! the list (10,000 CIDRs: 14 comparisons).

use higress_sdk::config::ConfigError;
use std::net::IpAddr;

/// The addresses of `allow` or `deny`.
#[derive(Debug, Default)]
pub struct IpSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl IpSet {
    /// Parses the entries of `field` (`1.2.3.4`, `10.0.0.0/8`, `2001:db8::/32`, ...); a bad
    /// entry is an error naming `field[index]`. Host bits after the prefix are ignored
    /// (`192.168.0.1/16` is `192.168.0.0/16`), as Higress's IP tree does; repeated and
    /// overlapping entries are merged.
    pub fn parse(entries: &[String], field: &str) -> Result<IpSet, ConfigError> {
        let mut set = IpSet::default();
        for (i, entry) in entries.iter().enumerate() {
            match range(entry.trim()) {
                Some(Range::V4(start, end)) => set.v4.push((start, end)),
                Some(Range::V6(start, end)) => set.v6.push((start, end)),
                None => {
                    return Err(ConfigError::at(
                        format!("{field}[{i}]"),
                        format!(
                            "{entry:?} is not an IP address or CIDR range (like 10.0.0.1, 10.0.0.0/8, 2001:db8::/32)"
                        ),
                    ))
                }
            }
        }
        set.v4 = disjoint(set.v4);
        set.v6 = disjoint(set.v6);
        Ok(set)
    }

    /// Whether `ip` is in the set. An IPv4-mapped IPv6 address should be given as the IPv4
    /// address (`IpAddr::to_canonical`), as `higress_sdk::ip` parses it.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => covered(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => covered(&self.v6, u128::from(v6)),
        }
    }

    /// How many disjoint ranges the set holds.
    #[cfg(test)]
    pub fn ranges(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

/// An entry as the first and last address it covers.
enum Range {
    V4(u32, u32),
    V6(u128, u128),
}

/// `address` or `address/prefix`. An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) is the
/// IPv4 range, since clients are matched by their canonical address.
fn range(entry: &str) -> Option<Range> {
    let (address, prefix) = match entry.split_once('/') {
        Some((address, prefix)) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
            (address, Some(prefix.parse::<u32>().ok()?))
        }
        Some(_) => return None,
        None => (entry, None),
    };
    match address.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let (start, end) = bounds(u128::from(u32::from(v4)), prefix.unwrap_or(32), 32)?;
            Some(Range::V4(u32::try_from(start).ok()?, u32::try_from(end).ok()?))
        }
        IpAddr::V6(v6) => {
            let prefix = prefix.unwrap_or(128);
            match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => {
                    let (start, end) = bounds(u128::from(u32::from(v4)), prefix - 96, 32)?;
                    Some(Range::V4(u32::try_from(start).ok()?, u32::try_from(end).ok()?))
                }
                _ => {
                    let (start, end) = bounds(u128::from(v6), prefix, 128)?;
                    Some(Range::V6(start, end))
                }
            }
        }
    }
}

/// The first and last address of `address/prefix` in a family of `bits` bits.
fn bounds(address: u128, prefix: u32, bits: u32) -> Option<(u128, u128)> {
    if prefix > bits {
        return None;
    }
    // The host bits: the low `bits - prefix` bits (none for a single address, all 128 for ::/0).
    let host = u128::MAX.checked_shr(128 - (bits - prefix)).unwrap_or(0);
    Some((address & !host, address | host))
}

/// Sorts ranges and merges the overlapping ones, so at most one range can hold an address.
fn disjoint<T: Ord + Copy>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    heap_sort(&mut ranges);
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged.shrink_to_fit();
    merged
}

/// Sorts in place. A heap sort: config-time only, and a fraction of the code of the
/// standard library's sorts (which are instantiated once per element type, 10 KiB here).
fn heap_sort<T: Ord + Copy>(items: &mut [T]) {
    /// Moves `items[root]` down the max-heap `items[..end]`.
    fn sift_down<T: Ord + Copy>(items: &mut [T], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && items.get(child) < items.get(child + 1) {
                child += 1;
            }
            if items.get(root) >= items.get(child) {
                return;
            }
            items.swap(root, child);
            root = child;
        }
    }
    let len = items.len();
    for root in (0..len / 2).rev() {
        sift_down(items, root, len);
    }
    for end in (1..len).rev() {
        items.swap(0, end);
        sift_down(items, 0, end);
    }
}

/// Whether a range of the sorted, disjoint `ranges` holds `ip`: the last range starting at
/// or before it is the only candidate.
fn covered<T: Ord + Copy>(ranges: &[(T, T)], ip: T) -> bool {
    let after = ranges.partition_point(|&(start, _)| start <= ip);
    after.checked_sub(1).and_then(|i| ranges.get(i)).is_some_and(|&(_, end)| ip <= end)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use ipnet::IpNet;
    use proptest::prelude::*;

    fn set(entries: &[&str]) -> IpSet {
        IpSet::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>(), "allow").unwrap()
    }

    fn has(set: &IpSet, ip: &str) -> bool {
        set.contains(ip.parse::<IpAddr>().unwrap().to_canonical())
    }

    #[test]
    fn addresses_and_ranges() {
        let s = set(&["127.0.0.1/30", "10.0.0.1", "192.168.0.1/16", "2001:db8::/32", "::1"]);
        for ip in ["127.0.0.0", "127.0.0.3", "10.0.0.1", "192.168.5.0", "192.168.255.255", "2001:db8::1", "::1"] {
            assert!(has(&s, ip), "{ip}");
        }
        for ip in ["127.0.0.4", "10.0.0.2", "192.169.5.0", "2001:db9::", "::2", "0.0.0.0", "255.255.255.255"] {
            assert!(!has(&s, ip), "{ip}");
        }
    }

    #[test]
    fn whole_families_and_edges() {
        let s = set(&["0.0.0.0/0"]);
        assert!(has(&s, "0.0.0.0") && has(&s, "255.255.255.255") && !has(&s, "::"));
        let s = set(&["::/0"]);
        assert!(has(&s, "::") && has(&s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") && !has(&s, "1.2.3.4"));
        let s = set(&["255.255.255.255", "0.0.0.0/32"]);
        assert!(has(&s, "255.255.255.255") && has(&s, "0.0.0.0") && !has(&s, "0.0.0.1"));
    }

    #[test]
    fn mapped_ranges_are_ipv4() {
        let s = set(&["::ffff:10.0.0.0/104"]);
        assert!(has(&s, "10.1.2.3") && has(&s, "::ffff:10.1.2.3") && !has(&s, "11.0.0.0"));
    }

    #[test]
    fn overlaps_and_duplicates_merge() {
        let s = set(&["10.0.0.0/8", "10.1.0.0/16", "10.0.0.1", "10.0.0.1", "11.0.0.0/8"]);
        assert_eq!(s.ranges(), 2, "adjacent ranges may stay apart, overlapping ones merge");
        assert!(has(&s, "10.1.2.3") && has(&s, "11.255.0.0") && !has(&s, "12.0.0.0"));
    }

    #[test]
    fn bad_entries_name_their_index() {
        for bad in
            ["not-an-ip", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "", "fe80::1%eth0"]
        {
            let err = IpSet::parse(&["10.0.0.1".to_string(), bad.to_string()], "deny").unwrap_err();
            assert_eq!(err.path(), "deny[1]", "{bad:?}");
        }
        assert!(IpSet::parse(&[" 10.0.0.1 ".to_string()], "deny").is_ok(), "spaces around an entry are trimmed");
    }

    fn net() -> impl Strategy<Value = IpNet> {
        // Few distinct high bits, so random ranges nest and overlap often.
        let v4 = (0u32..16, any::<u32>(), 0u8..=32).prop_map(|(high, low, prefix)| {
            let ip = std::net::Ipv4Addr::from((high << 28) | (low >> 4));
            IpNet::V4(ipnet::Ipv4Net::new(ip, prefix).unwrap())
        });
        let v6 = (0u128..16, any::<u128>(), 0u8..=128).prop_map(|(high, low, prefix)| {
            let ip = std::net::Ipv6Addr::from((high << 124) | (low >> 4));
            IpNet::V6(ipnet::Ipv6Net::new(ip, prefix).unwrap())
        });
        prop_oneof![v4, v6]
    }

    fn address(nets: &[IpNet]) -> impl Strategy<Value = IpAddr> {
        // Addresses inside, at the edges of and just outside the ranges, and anywhere.
        let nets = nets.to_vec();
        let edges: Vec<IpAddr> = nets
            .iter()
            .flat_map(|n| {
                let (first, last) = (n.network(), n.broadcast());
                let around = |ip: IpAddr, delta: i8| match ip {
                    IpAddr::V4(v4) => IpAddr::V4(u32::from(v4).wrapping_add_signed(i32::from(delta)).into()),
                    IpAddr::V6(v6) => IpAddr::V6(u128::from(v6).wrapping_add_signed(i128::from(delta)).into()),
                };
                [first, last, around(first, -1), around(last, 1)]
            })
            .collect();
        let random = prop_oneof![
            (0u32..16, any::<u32>()).prop_map(|(h, l)| IpAddr::V4(((h << 28) | (l >> 4)).into())),
            (0u128..16, any::<u128>()).prop_map(|(h, l)| IpAddr::V6(((h << 124) | (l >> 4)).into())),
        ];
        if edges.is_empty() {
            random.boxed()
        } else {
            prop_oneof![random, proptest::sample::select(edges)].boxed()
        }
    }

    proptest! {
        #[test]
        fn heap_sort_sorts(mut items in proptest::collection::vec(any::<(u8, u8)>(), 0..64)) {
            let mut expected = items.clone();
            expected.sort();
            heap_sort(&mut items);
            prop_assert_eq!(items, expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        /// The binary search over merged ranges answers exactly what a scan of every
        /// configured network answers.
        #[test]
        fn lookup_agrees_with_a_linear_scan(
            (nets, ips) in proptest::collection::vec(net(), 0..40)
                .prop_flat_map(|nets| { let ips = proptest::collection::vec(address(&nets), 1..32); (Just(nets), ips) })
        ) {
            let entries: Vec<String> = nets.iter().map(ToString::to_string).collect();
            let set = IpSet::parse(&entries, "allow").unwrap();
            for ip in ips {
                let expected = nets.iter().any(|n| n.contains(&ip));
                prop_assert_eq!(set.contains(ip), expected, "{} in {:?}", ip, entries);
            }
        }
    }
}
