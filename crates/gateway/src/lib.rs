//! `hgw`, a local gateway for Higress plugins: an HTTP reverse proxy (hyper on tokio) that runs
//! each request through the plugin chain in [`higress_host`], configured with Higress's own
//! `WasmPlugin` YAML plus routes and services. The same configuration generates an Envoy
//! bootstrap for Higress's gateway image ([`envoy`]).
//!
//! Threading follows Envoy: every worker thread has its own event loop and its own VM of each
//! plugin; the VMs of all workers share one [`higress_host::Env`] (shared data, queues,
//! metrics), so leader election and shared counters behave as on a real gateway.

// A panic would take a worker thread and every request on it down with it.

mod access_log;
pub mod admin;
mod body;
mod callouts;
mod client;
pub mod config;
mod convert;
pub mod envoy;
mod limits;
pub mod oci;
mod pipe;
mod proxy;
pub mod stats;
mod worker;

pub use access_log::AccessLog;

use higress_host::{Env, LogLevel, Metering, Plugin, Upstream};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

/// How `serve` runs.
pub struct ServeOptions {
    /// Address to listen on (port 0 picks a free one, printed at start).
    pub listen: SocketAddr,
    /// Worker threads (at least one).
    pub workers: usize,
    /// Log level plugins see.
    pub log_level: LogLevel,
    /// Where access-log lines go.
    pub access_log: AccessLog,
    /// The admin listener's address (Prometheus metrics); `None`: no admin listener.
    pub admin_listen: Option<SocketAddr>,
}

/// A loaded configuration with every module compiled.
pub struct Prepared {
    /// The configuration.
    pub config: config::GatewayConfig,
    /// Each plugin of the chain with its compiled module, in chain order.
    pub plugins: Vec<(config::PluginSpec, Plugin)>,
}

/// Loads the configuration at `path` (a file or a directory) and compiles every module,
/// each file once: plugins that run the same file share its compiled code, as Envoy shares
/// it between VMs of the same code, so it is compiled and held in memory once.
pub fn prepare(path: &Path) -> Result<Prepared, String> {
    let config = config::load(path).map_err(|e| e.to_string())?;
    let mut compiled: HashMap<&Path, Plugin> = HashMap::new();
    let mut plugins = Vec::with_capacity(config.plugins.len());
    for spec in &config.plugins {
        let plugin = match compiled.get(spec.wasm.as_path()) {
            Some(plugin) => plugin.clone(),
            None => {
                let plugin =
                    Plugin::load_with(&spec.wasm, Metering::Off).map_err(|e| format!("plugin {}: {e}", spec.name))?;
                compiled.insert(&spec.wasm, plugin.clone());
                plugin
            }
        };
        plugins.push((spec.clone(), plugin));
    }
    Ok(Prepared { config, plugins })
}

/// The environment every VM shares: the configured clusters only (a callout to another is
/// refused, as Envoy refuses an unknown cluster), plugin logs to standard error.
fn environment(config: &config::GatewayConfig) -> Env {
    let env = Env::new();
    env.set_accept_unknown_clusters(false);
    for service in &config.services {
        env.add_cluster(service.cluster(), Upstream::Manual);
    }
    env.set_log_sink(Arc::new(|plugin: &str, level: LogLevel, message: &str| {
        eprintln!("{} {level:?} [{plugin}] {message}", access_log::timestamp(std::time::SystemTime::now()));
    }));
    env
}

/// Starts every plugin once with its configuration; `Err` lists those that failed.
pub fn check(prepared: &Prepared) -> Result<String, String> {
    let env = environment(&prepared.config);
    let config = Arc::new(config::GatewayConfig::clone(&prepared.config));
    let worker = worker::Worker::new(0, config, &prepared.plugins, &env, LogLevel::Info, AccessLog::Off, None);
    let failed = worker.failures();
    if failed.is_empty() {
        Ok(format!(
            "configuration OK: {} plugins, {} routes, {} services",
            prepared.plugins.len(),
            prepared.config.routes.all().len(),
            prepared.config.services.len()
        ))
    } else {
        Err(format!("plugins failed to start:\n  {}", failed.join("\n  ")))
    }
}

