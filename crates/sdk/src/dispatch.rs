//! The runtime behind the ABI exports: root contexts (one per plugin configuration) and
//! stream contexts (one per HTTP stream), and the wasm-go body-mode logic.
//!
//! One VM runs one plugin type, so the dispatcher is generic over it and stored once as a
//! trait object. Plugin code never re-enters it: the host does not call into the VM while a
//! hostcall runs, and SDK services used inside callbacks (logging, callouts) keep their own
//! state.

use crate::body_limit;
use crate::callout::{self, Pending, Target};
use crate::config::{self, ConfigContext, ConfigError, MatchInput, ParsedConfig, RuleSet, Selected};
use crate::http::{Http, Phase};
use crate::http_response::HttpResponse;
use crate::id_map::IdMap;
use crate::plugin::{BodyMode, HttpPlugin};
use crate::redis::{self, RedisError, RedisResult};
use crate::root::{self, Root};
use crate::{hostcalls, log, park, scan, tick};
use higress_abi::{BufferType, DataAction, HeaderAction, LogLevel, TrailersAction};
use std::cell::RefCell;
use std::rc::Rc;

/// What the exports call. Implemented once, by [`Dispatcher`].
pub(crate) trait Handler {
    fn on_context_create(&mut self, context_id: u32, parent_id: u32);
    fn on_vm_start(&mut self, root_id: u32, size: usize) -> bool;
    fn on_configure(&mut self, root_id: u32, size: usize) -> bool;
    fn on_request_headers(&mut self, id: u32, end_of_stream: bool) -> HeaderAction;
    fn on_request_body(&mut self, id: u32, size: usize, end_of_stream: bool) -> DataAction;
    fn on_request_trailers(&mut self, id: u32) -> TrailersAction;
    fn on_response_headers(&mut self, id: u32, end_of_stream: bool) -> HeaderAction;
    fn on_response_body(&mut self, id: u32, size: usize, end_of_stream: bool) -> DataAction;
    fn on_response_trailers(&mut self, id: u32) -> TrailersAction;
    fn on_log(&mut self, id: u32);
    fn on_done(&mut self, id: u32) -> bool;
    fn on_delete(&mut self, id: u32);
    fn on_tick(&mut self, root_id: u32);
    fn on_queue_ready(&mut self, root_id: u32, queue_id: u32);
    fn on_http_call_response(&mut self, token: u32, headers: usize, body_size: usize, trailers: usize);
    fn on_redis_call_response(&mut self, token: u32, status: u32, size: usize);
}

thread_local! {
    static HANDLER: RefCell<Option<Box<dyn Handler>>> = const { RefCell::new(None) };
}

/// Installs the dispatcher for plugin type `P` (called by `export_plugin!` at `_initialize`)
/// and the panic hook. `version` is the plugin crate's own version, logged at plugin start.
pub fn register<P: HttpPlugin>(name: &'static str, version: &'static str) {
    log::set_plugin(name, version);
    std::panic::set_hook(Box::new(log::panic_line));
    HANDLER.with(|h| {
        if let Ok(mut slot) = h.try_borrow_mut() {
            if slot.is_none() {
                *slot = Some(Box::new(Dispatcher::<P>::new(name)));
            }
        }
    });
}

/// Runs `f` on the dispatcher; `default` when none is registered or it is busy.
pub(crate) fn with_handler<R>(default: R, f: impl FnOnce(&mut dyn Handler) -> R) -> R {
    HANDLER.with(|h| match h.try_borrow_mut() {
        Ok(mut slot) => match slot.as_mut() {
            Some(handler) => f(handler.as_mut()),
            None => {
                let _ = hostcalls::log(
                    LogLevel::Critical,
                    "no plugin registered: the crate must call higress_sdk::export_plugin!",
                );
                default
            }
        },
        Err(_) => {
            let _ = hostcalls::log(LogLevel::Critical, "plugin dispatcher re-entered; callback ignored");
            default
        }
    })
}

