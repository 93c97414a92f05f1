//! What a proxy knows about a request before any plugin runs (its route, cluster, peers and
//! id), kept typed and turned into property values only when a plugin reads one: a gateway
//! sets it on every request, and most requests never read most of it.

use std::net::SocketAddr;

/// The request facts Envoy exposes as properties (`route_name`, `cluster_name`,
/// `source.address`, `source.port`, `destination.address`, `destination.port`,
/// `x_request_id`, `request.id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// The matched route's name (empty: none).
    pub route: String,
    /// The route's cluster (empty: none).
    pub cluster: String,
    /// The client's address.
    pub source: SocketAddr,
    /// The address the request arrived on.
    pub destination: SocketAddr,
    /// The request id (`x-request-id` as the proxy set it).
    pub request_id: String,
}

impl RequestInfo {
    /// The value of the property at `segments`, as the same property set with
    /// `Stream::set_property` would read.
    pub(crate) fn property(&self, segments: &[&[u8]]) -> Option<Vec<u8>> {
        let text = |s: &str| Some(s.as_bytes().to_vec());
        match segments {
            [b"route_name"] => text(&self.route),
            [b"cluster_name"] => text(&self.cluster),
            [b"source", b"address"] => text(&self.source.to_string()),
            [b"source", b"port"] => text(&self.source.port().to_string()),
            [b"destination", b"address"] => text(&self.destination.to_string()),
            [b"destination", b"port"] => text(&self.destination.port().to_string()),
            [b"x_request_id"] | [b"request", b"id"] => text(&self.request_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_read_as_text() {
        let info = RequestInfo {
            route: "r".into(),
            cluster: "outbound|80||s".into(),
            source: "10.0.0.1:5000".parse().unwrap(),
            destination: "127.0.0.1:8080".parse().unwrap(),
            request_id: "abc".into(),
        };
        let read = |path: &str| {
            info.property(&higress_abi::property::dotted(path).iter().map(|s| s.as_bytes()).collect::<Vec<_>>())
        };
        assert_eq!(read("route_name"), Some(b"r".to_vec()));
        assert_eq!(read("cluster_name"), Some(b"outbound|80||s".to_vec()));
        assert_eq!(read("source.address"), Some(b"10.0.0.1:5000".to_vec()));
        assert_eq!(read("source.port"), Some(b"5000".to_vec()));
        assert_eq!(read("destination.address"), Some(b"127.0.0.1:8080".to_vec()));
        assert_eq!(read("destination.port"), Some(b"8080".to_vec()));
        assert_eq!(read("x_request_id"), Some(b"abc".to_vec()));
        assert_eq!(read("request.id"), Some(b"abc".to_vec()));
        assert_eq!(read("source"), None);
        assert_eq!(read("request.path"), None);
    }
}
