//! Periodic functions (wasm-go's `RegisterTickFunc`): several periods share the root
//! context's one tick, which runs at the shortest period (at most 100 ms, as wasm-go).

use std::cell::RefCell;
use std::time::Duration;

/// The slowest base tick: a 5 s function is checked every 100 ms, as in wasm-go.
const MAX_BASE_PERIOD_MS: u64 = 100;

struct Entry {
    period_ms: u64,
    last_run_ms: Option<u64>,
    f: Box<dyn FnMut()>,
}

thread_local! {
    static ENTRIES: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn register(period: Duration, f: impl FnMut() + 'static) {
    let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX).max(1);
    ENTRIES.with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            e.push(Entry { period_ms, last_run_ms: None, f: Box::new(f) });
        }
    });
}

pub(crate) fn clear() {
    ENTRIES.with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            e.clear();
        }
    });
}

/// The host tick period the registered functions need; `None` when there are none.
pub(crate) fn base_period_ms() -> Option<u32> {
    ENTRIES.with(|e| {
        let e = e.try_borrow().ok()?;
        let shortest = e.iter().map(|x| x.period_ms).min()?;
        u32::try_from(shortest.min(MAX_BASE_PERIOD_MS)).ok()
    })
}

/// Runs every function whose period elapsed. Functions may register more ticks meanwhile.
pub(crate) fn run(now_ms: u64) {
    let mut entries = ENTRIES.with(|e| e.try_borrow_mut().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default());
    for entry in entries.iter_mut() {
        let due = entry.last_run_ms.is_none_or(|last| now_ms.saturating_sub(last) >= entry.period_ms);
        if due {
            (entry.f)();
            entry.last_run_ms = Some(now_ms);
        }
    }
    ENTRIES.with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            let added = std::mem::take(&mut *e);
            *e = entries;
            e.extend(added);
        }
    });
}
