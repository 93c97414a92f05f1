//! What the gateway knows about one request as it goes: the API, the protocols on each
//! side, whether it streams, and how its reply is to be handled.

use crate::api::Api;
use crate::failover::{Original, Pending, Sent};
use crate::response::StreamEdit;
use higress_ai::embeddings::{Embedder, EmbeddingRequest};
use higress_ai::translate::{Protocol, StreamTranslator};

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
    /// The body to send (when it changed), while Vertex's access token is fetched.
    pub waiting_body: Option<Vec<u8>>,
    /// The path of a request whose path depends on its content (DashScope's text or
    /// multimodal generation), once read.
    pub native_path: Option<&'static str>,
    /// The key the request went with (failover counts the reply against it).
    pub key: Option<String>,
    /// The request as it left, while its reply may be retried (`retryOnFailure`).
    pub sent: Option<Box<Sent>>,
    /// The client's request, while it may fall back (`fallback`).
    pub original: Option<Box<Original>>,
    /// A fallback out: what its answer is translated from.
    pub fallback: Option<Box<Pending>>,
    /// Retries made, and the keys tried (the first included).
    pub retries: u32,
    pub tried: Vec<String>,
    /// The reply's id from its headers (Bedrock's `x-amzn-requestid`), for a reply that
    /// names none in its body.
    pub reply_id: Option<String>,
    /// An OpenAI embeddings request sent to the provider's own embeddings API.
    pub embeddings: Option<Box<(Embedder, EmbeddingRequest)>>,
}

/// How a reply is handled.
#[derive(Default)]
pub enum Reply {
    /// Passed to the client untouched.
    #[default]
    Untouched,
    /// A whole body translated to the client's protocol once it is all there (`Some(status)`:
    /// an error reply; `promote`: the reasoning of an empty answer is promoted on its OpenAI
    /// side).
    Whole { error: Option<u16>, promote: bool },
    /// A whole OpenAI chat reply in the client's protocol, whose empty answers get their
    /// reasoning (`promoteThinkingOnEmpty`).
    Promoted,
    /// A reply that cannot be translated (not JSON): its status was made 500 and its body is
    /// replaced by an error saying why.
    Failed(String),
    /// A stream translated event by event, with the edits of its OpenAI side.
    Stream(Box<StreamTranslator>, Option<Box<StreamEdit>>),
    /// A stream in the client's protocol, edited event by event.
    Edited(Box<StreamEdit>),
    /// A whole embeddings reply of the provider's own API, written as OpenAI's.
    Embeddings,
}

impl Flow {
    /// A request to `api` in `client`'s protocol, sent in `upstream`'s.
    pub fn new(api: Option<Api>, client: Protocol, upstream: Protocol) -> Flow {
        Flow {
            api,
            client,
            upstream,
            stream: false,
            model: None,
            reply: Reply::Untouched,
            pending_body: None,
            waiting_body: None,
            reply_id: None,
            key: None,
            sent: None,
            original: None,
            fallback: None,
            retries: 0,
            tried: Vec::new(),
            native_path: None,
            embeddings: None,
        }
    }

    /// Whether a retry of the request is out (its failed reply waits).
    pub fn retrying(&self) -> bool {
        (self.sent.is_some() && self.retries > 0) || self.fallback.is_some()
    }

    /// Whether the request and its reply change protocol.
    pub fn translates(&self) -> bool {
        self.client != self.upstream && matches!(self.api, Some(Api::ChatCompletion | Api::AnthropicMessages))
    }

    /// Whether the reply is a chat answer in OpenAI's protocol on one side: what
    /// `promoteThinkingOnEmpty` looks at.
    pub fn openai_chat(&self) -> bool {
        self.api == Some(Api::ChatCompletion) || (self.translates() && self.upstream == Protocol::OpenAi)
    }
}