/// Size argument that reads a whole buffer (the host returns what it has).
const WHOLE_BUFFER: usize = i32::MAX as usize;

/// Delivers a body callback in the stream's body mode. A chunk that ends the stream marks the
/// direction's body as delivered, so trailers do not deliver it again.
fn deliver_body<P: HttpPlugin>(
    plugin: &mut P,
    http: &mut Http,
    config: &P::Config,
    size: usize,
    end_of_stream: bool,
    request: bool,
) -> DataAction {
    let (mode, buffer) = if request {
        http.phase = Phase::RequestBody;
        (http.request_body_mode, BufferType::HttpRequestBody)
    } else {
        http.phase = Phase::ResponseBody;
        (http.response_body_mode, BufferType::HttpResponseBody)
    };
    if end_of_stream {
        if request {
            http.request_body_ended = true;
        } else {
            http.response_body_ended = true;
        }
    }
    match mode {
        BodyMode::Skip => DataAction::Continue,
        // A capped request body is refused as it grows, before any of it is read.
        BodyMode::Buffered if request && size != WHOLE_BUFFER && body_limit::refuse_oversized(http, size) => {
            DataAction::StopIterationNoBuffer
        }
        BodyMode::Buffered if !end_of_stream => DataAction::StopIterationAndBuffer,
        BodyMode::Buffered => {
            let body = hostcalls::get_buffer(buffer, 0, size).ok().flatten().unwrap_or_default();
            if request && body_limit::refuse_oversized(http, body.len()) {
                return DataAction::StopIterationNoBuffer;
            }
            if request {
                plugin.on_request_body(http, config, &body)
            } else {
                plugin.on_response_body(http, config, &body)
            }
        }
        BodyMode::Streaming => {
            let chunk = if size == 0 {
                Vec::new()
            } else {
                hostcalls::get_buffer(buffer, 0, size).ok().flatten().unwrap_or_default()
            };
            if request {
                plugin.on_request_body_chunk(http, config, &chunk, end_of_stream)
            } else {
                plugin.on_response_body_chunk(http, config, &chunk, end_of_stream)
            }
        }
    }
}

/// Which config of `rules` applies to the stream, reading only what the rules match on (the
/// property values borrowed, not allocated): a skipped stream costs little. Also whether
/// the request has `:authority`, when the rules read it (`None`: not known yet).
fn select<C>(rules: &RuleSet<C>, http: &Http) -> (Option<Selected>, Option<bool>) {
    if rules.rules.is_empty() {
        return (rules.global.as_ref().map(|_| Selected::Global), None);
    }
    if rules.reads_domain() {
        let (picked, has_authority) = http.select_by_authority(|authority| select_by_properties(rules, authority));
        return (picked, Some(has_authority));
    }
    (select_by_properties(rules, ""), None)
}

/// The rule for `authority` (empty when no rule reads it) and the route and cluster
/// properties, each read only when some rule matches on it.
fn select_by_properties<C>(rules: &RuleSet<C>, authority: &str) -> Option<Selected> {
    with_property_str(rules.reads_route(), "route_name", |route_name| {
        with_property_str(rules.reads_cluster(), "cluster_name", |cluster_name| {
            rules.select(&MatchInput { authority, route_name, cluster_name })
        })
    })
}

/// Lends a property's value as text to `f` (empty when absent or `read` is false).
fn with_property_str<R>(read: bool, name: &str, f: impl FnOnce(&str) -> R) -> R {
    if !read {
        return f("");
    }
    hostcalls::with_property(&[name], |value| scan::with_str(value.ok().flatten().unwrap_or_default(), f))
}

struct RootState<C> {
    rules: Option<Rc<RuleSet<C>>>,
}

/// A stream the rules selected: the plugin's value for it, its HTTP context, and which
/// config applies.
struct StreamState<P: HttpPlugin> {
    plugin: P,
    http: Http,
    rules: Rc<RuleSet<P::Config>>,
    selected: Selected,
}

