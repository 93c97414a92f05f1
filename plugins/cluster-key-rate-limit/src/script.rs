//! The Redis side: one EVAL per request covers every window of the matched key.
//!
//! Each window is a fixed-window countdown, the layout Higress's Go plugin uses (so a fleet
//! mixing Go and Rust modules shares counters): the key holds the requests left, set to the
//! limit minus one with the window as its expiry on the first request. The script looks at
//! every window first and takes a request from all of them only when none is spent: a request
//! refused by one window uses no quota of the others.

use higress_sdk::redis::Value;

/// KEYS: one per window; ARGV: count and seconds of each window, in the same order. Replies
/// `{refused, count, left, ttl, count, left, ttl, ...}`.
pub const SCRIPT: &str = "\
local refused = 0
local left, ttl = {}, {}
for i = 1, #KEYS do
  ttl[i] = redis.call('ttl', KEYS[i])
  if ttl[i] < 0 then
    left[i] = tonumber(ARGV[2 * i - 1])
    ttl[i] = tonumber(ARGV[2 * i])
  else
    left[i] = tonumber(redis.call('get', KEYS[i])) or 0
  end
  if left[i] <= 0 then refused = 1 end
end
local reply = {refused}
for i = 1, #KEYS do
  local count = tonumber(ARGV[2 * i - 1])
  if refused == 0 then
    if redis.call('ttl', KEYS[i]) < 0 then
      redis.call('set', KEYS[i], count - 1, 'EX', ARGV[2 * i])
      left[i] = count - 1
    else
      left[i] = redis.call('incrby', KEYS[i], -1)
    end
  end
  table.insert(reply, count)
  table.insert(reply, left[i])
  table.insert(reply, ttl[i])
end
return reply";

/// What the script decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub refused: bool,
    /// The window to report: the spent one that resets last when refused, the one with the
    /// fewest requests left otherwise.
    pub count: i64,
    pub left: i64,
    pub reset: i64,
}

/// Reads the script's reply for `windows` windows; `None` when it is not what the script
/// returns.
pub fn outcome(reply: &Value, windows: usize) -> Option<Outcome> {
    let items = reply.as_array()?;
    let (refused, rest) = items.split_first()?;
    let refused = refused.as_integer()? != 0;
    if rest.len() != 3 * windows || windows == 0 {
        return None;
    }
    let mut report: Option<Outcome> = None;
    for window in rest.chunks_exact(3) {
        let [count, left, ttl] = window else { return None };
        let this = Outcome { refused, count: count.as_integer()?, left: left.as_integer()?, reset: ttl.as_integer()? };
        let better = match report {
            None => !refused || this.left <= 0,
            Some(best) if refused => this.left <= 0 && this.reset > best.reset,
            Some(best) => this.left < best.left,
        };
        if better {
            report = Some(this);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(items: &[i64]) -> Value {
        Value::Array(items.iter().map(|&i| Value::Integer(i)).collect())
    }

    #[test]
    fn reports_the_binding_window() {
        // Admitted: the window with the fewest requests left.
        assert_eq!(
            outcome(&reply(&[0, 10, 7, 1, 100, 3, 50]), 2),
            Some(Outcome { refused: false, count: 100, left: 3, reset: 50 })
        );
        // Refused: the spent window that resets last.
        assert_eq!(
            outcome(&reply(&[1, 10, 0, 1, 100, 40, 50, 1000, 0, 3000]), 3),
            Some(Outcome { refused: true, count: 1000, left: 0, reset: 3000 })
        );
        assert_eq!(outcome(&reply(&[0, 10, 7]), 2), None);
        assert_eq!(outcome(&reply(&[]), 1), None);
        assert_eq!(outcome(&Value::Integer(1), 1), None);
        assert_eq!(outcome(&reply(&[0, 1, 2, 3]), 0), None);
    }
}
