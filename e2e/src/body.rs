//! The response body the upstreams send: whole, or streamed through a channel (SSE).
//! http-body-util's types. A streamed body can also fail ([`abort`]): hyper then drops the
//! connection without ending the body, as a server that dies mid-answer does.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{Either, Full, StreamBody};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// One chunk of a streamed body, or the error that cuts the connection.
pub type Chunk = Result<Frame<Bytes>, std::io::Error>;

/// A body: one buffer or chunks as they are produced (it ends when every sender is dropped).
pub type OutBody = Either<Full<Bytes>, StreamBody<ReceiverStream<Chunk>>>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> OutBody {
    Either::Left(Full::new(bytes.into()))
}

/// A streamed body and the sender feeding it.
pub fn channel() -> (mpsc::Sender<Chunk>, OutBody) {
    let (tx, rx) = mpsc::channel(16);
    (tx, Either::Right(StreamBody::new(ReceiverStream::new(rx))))
}

/// A chunk of `bytes`.
pub fn data(bytes: impl Into<Bytes>) -> Chunk {
    Ok(Frame::data(bytes.into()))
}

/// The end of a streamed body that is not an end: the connection is closed mid-body.
pub fn abort() -> Chunk {
    Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "closed mid-body on purpose"))
}
