//! Small hand-written modules (WAT) the host's and the gateway's tests share.

/// Starts fine the first time; its `proxy_on_request_headers` is `request`. A VM start that
/// finds `fail` = `1` in shared data records `2` and refuses; one that finds `2`, or nothing,
/// starts.
pub fn flaky(request: &str) -> String {
    FLAKY.replace("REQUEST", request)
}

/// Records `fail` = `1` and traps.
pub const TRAPS: &str =
    "(drop (call $set (i32.const 16) (i32.const 4) (i32.const 20) (i32.const 1) (i32.const 0))) unreachable";

/// Records `fail` = `1` unless `fail` is set, and asks for a rebuild.
pub const ASKS: &str =
    "(if (i32.ne (call $get (i32.const 16) (i32.const 4) (i32.const 64) (i32.const 68) (i32.const 72)) (i32.const 0)) \
      (then (drop (call $set (i32.const 16) (i32.const 4) (i32.const 20) (i32.const 1) (i32.const 0))))) \
    (drop (call $prop (i32.const 32) (i32.const 17) (i32.const 49) (i32.const 4))) (i32.const 0)";

const FLAKY: &str = r#"(module
  (import "env" "proxy_get_shared_data" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $prop (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 16) "fail12")
  (data (i32.const 32) "wasm_need_rebuildtrue")
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_100"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (if (i32.ne (call $get (i32.const 16) (i32.const 4) (i32.const 64) (i32.const 68) (i32.const 72)) (i32.const 0))
      (then (return (i32.const 1))))
    (if (i32.eq (i32.load8_u (i32.load (i32.const 64))) (i32.const 49))
      (then
        (drop (call $set (i32.const 16) (i32.const 4) (i32.const 21) (i32.const 1) (i32.const 0)))
        (return (i32.const 0))))
    (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    REQUEST)
)"#;
