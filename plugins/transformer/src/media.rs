//! Media-type values (`Content-Type`, a multipart part's `Content-Disposition`): the type and
//! its parameters, quoted strings included, read leniently from raw bytes.

/// The type of `value` (before the first `;`), trimmed and lower-cased, and its parameters
/// (names lower-cased, values unquoted). A parameter without `=` is skipped.
pub fn parse(value: &[u8]) -> (String, Vec<(String, Vec<u8>)>) {
    let kind = String::from_utf8_lossy(media_type(value)).to_ascii_lowercase();
    let mut params = Vec::new();
    let mut rest = value.get(media_type_end(value)..).unwrap_or_default();
    while let Some((name, param, after)) = next_param(rest) {
        if let Some(name) = name {
            params.push((name, param));
        }
        rest = after;
    }
    (kind, params)
}

/// The type of `value` as it is written (before the first `;`, trimmed): what [`parse`]
/// lower-cases, to compare without a copy (`higress_sdk::ascii::eq_ignore_case`).
pub fn media_type(value: &[u8]) -> &[u8] {
    value.get(..media_type_end(value)).unwrap_or_default().trim_ascii()
}

fn media_type_end(value: &[u8]) -> usize {
    value.iter().position(|&b| b == b';').unwrap_or(value.len())
}

/// The first parameter in `rest` (which starts at a `;` or whitespace), and what follows it;
/// `None` at the end. The name is `None` for a piece without `=`.
fn next_param(rest: &[u8]) -> Option<(Option<String>, Vec<u8>, &[u8])> {
    let start = rest.iter().position(|&b| b != b';' && !b.is_ascii_whitespace())?;
    let rest = rest.get(start..)?;
    let end_of_name = rest.iter().position(|&b| b == b'=' || b == b';').unwrap_or(rest.len());
    let name = rest.get(..end_of_name)?.trim_ascii();
    if rest.get(end_of_name) != Some(&b'=') {
        return Some((None, Vec::new(), rest.get(end_of_name..)?));
    }
    let rest = rest.get(end_of_name + 1..)?.trim_ascii_start();
    let (param, after) = if rest.first() == Some(&b'"') { quoted(rest) } else { token(rest) };
    Some((Some(String::from_utf8_lossy(name).to_ascii_lowercase()), param, after))
}

/// A quoted string at the start of `rest` (backslash escapes undone) and what follows; an
/// unterminated one runs to the end.
fn quoted(rest: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut out = Vec::new();
    let mut i = 1;
    while let Some(&b) = rest.get(i) {
        match b {
            b'"' => return (out, rest.get(i + 1..).unwrap_or_default()),
            b'\\' => {
                if let Some(&next) = rest.get(i + 1) {
                    out.push(next);
                }
                i += 2;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    (out, &[])
}

/// An unquoted value: up to the next `;`, trimmed.
fn token(rest: &[u8]) -> (Vec<u8>, &[u8]) {
    let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
    (rest.get(..end).unwrap_or_default().trim_ascii().to_vec(), rest.get(end..).unwrap_or_default())
}

/// The value of parameter `name` (lower-case) among `params`.
pub fn param<'a>(params: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn types_and_parameters() {
        let (kind, params) = parse(b" Multipart/Form-Data ; boundary=\"a;b\\\"c\"; charset=utf-8;x");
        assert_eq!(kind, "multipart/form-data");
        assert_eq!(param(&params, "boundary").unwrap(), b"a;b\"c");
        assert_eq!(param(&params, "charset").unwrap(), b"utf-8");
        assert_eq!(params.len(), 2);
        let (kind, params) = parse(b"form-data; name=k1; filename=\"a.txt\"");
        assert_eq!(kind, "form-data");
        assert_eq!(param(&params, "name").unwrap(), b"k1");
        assert_eq!(param(&params, "filename").unwrap(), b"a.txt");
        assert_eq!(parse(b"application/json").0, "application/json");
        assert_eq!(parse(b"").0, "");
        assert_eq!(media_type(b" Application/JSON ; charset=utf-8"), b"Application/JSON");
        assert_eq!(media_type(b"text/plain"), b"text/plain");
        assert_eq!(param(&parse(b"x; a=\"open").1, "a").unwrap(), b"open");
    }
}
