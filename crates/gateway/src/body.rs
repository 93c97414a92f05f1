//! Bodies the gateway sends: whole (or empty), or fed frame by frame through a channel (what
//! leaves the plugin chain is streamed as it comes, so SSE works). http-body-util's types.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{Either, Full, StreamBody};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// A frame, or an error that aborts the message.
pub type Chunk = Result<Frame<Bytes>, std::io::Error>;

/// A body of a request or response the gateway sends.
pub type GwBody = Either<Full<Bytes>, StreamBody<ReceiverStream<Chunk>>>;

/// A streamed body and the sender that feeds it.
pub fn channel() -> (mpsc::Sender<Chunk>, GwBody) {
    let (tx, rx) = mpsc::channel(32);
    (tx, Either::Right(StreamBody::new(ReceiverStream::new(rx))))
}

/// A body holding `bytes` (an empty one ends at once).
pub fn full(bytes: impl Into<Bytes>) -> GwBody {
    Either::Left(Full::new(bytes.into()))
}

/// No body.
pub fn empty() -> GwBody {
    full(Bytes::new())
}
