//! Bodies the gateway sends: empty, whole, or fed frame by frame through a channel (what
//! leaves the plugin chain is streamed as it comes, so SSE works).

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// A frame, or an error that aborts the message.
pub type Chunk = Result<Frame<Bytes>, std::io::Error>;

/// A body of a request or response the gateway sends.
pub enum GwBody {
    /// Nothing.
    Empty,
    /// One buffer.
    Full(Option<Bytes>),
    /// Frames as they come.
    Channel(mpsc::Receiver<Chunk>),
}

impl GwBody {
    /// A streamed body and the sender that feeds it.
    pub fn channel() -> (mpsc::Sender<Chunk>, GwBody) {
        let (tx, rx) = mpsc::channel(32);
        (tx, GwBody::Channel(rx))
    }

    /// A body holding `bytes`.
    pub fn full(bytes: impl Into<Bytes>) -> GwBody {
        GwBody::Full(Some(bytes.into()))
    }
}

impl Body for GwBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        match self.get_mut() {
            GwBody::Empty => Poll::Ready(None),
            GwBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            GwBody::Channel(rx) => rx.poll_recv(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            GwBody::Empty => true,
            GwBody::Full(bytes) => bytes.is_none(),
            GwBody::Channel(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GwBody::Empty => SizeHint::with_exact(0),
            GwBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            GwBody::Full(None) => SizeHint::with_exact(0),
            GwBody::Channel(_) => SizeHint::default(),
        }
    }
}
