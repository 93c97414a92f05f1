//! The stream fast paths' JSON: a scanner that reads a stream event's data in one pass
//! without building a `serde_json::Value` (no map, no key or value allocated unless a string
//! has escapes), and a writer of JSON strings byte for byte as serde_json writes them.
//!
//! The scanner checks everything it passes over, so a text it accepts is one serde_json
//! accepts too, with the same values. It is deliberately narrower than serde_json: escaped
//! keys, numbers with an exponent, nesting deeper than [`MAX_DEPTH`] and lone surrogates
//! make it give up (`None`), and the caller then takes the general path, which reads the
//! text with serde_json (and names what is wrong with it, if anything is).

use higress_sdk::scan;
use std::borrow::Cow;
use std::ops::Range;

/// Deepest nesting the scanner follows (serde_json's limit is 128).
const MAX_DEPTH: usize = 64;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    /// A string without escapes.
    Str,
    /// A string with escapes (checked, not yet decoded).
    Escaped,
    /// An object's key (a string without escapes), followed by its value's tokens.
    Key,
    Number,
    True,
    False,
    Null,
}

/// One value (or object key) of the text, in document order.
#[derive(Debug, Clone, Copy)]
pub struct Token {
    kind: Kind,
    /// Where it starts in the text (a string: at its opening quote).
    start: u32,
    /// Where it ends (a string: after its closing quote; an object: after its `}`).
    end: u32,
    /// The index of the token after it (an object or array: after its last member).
    next: u32,
}

impl Token {
    /// What it is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Its bytes in the text (a string's with its quotes).
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// A string's bytes between its quotes (anything else: its bytes).
    fn inner(&self) -> Range<usize> {
        match self.kind {
            Kind::Str | Kind::Escaped | Kind::Key => self.start as usize + 1..(self.end as usize).saturating_sub(1),
            _ => self.range(),
        }
    }
}

/// A JSON text read into tokens in one pass, every byte checked; then looked into by token
/// index (0 is the whole text's value). Object members are a key token (a string without
/// escapes) followed by the value's tokens.
#[derive(Clone, Copy)]
pub struct Json<'t> {
    text: &'t [u8],
    tokens: &'t [Token],
}

