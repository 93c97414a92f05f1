//! One direction of a streamed body leaving the gateway, with backpressure that never blocks
//! the request's driver: frames go straight into the body's channel while it has room and
//! wait in a short queue otherwise; the driver stops reading from the source while the queue
//! is full and keeps serving timeouts, callouts and disconnects meanwhile.

use crate::body::{self, Chunk, GwBody};
use std::collections::VecDeque;
use tokio::sync::mpsc;

/// Frames queued before the driver stops reading from the source.
const HIGH_WATER: usize = 8;

/// The sending half of a streamed body.
#[derive(Default)]
pub struct Pipe {
    tx: Option<mpsc::Sender<Chunk>>,
    queue: VecDeque<Chunk>,
    finishing: bool,
    closed: bool,
}

impl Pipe {
    /// Opens the pipe; the returned body is what hyper sends.
    pub fn open(&mut self) -> GwBody {
        let (tx, body) = body::channel();
        *self = Pipe { tx: Some(tx), ..Pipe::default() };
        body
    }

    /// Whether frames can still be sent (open, or draining its queue).
    pub fn is_open(&self) -> bool {
        self.tx.is_some()
    }

    /// The receiver went away (the peer stopped reading).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The source should not be read until the queue drains.
    pub fn is_backed_up(&self) -> bool {
        self.queue.len() >= HIGH_WATER
    }

    /// Queues a frame (dropped when the pipe is not open).
    pub fn push(&mut self, chunk: Chunk) {
        let Some(tx) = &self.tx else { return };
        if !self.queue.is_empty() {
            self.queue.push_back(chunk);
            return;
        }
        match tx.try_send(chunk) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(chunk)) => self.queue.push_back(chunk),
            Err(mpsc::error::TrySendError::Closed(_)) => self.close(true),
        }
    }

    /// Ends the body once the queued frames are sent.
    pub fn finish(&mut self) {
        if self.queue.is_empty() {
            self.tx = None;
        } else {
            self.finishing = true;
        }
    }

    /// Drops the body now (a reset: the peer sees it end early).
    pub fn abort(&mut self) {
        self.queue.clear();
        self.tx = None;
        self.finishing = false;
    }

    fn close(&mut self, by_peer: bool) {
        self.abort();
        self.closed |= by_peer;
    }

    /// Sends the front of the queue once the channel has room, or notices that the receiver
    /// went away (then [`Pipe::is_closed`]). Pending forever when there is nothing to watch,
    /// so it can sit in a `select!`.
    pub async fn wait(&mut self) {
        let Some(tx) = self.tx.clone() else {
            return std::future::pending().await;
        };
        if self.queue.is_empty() {
            tx.closed().await;
            self.close(true);
            return;
        }
        match tx.reserve_owned().await {
            Ok(permit) => {
                if let Some(chunk) = self.queue.pop_front() {
                    permit.send(chunk);
                }
                if self.queue.is_empty() && self.finishing {
                    self.tx = None;
                    self.finishing = false;
                }
            }
            Err(_) => self.close(true),
        }
    }
}
