//! The reply side: a reply in the client's protocol is passed on untouched; one in another
//! protocol is translated, whole or event by event as its stream arrives; an error reply of
//! an OpenAI-style provider to an Anthropic client is written as Anthropic's error.

mod promote;
mod stream_edit;
mod whole;

pub use stream_edit::StreamEdit;
pub use whole::on_body;

use crate::failover;
use crate::flow::{Flow, Reply};
use crate::provider::Provider;
use crate::reply;
use higress_ai::translate::{Protocol, StreamTranslator};
use higress_sdk::prelude::*;

/// Decides what to do with the reply whose headers arrived.
pub fn on_headers(http: &mut Http, provider: &Provider, flow: &mut Flow) -> HeaderAction {
    flow.reply = Reply::Untouched;
    let translates = flow.translates();
    let moves_usage = provider.spec.quirks.choice_usage && flow.upstream == Protocol::OpenAi;
    let promotes = provider.promote_thinking && !provider.original && flow.openai_chat();
    if (provider.failover.is_some() || flow.sent.is_some()) && !http.local_response_sent() && from_upstream(http) {
        let status = http.response_header(":status").unwrap_or_default();
        let status = status.trim();
        if let (Some(failover), Some(key)) = (&provider.failover, &flow.key) {
            failover.record(key, status, || failover::Endpoint {
                host: http.request_header(":authority").unwrap_or_default(),
                path: http.request_header(":path").unwrap_or_default(),
                cluster: Cluster::Route { host: None }.name(),
            });
        }
        if status != "200" && failover::retry(http, provider, flow, status) {
            // The failed reply waits for the retry's (its headers and body are held).
            return HeaderAction::StopIteration;
        }
        flow.sent = None;
    }
    if flow.embeddings.is_some() && from_upstream(http) && http.has_response_body() && !http.local_response_sent() {
        // Errors pass as the provider wrote them, as every untranslated error does.
        if http.response_header(":status").is_some_and(|s| s.trim() == "200") {
            whole(http, flow, Reply::Embeddings);
        } else {
            http.dont_read_response_body();
        }
        return HeaderAction::Continue;
    }
    // A reply in the client's protocol passes untouched whatever its status, type or origin
    // (below): nothing of it needs reading.
    if (!translates && !moves_usage && !promotes)
        || http.local_response_sent()
        || !from_upstream(http)
        || !http.has_response_body()
    {
        http.dont_read_response_body();
        return HeaderAction::Continue;
    }
    let status = http.response_header(":status").unwrap_or_default();
    if status.trim() != "200" {
        // Errors pass as they came (Higress), but a client of another protocol (Anthropic's,
        // the Responses API) gets its own error shape, with the provider's type and message.
        if translates && flow.client != Protocol::OpenAi {
            let error = Some(status.trim().parse().unwrap_or(500));
            whole(http, flow, Reply::Whole { error, promote: false });
        } else {
            http.dont_read_response_body();
        }
        return HeaderAction::Continue;
    }
    let content_type = http.response_header("content-type").unwrap_or_default().to_ascii_lowercase();
    // Bedrock streams AWS's binary event stream, translated to server-sent events.
    let event_stream = flow.upstream == Protocol::Bedrock
        && content_type.trim_start().starts_with("application/vnd.amazon.eventstream");
    let streamed = content_type.trim_start().starts_with("text/event-stream") || event_stream;
    // Bedrock names its reply only in this header; DashScope names neither id nor model.
    if flow.upstream == Protocol::Bedrock {
        flow.reply_id = http.response_header("x-amzn-requestid");
    }
    let json = content_type.contains("json") || content_type.is_empty();
    if !translates {
        if streamed && (moves_usage || promotes) {
            http.remove_response_header("content-length");
            flow.reply = Reply::Edited(Box::new(StreamEdit::new(moves_usage, promotes)));
        } else if !streamed && json && promotes {
            http.remove_response_header("content-length");
            http.buffer_response_body();
            flow.reply = Reply::Promoted;
        } else {
            http.dont_read_response_body();
        }
        return HeaderAction::Continue;
    }
    if streamed {
        http.remove_response_header("content-length");
        if event_stream {
            http.set_response_header("content-type", "text/event-stream; charset=utf-8");
        }
        let id = flow.reply_id.as_deref().unwrap_or_default();
        let translator = StreamTranslator::new(flow.upstream, flow.client, now_seconds(), true)
            .with_identity(id, flow.model.as_deref().unwrap_or_default());
        let edit = (moves_usage || promotes).then(|| Box::new(StreamEdit::new(moves_usage, promotes)));
        flow.reply = Reply::Stream(Box::new(translator), edit);
    } else if json {
        whole(http, flow, Reply::Whole { error: None, promote: promotes });
    } else {
        // Not JSON (an HTML error page from a proxy on the way): it cannot be translated, and
        // the status must say so now - it leaves before the body is read.
        let message = format!("the provider answered {content_type}, not JSON");
        log_warn!("reply not translated: {message}");
        http.set_response_header(":status", "500");
        whole(http, flow, Reply::Failed(message));
    }
    HeaderAction::Continue
}

