//! The LLM mock (OpenAI, Anthropic, Azure OpenAI). See `higress_e2e::llm`.

use clap::Parser;
use higress_e2e::llm::LlmMock;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// OpenAI chat completions, Anthropic messages and Azure OpenAI with deterministic answers
/// (`Mock reply to: <last user message>`, tool calls for `call <tool>`, reasoning), streamed
/// (SSE) or not, with token usage. Each protocol wants its own key header (any key). Request
/// headers script failures (`x-mock-status`, `x-mock-delay-ms`, `x-mock-garbage`,
/// `x-mock-close-mid-stream`, `x-mock-error-mid-stream`); `GET /__mock/requests?tag=<t>` lists
/// the requests received with `x-mock-tag: <t>`.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8082")]
    listen: SocketAddr,
    /// Pause between streamed chunks, in milliseconds (a request can override it with
    /// `x-mock-chunk-delay-ms`).
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mock = LlmMock::new(Duration::from_millis(args.chunk_delay_ms));
    match higress_e2e::server::run_forever("llm-mock", args.listen, move |req| mock.clone().handle(req)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llm-mock: {e}");
            ExitCode::FAILURE
        }
    }
}
