//! Header rules run on the host's header map one key at a time.
//!
//! Reading the whole map, grouping it by name and writing it all back costs about ten
//! thousand instructions even for four headers; most rules only look at or write named
//! keys, which a hostcall each does for a few hundred. Run here, an operation has the
//! result it has on the whole map (`kv::Pairs`): a key's values keep their order and a new
//! value goes after them; only the order of different names may differ, which HTTP does not
//! give a meaning to. An operation that needs every value of a key that is present (`rename`,
//! `map` from the headers, `dedupe` keeping the last or the unique values) or values from
//! elsewhere (`map` from the query or the body, where a value may hold CR or LF and must be
//! dropped as the whole map drops it) is not run here: it and every later one run on the
//! whole map, read at that point with what the earlier ones wrote. (A header the proxy
//! delivered with CR, LF or NUL in its value, which Envoy never does, stays here; the whole
//! map drops it when it is written back.)

use crate::ops::{Key, Op, Source, Value};
use crate::run::Subject;
use crate::strategy::{self, Strategy};
use higress_sdk::abi::{MapType, Status};
use higress_sdk::hostcalls;
use higress_sdk::prelude::*;
use std::borrow::Cow;

/// Whether the values `ops` write can be written as they are: a template's value is made of
/// its text (checked at start) and pieces of the request's host or path, which Envoy never
/// lets hold CR, LF or NUL - but a value that did would have to be dropped, as the whole
/// map drops it, so such a request takes the whole map.
pub fn subject_is_clean(subject: &Subject<'_>) -> bool {
    !breaks_header(subject.host.as_bytes()) && !breaks_header(subject.path.as_bytes())
}

/// Whether a header value holds CR, LF or NUL, eight bytes a step (`:path` reaches 60 KiB).
pub fn breaks_header(value: &[u8]) -> bool {
    use higress_sdk::scan::{find_with, matches};
    find_with(value, |w| matches(w, b'\r') | matches(w, b'\n') | matches(w, 0)).is_some()
}

/// Runs `ops` in order on `map`, key by key; the index of the first one left for the whole
/// map (`ops.len()` when every one ran).
pub fn run(map: MapType, ops: &[Op], subject: &Subject<'_>) -> usize {
    ops.iter().position(|op| !run_op(map, op, subject)).unwrap_or(ops.len())
}

/// Runs `op`; `false` (nothing done) when it needs the whole map.
fn run_op(map: MapType, op: &Op, subject: &Subject<'_>) -> bool {
    match op {
        Op::Remove(keys) => keys.iter().for_each(|k| warn_failed(k, hostcalls::remove_map_value(map, &k.text))),
        Op::Replace(items) => items.iter().for_each(|(k, v)| replace(map, k, render(v, subject).as_bytes())),
        Op::Add(items) => {
            for (k, v) in items.iter().filter(|(k, _)| !present(map, k)) {
                add(map, k, render(v, subject).as_bytes());
            }
        }
        Op::Append(items) => items.iter().for_each(|(k, v)| add(map, k, render(v, subject).as_bytes())),
        // Every source key absent: nothing to move or copy (an item that would act is the
        // first to change anything, so probing them all first is exact).
        Op::Rename(keys) => return !keys.iter().any(|(old, new)| old.text != new.text && present(map, old)),
        Op::Map(Source::Own, keys) => return !keys.iter().any(|(from, _)| present(map, from)),
        Op::Map(..) => return false,
        Op::Dedupe(items) => {
            // Dedupe never adds or removes a key: the probes hold for the whole item list.
            if items.iter().any(|(k, strategy)| !reads_first_only(*strategy) && present(map, k)) {
                return false;
            }
            items.iter().for_each(|(k, strategy)| keep_first(map, k, *strategy));
        }
    }
    true
}

fn render<'a>(value: &'a Value, subject: &Subject<'_>) -> Cow<'a, str> {
    value.render(subject)
}

/// Whether `strategy` keeps (a piece of) the first value, which the host returns alone.
fn reads_first_only(strategy: Strategy) -> bool {
    matches!(strategy, Strategy::RetainFirst | Strategy::SplitRetainFirst | Strategy::SplitRetainLast)
}

/// `dedupe` by a first-value strategy: `key` keeps its first value, or the piece of it the
/// strategy cuts (other strategies never get here).
fn keep_first(map: MapType, key: &Key, strategy: Strategy) {
    hostcalls::with_map_value(map, &key.text, |first| {
        if let Ok(Some(first)) = first {
            let kept = match strategy {
                Strategy::SplitRetainFirst | Strategy::SplitRetainLast => strategy::piece(first, strategy),
                _ => first,
            };
            replace(map, key, kept);
        }
    });
}

fn present(map: MapType, key: &Key) -> bool {
    hostcalls::with_map_value(map, &key.text, |value| matches!(value, Ok(Some(_))))
}

fn replace(map: MapType, key: &Key, value: &[u8]) {
    warn_failed(key, hostcalls::replace_map_value(map, &key.text, value));
}

fn add(map: MapType, key: &Key, value: &[u8]) {
    warn_failed(key, hostcalls::add_map_value(map, &key.text, value));
}

fn warn_failed(key: &Key, result: Result<(), Status>) {
    if let Err(status) = result {
        log_warn!("cannot set header {}: {status}", key.text);
    }
}
