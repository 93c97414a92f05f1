//! ip-restriction: deny and allow lists on the first X-Forwarded-For address (the gateway
//! appends the peer after it), the peer address, and Higress's reply.

use crate::gateway;
use higress_e2e::client::Reply;

fn from(host: &str, forwarded_for: Option<&str>) -> Reply {
    let mut r = gateway().get(host, "/info");
    if let Some(xff) = forwarded_for {
        r = r.header("x-forwarded-for", xff);
    }
    r.send()
}

fn assert_refused(reply: &Reply, status: u16, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.json(), serde_json::json!({ "message": message }));
}

#[test]
fn a_deny_list_refuses_its_addresses_and_ranges() {
    const HOST: &str = "ip-restriction.e2e.local";
    for denied in ["192.0.2.1", "192.0.2.254, 10.0.0.1", "198.51.100.7:5000", "[2001:db8::5]:443", "2001:DB8::1"] {
        assert_refused(&from(HOST, Some(denied)), 403, "Your IP address is blocked.");
    }
    for passed in ["198.51.100.8", "10.0.0.1, 192.0.2.1", "2001:db9::1"] {
        let reply = from(HOST, Some(passed));
        assert_eq!(reply.status, 200, "{passed}: {}", reply.text());
        assert_eq!(reply.echo().path(), "/info");
    }
    // No X-Forwarded-For from the client: the gateway's (the peer) decides.
    assert_eq!(from(HOST, None).status, 200);
    // Not an address: a deny list lets it through.
    assert_eq!(from(HOST, Some("unknown")).status, 200);
}

#[test]
fn an_allow_list_refuses_everyone_else() {
    const HOST: &str = "ip-allow.e2e.local";
    for allowed in ["203.0.113.9", "203.0.113.200:1234, 192.0.2.1", "[2001:db8:1::1]"] {
        assert_eq!(from(HOST, Some(allowed)).status, 200, "{allowed}");
    }
    assert_refused(&from(HOST, Some("203.0.114.1")), 401, "only 203.0.113.0/24");
    assert_refused(&from(HOST, None), 401, "only 203.0.113.0/24");
    assert_refused(&from(HOST, Some("unknown, 203.0.113.9")), 401, "only 203.0.113.0/24");
}

#[test]
fn origin_source_reads_the_peer_not_the_header() {
    const HOST: &str = "ip-peer.e2e.local";
    // The test client is never in 192.0.2.0/24, whatever header it sends.
    assert_eq!(from(HOST, None).status, 200);
    assert_eq!(from(HOST, Some("192.0.2.1")).status, 200);
}
