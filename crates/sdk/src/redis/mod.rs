//! Redis over Higress's hostcalls (wasm-go's `RedisClusterClient`).
//!
//! The host owns the connection: `init` declares the cluster with credentials, database and
//! buffering options; each command is one RESP-encoded array sent with `proxy_redis_call`,
//! and the raw reply comes back to the callback, decoded here. A `NOAUTH` reply makes the
//! client initialise again and retry the command once.

mod client;
mod config;
mod outage;

pub use client::{RedisClient, RedisCommand, RedisOptions, SetOptions};
pub use config::RedisConfig;
pub use higress_abi::resp::Value;
pub use outage::Outage;

use higress_abi::Status;
use std::fmt;

/// The outcome of a Redis command.
pub type RedisResult = Result<Value, RedisError>;

/// Why a Redis command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisError {
    /// The host could not reach Redis (refused, timed out, closed): status 1.
    Network,
    /// Redis answered with an error reply (`ERR ...`, `NOAUTH ...`, `WRONGTYPE ...`).
    Server(String),
    /// The reply was not valid RESP.
    Malformed(String),
    /// The host refused the call (not initialised, unknown cluster).
    Dispatch(Status),
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisError::Network => f.write_str("cannot connect to the redis cluster"),
            RedisError::Server(message) => write!(f, "redis error: {message}"),
            RedisError::Malformed(why) => write!(f, "cannot read the redis reply: {why}"),
            RedisError::Dispatch(status) => write!(f, "the host refused the redis call: {status}"),
        }
    }
}

impl std::error::Error for RedisError {}

/// Decodes the reply buffer of a callback into a result.
pub(crate) fn decode_reply(status: u32, reply: Option<&[u8]>) -> RedisResult {
    if status != 0 {
        return Err(RedisError::Network);
    }
    let reply = reply.ok_or_else(|| RedisError::Malformed("empty reply".into()))?;
    match higress_abi::resp::decode_exact(reply) {
        Ok(Value::Error(message)) => Err(RedisError::Server(message)),
        Ok(value) => Ok(value),
        Err(e) => Err(RedisError::Malformed(e.to_string())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn replies_decode_to_results() {
        assert_eq!(decode_reply(0, Some(b":3\r\n")), Ok(Value::Integer(3)));
        assert_eq!(decode_reply(1, None), Err(RedisError::Network));
        assert_eq!(
            decode_reply(0, Some(b"-NOAUTH Authentication required.\r\n")),
            Err(RedisError::Server("NOAUTH Authentication required.".into()))
        );
        assert!(matches!(decode_reply(0, Some(b"$5\r\nab")), Err(RedisError::Malformed(_))));
        assert!(matches!(decode_reply(0, None), Err(RedisError::Malformed(_))));
    }
}
