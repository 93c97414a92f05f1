//! Bodies the gateway sends: whole (or empty), or fed frame by frame through a channel (what
//! leaves the plugin chain is streamed as it comes, so SSE works). http-body-util's types.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::combinators::MapErr;
use http_body_util::{BodyExt, Either, Full, StreamBody};
use hyper::body::Incoming;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// A frame, or an error that aborts the message.
pub type Chunk = Result<Frame<Bytes>, std::io::Error>;

/// A body of a request or response the gateway sends: made by the gateway (whole or fed
/// through a channel), or one side's body passed to the other as it is (no plugin between).
pub type GwBody = Either<Either<Full<Bytes>, StreamBody<ReceiverStream<Chunk>>>, Passthrough>;

/// A body hyper received, forwarded untouched.
pub type Passthrough = MapErr<Incoming, fn(hyper::Error) -> std::io::Error>;

/// A streamed body and the sender that feeds it.
pub fn channel() -> (mpsc::Sender<Chunk>, GwBody) {
    let (tx, rx) = mpsc::channel(32);
    (tx, Either::Left(Either::Right(StreamBody::new(ReceiverStream::new(rx)))))
}

/// A body holding `bytes` (an empty one ends at once).
pub fn full(bytes: impl Into<Bytes>) -> GwBody {
    Either::Left(Either::Left(Full::new(bytes.into())))
}

/// `body` forwarded as it arrives, trailers included.
pub fn passthrough(body: Incoming) -> GwBody {
    Either::Right(body.map_err(std::io::Error::other as fn(hyper::Error) -> std::io::Error))
}

/// No body.
pub fn empty() -> GwBody {
    full(Bytes::new())
}