impl<'t> Json<'t> {
    /// Reads `text` (whitespace around its value allowed) into `tokens` (cleared first; a
    /// buffer kept from one event to the next costs no allocation). `None` when serde_json
    /// would refuse the text, or the scanner does not take it (see the module's notes).
    pub fn parse(text: &'t [u8], tokens: &'t mut Vec<Token>) -> Option<Json<'t>> {
        tokens.clear();
        // Room for a token every dozen bytes or so at once: growing a step at a time costs
        // several reallocations.
        tokens.reserve(text.len() / 12 + 4);
        let bytes = text;
        // The token index of each open object or array.
        let mut open = [0u32; MAX_DEPTH];
        let mut objects = 0u64;
        let mut depth = 0usize;
        let mut i = skip_ws(bytes, 0);
        'value: loop {
            // A value starts at `i`.
            let at = u32::try_from(i).ok()?;
            let first = *bytes.get(i)?;
            let kind = match first {
                b'{' | b'[' => {
                    let kind = if first == b'{' { Kind::Object } else { Kind::Array };
                    *open.get_mut(depth)? = u32::try_from(tokens.len()).ok()?;
                    // Bit `depth` set: an object there.
                    objects = (objects & !(1 << depth)) | (u64::from(first == b'{') << depth);
                    depth += 1;
                    tokens.push(Token { kind, start: at, end: 0, next: 0 });
                    i = skip_ws(bytes, i + 1);
                    let close = if first == b'{' { b'}' } else { b']' };
                    if bytes.get(i) != Some(&close) {
                        if first == b'{' {
                            i = key(bytes, i, tokens)?;
                        }
                        continue 'value;
                    }
                    // Empty: closed at once below.
                    None
                }
                b'"' => {
                    let (end, escaped) = string_end(bytes, i)?;
                    i = end + 1;
                    let kind = if escaped { Kind::Escaped } else { Kind::Str };
                    Some(Token { kind, start: at, end: u32::try_from(i).ok()?, next: 0 })
                }
                b'-' | b'0'..=b'9' => {
                    i = number_end(bytes, i)?;
                    Some(Token { kind: Kind::Number, start: at, end: u32::try_from(i).ok()?, next: 0 })
                }
                b't' | b'f' | b'n' => {
                    let (word, kind): (&[u8], Kind) = match first {
                        b't' => (b"true", Kind::True),
                        b'f' => (b"false", Kind::False),
                        _ => (b"null", Kind::Null),
                    };
                    if bytes.get(i..i + word.len())? != word {
                        return None;
                    }
                    i += word.len();
                    Some(Token { kind, start: at, end: u32::try_from(i).ok()?, next: 0 })
                }
                _ => return None,
            };
            let mut closing = kind.is_none();
            if let Some(mut token) = kind {
                token.next = u32::try_from(tokens.len() + 1).ok()?;
                tokens.push(token);
            }
            // After a value: close what ends here, or go on to the next value.
            loop {
                if closing {
                    closing = false;
                    let top = depth.checked_sub(1)?;
                    let index = *open.get(top)? as usize;
                    let next = u32::try_from(tokens.len()).ok()?;
                    let container = tokens.get_mut(index)?;
                    container.next = next;
                    container.end = u32::try_from(i + 1).ok()?;
                    depth = top;
                    i += 1;
                }
                i = skip_ws(bytes, i);
                let Some(top) = depth.checked_sub(1) else { break 'value };
                let container = if objects >> top & 1 == 1 { Kind::Object } else { Kind::Array };
                match (bytes.get(i), container) {
                    (Some(b','), Kind::Object) => {
                        i = key(bytes, skip_ws(bytes, i + 1), tokens)?;
                        continue 'value;
                    }
                    (Some(b','), _) => {
                        i = skip_ws(bytes, i + 1);
                        continue 'value;
                    }
                    (Some(b'}'), Kind::Object) | (Some(b']'), Kind::Array) => closing = true,
                    _ => return None,
                }
            }
        }
        (i == bytes.len()).then_some(Json { text, tokens })
    }

    /// `text` with the tokens [`Json::parse`] read of it (kept, and kept up to date, by the
    /// caller: read with other tokens, the answers are wrong, though nothing panics).
    pub fn of(text: &'t [u8], tokens: &'t [Token]) -> Json<'t> {
        Json { text, tokens }
    }

    /// The token at `index`.
    pub fn token(&self, index: usize) -> Option<Token> {
        self.tokens.get(index).copied()
    }

    /// The bytes at `range` of the text.
    pub fn text(&self, range: Range<usize>) -> Option<&'t [u8]> {
        self.text.get(range)
    }

    /// The index of the token that starts at byte `position`.
    pub fn at(&self, position: usize) -> Option<usize> {
        let position = u32::try_from(position).ok()?;
        self.tokens.binary_search_by_key(&position, |token| token.start).ok()
    }

    /// The index after the value at `index` (and everything in it).
    fn after(&self, index: usize) -> usize {
        self.token(index).map_or(index + 1, |token| token.next as usize)
    }

    /// The members of the object at `index` (key, value index), in order; `None` when the
    /// value there is no object.
    pub fn members(&self, index: usize) -> Option<impl Iterator<Item = (&'t [u8], usize)> + '_> {
        let token = self.token(index).filter(|t| t.kind == Kind::Object)?;
        let mut at = index + 1;
        Some(std::iter::from_fn(move || {
            if at >= token.next as usize {
                return None;
            }
            let key = self.token(at)?;
            let name = self.text.get(key.inner())?;
            let value = at + 1;
            at = self.after(value);
            Some((name, value))
        }))
    }

    /// The elements of the array at `index` (value indexes), in order; `None` when the value
    /// there is no array.
    pub fn elements(&self, index: usize) -> Option<impl Iterator<Item = usize> + '_> {
        let token = self.token(index).filter(|t| t.kind == Kind::Array)?;
        let mut at = index + 1;
        Some(std::iter::from_fn(move || {
            if at >= token.next as usize {
                return None;
            }
            let value = at;
            at = self.after(value);
            Some(value)
        }))
    }

    /// Which fields the object at `index` has of those `names` names (the value's index of
    /// each); `None` when there is no object there, or it has one of them twice (serde_json
    /// keeps the last: which one counts is the general path's to say).
    pub fn fields<const N: usize>(&self, index: usize, names: [&[u8]; N]) -> Option<[Option<usize>; N]> {
        let mut found = [None; N];
        for (key, at) in self.members(index)? {
            if let Some(slot) = names.iter().position(|name| *name == key).and_then(|i| found.get_mut(i)) {
                if slot.replace(at).is_some() {
                    return None;
                }
            }
        }
        Some(found)
    }

    /// Whether the value at `index` is `null`.
    pub fn is_null(&self, index: usize) -> bool {
        self.token(index).is_some_and(|t| t.kind == Kind::Null)
    }

    /// The string at `index`, unescaped; `None` for anything else (or a lone surrogate).
    pub fn str(&self, index: usize) -> Option<Cow<'t, str>> {
        let token = self.token(index)?;
        let escaped = match token.kind {
            Kind::Str => false,
            Kind::Escaped => true,
            _ => return None,
        };
        text(self.text, token.inner(), escaped)
    }

    /// The string or `null` at `index` (`Some(None)` for `null`); `None` for anything else.
    pub fn opt_str(&self, index: usize) -> Option<Option<Cow<'t, str>>> {
        if self.is_null(index) {
            return Some(None);
        }
        self.str(index).map(Some)
    }

    /// The non-negative integer at `index`, written as one (no sign, fraction or exponent).
    pub fn u64(&self, index: usize) -> Option<u64> {
        let token = self.token(index).filter(|t| t.kind == Kind::Number)?;
        let digits = self.text.get(token.range())?;
        let mut n: u64 = 0;
        for &digit in digits {
            if !digit.is_ascii_digit() {
                return None;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
        }
        Some(n)
    }
}

