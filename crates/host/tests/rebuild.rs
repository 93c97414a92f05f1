//! A plugin's VM is replaced as Higress replaces it (`VmSlot`): after a trap, for the next
//! request; when the plugin sets `wasm_need_rebuild`, before the next request while the
//! streams already in the old VM finish there; a rebuild that fails is retried at most once
//! a second.

use higress_host::testing::wat::{flaky, ASKS, TRAPS};
use higress_host::{testing, Env, Filter, LogLevel, Plugin, Rebuild, RebuildCause, Stream, Vm, VmSlot};
use std::time::Duration;

fn probe_slot() -> VmSlot {
    let builder = Vm::builder(&testing::plugin("sdk-probe")).config_json(&serde_json::json!({}));
    VmSlot::start(builder).unwrap_or_else(|e| panic!("{e}"))
}

/// Sends a request with `x-probe: action` through the slot's VM, after `prepare`.
fn probe(slot: &VmSlot, action: &str) -> (Stream, Option<Rebuild>) {
    let rebuilt = slot.prepare();
    let vm = slot.vm().unwrap_or_else(|| panic!("no VM: {:?}", slot.failure()));
    let stream = Stream::new([Filter::new(&vm)]);
    let headers = [(":authority", "a.com"), (":path", "/"), (":method", "GET"), ("x-probe", action)];
    let _ = stream.send_request_headers(headers, true);
    (stream, rebuilt)
}

fn vm_requests(stream: &Stream) -> Option<String> {
    stream.upstream().header("x-vm-requests").map(str::to_string)
}

#[test]
fn a_vm_that_trapped_is_replaced_for_the_next_request() {
    let slot = probe_slot();
    assert!(probe(&slot, "vm-count").1.is_none());
    let (second, _) = probe(&slot, "vm-count");
    assert_eq!(vm_requests(&second).as_deref(), Some("2"));

    let (trapped, _) = probe(&slot, "panic");
    assert_eq!(trapped.traps().len(), 1);
    assert_eq!(trapped.local_response().map(|r| r.status), Some(503), "FAIL_CLOSE, as before");
    assert!(slot.live_vms().is_empty(), "a failed VM is not polled or served callouts any more");

    let (fresh, rebuilt) = probe(&slot, "vm-count");
    assert!(matches!(rebuilt, Some(Rebuild::Done(RebuildCause::Trap))), "{rebuilt:?}");
    assert_eq!(vm_requests(&fresh).as_deref(), Some("1"), "a fresh VM counts from 1");
    assert!(fresh.traps().is_empty());
    assert_eq!(slot.rebuilds(), 1);
    let (next, rebuilt) = probe(&slot, "vm-count");
    assert!(rebuilt.is_none(), "{rebuilt:?}");
    assert_eq!(vm_requests(&next).as_deref(), Some("2"));
}

#[test]
fn a_vm_that_asks_is_replaced_before_the_next_request_and_finishes_its_streams() {
    let slot = probe_slot();
    let (held, _) = probe(&slot, "hold");
    let (asked, _) = probe(&slot, "rebuild");
    assert_eq!(vm_requests(&asked).as_deref(), Some("1"));
    let old = slot.vm().unwrap_or_else(|| panic!("no VM"));
    assert!(old.needs_rebuild());

    let (fresh, rebuilt) = probe(&slot, "vm-count");
    assert!(matches!(rebuilt, Some(Rebuild::Done(RebuildCause::Requested))), "{rebuilt:?}");
    assert_eq!(vm_requests(&fresh).as_deref(), Some("1"), "a fresh VM counts from 1");
    assert_eq!(slot.rebuilds(), 1);

    // The old VM still serves the streams it has, then goes.
    drop(old);
    assert_eq!(slot.live_vms().len(), 2, "the old VM lives while its streams do");
    let body = held.send_request_body("rest", true);
    assert!(body.is_ok(), "{body:?}");
    assert!(held.traps().is_empty());
    drop(held);
    drop(asked);
    assert_eq!(slot.live_vms().len(), 1, "the old VM went with its last stream");
}

