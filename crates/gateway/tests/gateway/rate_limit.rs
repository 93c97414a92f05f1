//! cluster-key-rate-limit through the gateway when Redis misbehaves: stopped mid-load,
//! restarted, hung, answering garbage. Every request is answered within the Redis timeout
//! (fail open), none is lost, limiting resumes when Redis does, and the log says so once.

use crate::{echo_routes, wasm_plugin, Gw};
use higress_host::testing::RedisServer;
use std::time::{Duration, Instant};

fn gateway(redis: &str, limit: u32) -> Gw {
    let echo = higress_e2e::echo::spawn().to_string();
    let spec = format!(
        "  defaultConfigDisable: true\n  matchRules:\n  - domain: [rl.test]\n    config:\n      rule_name: faults\n      \
         redis: {{service_name: redis.static, service_port: 6379, timeout: 300}}\n      \
         global_threshold: {{query_per_minute: {limit}}}\n"
    );
    let config = format!(
        "{}---\nkind: Service\nname: redis.static\nport: 6379\naddress: {redis}\n{}",
        echo_routes(&["rl.test"]),
        wasm_plugin("cluster-key-rate-limit", "cluster-key-rate-limit", &spec)
    );
    Gw::start(&config, &echo, 2)
}

/// `n` requests from 8 threads at once: their statuses, and the slowest one's time.
fn load(gw: &Gw, n: usize) -> (Vec<u16>, Duration) {
    let client = gw.client();
    let per_thread = n / 8;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|_| {
                        let started = Instant::now();
                        let status = client.get("rl.test", "/").send().status;
                        (status, started.elapsed())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<(u16, Duration)> = threads.into_iter().flat_map(|t| t.join().unwrap_or_default()).collect();
    let slowest = results.iter().map(|r| r.1).max().unwrap_or_default();
    (results.into_iter().map(|r| r.0).collect(), slowest)
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[test]
fn redis_stopped_and_restarted_under_load() {
    let mut redis = RedisServer::start();
    let gw = gateway(&redis.address(), 40);
    let (statuses, _) = load(&gw, 80);
    assert_eq!((count(&statuses, 200), count(&statuses, 429)), (40, 40), "limited while Redis answers");
    // Redis dies while requests are in flight: each is answered - refused while Redis still
    // counted, let through after - and none waits longer than the timeout allows.
    let (statuses, slowest) = std::thread::scope(|scope| {
        let running = scope.spawn(|| load(&gw, 160));
        std::thread::sleep(Duration::from_millis(30));
        redis.kill();
        running.join().unwrap_or_default()
    });
    assert_eq!(count(&statuses, 200) + count(&statuses, 429), 160, "every request answered: {statuses:?}");
    assert!(slowest < Duration::from_millis(300 + 1_500), "answered within the timeout: {slowest:?}");
    let (statuses, _) = load(&gw, 80);
    assert_eq!(count(&statuses, 200), 80, "Redis down: every request passes");
    let log = gw.wait_for(Gw::stderr, "redis unavailable");
    assert!(log.matches("redis unavailable").count() <= 2, "once per worker, not per request:\n{log}");
    redis.restart();
    // The first calls after the restart may still find the old connection gone.
    std::thread::sleep(Duration::from_millis(200));
    let (statuses, _) = load(&gw, 80);
    assert!(count(&statuses, 429) >= 30, "limiting resumes: {statuses:?}");
    gw.wait_for(Gw::stderr, "redis answers again");
}

#[test]
fn a_hung_or_garbled_redis_fails_open() {
    for (what, reply) in [("hung", None), ("garbage", Some(&b"$-5\r\n:x\r\n"[..]))] {
        let gw = gateway(&higress_host::testing::misbehaving_redis(reply), 1);
        let (statuses, slowest) = load(&gw, 40);
        assert_eq!(count(&statuses, 200), 40, "{what}: every request passes");
        assert!(slowest < Duration::from_millis(300 + 1_500), "{what}: answered within the timeout: {slowest:?}");
        gw.wait_for(Gw::stderr, "redis unavailable");
    }
}
