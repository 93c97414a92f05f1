//! Query strings and percent-encoding, as plugins need them for `:path`.
//!
//! Decoding follows `application/x-www-form-urlencoded` (Go's `url.ParseQuery`): `+` is a
//! space and `%XX` a byte; an invalid escape is kept as it is rather than failing the request.

/// Splits `:path` into the path and the query (without `?`; a fragment is dropped).
pub fn split_path(path: &str) -> (&str, Option<&str>) {
    let path = path.split('#').next().unwrap_or_default();
    match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`), bytes kept as they are
/// otherwise; invalid UTF-8 is replaced.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parameters of a query string, decoded, in order (names may repeat). A parameter
/// without `=` has an empty value.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(pair, true), String::new()),
        })
        .collect()
}

/// The decoded values of parameter `name` in `:path`.
pub fn query_values(path: &str, name: &str) -> Vec<String> {
    query_values_any(path, &[name])
}

/// The decoded values, in query order, of the parameters whose name is one of `names`: one
/// pass over the query that decodes only those values (a 60 KiB query costs a few
/// instructions per byte, whatever the number of names).
pub fn query_values_any<N: AsRef<str>>(path: &str, names: &[N]) -> Vec<String> {
    let (_, query) = split_path(path);
    let mut values = Vec::new();
    for_each_param(query.unwrap_or_default(), |key, value| {
        if names.iter().any(|name| key_is(key, name.as_ref())) {
            values.push(percent_decode(value, true));
        }
    });
    values
}

/// Calls `f` with each raw (still encoded) `name` and `value` of a query string, in order;
/// empty pairs are skipped, a pair without `=` has an empty value.
pub fn for_each_param<'a>(query: &'a str, mut f: impl FnMut(&'a str, &'a str)) {
    // A plain byte scan: `str::split` costs far more per pair in wasm. `&` and `=` are ASCII,
    // so every cut is on a character boundary.
    let bytes = query.as_bytes();
    let mut start = 0;
    while start <= bytes.len() {
        let end =
            bytes.get(start..).and_then(|rest| rest.iter().position(|&b| b == b'&')).map_or(bytes.len(), |i| start + i);
        if end > start {
            let pair = query.get(start..end).unwrap_or_default();
            let (key, value) = match pair.as_bytes().iter().position(|&b| b == b'=') {
                Some(eq) => (pair.get(..eq).unwrap_or_default(), pair.get(eq + 1..).unwrap_or_default()),
                None => (pair, ""),
            };
            f(key, value);
        }
        start = end + 1;
    }
}

/// Whether the raw (encoded) parameter name `key` decodes to `name`; decodes only when the
/// key has escapes.
fn key_is(key: &str, name: &str) -> bool {
    if key.bytes().any(|b| b == b'%' || b == b'+') {
        percent_decode(key, true) == name
    } else {
        key == name
    }
}

/// `:path` without every parameter named `name` (other parameters kept byte for byte).
pub fn remove_query_param(path: &str, name: &str) -> String {
    let (base, query) = split_path(path);
    let Some(query) = query else { return base.to_string() };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !pair.is_empty() && !key_is(key, name)
        })
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("%E4%BD%A0", true), "你");
        assert_eq!(percent_decode("%ff", true), "\u{fffd}");
    }

    #[test]
    fn queries() {
        assert_eq!(split_path("/a?b=1#f"), ("/a", Some("b=1")));
        assert_eq!(split_path("/a"), ("/a", None));
        assert_eq!(
            parse_query("a=1&b&&c=x%3Dy&a=2"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), String::new()),
                ("c".to_string(), "x=y".to_string()),
                ("a".to_string(), "2".to_string()),
            ]
        );
        assert_eq!(query_values("/p?apikey=1&x=2&apikey=3", "apikey"), vec!["1", "3"]);
        assert_eq!(query_values("/p?api%6Bey=a%20b&apikey&a+b=c", "apikey"), vec!["a b", ""]);
        assert_eq!(query_values("/p?a+b=c", "a b"), vec!["c"]);
        assert!(query_values("/p", "apikey").is_empty());
    }

    #[test]
    fn params_in_order() {
        let mut seen = Vec::new();
        for_each_param("a=1&&b&c=x=y&=v&", |k, v| seen.push((k, v)));
        assert_eq!(seen, [("a", "1"), ("b", ""), ("c", "x=y"), ("", "v")]);
        let mut none = Vec::new();
        for_each_param("", |k, v| none.push((k, v)));
        assert!(none.is_empty());
    }

    #[test]
    fn removal() {
        assert_eq!(remove_query_param("/p?access_token=t&a=1&access_token=u", "access_token"), "/p?a=1");
        assert_eq!(remove_query_param("/p?access_token=t", "access_token"), "/p");
        assert_eq!(remove_query_param("/p?a=%20&b", "x"), "/p?a=%20&b");
        assert_eq!(remove_query_param("/p", "x"), "/p");
        assert_eq!(remove_query_param("/p?access%5Ftoken=t&z", "access_token"), "/p?z");
    }
}