/// Compiling the modules, on this thread, freed tens of MiB that mimalloc keeps for reuse
/// (its arena is committed eagerly, so freed pages stay resident): returned to the system
/// once every worker is up, 88 -> 73 MiB with `make bench`'s four plugins.
fn release_startup_memory() {
    // SAFETY: `mi_collect` only frees memory mimalloc itself holds unused; it may be called
    // at any time, from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Serves until the process ends. Prints `hgw listening on http://<address> ...` once every
/// worker is ready, so a supervisor that started it with port 0 learns the port.
pub fn serve(prepared: Prepared, options: ServeOptions) -> Result<(), String> {
    let Prepared { config, plugins } = prepared;
    let env = environment(&config);
    let config = Arc::new(config);
    let stats = options.admin_listen.map(|_| stats::Stats::shared());
    let admin = match (options.admin_listen, &stats) {
        (Some(address), Some(stats)) => Some(admin::start(address, env.clone(), stats.clone())?),
        _ => None,
    };
    let first = listen(options.listen).map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let local = first.local_addr().map_err(|e| e.to_string())?;
    let workers = options.workers.max(1);
    // Every worker gets its own socket on the same address (SO_REUSEPORT): the kernel spreads
    // new connections over them. With one shared socket, the first worker to wake took most
    // connections and the others idled (a 4:1 split under `make bench`'s load).
    let mut listeners = vec![first];
    for _ in 1..workers {
        listeners.push(listen(local).map_err(|e| format!("cannot listen on {local}: {e}"))?);
    }
    let plugins = Arc::new(plugins);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    for (id, listener) in listeners.into_iter().enumerate() {
        let (config, plugins, env, access, ready, stats) =
            (config.clone(), plugins.clone(), env.clone(), options.access_log.clone(), ready_tx.clone(), stats.clone());
        let level = options.log_level;
        let thread = std::thread::Builder::new()
            .name(format!("hgw-worker-{id}"))
            .spawn(move || run_worker(id, listener, local, config, &plugins, env, level, access, stats, ready))
            .map_err(|e| e.to_string())?;
        threads.push(thread);
    }
    drop(ready_tx);
    let started = ready_rx.iter().take(workers).count();
    if started < workers {
        return Err("a worker thread failed to start".into());
    }
    release_startup_memory();
    let admin =
        admin.map(|a| format!(", admin (Prometheus metrics) on http://{a}/stats/prometheus")).unwrap_or_default();
    println!(
        "hgw listening on http://{local} with {workers} workers, {} plugins, {} routes{admin}",
        plugins.len(),
        config.routes.all().len()
    );
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// A non-blocking listening socket on `address` that other workers may share (SO_REUSEPORT).
fn listen(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

#[allow(clippy::too_many_arguments)]
fn run_worker(
    id: usize,
    listener: std::net::TcpListener,
    local: SocketAddr,
    config: Arc<config::GatewayConfig>,
    plugins: &[(config::PluginSpec, Plugin)],
    env: Env,
    level: LogLevel,
    access: AccessLog,
    stats: Option<Arc<stats::Stats>>,
    ready: std::sync::mpsc::Sender<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hgw: worker {id}: {e}");
            return;
        }
    };
    let tasks = tokio::task::LocalSet::new();
    tasks.block_on(&runtime, async move {
        let worker = Rc::new(worker::Worker::new(id, config, plugins, &env, level, access, stats));
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("hgw: worker {id}: {e}");
                return;
            }
        };
        tokio::task::spawn_local(worker.clone().tick_forever());
        let _ = ready.send(());
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    eprintln!("hgw: worker {id}: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let worker = worker.clone();
            tokio::task::spawn_local(async move {
                let ip = proxy::client_ip(peer);
                let service =
                    hyper::service::service_fn(move |req| proxy::handle(worker.clone(), req, peer, ip.clone(), local));
                let _ = hyper::server::conn::http1::Builder::new()
                    .writev(false)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