/// A stream as the dispatcher keeps it. Until its request headers it is only its root; one
/// the rules skip keeps nothing more, so each later callback finds it and returns at once.
/// Selected streams are boxed, which keeps the map small and cheap to probe.
enum Stream<P: HttpPlugin> {
    Created { root: u32 },
    Skipped,
    Active(Box<StreamState<P>>),
}

/// A selected stream: its plugin value, its HTTP context and the config that applies.
type Active<'a, P> = (&'a mut P, &'a mut Http, &'a <P as HttpPlugin>::Config);

/// The dispatcher of plugin type `P`.
pub(crate) struct Dispatcher<P: HttpPlugin> {
    name: &'static str,
    roots: IdMap<RootState<P::Config>>,
    streams: IdMap<Stream<P>>,
}

impl<P: HttpPlugin> Dispatcher<P> {
    fn new(name: &'static str) -> Self {
        Dispatcher { name, roots: IdMap::default(), streams: IdMap::default() }
    }

    /// The stream's state and its config, when the rules selected it; the request id is
    /// made current for log lines.
    fn selected(&mut self, id: u32) -> Option<Active<'_, P>> {
        let entry = self.streams.get_mut(&id)?;
        if matches!(entry, Stream::Active(s) if s.http.rest_skipped) {
            // The plugin called `skip_rest` in an earlier callback.
            *entry = Stream::Skipped;
        }
        let Stream::Active(stream) = entry else { return None };
        log::set_stream(Some(id));
        // Borrowed field by field: the config from the rule set the stream holds, without
        // another count on it.
        let StreamState { plugin, http, rules, selected } = &mut **stream;
        Some((plugin, http, rules.get(*selected)?))
    }

    fn body(&mut self, id: u32, size: usize, end_of_stream: bool, request: bool) -> DataAction {
        let Some((plugin, http, config)) = self.selected(id) else {
            return DataAction::Continue;
        };
        deliver_body(plugin, http, config, size, end_of_stream, request)
    }

    /// Trailers end a direction. A body the plugin waits for (the whole buffered body, or the
    /// last streamed chunk's end of stream) is delivered first: without this, a request that
    /// ends with trailers would pass a plugin that decides on its body (hmac-auth) unchecked.
    /// The plugin's trailers callback runs only when the body callback let the stream go on.
    fn trailers(&mut self, id: u32, request: bool) -> TrailersAction {
        let Some((plugin, http, config)) = self.selected(id) else {
            return TrailersAction::Continue;
        };
        let (mode, ended) = if request {
            (http.request_body_mode, http.request_body_ended)
        } else {
            (http.response_body_mode, http.response_body_ended)
        };
        if mode != BodyMode::Skip && !ended {
            // Buffered: the host holds the body and hands it whole; streaming: every chunk
            // was delivered, what is left is the end of the stream (an empty chunk).
            let size = if mode == BodyMode::Buffered { WHOLE_BUFFER } else { 0 };
            let action = deliver_body(plugin, http, config, size, true, request);
            if action != DataAction::Continue || http.local_response_sent {
                return TrailersAction::StopIteration;
            }
        }
        if request {
            http.phase = Phase::RequestTrailers;
            plugin.on_request_trailers(http, config)
        } else {
            http.phase = Phase::ResponseTrailers;
            plugin.on_response_trailers(http, config)
        }
    }

    fn parse(&self, bytes: &[u8]) -> Result<ParsedConfig<P::Config>, ConfigError> {
        let merge = P::MERGE_GLOBAL_INTO_RULES.then_some(P::RULE_ONLY_KEYS);
        config::parse_rules(bytes, merge, |value, cx: &ConfigContext| {
            let mut parsed: P::Config = config::from_value(value)?;
            P::validate_config(&mut parsed, cx)?;
            Ok(parsed)
        })
    }
}