/// Tokens kept up to date with a text edited in place: `range` of the text replaced by
/// `with`. A scalar value replaced by a scalar keeps every token (those after it moved, the
/// objects and arrays around it longer or shorter); `None` for any other change (the caller
/// reads the text again, or scans it), the tokens then unusable.
pub fn replaced(tokens: &mut [Token], range: Range<usize>, with: &[u8]) -> Option<()> {
    // What `with` is, if it is one scalar (as the tokenizer reads one, without whitespace).
    let kind = match with.first() {
        Some(b'"') => match string_end(with, 0) {
            Some((end, escaped)) if end + 1 == with.len() => {
                if escaped {
                    Kind::Escaped
                } else {
                    Kind::Str
                }
            }
            _ => return None,
        },
        Some(b'-' | b'0'..=b'9') if number_end(with, 0) == Some(with.len()) => Kind::Number,
        _ => match with {
            b"true" => Kind::True,
            b"false" => Kind::False,
            b"null" => Kind::Null,
            // Not a value (an inserted member, a removal), or not one scalar.
            _ => return None,
        },
    };
    if range.is_empty() {
        return None;
    }
    let (start, end) = (u32::try_from(range.start).ok()?, u32::try_from(range.end).ok()?);
    let len = u32::try_from(with.len()).ok()?;
    let index = tokens.binary_search_by_key(&start, |token| token.start).ok()?;
    tokens.get(index).filter(|t| t.end == end && !matches!(t.kind, Kind::Object | Kind::Array | Kind::Key))?;
    let shift = |at: u32| -> Option<u32> { at.checked_sub(end)?.checked_add(start)?.checked_add(len) };
    for token in tokens.iter_mut() {
        if token.start >= end {
            token.start = shift(token.start)?;
            token.end = shift(token.end)?;
        } else if token.end >= end && token.start < start {
            token.end = shift(token.end)?;
        }
    }
    let token = tokens.get_mut(index)?;
    token.kind = kind;
    token.end = start.checked_add(len)?;
    Some(())
}

