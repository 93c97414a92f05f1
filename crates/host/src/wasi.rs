//! WASI preview 1, as much of it as a proxy-wasm plugin uses.
//!
//! Plugins are reactors that never touch files or sockets; what Rust's std on
//! `wasm32-wasip1` needs is stdout/stderr, clocks, randomness, empty args/environ and "no
//! preopened directories". Implementing those here (instead of pulling in `wasmtime-wasi`)
//! lets the clocks follow the host's test clock and routes stdout into the plugin's log.
//! Go's runtime (`GOOS=wasip1`, how Higress builds its Go plugins) also needs `poll_oneoff`,
//! answered as Envoy answers it, and the calls Go makes at start (`fd_fdstat_get` of 0, 1
//! and 2, `fd_prestat_get` of 3) answer as Envoy's do. Every other WASI import the module
//! declares answers `ENOSYS`, as Envoy does for the one Go calls and ignores
//! (`fd_fdstat_set_flags`).

use crate::memory::{read_bytes, write_bytes, write_u32, write_u64};
use crate::state::HostState;
use wasmtime::Result;
use wasmtime::{Caller, Linker, Module, Val};

const MODULE: &str = "wasi_snapshot_preview1";
const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;
const ESPIPE: i32 = 70;

/// Rights `fd_fdstat_get` reports for stdout and stderr: fd_write, as Envoy reports them.
const STDOUT_RIGHTS: u64 = 1 << 6;

const IMPLEMENTED: &[&str] = &[
    "args_sizes_get",
    "args_get",
    "environ_sizes_get",
    "environ_get",
    "clock_res_get",
    "clock_time_get",
    "random_get",
    "fd_write",
    "fd_read",
    "fd_close",
    "fd_seek",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "sched_yield",
    "poll_oneoff",
    "proc_exit",
];

