//! A replacement template (`$1`, `$name`, `${name}`, `$$`), read once at config time as
//! `regex-lite`'s `Captures::expand` reads it on every call (and Go's `Regexp.Expand`).

use crate::{Groups, Pattern};

/// A template as text and group references, names resolved.
#[derive(Debug, Clone)]
pub struct Replacement {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Group(usize),
}

impl Replacement {
    /// `template` for matches of `pattern`: `$n` / `${n}` is group `n`, `$name` (the longest
    /// run of `[0-9A-Za-z_]`) / `${name}` the named group, `$$` a `$`; a `$` starting no
    /// reference stays as it is, and a reference to no group is replaced with nothing.
    pub fn new(template: &str, pattern: &Pattern) -> Replacement {
        let names: Vec<Option<&str>> = pattern.regex().capture_names().collect();
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(at) = rest.find('$') {
            text.push_str(rest.get(..at).unwrap_or_default());
            rest = rest.get(at..).unwrap_or_default();
            if rest.as_bytes().get(1) == Some(&b'$') {
                text.push('$');
                rest = rest.get(2..).unwrap_or_default();
                continue;
            }
            let Some((name, len)) = reference(rest) else {
                text.push('$');
                rest = rest.get(1..).unwrap_or_default();
                continue;
            };
            rest = rest.get(len..).unwrap_or_default();
            let group = name.parse::<usize>().ok().or_else(|| names.iter().position(|n| *n == Some(name)));
            if let Some(group) = group {
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Group(group));
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Replacement { pieces }
    }

    /// Appends the template for a match of `groups` in `text` to `out`.
    pub fn expand(&self, text: &str, groups: Groups<'_>, out: &mut String) {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(i) => out.push_str(groups.get(*i).and_then(|r| text.get(r)).unwrap_or_default()),
            }
        }
    }
}

/// The reference at the start of `rest` (which starts with `$`): its name and length.
fn reference(rest: &str) -> Option<(&str, usize)> {
    let body = rest.get(1..)?;
    if let Some(braced) = body.strip_prefix('{') {
        let end = braced.find('}')?;
        return Some((braced.get(..end)?, end + 3));
    }
    let end = body.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    if end == 0 {
        return None;
    }
    Some((body.get(..end)?, end + 1))
}
