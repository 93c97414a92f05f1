//! Ticks, leader election, shared data, shared queues and metrics, on the compiled
//! `sdk-probe`, with several VMs of one plugin sharing an environment (as Envoy's workers).
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::{testing, Env, Stream, Vm};
use serde_json::json;
use std::time::Duration;

fn vm(env: &Env, config: serde_json::Value) -> Vm {
    Vm::builder(&testing::plugin("sdk-probe")).env(env).config_json(&config).start().unwrap_or_else(|e| panic!("{e}"))
}

fn request(vm: &Vm, action: &str, extra: &[(&str, &str)]) -> Stream {
    let s = vm.stream();
    let mut headers = vec![(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", action)];
    headers.extend_from_slice(extra);
    s.send_request_headers(headers, true).unwrap();
    s
}

fn counter(env: &Env, name: &str) -> i64 {
    env.metric(name).map(|m| m.value).unwrap_or(0)
}

#[test]
fn ticks_run_each_function_at_its_own_period() {
    let env = Env::with_manual_clock(Duration::from_secs(1_000));
    let vm = vm(&env, json!({"ticks": [100, 250]}));
    assert_eq!(vm.tick_period(), Some(Duration::from_millis(100)), "the shortest period drives the host tick");
    for _ in 0..10 {
        env.advance(Duration::from_millis(100));
        vm.poll().unwrap();
    }
    // First run at the first tick, then every period: 100 ms -> 10 runs in 1 s, 250 ms -> 4.
    assert_eq!(counter(&env, "sdk_probe_tick_100"), 10);
    assert_eq!(counter(&env, "sdk_probe_tick_250"), 4);
}

#[test]
fn slow_ticks_are_checked_every_100_ms() {
    let env = Env::with_manual_clock(Duration::from_secs(1_000));
    let vm = vm(&env, json!({"ticks": [1000]}));
    assert_eq!(vm.tick_period(), Some(Duration::from_millis(100)));
    for _ in 0..25 {
        env.advance(Duration::from_millis(100));
        vm.poll().unwrap();
    }
    assert_eq!(counter(&env, "sdk_probe_tick_1000"), 3);
}

fn is_leader(vm: &Vm) -> bool {
    request(vm, "leader", &[]).upstream().header("x-leader") == Some("true")
}

#[test]
fn exactly_one_leader_and_takeover_after_the_lease() {
    let env = Env::with_manual_clock(Duration::from_secs(1_000));
    let config = json!({"leader_lease_secs": 5});
    let vms: Vec<Vm> = (0..3).map(|_| vm(&env, config.clone())).collect();
    let tick_all = |vms: &[Vm]| {
        env.advance(Duration::from_millis(100));
        for vm in vms {
            vm.poll().unwrap();
        }
    };
    for _ in 0..20 {
        tick_all(&vms);
        assert_eq!(vms.iter().filter(|vm| is_leader(vm)).count(), 1);
    }
    let leader = vms.iter().position(is_leader).unwrap();
    assert_eq!(leader, 0, "the first VM to start takes the lease");
    let mut rest: Vec<Vm> = vms.into_iter().skip(1).collect();
    // The leader's VM is gone: nobody renews the lease. The others wait until it expires.
    for _ in 0..50 {
        tick_all(&rest);
        assert!(rest.iter().all(|vm| !is_leader(vm)), "the lease has not expired yet");
    }
    for _ in 0..11 {
        tick_all(&rest);
    }
    assert_eq!(rest.iter().filter(|vm| is_leader(vm)).count(), 1, "one VM took over after the lease");
    for _ in 0..20 {
        tick_all(&rest);
        assert_eq!(rest.iter().filter(|vm| is_leader(vm)).count(), 1);
    }
    rest.clear();
}

#[test]
fn shared_data_cas_increments_across_vms() {
    let env = Env::new();
    let vms: Vec<Vm> = (0..3).map(|_| vm(&env, json!({}))).collect();
    let mut seen = Vec::new();
    for i in 0..30 {
        let s = request(&vms[i % 3], "shared-incr", &[]);
        seen.push(s.upstream().header("x-shared").unwrap().parse::<i64>().unwrap());
    }
    assert_eq!(seen, (1..=30).collect::<Vec<_>>());
}

#[test]
fn queues_deliver_items_to_the_owning_vm() {
    let env = Env::new();
    let owner = vm(&env, json!({"queue": true}));
    let producer = vm(&env, json!({}));
    for item in ["a", "b", "c"] {
        assert_eq!(request(&producer, "enqueue", &[("x-item", item)]).upstream().header("x-enqueue"), Some("ok"));
    }
    assert_eq!(request(&producer, "queue-items", &[]).upstream().header("x-queue-items"), Some(""));
    owner.poll().unwrap();
    assert_eq!(request(&producer, "queue-items", &[]).upstream().header("x-queue-items"), Some("a,b,c"));
    let lonely = Env::new();
    let alone = vm(&lonely, json!({}));
    assert_eq!(request(&alone, "enqueue", &[("x-item", "x")]).upstream().header("x-enqueue"), Some("no-queue"));
}

#[test]
fn metrics_are_defined_once_and_recorded_by_id() {
    let env = Env::new();
    let (a, b) = (vm(&env, json!({})), vm(&env, json!({})));
    assert_eq!(request(&a, "metrics", &[]).upstream().header("x-counter"), Some("2"));
    assert_eq!(request(&b, "metrics", &[]).upstream().header("x-counter"), Some("4"), "VMs share metrics by name");
    assert_eq!(counter(&env, "sdk_probe_requests"), 4);
    assert_eq!(counter(&env, "sdk_probe_gauge"), 7);
    assert_eq!(env.metric("sdk_probe_sizes").unwrap().samples, vec![7, 9, 7, 9]);
}
