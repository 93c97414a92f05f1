//! What the gateway knows about one request as it goes: the API, the protocols on each
//! side, whether it streams, and how its reply is to be handled.

use crate::api::Api;
use higress_ai::translate::{Protocol, StreamTranslator};
use higress_sdk::sse::SseParser;

/// One request's state (a value per request: nothing is shared between streams).
pub struct Flow {
    /// The API called (`None`: a path the gateway does not know; host and key are still
    /// rewritten, bodies pass untouched).
    pub api: Option<Api>,
    /// The protocol the client speaks.
    pub client: Protocol,
    /// The protocol the request is sent in.
    pub upstream: Protocol,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// The model sent to the provider (after mapping), once the body is read.
    pub model: Option<String>,
    /// How the reply is handled, decided when its headers arrive.
    pub reply: Reply,
    /// The body to send, while the context file it needs is fetched.
    pub pending_body: Option<Vec<u8>>,
}

/// How a reply is handled.
#[derive(Default)]
pub enum Reply {
    /// Passed to the client untouched.
    #[default]
    Untouched,
    /// A whole body translated to the client's protocol once it is all there (`Some(status)`:
    /// an error reply).
    Whole { error: Option<u16> },
    /// A reply that cannot be translated (not JSON): its status was made 500 and its body is
    /// replaced by an error saying why.
    Failed(String),
    /// A stream translated event by event.
    Stream(Box<StreamTranslator>),
    /// An OpenAI-style stream whose chunks carry their usage inside the choice (Moonshot):
    /// moved to the chunk, where clients look.
    ChoiceUsage(SseParser),
}

impl Flow {
    /// A request to `api` in `client`'s protocol, sent in `upstream`'s.
    pub fn new(api: Option<Api>, client: Protocol, upstream: Protocol) -> Flow {
        Flow { api, client, upstream, stream: false, model: None, reply: Reply::Untouched, pending_body: None }
    }

    /// Whether the request and its reply change protocol.
    pub fn translates(&self) -> bool {
        self.client != self.upstream && matches!(self.api, Some(Api::ChatCompletion | Api::AnthropicMessages))
    }
}