/// Registers the WASI functions on `linker`, plus an `ENOSYS` stub for every other WASI
/// import `module` declares.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>, module: &Module) -> Result<()> {
    linker.func_wrap(MODULE, "args_sizes_get", |mut c: Caller<'_, HostState>, argc: i32, size: i32| {
        errno(write_u32(&mut c, argc, 0).and_then(|_| write_u32(&mut c, size, 0)))
    })?;
    linker.func_wrap(MODULE, "args_get", |_: Caller<'_, HostState>, _argv: i32, _buf: i32| ESUCCESS)?;
    linker.func_wrap(MODULE, "environ_sizes_get", |mut c: Caller<'_, HostState>, count: i32, size: i32| {
        errno(write_u32(&mut c, count, 0).and_then(|_| write_u32(&mut c, size, 0)))
    })?;
    linker.func_wrap(MODULE, "environ_get", |_: Caller<'_, HostState>, _env: i32, _buf: i32| ESUCCESS)?;
    linker.func_wrap(MODULE, "clock_res_get", |mut c: Caller<'_, HostState>, id: i32, out: i32| {
        if !(0..=3).contains(&id) {
            return EINVAL;
        }
        errno(write_u64(&mut c, out, 1))
    })?;
    linker.func_wrap(
        MODULE,
        "clock_time_get",
        |mut c: Caller<'_, HostState>, id: i32, _precision: i64, out: i32| {
            let now = match id {
                0 => c.data().env.clock().now_nanos(),
                1..=3 => c.data().env.clock().monotonic_nanos(),
                _ => return EINVAL,
            };
            errno(write_u64(&mut c, out, now))
        },
    )?;
    linker.func_wrap(MODULE, "random_get", |mut c: Caller<'_, HostState>, buf: i32, len: i32| {
        let Ok(len) = usize::try_from(len) else {
            return EINVAL;
        };
        let mut bytes = vec![0u8; len];
        c.data_mut().random.fill(&mut bytes);
        errno(write_bytes(&mut c, buf, &bytes))
    })?;
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut c: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, written: i32| {
            if fd != 1 && fd != 2 {
                return EBADF;
            }
            let data = match gather(&mut c, iovs, iovs_len) {
                Ok(data) => data,
                Err(code) => return code,
            };
            let n = data.len() as u32;
            c.data_mut().write_stdio(fd, &data);
            errno(write_u32(&mut c, written, n))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_read",
        |mut c: Caller<'_, HostState>, fd: i32, _iovs: i32, _len: i32, read: i32| {
            if fd != 0 {
                return EBADF;
            }
            errno(write_u32(&mut c, read, 0))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_close",
        |_: Caller<'_, HostState>, fd: i32| {
            if (0..=2).contains(&fd) {
                ESUCCESS
            } else {
                EBADF
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_seek",
        |_: Caller<'_, HostState>, fd: i32, _off: i64, _whence: i32, _out: i32| {
            if (0..=2).contains(&fd) {
                ESPIPE
            } else {
                EBADF
            }
        },
    )?;
    // As Envoy: stdout and stderr only (Go's standard library asks for 0, 1 and 2 at start), filetype
    // unknown, rights fd_write.
    linker.func_wrap(MODULE, "fd_fdstat_get", |mut c: Caller<'_, HostState>, fd: i32, out: i32| {
        if fd != 1 && fd != 2 {
            return EBADF;
        }
        // struct fdstat { u8 filetype; u16 flags; u64 rights_base; u64 rights_inheriting } (24 bytes)
        let mut stat = [0u8; 24];
        stat[8..16].copy_from_slice(&STDOUT_RIGHTS.to_le_bytes());
        errno(write_bytes(&mut c, out, &stat))
    })?;
    linker.func_wrap(MODULE, "fd_prestat_get", |_: Caller<'_, HostState>, _fd: i32, _out: i32| EBADF)?;
    linker.func_wrap(MODULE, "fd_prestat_dir_name", |_: Caller<'_, HostState>, _fd: i32, _p: i32, _l: i32| EBADF)?;
    linker.func_wrap(MODULE, "sched_yield", |_: Caller<'_, HostState>| ESUCCESS)?;
    linker.func_wrap(MODULE, "poll_oneoff", poll_oneoff)?;
    linker.func_wrap(MODULE, "proc_exit", |_: Caller<'_, HostState>, code: i32| -> Result<()> {
        Err(wasmtime::format_err!("the plugin called proc_exit({code})"))
    })?;

    for import in module.imports() {
        if import.module() != MODULE || IMPLEMENTED.contains(&import.name()) {
            continue;
        }
        let wasmtime::ExternType::Func(ty) = import.ty() else {
            continue;
        };
        linker.func_new(MODULE, import.name(), ty, |_, _, results| {
            if let Some(slot) = results.first_mut() {
                *slot = Val::I32(ENOSYS);
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// `poll_oneoff(in, out, nsubscriptions, nevents*)`, as Envoy answers it
/// (proxy-wasm-cpp-host's `wasi_unstable_poll_oneoff`, the same in Higress's fork): success,
/// `nevents = 0`, no event written, and no sleep, whatever the subscriptions (clocks or fds).
///
/// Go's runtime calls it to sleep (`usleep` while it spins) and to poll (`netpoll(0)` when
/// it restarts the world after a garbage collection, as soon as a timer exists) and treats
/// any error as fatal (`fatal error: poll_oneoff failed`); it ignores clock events, so
/// reporting the clock subscriptions as fired would change nothing for Go, and a plugin sees
/// what it sees in Envoy. Not sleeping is what a gateway worker needs: a callback must not
/// hold the thread every other stream of the worker waits on (a Go plugin that really waits
/// for a timer spins on `clock_time_get` until it is due, as in Envoy). The clock is left
/// alone: a manual test clock moves only when the test moves it.
fn poll_oneoff(mut c: Caller<'_, HostState>, _in: i32, _out: i32, _subscriptions: i32, nevents: i32) -> i32 {
    errno(write_u32(&mut c, nevents, 0))
}

/// Concatenates the `iovec`s at `iovs` (each `{u32 ptr, u32 len}`).
fn gather(c: &mut Caller<'_, HostState>, iovs: i32, count: i32) -> std::result::Result<Vec<u8>, i32> {
    let count = usize::try_from(count).map_err(|_| EINVAL)?;
    let table = read_bytes(c, iovs, count.checked_mul(8).ok_or(EINVAL)?).map_err(|_| EFAULT)?;
    let mut data = Vec::new();
    for iov in table.chunks_exact(8) {
        let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let len = u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]) as usize;
        data.extend_from_slice(&read_bytes(c, ptr, len).map_err(|_| EFAULT)?);
    }
    Ok(data)
}

fn errno<E>(result: std::result::Result<(), E>) -> i32 {
    match result {
        Ok(()) => ESUCCESS,
        Err(_) => EFAULT,
    }
}
