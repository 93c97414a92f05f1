//! `hgw`: a local gateway that runs Higress plugin chains, configured with Higress's own
//! WasmPlugin YAML. See `hgw --help`.

use clap::{Parser, Subcommand};
use higress_gateway::{config, envoy, AccessLog, ServeOptions};
use higress_host::LogLevel;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// A local gateway for Higress plugins: it serves HTTP, runs each request through the plugin
/// chain (the compiled .wasm modules, in a wasmtime-based proxy-wasm host with Envoy's
/// semantics), proxies it to the upstream, and runs the response back through the chain.
///
/// The configuration is Higress's own WasmPlugin YAML (spec.url: file://..., defaultConfig,
/// defaultConfigDisable, matchRules with ingress/domain/service, phase, priority,
/// failStrategy) plus Route and Service documents; see crates/gateway/README.md. The same
/// files generate an Envoy bootstrap for Higress's gateway image (`hgw envoy-config`).
#[derive(Parser)]
#[command(name = "hgw", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP with the configured routes, services and plugins.
    Serve(ServeArgs),
    /// Load the configuration and start every plugin once; report problems and exit
    /// (status 1 when anything is wrong).
    Check {
        /// A YAML file, or a directory of them (WasmPlugin, Route, Service documents).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print an Envoy bootstrap (JSON) for Higress's gateway image, generated from the same
    /// configuration: one wasm filter per plugin in chain order, one cluster per service
    /// (named outbound|<port>||<name>), one route per Route.
    EnvoyConfig {
        /// A YAML file, or a directory of them.
        #[arg(long, short)]
        config: PathBuf,
        /// Directory of the modules inside the container: <dir>/<plugin>/plugin.wasm, where
        /// <plugin> is the directory holding the module on this machine (dist/<plugin>/).
        #[arg(long, default_value = "/etc/envoy/plugins")]
        plugin_dir: String,
        /// Port of Envoy's HTTP listener.
        #[arg(long, default_value_t = 10000)]
        port: u16,
        /// Port of Envoy's admin interface.
        #[arg(long, default_value_t = 9901)]
        admin_port: u16,
    },
    /// Build a plugin's image in the form Higress pulls for a WasmPlugin `oci://` URL (one
    /// tar+gzip layer holding plugin.wasm), written as an OCI image layout directory; push it
    /// with `skopeo copy oci:<out>:<version> docker://<registry>/<name>:<version>` (what
    /// `make push` does). Prints the manifest's digest.
    Image {
        /// The module.
        #[arg(long)]
        wasm: PathBuf,
        /// The plugin's name.
        #[arg(long)]
        name: String,
        /// Its version: the image's tag.
        #[arg(long)]
        version: String,
        /// The layout directory to write (replaced).
        #[arg(long)]
        out: PathBuf,
        /// More files to put beside plugin.wasm in the layer (the config schema beside the
        /// module, `config.schema.json`, is always put there).
        #[arg(long)]
        extra: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A YAML file, or a directory of them (WasmPlugin, Route, Service documents).
    /// `${VAR}` and `${VAR:-default}` are replaced from the environment first.
    #[arg(long, short)]
    config: PathBuf,
    /// Address to listen on. Port 0 picks a free port; the first line printed names it.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Worker threads; each runs its own VM of every plugin, as Envoy's workers do (shared
    /// data, queues and leader election work across them). Default: the number of CPUs.
    #[arg(long)]
    workers: Option<usize>,
    /// Plugin log level: trace, debug, info, warn, error or critical (what plugins get from
    /// proxy_get_log_level). Plugin log lines go to standard error.
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Access log: `stdout`, `off`, or a file to append to. One line per request: time,
    /// method, path, status, route, upstream cluster, duration, request id and the
    /// attributes plugins wrote to custom_log.
    #[arg(long, default_value = "stdout")]
    access_log: String,
    /// Admin listener address (off by default): Prometheus text at /stats/prometheus (also
    /// /metrics) with every plugin metric, named as Higress's gateway exposes them, and the
    /// gateway's request counters and latency histogram. Port 0 picks a free port (printed).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
}

fn parse_level(level: &str) -> Result<LogLevel, String> {
    Ok(match level.to_ascii_lowercase().as_str() {
        "trace" => LogLevel::Trace,
        "debug" => LogLevel::Debug,
        "info" => LogLevel::Info,
        "warn" | "warning" => LogLevel::Warn,
        "error" => LogLevel::Error,
        "critical" => LogLevel::Critical,
        other => {
            return Err(format!("--log-level: unknown level `{other}` (trace, debug, info, warn, error, critical)"))
        }
    })
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let log_level = parse_level(&args.log_level)?;
    let access_log = match args.access_log.as_str() {
        "stdout" => AccessLog::Stdout,
        "off" => AccessLog::Off,
        path => AccessLog::File(Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("--access-log {path}: {e}"))?,
        ))),
    };
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let prepared = higress_gateway::prepare(&args.config)?;
    higress_gateway::serve(
        prepared,
        ServeOptions { listen: args.listen, workers, log_level, access_log, admin_listen: args.admin_listen },
    )
}

fn envoy_config(config: &std::path::Path, plugin_dir: &str, port: u16, admin_port: u16) -> Result<(), String> {
    let config = config::load(config).map_err(|e| e.to_string())?;
    let options = envoy::EnvoyOptions { plugin_dir, port, admin_port };
    let text = serde_json::to_string_pretty(&envoy::bootstrap(&config, &options)).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

fn image(
    wasm: &std::path::Path,
    name: &str,
    version: &str,
    out: &std::path::Path,
    extra: &[PathBuf],
) -> Result<(), String> {
    use higress_gateway::oci;
    let read = |path: &std::path::Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let module = read(wasm)?;
    if !module.starts_with(b"\0asm") {
        return Err(format!("{}: not a wasm module", wasm.display()));
    }
    // The config schema beside the module goes in the layer too (`hgw check` reads it there).
    let schema = higress_gateway::config::schema::file_for(wasm);
    let mut extra = extra.to_vec();
    if schema.is_file() && !extra.iter().any(|p| p.file_name() == Some(std::ffi::OsStr::new(oci::SCHEMA_FILE))) {
        extra.push(schema);
    }
    let extra: Vec<(String, Vec<u8>)> = extra
        .iter()
        .map(|p| Ok((p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), read(p)?)))
        .collect::<Result<_, String>>()?;
    let spec = oci::ImageSpec {
        name,
        version,
        wasm: &module,
        extra: extra.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect(),
    };
    let image = oci::build(&spec)?;
    oci::write_layout(out, &image, version)?;
    println!("{} {name}:{version} {}", out.display(), image.manifest.0);
    Ok(())
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::Check { config } => {
            higress_gateway::prepare(&config).and_then(|p| higress_gateway::check(&p)).map(|ok| println!("{ok}"))
        }
        Command::EnvoyConfig { config, plugin_dir, port, admin_port } => {
            envoy_config(&config, &plugin_dir, port, admin_port)
        }
        Command::Image { wasm, name, version, out, extra } => image(&wasm, &name, &version, &out, &extra),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hgw: {e}");
            ExitCode::FAILURE
        }
    }
}
