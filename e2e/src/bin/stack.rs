//! `e2e-stack`: starts Redis, the echo upstream, the LLM mock and the local gateway, then
//! either runs the e2e suite against it (`make e2e-local`) or serves the demo until Ctrl-C
//! (`make run`). Everything it started is stopped when it ends.

use clap::{Parser, Subcommand};
use higress_e2e::stack::{Stack, StackOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// Runs the local stack: redis-server, echo, llm-mock and hgw on loopback ports.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Mode,
    /// Gateway configuration (a YAML file or directory).
    #[arg(long, global = true, default_value = "e2e/config")]
    config: PathBuf,
    /// Directory for the logs (default: target/e2e-logs/<mode>).
    #[arg(long, global = true)]
    log_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Mode {
    /// Start the stack on free ports, run `cargo test -p higress-e2e --test suite` against
    /// it (GATEWAY_URL set), stop everything; the exit status is the suite's.
    Test {
        /// Extra arguments for the test binary (a test name filter, --nocapture...).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Start the stack with the gateway on --listen, print curl commands that show every
    /// plugin at work, and serve until Ctrl-C.
    Run {
        /// Gateway address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
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

fn options(cli: &Cli, gateway: Option<SocketAddr>, mode: &str, delay: u64) -> Result<StackOptions, String> {
    if !cli.config.exists() {
        return Err(format!("{} does not exist (run from the workspace root)", cli.config.display()));
    }
    Ok(StackOptions {
        bin_dir: bin_dir()?,
        config: cli.config.clone(),
        gateway,
        log_dir: cli.log_dir.clone().unwrap_or_else(|| PathBuf::from("target/e2e-logs").join(mode)),
        llm_chunk_delay_ms: delay,
        workers: 2,
    })
}

fn test(cli: &Cli, args: &[String]) -> Result<bool, String> {
    let options = options(cli, None, "local", 0)?;
    let mut stack = Stack::start(&options)?;
    println!(
        "e2e: gateway http://{} (echo {}, llm-mock {}, redis {})",
        stack.gateway, stack.echo, stack.llm, stack.redis
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["test", "-p", "higress-e2e", "--test", "suite", "--"])
        .args(args)
        .env("GATEWAY_URL", format!("http://{}", stack.gateway))
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let alive = stack.check_alive();
    println!("e2e: logs in {}", stack.log_dir.display());
    drop(stack);
    alive?;
    Ok(status.success())
}

fn run(cli: &Cli, listen: SocketAddr) -> Result<bool, String> {
    let options = options(cli, Some(listen), "run", 60)?;
    let requests = higress_e2e::demo::requests()?;
    let stack = Stack::start(&options)?;
    println!("\nThe local gateway is up at http://{} with every plugin of e2e/config:", stack.gateway);
    println!("  echo upstream {}, LLM mock {}, Redis {}", stack.echo, stack.llm, stack.redis);
    println!("  logs (access log, plugin logs) in {}\n", stack.log_dir.display());
    for request in &requests {
        println!("# {} (expect {})", request.title, request.status);
        println!("{}\n", request.curl(&stack.gateway));
    }
    println!("Ctrl-C stops everything.");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    println!("\nstopping");
    drop(stack);
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
        Mode::Test { args } => test(&cli, args),
        Mode::Run { listen } => run(&cli, *listen),
        Mode::Wait { url, timeout_secs } => wait(url, *timeout_secs),
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