/// What a [`Template`]'s variable value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Str,
    Number,
}

/// An event's data taken as the shape of the events after it: most events of a stream are
/// the same bytes but for the text they carry (and, with some providers, a value nobody
/// reads, such as a per-event id or OpenAI's `obfuscation` padding). A template keeps the
/// bytes the decoder reads and marks the values that may differ: the text, and the strings
/// and numbers of keys the decoder does not read (wherever they are). An event that matches it - the same bytes
/// around values of the same kinds, each checked as the tokenizer checks it - decodes to what
/// the template's event decoded to, with its own text; a match costs a comparison of the
/// bytes eight at a time and a scan of the variable values, not a tokenization.
#[derive(Debug, Default)]
pub(crate) struct Template {
    bytes: Vec<u8>,
    /// Each fixed run of `bytes` and the variable value after it, in order.
    parts: Vec<(Range<usize>, Slot)>,
    /// The fixed run after the last variable value.
    tail: Range<usize>,
    /// Which variable value is the text.
    text: usize,
    /// Where the text is in `bytes`.
    text_at: Range<usize>,
    /// Whether the values besides the text stayed the same so far: the events are then
    /// compared as they are but for their text, in two runs rather than one per value.
    same_values: bool,
}

impl Template {
    /// The template of `json`, whose events were made of the string at token `text` alone;
    /// `read` says which keys the decoder reads (at any depth: their values stay fixed; the
    /// scalars of others may vary, those in arrays excepted).
    pub(crate) fn new(json: &Json, text: usize, read: impl Fn(&[u8]) -> bool) -> Option<Template> {
        // The strings and numbers of keys the decoder does not read, and the text, in order.
        let mut slots = Vec::new();
        let mut previous = None;
        for (index, token) in json.tokens.iter().enumerate() {
            let free = matches!(token.kind, Kind::Str | Kind::Escaped | Kind::Number)
                && previous.is_some_and(|key: &Token| {
                    key.kind == Kind::Key && !read(json.text.get(key.inner()).unwrap_or_default())
                });
            if free || index == text {
                slots.push(index);
            }
            previous = Some(token);
        }
        let bytes = json.text;
        let mut parts = Vec::with_capacity(slots.len());
        let mut last = 0;
        let mut text_slot = None;
        for (i, &slot) in slots.iter().enumerate() {
            let token = json.token(slot)?;
            let kind = match token.kind {
                Kind::Str | Kind::Escaped => Slot::Str,
                Kind::Number => Slot::Number,
                _ => return None,
            };
            if slot == text {
                text_slot = Some((i, token.inner()));
            }
            let value = token.inner();
            parts.push((last..value.start, kind));
            last = value.end;
        }
        let (text, text_at) = text_slot?;
        Some(Template { bytes: bytes.to_vec(), parts, tail: last..bytes.len(), text, text_at, same_values: true })
    }

