//! key-rate-limit: one bucket per key for the whole gateway, whatever worker a request meets.

use crate::gateway;

#[test]
fn concurrent_requests_share_one_bucket_across_workers() {
    // `e2e-shared`: 100 a day, so the test's own duration refills nothing. 300 requests at
    // once, spread over the gateway's workers by the kernel: exactly 100 get through.
    let threads: Vec<_> = (0..300)
        .map(|_| {
            std::thread::spawn(|| {
                let reply = gateway().get("key-rate-limit.e2e.local", "/").header("x-ca-key", "e2e-shared").send();
                (reply.status, reply.text())
            })
        })
        .collect();
    let replies: Vec<(u16, String)> = threads.into_iter().map(|t| t.join().unwrap_or((0, String::new()))).collect();
    let admitted = replies.iter().filter(|(status, _)| *status == 200).count();
    let refused = replies.iter().filter(|(status, text)| *status == 429 && text == "Too many requests").count();
    assert_eq!((admitted, refused), (100, 200), "{:?}", replies.iter().map(|r| r.0).collect::<Vec<_>>());
    // Keys without a limit pass.
    let other = gateway().get("key-rate-limit.e2e.local", "/").header("x-ca-key", "unlimited").send();
    assert_eq!(other.status, 200);
}
