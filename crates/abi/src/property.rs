//! Property paths: the segments of a path (`["source", "address"]`) joined by NUL bytes,
//! as `proxy_get_property` / `proxy_set_property` expect them.

use alloc::vec::Vec;

/// Encodes path segments for the wire.
pub fn encode_path<S: AsRef<[u8]>>(segments: &[S]) -> Vec<u8> {
    let len = segments.iter().map(|s| s.as_ref().len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(segment.as_ref());
    }
    out
}

/// Splits a wire path into its segments. An empty path has one empty segment.
pub fn decode_path(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split(|b| *b == 0).collect()
}

/// Converts a dotted path (`source.address`) to its segments, the way Envoy names attributes.
/// Property names that themselves contain dots (Higress's `trace_span_tag.<k>`) are single
/// segments: pass those as a one-element slice instead.
pub fn dotted(path: &str) -> Vec<&str> {
    path.split('.').collect()
}

/// A dotted path (`source.address`) in its wire form, in one allocation: the bytes of `path`
/// with every `.` a segment separator (the same as `encode_path(&dotted(path))`).
pub fn encode_dotted(path: &str) -> Vec<u8> {
    path.bytes().map(|b| if b == b'.' { 0 } else { b }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip() {
        let wire = encode_path(&["source", "address"]);
        assert_eq!(wire, b"source\0address".to_vec());
        assert_eq!(decode_path(&wire), vec![&b"source"[..], &b"address"[..]]);
    }

    #[test]
    fn single_segment_and_empty() {
        assert_eq!(encode_path(&["route_name"]), b"route_name".to_vec());
        assert_eq!(decode_path(b""), vec![&b""[..]]);
        let none: [&str; 0] = [];
        assert!(encode_path(&none).is_empty());
    }

    #[test]
    fn dotted_paths() {
        assert_eq!(dotted("source.address"), vec!["source", "address"]);
        assert_eq!(dotted("route_name"), vec!["route_name"]);
        for path in ["source.address", "route_name", "a..b", ".x", ""] {
            assert_eq!(encode_dotted(path), encode_path(&dotted(path)), "{path}");
        }
    }
}
