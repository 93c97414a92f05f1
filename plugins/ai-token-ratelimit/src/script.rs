//! The Redis side, in the layout of Higress's Go plugin (a fleet mixing Go and Rust modules
//! shares the counters): each window's key holds the tokens left, set to the limit with the
//! window as its expiry by the first request, and lowered by each reply's tokens. A request
//! is refused while a window of its key is overdrawn (tokens are known only after the reply,
//! so a window can go below zero).

use higress_sdk::redis::Value;

/// At the request: KEYS one per window, ARGV count and seconds of each. Replies
/// `{refused, count, left, ttl, ...}`.
pub const CHECK: &str = "\
local refused = 0
local reply = {0}
for i = 1, #KEYS do
  local count = tonumber(ARGV[2 * i - 1])
  local ttl = redis.call('ttl', KEYS[i])
  local left
  if ttl < 0 then
    redis.call('set', KEYS[i], count, 'EX', ARGV[2 * i])
    left = count
    ttl = tonumber(ARGV[2 * i])
  else
    left = tonumber(redis.call('get', KEYS[i])) or count
  end
  if left < 0 then refused = 1 end
  table.insert(reply, count)
  table.insert(reply, left)
  table.insert(reply, ttl)
end
reply[1] = refused
return reply";

/// At the end of the reply: KEYS one per window, ARGV count and seconds of each, then the
/// tokens to take.
pub const SPEND: &str = "\
local tokens = tonumber(ARGV[#ARGV])
for i = 1, #KEYS do
  if redis.call('ttl', KEYS[i]) < 0 then
    redis.call('set', KEYS[i], tonumber(ARGV[2 * i - 1]) - tokens, 'EX', ARGV[2 * i])
  else
    redis.call('decrby', KEYS[i], tokens)
  end
end
return #KEYS";

/// Whether the request is refused, and when the overdrawn window that resets last does
/// (`None`: the reply is not what [`CHECK`] returns).
pub fn refusal(reply: &Value, windows: usize) -> Option<(bool, i64)> {
    let items = reply.as_array()?;
    let (refused, rest) = items.split_first()?;
    if rest.len() != 3 * windows || windows == 0 {
        return None;
    }
    let refused = refused.as_integer()? != 0;
    let mut reset = 0;
    for window in rest.chunks_exact(3) {
        let [_, left, ttl] = window else { return None };
        let (left, ttl) = (left.as_integer()?, ttl.as_integer()?);
        if left < 0 {
            reset = reset.max(ttl);
        }
    }
    Some((refused, reset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(items: &[i64]) -> Value {
        Value::Array(items.iter().map(|&i| Value::Integer(i)).collect())
    }

    #[test]
    fn refusals() {
        assert_eq!(refusal(&reply(&[0, 100, 40, 30]), 1), Some((false, 0)));
        assert_eq!(refusal(&reply(&[1, 100, -5, 30, 1000, -1, 3000]), 2), Some((true, 3000)));
        assert_eq!(refusal(&reply(&[1, 100, 5, 30]), 2), None);
        assert_eq!(refusal(&Value::Integer(3), 1), None);
    }
}
