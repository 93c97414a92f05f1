//! The root context: what a plugin sets up once per configuration (ticks, queues).

use crate::tick;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

thread_local! {
    static QUEUE_HANDLERS: RefCell<HashMap<u32, Box<dyn FnMut()>>> = RefCell::new(HashMap::new());
}

/// Handed to [`crate::HttpPlugin::on_plugin_start`].
pub struct Root {
    context_id: u32,
}

impl Root {
    pub(crate) fn new(context_id: u32) -> Self {
        Root { context_id }
    }

    /// The root context id.
    pub fn context_id(&self) -> u32 {
        self.context_id
    }

    /// Runs `f` every `period` (wasm-go's `RegisterTickFunc`). The first run is at the first
    /// tick after start.
    pub fn register_tick(&mut self, period: Duration, f: impl FnMut() + 'static) {
        tick::register(period, f);
    }

    /// Runs `f` when the shared queue `queue_id` (registered by this VM) has new items.
    pub fn on_queue_ready(&mut self, queue_id: u32, f: impl FnMut() + 'static) {
        QUEUE_HANDLERS.with(|q| {
            if let Ok(mut q) = q.try_borrow_mut() {
                q.insert(queue_id, Box::new(f));
            }
        });
    }
}

pub(crate) fn clear_queue_handlers() {
    QUEUE_HANDLERS.with(|q| {
        if let Ok(mut q) = q.try_borrow_mut() {
            q.clear();
        }
    });
}

/// Runs the handler of `queue_id`, if any.
pub(crate) fn queue_ready(queue_id: u32) {
    let handler = QUEUE_HANDLERS.with(|q| q.try_borrow_mut().ok()?.remove(&queue_id));
    if let Some(mut handler) = handler {
        handler();
        QUEUE_HANDLERS.with(|q| {
            if let Ok(mut q) = q.try_borrow_mut() {
                q.entry(queue_id).or_insert(handler);
            }
        });
    }
}