/// The reply's body will be read whole and replaced by a JSON one. Its headers leave now
/// (proxy-wasm cannot hold a reply's headers while reading its body), so they say so now.
fn whole(http: &mut Http, flow: &mut Flow, reply: Reply) {
    http.remove_response_header("content-length");
    http.set_response_header("content-type", reply::content_type(flow.client, matches!(reply, Reply::Failed(_))));
    http.buffer_response_body();
    flow.reply = reply;
}

/// Translates (or edits) one chunk of a streamed reply (what the client gets now replaces
/// it). The edits run on the stream's OpenAI side: before translation when the provider
/// speaks OpenAI's protocol, after it when the client does.
pub fn on_chunk(http: &mut Http, flow: &mut Flow, chunk: &[u8], end_of_stream: bool) -> DataAction {
    let edits_first = flow.upstream == Protocol::OpenAi;
    match &mut flow.reply {
        Reply::Stream(translator, edit) => {
            let edited;
            let chunk = match edit.as_mut().filter(|_| edits_first) {
                Some(edit) => {
                    edited = edit.feed(chunk, end_of_stream);
                    &edited[..]
                }
                None => chunk,
            };
            let mut out = translator.feed(chunk);
            if end_of_stream {
                out.extend(translator.finish());
                if translator.dropped() > 0 || translator.malformed() > 0 {
                    log_warn!(
                        "stream translated with {} oversized and {} malformed upstream events",
                        translator.dropped(),
                        translator.malformed()
                    );
                }
            }
            if let Some(edit) = edit.as_mut().filter(|_| !edits_first) {
                out = edit.feed(&out, end_of_stream);
            }
            http.replace_response_body(&out);
        }
        Reply::Edited(edit) => {
            let out = edit.feed(chunk, end_of_stream);
            http.replace_response_body(&out);
        }
        Reply::Untouched | Reply::Whole { .. } | Reply::Promoted | Reply::Failed(_) | Reply::Embeddings => {}
    }
    DataAction::Continue
}

/// A retry's successful answer as the client gets it: its content type and body, in the
/// client's protocol (a stream translated event by event, then closed).
pub fn retried(flow: &mut Flow, content_type: &str, body: &[u8]) -> (String, Vec<u8>) {
    let streamed = content_type.trim_start().to_ascii_lowercase().starts_with("text/event-stream")
        || (flow.upstream == Protocol::Bedrock && content_type.contains("vnd.amazon.eventstream"));
    if !flow.translates() {
        return (content_type.to_string(), body.to_vec());
    }
    if streamed {
        let id = flow.reply_id.as_deref().unwrap_or_default();
        let mut translator = StreamTranslator::new(flow.upstream, flow.client, now_seconds(), true)
            .with_identity(id, flow.model.as_deref().unwrap_or_default());
        let mut out = translator.feed(body);
        out.extend(translator.finish());
        return ("text/event-stream; charset=utf-8".to_string(), out);
    }
    flow.reply = Reply::Whole { error: None, promote: false };
    let bytes = whole::translated(flow, body);
    (reply::content_type(flow.client, false).to_string(), bytes)
}

/// Why the reply is a failure a fallback may replace: a status other than 200 from the
/// provider, or the gateway's own reply when the provider timed out or could not be reached
/// (`None`: a success, or another plugin's local reply).
pub fn failure(http: &Http) -> Option<failover::Failure> {
    if http.local_response_sent() {
        return None;
    }
    let status = http.response_header(":status").unwrap_or_default().trim().to_string();
    let details = http.property_string(&["response", "code_details"]).unwrap_or_default();
    if details.is_empty() || details == "via_upstream" {
        return (status != "200").then_some(failover::Failure::Status(status));
    }
    details.starts_with("upstream_").then_some(failover::Failure::Upstream)
}

/// Whether the reply came from the upstream (not from a local reply of another plugin).
fn from_upstream(http: &Http) -> bool {
    match http.property_string(&["response", "code_details"]) {
        Some(details) => details.is_empty() || details == "via_upstream",
        None => true,
    }
}

/// The host's clock, in seconds (OpenAI's `created`).
pub fn now_seconds() -> u64 {
    higress_sdk::hostcalls::current_time_nanos().unwrap_or(0) / 1_000_000_000
}
