//! Cookies in a `Cookie` request header (`name=value; name2=value2`), as plugins that take a
//! credential or a rate-limit key from one need them.

/// The value of cookie `name` (exact, case-sensitive name; everything after the first `=`).
pub fn value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The header without cookie `name` (other cookies kept, in order).
pub fn without(header: &str, name: &str) -> String {
    header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split_once('=').map_or(*pair, |(k, _)| k) != name)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_removal() {
        assert_eq!(value("a=1; token=abc; tokenX=zzz", "token"), Some("abc"));
        assert_eq!(value("flag; token=abc=def", "token"), Some("abc=def"));
        assert_eq!(value("", "token"), None);
        assert_eq!(value("token", "token"), None);
        assert_eq!(without("a=1; token=abc; tokenX=zzz", "token"), "a=1; tokenX=zzz");
        assert_eq!(without("token=abc", "token"), "");
    }
}
