//! `e2e-stack`: starts Redis, the echo upstream, the LLM mock, the authorization service and
//! the local gateway, then either runs the e2e suite against it (`make e2e-local`) or serves
//! the demo until Ctrl-C (`make run`). Everything it started is stopped when it ends.

use clap::{Parser, Subcommand};
use higress_e2e::stack::{Stack, StackOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Runs the local stack: redis-server, echo, llm-mock, auth-server and hgw on loopback ports.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Mode,
    /// Directory for the logs (default: target/e2e-logs/<mode>).
    #[arg(long, global = true)]
    log_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Mode {
    /// Start the stack on free ports, run `cargo test -p higress-e2e --test suite` against
    /// it (GATEWAY_URL and LLM_MOCK_URL set), stop everything; the exit status is the suite's.
    Test {
        /// Gateway configuration (a YAML file or directory).
        #[arg(long, default_value = "e2e/config")]
        config: PathBuf,
        /// Extra arguments for the test binary (a test name filter, --nocapture...).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Start the stack with the gateway on --listen, print curl commands that show every
    /// plugin at work, and serve until Ctrl-C.
    Run {
        /// Gateway configuration (a YAML file or directory).
        #[arg(long, default_value = "e2e/config")]
        config: PathBuf,
        /// Gateway address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Measure the gateway under load with wrk: requests per second and p50/p99 latency for
    /// the echo upstream alone, through nginx (the reference, started here), through the
    /// gateway without plugins, and through the four auth plugins at once
    /// (e2e/bench/gateway.yaml), as ratios to nginx; then the gateway's peak memory. The paths
    /// take turns, round after round, so a change in what the machine's neighbours take from it
    /// falls on all of them alike.
    Load {
        /// Gateway configuration: `plain.bench` without plugins, `auth.bench` with the chain.
        #[arg(long, default_value = "e2e/bench")]
        config: PathBuf,
        /// Seconds per measurement of a path in one round.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Rounds: every path is measured once per round.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// Gateway worker threads.
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
    /// Wait until a gateway started elsewhere (`make e2e`: Docker Compose) proxies to the
    /// echo upstream: GET / with `Host: echo.e2e.local` answers 200.
    Wait {
        /// The gateway.
        #[arg(long, default_value = "http://127.0.0.1:10000")]
        url: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 180)]
        timeout_secs: u64,
    },
}

fn bin_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    exe.parent().map(PathBuf::from).ok_or_else(|| "cannot locate the binaries".into())
}

fn options(
    cli: &Cli,
    config: &Path,
    gateway: Option<SocketAddr>,
    mode: &str,
    delay: u64,
) -> Result<StackOptions, String> {
    if !config.exists() {
        return Err(format!("{} does not exist (run from the workspace root)", config.display()));
    }
    Ok(StackOptions {
        bin_dir: bin_dir()?,
        config: config.to_path_buf(),
        gateway,
        log_dir: cli.log_dir.clone().unwrap_or_else(|| PathBuf::from("target/e2e-logs").join(mode)),
        llm_chunk_delay_ms: delay,
        workers: 2,
        access_log: true,
    })
}

fn test(cli: &Cli, config: &Path, args: &[String]) -> Result<bool, String> {
    let options = options(cli, config, None, "local", 0)?;
    let mut stack = Stack::start(&options)?;
    stack.stop_on_signals();
    println!(
        "e2e: gateway http://{} (echo {}, llm-mock {}, auth {}, redis {})",
        stack.gateway, stack.echo, stack.llm, stack.auth, stack.redis
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["test", "-p", "higress-e2e", "--test", "suite", "--"])
        .args(args)
        .env("GATEWAY_URL", format!("http://{}", stack.gateway))
        .env("LLM_MOCK_URL", format!("http://{}", stack.llm))
        .env("GATEWAY_ADMIN_URL", format!("http://{}", stack.admin))
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let alive = stack.check_alive();
    println!("e2e: logs in {}", stack.log_dir.display());
    drop(stack);
    alive?;
    Ok(status.success())
}

fn run(cli: &Cli, config: &Path, listen: SocketAddr) -> Result<bool, String> {
    let options = options(cli, config, Some(listen), "run", 60)?;
    let requests = higress_e2e::demo::requests()?;
    let stack = Stack::start(&options)?;
    println!("\nThe local gateway is up at http://{} with every plugin of e2e/config:", stack.gateway);
    println!(
        "  echo upstream {}, LLM mock {}, auth service {}, Redis {}",
        stack.echo, stack.llm, stack.auth, stack.redis
    );
    println!("  logs (access log, plugin logs) in {}", stack.log_dir.display());
    println!(
        "  metrics (every plugin's, named as Higress's gateway names them, and the gateway's): \
         curl http://{}/stats/prometheus\n",
        stack.admin
    );
    for request in &requests {
        println!("# {} (expect {})", request.title, request.status);
        println!("{}\n", request.curl(&stack.gateway));
    }
    println!("Ctrl-C stops everything.");
    stack.stop_on_signals();
    loop {
        std::thread::park();
    }
}

/// Headers that pass key-auth, basic-auth, jwt-auth and hmac-auth of e2e/bench/gateway.yaml.
fn auth_chain_headers() -> Result<Vec<(String, String)>, String> {
    use base64::Engine;
    let token = higress_e2e::sign::jwt(
        "ed-1",
        &serde_json::json!({"iss": "https://e2e.example", "sub": "bench", "exp": higress_e2e::sign::now() + 86_400}),
    )?;
    let mut headers = vec![
        ("x-api-key".to_string(), "bench-key-1".to_string()),
        (
            "authorization".to_string(),
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("admin:123456")),
        ),
        ("x-jwt".to_string(), token),
    ];
    let signed = higress_e2e::sign::HmacRequest { method: "GET".into(), path: "/".into(), ..Default::default() };
    headers.extend(signed.sign("bench-app-key", "bench-app-secret"));
    Ok(headers)
}

