//! The echo upstream: answers every request with what it received, as JSON.
//! See `higress_e2e::echo` for its paths.

use clap::Parser;
use higress_e2e::echo::Echo;
use std::net::SocketAddr;
use std::process::ExitCode;

/// An HTTP upstream that answers with the method, path, headers and body it received (JSON),
/// plus /status/<code>, /slow/<ms>, /bytes/<n>, /sse/<n>[?gate=<id>] and /release/<id>.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let echo = Echo::default();
    match higress_e2e::server::run_forever("echo", args.listen, move |req| echo.clone().handle(req)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo: {e}");
            ExitCode::FAILURE
        }
    }
}
