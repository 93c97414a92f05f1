//! Streams that wait for something another stream or a tick will bring: a credential one
//! request is fetching for all (Vertex's OAuth token), a lock another VM holds.
//!
//! A stream parks under a key with the callback that continues it (it has returned a
//! `StopIteration` action meanwhile); [`wake`] marks every stream parked under a key to be
//! continued. The woken callbacks run when the root-context callback that woke them ends (a
//! callout's answer, a tick), each in its own stream made effective, as a callout's answer
//! runs: never inside another stream's callback, whose plugin value is borrowed then. A
//! stream that ends while parked is forgotten.

use crate::callout::{self, StreamCallback};
use crate::http::Http;
use crate::plugin::HttpPlugin;
use std::cell::{Cell, RefCell};

struct Parked {
    key: String,
    context_id: u32,
    callback: StreamCallback<()>,
}

thread_local! {
    /// Some stream has parked on this VM: until then, a stream's end looks at nothing here.
    static USED: Cell<bool> = const { Cell::new(false) };
    static PARKED: RefCell<Vec<Parked>> = const { RefCell::new(Vec::new()) };
    static WOKEN: RefCell<Vec<(u32, StreamCallback<()>)>> = const { RefCell::new(Vec::new()) };
}

/// Parks the stream of `http` under `key` until [`wake`]`(key)`: then `f` runs in the stream,
/// with its plugin value and config, as a callout's callback does.
pub fn park<P: HttpPlugin>(http: &Http, key: &str, f: impl FnOnce(&mut P, &mut Http, &P::Config) + 'static) {
    let callback = callout::stream_callback::<P, ()>(move |plugin, http, config, ()| f(plugin, http, config));
    let parked = Parked { key: key.to_string(), context_id: http.context_id(), callback };
    USED.with(|used| used.set(true));
    PARKED.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            p.push(parked);
        }
    });
}

/// Continues every stream parked under `key` once the current root callback ends. Returns
/// how many there were.
pub fn wake(key: &str) -> usize {
    let woken: Vec<Parked> = PARKED.with(|p| {
        let Ok(mut p) = p.try_borrow_mut() else { return Vec::new() };
        let (woken, kept) = std::mem::take(&mut *p).into_iter().partition(|x| x.key == key);
        *p = kept;
        woken
    });
    let count = woken.len();
    if count > 0 {
        WOKEN.with(|w| {
            if let Ok(mut w) = w.try_borrow_mut() {
                w.extend(woken.into_iter().map(|x| (x.context_id, x.callback)));
            }
        });
    }
    count
}

/// How many streams are parked under `key`.
pub fn parked(key: &str) -> usize {
    PARKED.with(|p| p.try_borrow().map(|p| p.iter().filter(|x| x.key == key).count()).unwrap_or(0))
}

/// The keys streams are parked under, each once (for a tick that checks on them).
pub fn keys() -> Vec<String> {
    PARKED.with(|p| {
        let Ok(p) = p.try_borrow() else { return Vec::new() };
        let mut keys: Vec<String> = Vec::new();
        for x in p.iter() {
            if !keys.contains(&x.key) {
                keys.push(x.key.clone());
            }
        }
        keys
    })
}

/// The woken callbacks, to be run by the dispatcher.
pub(crate) fn take_woken() -> Vec<(u32, StreamCallback<()>)> {
    WOKEN.with(|w| w.try_borrow_mut().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default())
}

/// Forgets a finished stream (every stream ends here: nothing is touched when no stream
/// waits, the usual case).
pub(crate) fn forget_context(context_id: u32) {
    if !USED.with(Cell::get) {
        return;
    }
    PARKED.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if !p.is_empty() {
                p.retain(|x| x.context_id != context_id);
            }
        }
    });
    WOKEN.with(|w| {
        if let Ok(mut w) = w.try_borrow_mut() {
            if !w.is_empty() {
                w.retain(|(ctx, _)| *ctx != context_id);
            }
        }
    });
}