fn load(cli: &Cli, config: &Path, seconds: u64, rounds: u32, connections: u32, workers: usize) -> Result<bool, String> {
    use higress_e2e::load::{cpu_seconds, memory_kib, wrk};
    let mut options = options(cli, config, None, "load", 0)?;
    options.access_log = false;
    options.workers = workers;
    let mut stack = Stack::start(&options)?;
    stack.stop_on_signals();
    let gateway = higress_e2e::client::Gateway::new(&stack.gateway);
    let auth = auth_chain_headers()?;
    // Fail fast (and warm every VM's token cache) before measuring.
    for (host, headers) in [("plain.bench", &Vec::new()), ("auth.bench", &auth)] {
        for _ in 0..4 {
            let mut request = gateway.get(host, "/");
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let reply = request.send();
            if reply.status != 200 {
                return Err(format!("{host} answered {}: {}", reply.status, reply.text()));
            }
        }
    }
    let pid = stack.pid("hgw").ok_or("no gateway process")?;
    let (_, idle) = memory_kib(pid).unwrap_or_default();
    println!(
        "wrk -t2 -c{connections} -d{seconds}s per path and round, {rounds} rounds taking turns, gateway with {workers} \
         workers ({} CPUs here); requests/s: the mean of the rounds, latency: the median round's
",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    // nginx in front of the same upstream, with as many workers: the reference proxy.
    let nginx = higress_e2e::nginx::Nginx::start(&stack.echo, workers)?;
    println!("| path | requests/s | p50 | p99 | / nginx | proxy CPU µs/request |");
    println!("|---|---:|---:|---:|---:|---:|");
    // The same gateway binary with no plugin configured at all.
    let bare_listen = format!("127.0.0.1:{}", higress_e2e::stack::free_port()?);
    let bare = stack.add_gateway("hgw-bare", Path::new("e2e/bench-bare"), &bare_listen, None, &options)?;
    let bare_pid = stack.pid("hgw-bare").ok_or("no plugin-free gateway process")?;
    let runs = [
        ("echo upstream alone (no proxy)", stack.echo.clone(), "echo", Vec::new(), None),
        (
            "nginx, proxy_pass with upstream keep-alive, forwarding headers as Envoy's",
            nginx.address.clone(),
            "plain.bench",
            Vec::new(),
            Some(nginx.pid()),
        ),
        ("gateway, no plugin", bare, "plain.bench", Vec::new(), Some(bare_pid)),
        ("gateway, four auth plugins that skip the route", stack.gateway.clone(), "plain.bench", Vec::new(), Some(pid)),
        ("gateway, key-auth + basic-auth + hmac-auth + jwt-auth", stack.gateway.clone(), "auth.bench", auth, Some(pid)),
    ];
    // Per path: each round's measurement and the proxy's CPU seconds in it.
    let mut measured: Vec<Vec<(higress_e2e::load::Measured, Option<f64>)>> = runs.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds.max(1) {
        for ((_, address, host, headers, proxy), rounds) in runs.iter().zip(&mut measured) {
            let before = proxy.and_then(cpu_seconds);
            let m = wrk(address, host, headers, seconds, connections)?;
            let used = proxy.and_then(cpu_seconds).zip(before).map(|(after, before)| after - before);
            rounds.push((m, used));
        }
    }
    let mut reference = None;
    for ((name, address, ..), rounds) in runs.iter().zip(&measured) {
        let rps = rounds.iter().map(|(m, _)| m.rps).sum::<f64>() / rounds.len().max(1) as f64;
        let mut by_rps: Vec<_> = rounds.iter().map(|(m, _)| m).collect();
        by_rps.sort_by(|a, b| a.rps.total_cmp(&b.rps));
        let median = by_rps.get(by_rps.len() / 2).copied();
        let (p50, p99) = median.map_or(("-", "-"), |m| (m.p50.as_str(), m.p99.as_str()));
        let ratio = reference.map_or("-".to_string(), |r: f64| format!("{:.2}", rps / r));
        if *address == nginx.address {
            reference = Some(rps);
        }
        // Each wrk run lasts `seconds`: its request count is its rate times that.
        let requests: f64 = rounds.iter().map(|(m, _)| m.rps * seconds as f64).sum();
        let cpu: Option<f64> = rounds.iter().map(|(_, used)| *used).sum();
        let cpu = cpu.map_or("-".to_string(), |s| format!("{:.1}", s * 1e6 / requests));
        println!("| {name} | {rps:.0} | {p50} | {p99} | {ratio} | {cpu} |");
    }
    drop(nginx);
    let (peak, now) = memory_kib(pid).unwrap_or_default();
    println!(
        "
gateway memory: {} MiB idle after start, {} MiB now, {} MiB peak (VmHWM)",
        idle / 1024,
        now / 1024,
        peak / 1024
    );
    Ok(true)
}

fn wait(url: &str, timeout: u64) -> Result<bool, String> {
    let gateway = higress_e2e::client::Gateway::new(url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout);
    loop {
        if higress_e2e::client::probe(&gateway, "echo.e2e.local", "/") == Some(200) {
            println!("e2e: {url} is up");
            return Ok(true);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("{url} did not answer 200 for Host: echo.e2e.local within {timeout} s"));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Mode::Test { config, args } => test(&cli, config, args),
        Mode::Run { config, listen } => run(&cli, config, *listen),
        Mode::Wait { url, timeout_secs } => wait(url, *timeout_secs),
        Mode::Load { config, seconds, rounds, connections, workers } => {
            load(&cli, config, *seconds, *rounds, *connections, *workers)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("e2e-stack: {e}");
            ExitCode::FAILURE
        }
    }
}