    /// The text of `data` if `data` matches the template (see [`Template`]).
    pub(crate) fn text<'d>(&mut self, data: &'d [u8]) -> Option<Cow<'d, str>> {
        if self.same_values {
            if let Some(text) = self.same_but_text(data) {
                return Some(text);
            }
            self.same_values = false;
        }
        self.with_values(data)
    }

    /// The text of `data` if `data` is the template's bytes but for its text.
    fn same_but_text<'d>(&self, data: &'d [u8]) -> Option<Cow<'d, str>> {
        let bytes = data;
        let before = self.bytes.get(..self.text_at.start)?;
        let after = self.bytes.get(self.text_at.end..)?;
        if !scan::equal(bytes.get(..before.len())?, before) {
            return None;
        }
        let (end, escaped) = string_end(bytes, before.len().checked_sub(1)?)?;
        if !scan::equal(bytes.get(end..)?, after) {
            return None;
        }
        text(data, before.len()..end, escaped)
    }

    /// The text of `data` if `data` matches the template, values and all.
    fn with_values<'d>(&self, data: &'d [u8]) -> Option<Cow<'d, str>> {
        let bytes = data;
        let mut at = 0;
        let mut text = None;
        for (i, (fixed, slot)) in self.parts.iter().enumerate() {
            let fixed = self.bytes.get(fixed.clone())?;
            if !scan::equal(bytes.get(at..at + fixed.len())?, fixed) {
                return None;
            }
            at += fixed.len();
            let end = match slot {
                // The fixed run ends with the string's opening quote.
                Slot::Str => {
                    let (end, escaped) = string_end(bytes, at.checked_sub(1)?)?;
                    if i == self.text {
                        text = Some((at..end, escaped));
                    }
                    end
                }
                Slot::Number => number_end(bytes, at)?,
            };
            at = end;
        }
        let tail = self.bytes.get(self.tail.clone())?;
        if bytes.len() != at + tail.len() || !scan::equal(bytes.get(at..)?, tail) {
            return None;
        }
        let (range, escaped) = text?;
        self::text(data, range, escaped)
    }
}

/// `bytes` as text, what is not UTF-8 replaced (`String::from_utf8_lossy`, whose checks
/// cost several times more than `from_utf8`'s when there is nothing to replace).
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The string at `range` of `data` (between its quotes), unescaped if it has escapes.
/// Bytes that are not UTF-8 are replaced, as reading the whole text lossily would replace
/// them (the quotes around are ASCII: the same bytes are replaced either way).
fn text(data: &[u8], range: Range<usize>, escaped: bool) -> Option<Cow<'_, str>> {
    let raw = lossy(data.get(range)?);
    if escaped {
        unescape(&raw).map(Cow::Owned)
    } else {
        Some(raw)
    }
}

/// The position after the whitespace at `at`.
fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    // Compact JSON, the usual kind, has none: one comparison says so.
    if bytes.get(at).is_some_and(|b| *b > b' ') {
        return at;
    }
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// An object key at `at` (a string without escapes: an escaped key could spell a name the
/// fast paths look for, so the scanner gives up on one), its colon: the position of its
/// value.
fn key(bytes: &[u8], at: usize, tokens: &mut Vec<Token>) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let (end, escaped) = string_end(bytes, at)?;
    if escaped {
        return None;
    }
    let next = u32::try_from(tokens.len() + 1).ok()?;
    tokens.push(Token { kind: Kind::Key, start: u32::try_from(at).ok()?, end: u32::try_from(end + 1).ok()?, next });
    let colon = skip_ws(bytes, end + 1);
    if bytes.get(colon) != Some(&b':') {
        return None;
    }
    Some(skip_ws(bytes, colon + 1))
}

