//! The authorization service for ext-auth. See `higress_e2e::auth`.

use clap::Parser;
use std::net::SocketAddr;
use std::process::ExitCode;

/// An HTTP authorization service: `Authorization: Bearer good` is allowed (200 with
/// `x-user-id` and what it received as `x-auth-seen-*`), anything else gets 401; a path with
/// `/auth-fail` gets 503, one with `/auth-slow` waits 2 s.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8083")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match higress_e2e::server::run_forever("auth-server", args.listen, higress_e2e::auth::handle) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auth-server: {e}");
            ExitCode::FAILURE
        }
    }
}
