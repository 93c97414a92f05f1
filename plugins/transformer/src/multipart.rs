//! `multipart/form-data` bodies: the form fields as [`Pairs`], every other part (files,
//! parts without a name) kept as it came.
//!
//! Go's plugin rebuilds the body from the fields alone, in map order: files are dropped and
//! each field loses its own headers. Here a field keeps its part headers while it stays
//! under its name, and the body is rebuilt in the client's order: the parts before the first
//! field, the fields (new ones last), then the other parts.

use crate::kv::{Pairs, Val};
use crate::media;
use std::borrow::Cow;

/// A parsed multipart body, borrowing from the bytes it was read from.
pub struct Multipart<'a> {
    boundary: &'a [u8],
    /// The line break the body uses (`\r\n`, or `\n` as Go's reader also accepts).
    nl: &'static [u8],
    /// Bytes before the first boundary.
    preamble: &'a [u8],
    /// The form fields: each value's `raw` is its part's header block.
    pub fields: Pairs<'a>,
    /// Parts that are not fields, whole, with how many fields came before each.
    others: Vec<(usize, &'a [u8])>,
    /// From the `--` that closes the last boundary to the end.
    tail: &'a [u8],
}

impl<'a> Multipart<'a> {
    /// Parses `body`; `None` when it is not a complete multipart body with this boundary.
    pub fn parse(body: &'a [u8], boundary: &'a [u8]) -> Option<Multipart<'a>> {
        if boundary.is_empty() {
            return None;
        }
        let dash = [b"--".as_slice(), boundary].concat();
        let start = if body.starts_with(&dash) { 0 } else { find(body, &[b"\n".as_slice(), &dash].concat())? + 1 };
        let mut pos = start + dash.len();
        let after_first = body.get(pos..)?;
        let nl = if after_first.starts_with(b"--") { b"\r\n" } else { line_break(after_first)?.0 };
        let delimiter = [nl, &dash].concat();
        let mut form = Multipart {
            boundary,
            nl,
            preamble: body.get(..start)?,
            fields: Pairs::default(),
            others: Vec::new(),
            tail: &[],
        };
        let mut fields = Vec::new();
        loop {
            let rest = body.get(pos..)?;
            if rest.starts_with(b"--") {
                form.tail = rest;
                form.fields = fields.into_iter().collect();
                return Some(form);
            }
            let (_, after_break) = line_break(rest)?;
            let part_start = pos + after_break;
            let part_end = next_delimiter(body, part_start, &delimiter)?;
            let part = body.get(part_start..part_end)?;
            match field(part, nl) {
                Some(Field { name, head, value }) => {
                    fields
                        .push((Cow::Owned(name), Val { bytes: Cow::Borrowed(value), raw: Some(Cow::Borrowed(head)) }));
                }
                None => form.others.push((fields.len(), part)),
            }
            pos = part_end + delimiter.len();
        }
    }

    /// The body, rebuilt with the fields as they are now.
    pub fn encode(&self) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let before_fields = self.others.iter().take_while(|(fields, _)| *fields == 0);
        parts.extend(before_fields.clone().map(|(_, part)| part.to_vec()));
        for entry in self.fields.entries() {
            for value in &entry.values {
                let head = match &value.raw {
                    Some(head) => head.to_vec(),
                    None => disposition(&entry.key),
                };
                let mut part = head;
                if !part.is_empty() {
                    part.extend_from_slice(self.nl);
                }
                part.extend_from_slice(self.nl);
                part.extend_from_slice(&value.bytes);
                parts.push(part);
            }
        }
        parts.extend(self.others.iter().skip(before_fields.count()).map(|(_, part)| part.to_vec()));
        let mut out = self.preamble.to_vec();
        for part in parts {
            out.extend_from_slice(b"--");
            out.extend_from_slice(self.boundary);
            out.extend_from_slice(self.nl);
            out.extend_from_slice(&part);
            out.extend_from_slice(self.nl);
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(self.boundary);
        out.extend_from_slice(self.tail);
        out
    }
}

/// Where `needle` first starts in `haystack`, in linear time whatever the body holds (a
/// naive search on a body of dashes would cost its length times the boundary's).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// The line break after a boundary (optional spaces and tabs first): it and where the line ends.
fn line_break(rest: &[u8]) -> Option<(&'static [u8], usize)> {
    let pad = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let rest = rest.get(pad..)?;
    if rest.starts_with(b"\r\n") {
        Some((b"\r\n", pad + 2))
    } else if rest.starts_with(b"\n") {
        Some((b"\n", pad + 1))
    } else {
        None
    }
}

