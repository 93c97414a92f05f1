//! Where a request's instructions go, by function: the request is sent again to fresh VMs
//! whose callbacks are given `step`, `2 * step`, ... instructions, and each one's trap names
//! the wasm functions running when its fuel ran out. A sample per `step` instructions, exact
//! to a step: enough to tell, say, a signature check's share of 15 M instructions.
//!
//! The module must keep its name section (the shipped modules do) and the function looked
//! for must stay a function of its own after `wasm-opt` (called from two places, it does).

use higress_host::{Env, HeaderMap, Plugin, Vm};
use std::time::Duration;

/// A request headers callback's instructions, and those spent in `function` or below it.
pub struct Share {
    pub total: u64,
    pub under: u64,
}

/// Sends `headers` (the whole request, ended) to VMs of `plugin` configured with `config`
/// on a clock at `now` seconds, and samples the request headers callback every `step`
/// instructions for frames of `function` (a path such as `hmac_auth::check`).
pub fn request_headers(
    plugin: &Plugin,
    config: &serde_json::Value,
    now: u64,
    headers: &[(String, String)],
    function: &str,
    step: u64,
) -> Share {
    let start = |fuel: Option<u64>| {
        let env = Env::with_manual_clock(Duration::from_secs(now));
        let builder = Vm::builder(plugin).env(&env).config_json(config);
        let builder = match fuel {
            Some(fuel) => builder.fuel_per_call(fuel),
            None => builder,
        };
        builder.start().unwrap_or_else(|e| panic!("{e}"))
    };
    let send = |vm: &Vm| {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.add(name.as_bytes(), value.as_bytes());
        }
        let stream = vm.stream();
        let result = stream.send_request_headers(map, true);
        (stream, result.is_ok())
    };
    let vm = start(None);
    let (stream, ok) = send(&vm);
    assert!(ok, "{}", vm.failure().unwrap_or_default());
    let total = stream.calls().iter().find(|c| c.callback == "proxy_on_request_headers").map_or(0, |c| c.instructions);
    let frame = format!("!{function}::");
    let mut under = 0;
    let mut fuel = step;
    while fuel < total {
        let vm = start(Some(fuel));
        let (_, ok) = send(&vm);
        assert!(!ok, "{fuel} instructions of {total} did not run out");
        if vm.failure().unwrap_or_default().lines().any(|line| line.contains(&frame)) {
            under += step;
        }
        fuel += step;
    }
    assert!(under > 0, "no sample in {function}: is it still a function of its own in the module?");
    Share { total, under: under.min(total) }
}
