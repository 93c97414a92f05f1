//! The response body the upstreams send: whole, or streamed through a channel (SSE).

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// A body: one buffer or chunks as they are produced.
pub enum OutBody {
    /// One buffer (taken when sent).
    Full(Option<Bytes>),
    /// Chunks; the body ends when every sender is dropped.
    Channel(mpsc::Receiver<Bytes>),
}

impl OutBody {
    /// A whole body.
    pub fn full(bytes: impl Into<Bytes>) -> OutBody {
        OutBody::Full(Some(bytes.into()))
    }

    /// A streamed body and the sender feeding it.
    pub fn channel() -> (mpsc::Sender<Bytes>, OutBody) {
        let (tx, rx) = mpsc::channel(16);
        (tx, OutBody::Channel(rx))
    }
}

impl Body for OutBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            OutBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            OutBody::Channel(rx) => rx.poll_recv(cx).map(|chunk| chunk.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, OutBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            OutBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            OutBody::Full(None) => SizeHint::with_exact(0),
            OutBody::Channel(_) => SizeHint::default(),
        }
    }
}
