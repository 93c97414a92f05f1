//! Short values read without an allocation. A hostcall that returns bytes makes the host call
//! back into `proxy_on_memory_allocate` for the buffer, and the guest frees it after use: a
//! malloc and a free, about half the cost of reading `route_name` to decide whether a plugin
//! runs at all. For reads whose bytes are only looked at, the allocation is served from one
//! static buffer instead, and the bytes are lent to a closure.

use super::alloc_helpers::{take, Out};
use super::{check, optional, HostResult};
use std::cell::{Cell, UnsafeCell};

/// Values up to this many bytes (route and cluster names, most header values) fit.
const SIZE: usize = 256;

struct Scratch {
    /// Set around a borrowed read's hostcall: the next allocation that fits is the buffer.
    armed: Cell<bool>,
    /// Set while a closure holds the buffer's bytes: nested reads allocate.
    lent: Cell<bool>,
    bytes: UnsafeCell<[u8; SIZE]>,
}

thread_local! {
    static SCRATCH: Scratch = const {
        Scratch { armed: Cell::new(false), lent: Cell::new(false), bytes: UnsafeCell::new([0; SIZE]) }
    };
}

/// For `proxy_on_memory_allocate`: the buffer, when a borrowed read is waiting for it and
/// `size` fits. The host calls back at most once per hostcall.
pub(crate) fn claim(size: usize) -> Option<*mut u8> {
    SCRATCH.with(|s| {
        if !s.armed.get() || size > SIZE {
            return None;
        }
        s.armed.set(false);
        Some(s.bytes.get().cast::<u8>())
    })
}

/// Bytes a hostcall returned: lent from the buffer, or the host's own allocation (too long for
/// the buffer), which the caller may keep instead of copying.
pub(crate) enum Value<'a> {
    Lent(&'a [u8]),
    Owned(Vec<u8>),
}

/// Runs `call` (a hostcall that returns a buffer through `Out`) and lends the bytes to `f`:
/// `Ok(None)` when the host answers `NotFound`. (Not written on top of [`read_value`]: its
/// `Value` costs every read on a request's path a few instructions more.)
pub(crate) fn read<R>(call: impl FnOnce(&mut Out) -> u32, f: impl FnOnce(HostResult<Option<&[u8]>>) -> R) -> R {
    let base = arm();
    let mut out = Out::new();
    let code = call(&mut out);
    SCRATCH.with(|s| s.armed.set(false));
    let in_scratch = out.ptr == base && out.len <= SIZE;
    match optional(check(code)) {
        Ok(Some(())) if in_scratch => lend(base, out.len, |bytes| f(Ok(Some(bytes)))),
        Ok(Some(())) => f(Ok(Some(&take(out)))),
        Ok(None) => f(Ok(None)),
        Err(status) => {
            if !in_scratch {
                drop(take(out));
            }
            f(Err(status))
        }
    }
}

/// Arms the buffer for the next allocation unless it is lent; returns where it is.
#[inline(always)]
fn arm() -> *mut u8 {
    SCRATCH.with(|s| {
        s.armed.set(!s.lent.get());
        s.bytes.get().cast::<u8>()
    })
}

/// Lends the first `len` bytes the host wrote into the buffer at `base` to `f`.
#[inline(always)]
fn lend<R>(base: *mut u8, len: usize, f: impl FnOnce(&[u8]) -> R) -> R {
    // SAFETY: the host wrote `len <= SIZE` bytes at the buffer's start, and nothing writes
    // the buffer while it is lent (`lent` keeps nested reads away from it).
    let bytes = unsafe { std::slice::from_raw_parts(base, len) };
    SCRATCH.with(|s| s.lent.set(true));
    let result = f(bytes);
    SCRATCH.with(|s| s.lent.set(false));
    result
}

/// [`read`], with a long value handed over rather than lent.
pub(crate) fn read_value<R>(
    call: impl FnOnce(&mut Out) -> u32,
    f: impl FnOnce(HostResult<Option<Value<'_>>>) -> R,
) -> R {
    let base = arm();
    let mut out = Out::new();
    let code = call(&mut out);
    SCRATCH.with(|s| s.armed.set(false));
    let in_scratch = out.ptr == base && out.len <= SIZE;
    match optional(check(code)) {
        Ok(Some(())) if in_scratch => lend(base, out.len, |bytes| f(Ok(Some(Value::Lent(bytes))))),
        Ok(Some(())) => f(Ok(Some(Value::Owned(take(out))))),
        Ok(None) => f(Ok(None)),
        Err(status) => {
            if !in_scratch {
                drop(take(out));
            }
            f(Err(status))
        }
    }
}