/// The closing quote of the string whose opening quote is at `at`, and whether the string
/// has escapes (each checked). Control characters are refused, as JSON (and serde_json)
/// refuses them.
fn string_end(bytes: &[u8], at: usize) -> Option<(usize, bool)> {
    let mut i = at + 1;
    let mut escaped = false;
    loop {
        i = find_special(bytes, i)?;
        match *bytes.get(i)? {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                match *bytes.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        // serde_json decodes every string of a `Value`, and refuses a lone
                        // surrogate: so does the scanner, in strings it only passes over too.
                        i += match hex4(bytes.get(i + 2..i + 6)?)? {
                            0xD800..=0xDBFF => {
                                if bytes.get(i + 6..i + 8)? != b"\\u"
                                    || !(0xDC00..=0xDFFF).contains(&hex4(bytes.get(i + 8..i + 12)?)?)
                                {
                                    return None;
                                }
                                12
                            }
                            0xDC00..=0xDFFF => return None,
                            _ => 6,
                        };
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// The end of the number at `at`, as serde_json reads one, without an exponent (which could
/// overflow: the scanner leaves those to serde_json).
fn number_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    let digits =
        |from: usize| from + bytes.get(from..).unwrap_or_default().iter().take_while(|b| b.is_ascii_digit()).count();
    let end = digits(i);
    // No leading zero (serde_json refuses `01`).
    if end == i || (end - i > 1 && bytes.get(i) == Some(&b'0')) {
        return None;
    }
    i = end;
    if bytes.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    match bytes.get(i) {
        Some(b'e' | b'E') => None,
        _ => Some(i),
    }
}

/// Where the next `"`, `\` or control character is, from `from`.
pub fn find_special(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    scan::find_with(rest, |w| scan::matches(w, b'"') | scan::matches(w, b'\\') | scan::below(w, 0x20)).map(|p| p + from)
}

/// The text of a string token with escapes (checked by `string_token`); `None` for a lone
/// surrogate, which serde_json refuses.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(backslash) = rest.find('\\') {
        out.push_str(rest.get(..backslash)?);
        let escape = rest.get(backslash + 1..)?;
        let mut chars = escape.chars();
        let (c, used) = match chars.next()? {
            'u' => {
                let first = hex4(escape.get(1..5)?.as_bytes())?;
                match first {
                    0xD800..=0xDBFF => {
                        let low = escape.get(5..11)?.strip_prefix("\\u").and_then(|h| hex4(h.as_bytes()))?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
                        (char::from_u32(code)?, 11)
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => (char::from_u32(first)?, 5),
                }
            }
            'b' => ('\u{8}', 1),
            'f' => ('\u{c}', 1),
            'n' => ('\n', 1),
            'r' => ('\r', 1),
            't' => ('\t', 1),
            c @ ('"' | '\\' | '/') => (c, 1),
            _ => return None,
        };
        out.push(c);
        rest = escape.get(used..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// Four hexadecimal digits' value.
fn hex4(hex: &[u8]) -> Option<u32> {
    if hex.len() != 4 {
        return None;
    }
    hex.iter().try_fold(0u32, |n, &digit| Some(n * 16 + char::from(digit).to_digit(16)?))
}

/// Appends `text` as a JSON string, exactly as serde_json writes it: `"` and `\` escaped,
/// control characters as `\b \f \n \r \t` or `\u00XX`, everything else as it is.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = find_special(bytes, from) {
        let Some(&byte) = bytes.get(i) else { break };
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => b"",
        };
        out.extend_from_slice(bytes.get(from..i).unwrap_or_default());
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let hex = |n: u8| HEX.get(usize::from(n & 0xf)).copied().unwrap_or(b'0');
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(byte >> 4), hex(byte)]);
        } else {
            out.extend_from_slice(escape);
        }
        from = i + 1;
    }
    out.extend_from_slice(bytes.get(from..).unwrap_or_default());
    out.push(b'"');
}

