//! cluster-key-rate-limit: exact counts in Redis under concurrency, through every worker.

use crate::{gateway, unique};

#[test]
fn concurrent_requests_are_counted_exactly() {
    // 300 requests at once against 100 a minute for one tenant: exactly 100 pass, whatever
    // worker each one meets, and the refusals say when the window resets.
    let tenant = unique("tenant");
    let threads: Vec<_> = (0..300)
        .map(|_| {
            let tenant = tenant.clone();
            std::thread::spawn(move || {
                let reply = gateway().get("cluster-key-rate-limit.e2e.local", "/").header("x-tenant", &tenant).send();
                (reply.status, reply.header("x-ratelimit-reset").map(str::to_string), reply.text())
            })
        })
        .collect();
    let replies: Vec<(u16, Option<String>, String)> =
        threads.into_iter().map(|t| t.join().unwrap_or((0, None, String::new()))).collect();
    let admitted = replies.iter().filter(|r| r.0 == 200).count();
    let refused = replies
        .iter()
        .filter(|r| {
            r.0 == 429 && r.2 == "Too many requests" && r.1.as_deref().and_then(|s| s.parse::<u64>().ok()).is_some()
        })
        .count();
    assert_eq!((admitted, refused), (100, 200), "{:?}", replies.iter().map(|r| r.0).collect::<Vec<_>>());
}

#[test]
fn quota_headers_on_admitted_responses() {
    let reply = gateway().get("cluster-key-rate-limit.e2e.local", "/").header("x-tenant", &unique("quota")).send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-ratelimit-limit"), Some("100"));
    assert_eq!(reply.header("x-ratelimit-remaining"), Some("99"));
    // No rule item applies: not limited, no quota headers.
    let free = gateway().get("cluster-key-rate-limit.e2e.local", "/").send();
    assert_eq!((free.status, free.header("x-ratelimit-limit")), (200, None));
}
