//! Pending callouts: token -> the context that made the call and its callback.
//!
//! Envoy runs every callout on the root context, so the SDK remembers which stream made
//! each call. When the answer arrives it switches the host to that stream
//! (`proxy_set_effective_context`) and runs the callback with the stream's plugin value,
//! HTTP context and config. Entries of a stream are dropped when it ends, so an answer that
//! arrives later is ignored.

use crate::http::Http;
use crate::http_response::HttpResponse;
use crate::id_map::IdMap;
use crate::plugin::HttpPlugin;
use crate::redis::RedisResult;
use std::any::Any;
use std::cell::RefCell;

/// A callback that runs in a stream's context, with the stream's plugin value and config
/// type-erased: it returns `false` when they are not of the types it was made for.
pub(crate) type StreamCallback<R> = Box<dyn FnOnce(&mut dyn Any, &mut Http, &dyn Any, R) -> bool>;

/// Who gets the answer.
pub(crate) enum Target<R> {
    /// A stream: a [`StreamCallback`] of the VM's plugin type.
    Stream(u32, StreamCallback<R>),
    /// The root context (ticks, health checks).
    Root(Box<dyn FnOnce(R)>),
}

/// What to do when a Redis reply says `NOAUTH`: re-send the command (`Ok`), or give the
/// target back for the error (`Err`). `None` once the command was retried.
pub(crate) type RedisRetry = Option<Box<dyn FnOnce(Target<RedisResult>) -> Result<(), Target<RedisResult>>>>;

pub(crate) enum Pending {
    Http(Target<HttpResponse>),
    Redis(Target<RedisResult>, RedisRetry),
}

thread_local! {
    static PENDING: RefCell<IdMap<Pending>> = const { RefCell::new(IdMap::new()) };
}

pub(crate) fn register(token: u32, pending: Pending) {
    PENDING.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            p.insert(token, pending);
        }
    });
}

pub(crate) fn take(token: u32) -> Option<Pending> {
    PENDING.with(|p| p.try_borrow_mut().ok()?.remove(&token))
}

/// Forgets the callouts of a finished stream: their answers will be dropped.
pub(crate) fn forget_context(context_id: u32) {
    PENDING.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.is_empty() {
                return;
            }
            p.retain(|_, pending| {
                let target = match pending {
                    Pending::Http(Target::Stream(ctx, _)) | Pending::Redis(Target::Stream(ctx, _), _) => Some(*ctx),
                    _ => None,
                };
                target != Some(context_id)
            });
        }
    });
}

/// Number of callouts waiting for an answer (all contexts).
pub fn pending_count() -> usize {
    PENDING.with(|p| p.try_borrow().map(|p| p.len()).unwrap_or(0))
}

/// Boxes a stream callback for the registry. The plugin value and config are erased in the
/// arguments, not by boxing the boxed callback again: a callback that captures nothing (the
/// usual one) is then boxed without an allocation.
pub(crate) fn stream_callback<P: HttpPlugin, R: 'static>(
    f: impl FnOnce(&mut P, &mut Http, &P::Config, R) + 'static,
) -> StreamCallback<R> {
    Box::new(move |plugin: &mut dyn Any, http: &mut Http, config: &dyn Any, value: R| {
        match (plugin.downcast_mut::<P>(), config.downcast_ref::<P::Config>()) {
            (Some(plugin), Some(config)) => {
                f(plugin, http, config, value);
                true
            }
            _ => false,
        }
    })
}
