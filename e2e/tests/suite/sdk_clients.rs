//! Real clients: the official `openai` (chat completions and the Responses API) and
//! `anthropic` Python SDKs (`e2e/clients`, pinned in its `requirements.txt`, installed into
//! `target/e2e-venv` by `make e2e-venv`, which `make e2e-local` and `make e2e` run first)
//! through ai-proxy, each against a provider of its own
//! protocol and one of the other: chat, streams, tool calls and tool results, errors. What the
//! SDKs accept, validating every reply and event against their types, is the test of the wire
//! format. The mock's journal shows which protocol the provider was spoken to in.

use crate::{gateway, llm_mock, unique};
use std::path::{Path, PathBuf};
use std::process::Command;

const OPENAI: &str = "ai-proxy-openai.e2e.local";
const CLAUDE: &str = "ai-proxy-claude.e2e.local";
const AZURE: &str = "ai-proxy-azure.e2e.local";
const DEEPSEEK: &str = "ai-proxy-deepseek.e2e.local";

/// The workspace root (this crate is `e2e/`).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The virtual environment's Python: `$E2E_VENV`, or `target/e2e-venv` of the workspace.
pub(crate) fn python() -> PathBuf {
    let venv = std::env::var_os("E2E_VENV").map(PathBuf::from).unwrap_or_else(|| root().join("target/e2e-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "{} is missing: the SDK client tests need the openai and anthropic SDKs in a virtual \
         environment - run `make e2e-venv` (make e2e-local and make e2e do it first), or point \
         E2E_VENV at one with e2e/clients/requirements.txt installed",
        python.display()
    );
    python
}

/// Runs `e2e/clients/<script>` against the gateway with `Host: <host>`, every request tagged
/// `tag`; panics with the script's whole output unless it passed.
fn run(script: &str, host: &str, tag: &str) {
    let python = python();
    let mut command = Command::new(&python);
    command
        .arg(root().join("e2e/clients").join(script))
        .args([format!("http://{}", gateway().address()).as_str(), host, "--tag", tag])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    // Loopback goes straight to the gateway; the SDKs take only the key and URL given.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().to_string();
        let upper = name.to_ascii_uppercase();
        if upper.ends_with("_PROXY") || upper.starts_with("OPENAI_") || upper.starts_with("ANTHROPIC_") {
            command.env_remove(&name);
        }
    }
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} against {host} failed ({}):\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    println!("{stdout}");
}

/// What the provider behind the route was sent: every request tagged `tag` reached it in
/// `protocol` on `path` (the path without its query).
fn provider_saw(tag: &str, protocol: &str, path: &str) {
    let entries = llm_mock().get("llm-mock", &format!("/__mock/requests?tag={tag}")).send().json();
    let entries = entries.as_array().cloned().unwrap_or_default();
    assert!(!entries.is_empty(), "the mock recorded nothing tagged {tag}");
    for entry in &entries {
        let sent_path = entry["path"].as_str().unwrap_or_default();
        let sent_path = sent_path.split('?').next().unwrap_or_default();
        assert_eq!((entry["protocol"].as_str(), sent_path), (Some(protocol), path), "{entry}");
    }
    println!("the provider got {} requests in {protocol} on {path}", entries.len());
}

#[test]
fn the_openai_sdk_through_an_openai_provider() {
    let tag = unique("sdk-openai-openai");
    run("openai_client.py", OPENAI, &tag);
    provider_saw(&tag, "openai", "/v1/chat/completions");
}

#[test]
fn the_openai_sdk_through_claude() {
    let tag = unique("sdk-openai-claude");
    run("openai_client.py", CLAUDE, &tag);
    provider_saw(&tag, "anthropic", "/v1/messages");
}

#[test]
fn the_anthropic_sdk_through_an_openai_provider() {
    let tag = unique("sdk-anthropic-openai");
    run("anthropic_client.py", OPENAI, &tag);
    provider_saw(&tag, "openai", "/v1/chat/completions");
}

#[test]
fn the_anthropic_sdk_through_claude() {
    let tag = unique("sdk-anthropic-claude");
    run("anthropic_client.py", CLAUDE, &tag);
    provider_saw(&tag, "anthropic", "/v1/messages");
}

/// Azure's streams open with a chunk of only `prompt_filter_results` (empty id and model):
/// translated for an Anthropic client all the same.
#[test]
fn the_anthropic_sdk_through_azure() {
    let tag = unique("sdk-anthropic-azure");
    run("anthropic_client.py", AZURE, &tag);
    provider_saw(&tag, "azure", "/openai/deployments/mock-deployment/chat/completions");
}

/// OpenAI's Responses API (Codex-style clients) through a provider with only a chat API:
/// translated to chat completions and back, streamed and not.
#[test]
fn the_openai_responses_sdk_through_a_chat_only_provider() {
    let tag = unique("sdk-responses-deepseek");
    run("openai_responses_client.py", DEEPSEEK, &tag);
    provider_saw(&tag, "openai", "/v1/chat/completions");
}

#[test]
fn the_openai_responses_sdk_through_claude() {
    let tag = unique("sdk-responses-claude");
    run("openai_responses_client.py", CLAUDE, &tag);
    provider_saw(&tag, "anthropic", "/v1/messages");
}

/// A provider with the Responses API gets it as the client sent it.
#[test]
fn the_openai_responses_sdk_through_openai_passes_through() {
    let tag = unique("sdk-responses-openai");
    run("openai_responses_client.py", OPENAI, &tag);
    provider_saw(&tag, "responses", "/v1/responses");
}
