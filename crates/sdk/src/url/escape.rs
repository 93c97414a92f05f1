//! Encoding a query parameter, as Go's `url.QueryEscape` does, for plugins that rebuild a
//! query or a form body.

/// Appends `bytes` escaped for a query name or value: ASCII letters, digits and `-_.~` stay,
/// a space becomes `+`, every other byte `%XX` (upper-case hex, as Go writes it).
pub fn query_escape_into(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len());
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(hex_digit(b >> 4));
                out.push(hex_digit(b & 0x0f));
            }
        }
    }
}

/// The upper-case hex digit of a nibble.
fn hex_digit(nibble: u8) -> char {
    char::from(if nibble < 10 { b'0' + nibble } else { b'A' + nibble - 10 })
}