/// The next delimiter at or after `from`: a line break, `--boundary`, then `--` or the end
/// of the line (the same text inside a part, followed by anything else, is content).
fn next_delimiter(body: &[u8], from: usize, delimiter: &[u8]) -> Option<usize> {
    let mut at = from;
    loop {
        let found = at + find(body.get(at..)?, delimiter)?;
        let after = body.get(found + delimiter.len()..)?;
        if after.starts_with(b"--") || line_break(after).is_some() {
            return Some(found);
        }
        at = found + 1;
    }
}

/// A part that is a form field.
struct Field<'a> {
    name: Vec<u8>,
    /// The part's header block.
    head: &'a [u8],
    value: &'a [u8],
}

/// The part as a form field: its `Content-Disposition` is `form-data` with a `name` and no
/// `filename` (Go's `FormName` without `FileName`).
fn field<'a>(part: &'a [u8], nl: &[u8]) -> Option<Field<'a>> {
    let (head, value) = if part.starts_with(nl) {
        (&[][..], part.get(nl.len()..)?)
    } else {
        let blank = [nl, nl].concat();
        let end = find(part, &blank)?;
        (part.get(..end)?, part.get(end + blank.len()..)?)
    };
    let disposition = head
        .split(|&b| b == b'\n')
        .filter_map(split_colon)
        .find(|(name, _)| name.trim_ascii().eq_ignore_ascii_case(b"content-disposition"))?
        .1;
    let (kind, params) = media::parse(disposition);
    let is_file = media::param(&params, "filename").is_some() || media::param(&params, "filename*").is_some();
    let name = media::param(&params, "name").filter(|n| !n.is_empty())?;
    (kind == "form-data" && !is_file).then(|| Field { name: name.to_vec(), head, value })
}

/// `Content-Disposition` for a field the plugin made, its name escaped as Go's `WriteField`.
fn disposition(name: &[u8]) -> Vec<u8> {
    let mut head = b"Content-Disposition: form-data; name=\"".to_vec();
    for &b in name {
        if b == b'"' || b == b'\\' {
            head.push(b'\\');
        }
        head.push(b);
    }
    head.push(b'"');
    head
}

/// A header line split at its first colon.
fn split_colon(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    Some((line.get(..colon)?, line.get(colon + 1..)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const BOUNDARY: &[u8] = b"--------------------------962785348548682888818907";

    fn go_body() -> Vec<u8> {
        b"----------------------------962785348548682888818907\r\nContent-Disposition: form-data; name=\"k1\"\r\n\r\nv11\r\n----------------------------962785348548682888818907\r\nContent-Disposition: form-data; name=\"k1\"\r\n\r\nv12\r\n----------------------------962785348548682888818907\r\nContent-Disposition: form-data; name=\"k2\"\r\n\r\nv2\r\n----------------------------962785348548682888818907--\r\n".to_vec()
    }

    #[test]
    fn go_unit_test_body() {
        let body = go_body();
        let form = Multipart::parse(&body, BOUNDARY).unwrap();
        let k1: Vec<&[u8]> = form.fields.get(b"k1").unwrap().iter().map(|v| v.bytes.as_ref()).collect();
        assert_eq!(k1, [b"v11", b"v12"]);
        assert_eq!(form.fields.get(b"k2").unwrap()[0].bytes.as_ref(), b"v2");
        assert_eq!(form.encode(), body, "an untouched form is rebuilt byte for byte");
    }

    #[test]
    fn files_stay_and_new_fields_are_written_as_go_writes_them() {
        let body = b"pre\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\n--bX is content\r\n--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--b--\r\nepilogue";
        let mut form = Multipart::parse(body, b"b").unwrap();
        assert_eq!(form.fields.get(b"k").unwrap()[0].bytes.as_ref(), b"v");
        assert_eq!(form.others.len(), 1);
        form.fields.append(b"n\"q", b"new");
        let out = String::from_utf8(form.encode()).unwrap();
        assert_eq!(
            out,
            "pre\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\n--bX is content\r\n--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--b\r\nContent-Disposition: form-data; name=\"n\\\"q\"\r\n\r\nnew\r\n--b--\r\nepilogue"
        );
    }

    #[test]
    fn malformed_bodies() {
        assert!(Multipart::parse(b"no boundary here", b"b").is_none());
        assert!(Multipart::parse(b"--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv", b"b").is_none());
        assert!(Multipart::parse(b"--b\r\n", b"").is_none());
        assert!(Multipart::parse(b"--bX\r\n", b"b").is_none());
        let lf = Multipart::parse(b"--b\nContent-Disposition: form-data; name=k\n\nv\n--b--\n", b"b").unwrap();
        assert_eq!(lf.fields.get(b"k").unwrap()[0].bytes.as_ref(), b"v");
        let empty = Multipart::parse(b"--b--\r\n", b"b").unwrap();
        assert!(empty.fields.entries().is_empty());
    }
}