#[test]
fn a_failed_rebuild_leaves_no_vm_and_is_retried_at_most_once_a_second() {
    let env = Env::with_manual_clock(Duration::from_secs(100));
    let plugin = Plugin::from_bytes("flaky", flaky(TRAPS).as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let slot =
        VmSlot::start(Vm::builder(&plugin).env(&env).log_level(LogLevel::Trace)).unwrap_or_else(|e| panic!("{e}"));
    let vm = slot.vm().unwrap_or_else(|| panic!("no VM"));
    let stream = Stream::new([Filter::new(&vm)]);
    assert!(stream.send_request_headers([(":authority", "a"), (":path", "/"), (":method", "GET")], true).is_err());

    let rebuilt = slot.prepare();
    assert!(matches!(&rebuilt, Some(Rebuild::Failed(RebuildCause::Trap, _))), "{rebuilt:?}");
    assert!(slot.vm().is_none());
    let failure = slot.failure().unwrap_or_default();
    assert!(failure.contains("VM rebuild after trap failed") && failure.contains("proxy_on_vm_start"), "{failure}");

    env.advance(Duration::from_millis(999));
    assert!(slot.prepare().is_none(), "retried before a second passed");
    assert!(slot.vm().is_none());

    env.advance(Duration::from_millis(1));
    let rebuilt = slot.prepare();
    assert!(matches!(rebuilt, Some(Rebuild::Done(RebuildCause::Trap))), "{rebuilt:?}");
    assert!(slot.vm().is_some_and(|vm| !vm.is_failed()));
    assert_eq!(slot.rebuilds(), 1, "only VMs that started count");
    assert_eq!(env.shared_data("flaky", "fail").map(|(v, _)| v), Some(b"2".to_vec()));
}

#[test]
fn a_plugin_may_ask_for_a_rebuild_from_its_root_context_too() {
    // `proxy_on_vm_start` sets the property (as a tick watching memory would).
    let wat = r#"(module
      (import "env" "proxy_set_property" (func $set (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "wasm_need_rebuildtrue")
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_abi_version_0_2_100"))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (i32.eqz (call $set (i32.const 16) (i32.const 17) (i32.const 33) (i32.const 4)))))"#;
    let plugin = Plugin::from_bytes("asks", wat.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let vm = Vm::builder(&plugin).start().unwrap_or_else(|e| panic!("{e}"));
    assert!(vm.needs_rebuild());
}

#[test]
fn a_requested_rebuild_that_fails_leaves_the_old_vm_serving_and_is_retried_a_second_later() {
    let env = Env::with_manual_clock(Duration::from_secs(100));
    let asks = flaky(ASKS);
    let plugin = Plugin::from_bytes("flaky", asks.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let slot = VmSlot::start(Vm::builder(&plugin).env(&env)).unwrap_or_else(|e| panic!("{e}"));
    let send = |slot: &VmSlot| {
        let rebuilt = slot.prepare();
        let vm = slot.vm().unwrap_or_else(|| panic!("no VM: {:?}", slot.failure()));
        let stream = Stream::new([Filter::new(&vm)]);
        let sent = stream.send_request_headers([(":authority", "a"), (":path", "/"), (":method", "GET")], true);
        assert!(sent.is_ok(), "{sent:?}");
        (vm, rebuilt)
    };
    let (first, rebuilt) = send(&slot);
    assert!(rebuilt.is_none() && first.needs_rebuild());
    let (second, rebuilt) = send(&slot);
    assert!(matches!(&rebuilt, Some(Rebuild::Failed(RebuildCause::Requested, _))), "{rebuilt:?}");
    assert!(slot.failure().is_none());
    let (third, rebuilt) = send(&slot);
    assert!(rebuilt.is_none(), "retried before a second passed: {rebuilt:?}");
    assert_eq!(slot.rebuilds(), 0);
    assert!(second == first && third == first, "the old VM serves on");
    env.advance(Duration::from_secs(1));
    let (fourth, rebuilt) = send(&slot);
    assert!(fourth != first);
    assert!(matches!(rebuilt, Some(Rebuild::Done(RebuildCause::Requested))), "{rebuilt:?}");
    assert_eq!(slot.rebuilds(), 1);
}