/// Appends `n` in decimal.
pub(crate) fn write_u64(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// What the scanner reads of `text` (as a Value), if it accepts it.
    fn scanned(text: &str) -> Option<Value> {
        fn value(json: &Json, index: usize) -> Option<Value> {
            let token = json.token(index)?;
            Some(match token.kind {
                Kind::Object => {
                    let mut map = serde_json::Map::new();
                    for (key, at) in json.members(index)? {
                        map.insert(String::from_utf8(key.to_vec()).unwrap(), value(json, at)?);
                    }
                    Value::Object(map)
                }
                Kind::Array => Value::Array(json.elements(index)?.map(|at| value(json, at)).collect::<Option<_>>()?),
                Kind::Str | Kind::Escaped => Value::String(json.str(index)?.into_owned()),
                Kind::Number => match json.u64(index) {
                    Some(n) => Value::from(n),
                    None => serde_json::from_slice(&json.text[token.range()]).unwrap(),
                },
                Kind::True => Value::Bool(true),
                Kind::False => Value::Bool(false),
                Kind::Null => Value::Null,
                Kind::Key => return None,
            })
        }
        let mut tokens = Vec::new();
        let json = Json::parse(text.as_bytes(), &mut tokens)?;
        value(&json, 0)
    }

    #[test]
    fn accepts_what_serde_json_reads_the_same() {
        for text in [
            r#"{}"#,
            r#" [ ] "#,
            r#" {"a": 1, "b": [true, false, null, -0.5, 0, 12, {}, []], "c": {"d": "x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00"}} "#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi — “x”"}}"#,
            "{\"a\":\"\u{7f}\"}",
            "\"top\"",
            "{\"a\" : [ [ [ 1 ] , 2 ] ] , \"b\" : { \"c\" : { } } }",
        ] {
            let expected: Value = serde_json::from_str(text).unwrap();
            assert_eq!(scanned(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses_or_may_read_otherwise() {
        for text in [
            "",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":-}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":tru}",
            "{\"a\":1} x",
            "{\"a\":1e5}",
            "{\"\\u0061\":1}",
            "{a:1}",
            "{\"a\":[1 2]}",
            "{\"a\":{\"b\" 1}}",
            "[1,]",
            "[1}",
            "{\"a\":1]",
            "{,}",
            "[,1]",
            "{\"a\":1,,\"b\":2}",
        ] {
            assert_eq!(scanned(text), None, "{text}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(80), "]".repeat(80));
        assert_eq!(scanned(&deep), None);
        let fine = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert_eq!(scanned(&fine), serde_json::from_str(&fine).ok());
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let all: String = (0u8..0x80).map(char::from).collect();
        for text in ["", "plain", "a\"b\\c/d", "\u{0}\u{1f}\u{7f}", "°C — “x” 你好 😀", all.as_str()] {
            let mut out = Vec::new();
            write_str(&mut out, text);
            assert_eq!(String::from_utf8(out).unwrap(), Value::from(text).to_string());
        }
        for n in [0, 7, 10, 1_750_000_000, u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn finds_bytes_eight_at_a_time_and_in_the_tail() {
        let text = b"0123456789abcdef\"xyz\\\n";
        assert_eq!(find_special(text, 0), Some(16));
        assert_eq!(find_special(text, 17), Some(20));
        assert_eq!(find_special(text, 21), Some(21));
        assert_eq!(find_special(b"no special byte here", 0), None);
        for at in 0..40 {
            let mut bytes = vec![b'a'; 40];
            bytes[at] = 0x1f;
            assert_eq!(find_special(&bytes, 0), Some(at));
            bytes[at] = 0xe9;
            assert_eq!(find_special(&bytes, 0), None, "bytes over 0x7f are not special");
        }
    }

    proptest! {
        /// Whatever the scanner accepts, serde_json reads as the same value.
        #[test]
        fn never_accepts_differently(text in r#" ?\{ ?("[a-c\\"u0-9]{0,4}" *: *(-?[0-9.]{1,4}|"[ -~\\\u{e9}\u{1}]{0,9}"|\[[0-9, \]\[\{\}]{0,5}\]|true|nul|null|\{\}) *,? *){0,3}\} ?"#) {
            if let Some(value) = scanned(&text) {
                prop_assert_eq!(Some(value), serde_json::from_str::<Value>(&text).ok(), "{}", text);
            }
        }

        /// Any text serde_json reads as a value the scanner takes is read the same.
        #[test]
        fn reads_what_serde_json_writes(value in json_values()) {
            // As serde_json reads it back (its float parsing may differ from the value
            // written by a unit in the last place).
            let text = value.to_string();
            prop_assert_eq!(scanned(&text), serde_json::from_str::<Value>(&text).ok());
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            prop_assert_eq!(scanned(&pretty), serde_json::from_str::<Value>(&pretty).ok());
        }

        #[test]
        fn writes_any_string_as_serde_json(text in "\\PC*|[\\u{0}-\\u{7f}]*") {
            let mut out = Vec::new();
            write_str(&mut out, &text);
            prop_assert_eq!(String::from_utf8(out).unwrap(), Value::from(text.as_str()).to_string());
        }
    }

    /// JSON values without exponents (which the scanner leaves to serde_json).
    fn json_values() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            (-1000i32..1000, 1u32..100).prop_map(|(a, b)| Value::from(f64::from(a) + 1.0 / f64::from(b))),
            "\\PC{0,12}|[\\u{0}-\\u{7f}]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