impl<P: HttpPlugin> Handler for Dispatcher<P> {
    fn on_context_create(&mut self, context_id: u32, parent_id: u32) {
        if parent_id == 0 {
            self.roots.insert(context_id, RootState { rules: None });
            return;
        }
        self.streams.insert(context_id, Stream::Created { root: parent_id });
    }

    fn on_vm_start(&mut self, _root_id: u32, _size: usize) -> bool {
        log::refresh_level();
        true
    }

    fn on_configure(&mut self, root_id: u32, size: usize) -> bool {
        log::refresh_level();
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, size) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                crate::log_error!("plugin start failed: cannot read the plugin configuration: {status}");
                return false;
            }
        };
        let parsed = match self.parse(&bytes) {
            Ok(parsed) => parsed,
            Err(err) => {
                crate::log_error!("plugin start failed: {} config error: {err}", self.name);
                return false;
            }
        };
        log::set_plugin_id(parsed.plugin_id);
        let rules = Rc::new(parsed.rules);
        tick::clear();
        root::clear_queue_handlers();
        if let Err(err) = P::on_plugin_start(&mut Root::new(root_id), &rules) {
            crate::log_error!("plugin start failed: {} config error: {err}", self.name);
            return false;
        }
        if let Some(period) = tick::base_period_ms() {
            if let Err(status) = hostcalls::set_tick_period_ms(period) {
                crate::log_error!("plugin start failed: cannot set the tick period: {status}");
                return false;
            }
        }
        if let Some(root) = self.roots.get_or_insert_with(root_id, || RootState { rules: None }) {
            root.rules = Some(rules);
        }
        crate::log_info!("plugin start successfully, version {}", log::plugin_version());
        true
    }

    fn on_request_headers(&mut self, id: u32, end_of_stream: bool) -> HeaderAction {
        let Some(stream) = self.streams.get_mut(&id) else {
            return HeaderAction::Continue;
        };
        let Stream::Created { root } = *stream else {
            return HeaderAction::Continue;
        };
        // Skipped unless the rules select it; then it becomes active below.
        *stream = Stream::Skipped;
        log::set_stream(Some(id));
        let Some(rules) = self.roots.get(&root).and_then(|r| r.rules.clone()) else {
            return HeaderAction::Continue;
        };
        let mut http = Http::new(id, P::REQUEST_BODY, P::RESPONSE_BODY);
        http.phase = Phase::RequestHeaders;
        http.request_headers_end_stream = end_of_stream;
        let (selected, has_authority) = select(&rules, &http);
        let Some(selected) = selected else {
            return HeaderAction::Continue;
        };
        if !has_authority.unwrap_or_else(|| http.has_authority()) {
            crate::log_debug!("request has no :authority; plugin skipped");
            return HeaderAction::Continue;
        }
        let Some(config) = rules.get(selected) else {
            return HeaderAction::Continue;
        };
        if P::REQUEST_BODY != BodyMode::Skip || P::RESPONSE_BODY != BodyMode::Skip {
            http.skip_undeliverable_bodies();
        }
        let mut plugin = P::default();
        let action = plugin.on_request_headers(&mut http, config);
        if http.rest_skipped {
            return action;
        }
        // Later phases read these values, and the headers are gone after this callback.
        http.keep_request_line();
        if let Some(stream) = self.streams.get_mut(&id) {
            *stream = Stream::Active(Box::new(StreamState { plugin, http, rules, selected }));
        }
        action
    }

    fn on_request_body(&mut self, id: u32, size: usize, end_of_stream: bool) -> DataAction {
        self.body(id, size, end_of_stream, true)
    }

    fn on_request_trailers(&mut self, id: u32) -> TrailersAction {
        self.trailers(id, true)
    }

    fn on_response_headers(&mut self, id: u32, end_of_stream: bool) -> HeaderAction {
        let Some((plugin, http, config)) = self.selected(id) else {
            return HeaderAction::Continue;
        };
        http.phase = Phase::ResponseHeaders;
        http.capture_response(end_of_stream);
        plugin.on_response_headers(http, config)
    }

    fn on_response_body(&mut self, id: u32, size: usize, end_of_stream: bool) -> DataAction {
        self.body(id, size, end_of_stream, false)
    }

    fn on_response_trailers(&mut self, id: u32) -> TrailersAction {
        self.trailers(id, false)
    }

    fn on_log(&mut self, id: u32) {
        let Some((plugin, http, config)) = self.selected(id) else {
            return;
        };
        http.phase = Phase::Log;
        plugin.on_log(http, config);
    }

    fn on_done(&mut self, id: u32) -> bool {
        if let Some((plugin, http, config)) = self.selected(id) {
            http.phase = Phase::Done;
            plugin.on_stream_done(http, config);
        }
        true
    }

    fn on_delete(&mut self, id: u32) {
        if self.streams.remove(&id).is_none() {
            self.roots.remove(&id);
        }
        callout::forget_context(id);
        park::forget_context(id);
        log::set_stream(None);
    }

    fn on_tick(&mut self, _root_id: u32) {
        let now_ms = hostcalls::current_time_nanos().unwrap_or(0) / 1_000_000;
        tick::run(now_ms);
        self.run_woken();
    }

    fn on_queue_ready(&mut self, _root_id: u32, queue_id: u32) {
        root::queue_ready(queue_id);
        self.run_woken();
    }

    fn on_http_call_response(&mut self, token: u32, _headers: usize, body_size: usize, _trailers: usize) {
        let Some(Pending::Http(target)) = callout::take(token) else {
            crate::log_debug!("http call {token}: no callback waits for it (its stream ended)");
            return;
        };
        let response = HttpResponse::read(body_size);
        self.deliver(target, response);
        self.run_woken();
    }

    fn on_redis_call_response(&mut self, token: u32, status: u32, size: usize) {
        let Some(Pending::Redis(target, retry)) = callout::take(token) else {
            crate::log_debug!("redis call {token}: no callback waits for it (its stream ended)");
            return;
        };
        let reply = if status == 0 {
            hostcalls::get_buffer(higress_abi::BufferType::RedisCallResponse, 0, size).ok().flatten()
        } else {
            None
        };
        let result = redis::decode_reply(status, reply.as_deref());
        let mut target = target;
        if let (Err(RedisError::Server(message)), Some(retry)) = (&result, retry) {
            if message.contains("NOAUTH") {
                match retry(target) {
                    Ok(()) => return,
                    Err(back) => target = back,
                }
            }
        }
        if let Err(e) = &result {
            crate::log_warn!("redis call {token} failed: {e}");
        }
        self.deliver::<RedisResult>(target, result);
        self.run_woken();
    }
}

impl<P: HttpPlugin> Dispatcher<P> {
    /// Continues the streams woken (`park::wake`) by the callback that just ran; a stream
    /// woken by them runs too.
    fn run_woken(&mut self) {
        loop {
            let woken = park::take_woken();
            if woken.is_empty() {
                return;
            }
            for (ctx, callback) in woken {
                self.deliver(Target::Stream(ctx, callback), ());
            }
        }
    }

    /// Runs a callout's callback: at the root, or in the stream that made the call (made
    /// effective first). A callback whose stream is gone is dropped.
    fn deliver<R: 'static>(&mut self, target: Target<R>, value: R) {
        match target {
            Target::Root(callback) => callback(value),
            Target::Stream(ctx, callback) => {
                if hostcalls::set_effective_context(ctx).is_err() {
                    crate::log_debug!("callout answer for context {ctx} dropped: the stream is gone");
                    return;
                }
                let Some((plugin, http, config)) = self.selected(ctx) else { return };
                if !callback(plugin, http, config, value) {
                    crate::log_error!("callout callback of an unexpected type dropped");
                }
            }
        }
    }
}
