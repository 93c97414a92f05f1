//! Bodies the plugin transforms: the kinds Higress's plugin accepts (requests: JSON, form,
//! multipart; responses: JSON), parsed for the rules and written back.

use crate::json::{self, Node};
use crate::kv::Pairs;
use crate::media;
use crate::multipart::Multipart;
use crate::ops::Op;
use crate::run::{self, Sources, Subject};
use crate::urlencoded;
use higress_sdk::ascii::eq_ignore_case;

/// A body kind, from its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Json,
    Form,
    /// With the boundary (empty when the header has none: such a body never parses).
    Multipart(Vec<u8>),
}

impl Kind {
    /// The kind of a request body with this `Content-Type`, if the plugin transforms it (the
    /// type compared in place: only a multipart type's parameters are parsed, for its boundary).
    pub fn of_request(content_type: &[u8]) -> Option<Kind> {
        let media_type = media::media_type(content_type);
        if eq_ignore_case(media_type, b"application/json") {
            Some(Kind::Json)
        } else if eq_ignore_case(media_type, b"application/x-www-form-urlencoded") {
            Some(Kind::Form)
        } else if eq_ignore_case(media_type, b"multipart/form-data") {
            let (_, params) = media::parse(content_type);
            Some(Kind::Multipart(media::param(&params, "boundary").unwrap_or_default().to_vec()))
        } else {
            None
        }
    }

    /// The kind of a response body with this `Content-Type`: only JSON is transformed.
    pub fn of_response(content_type: &[u8]) -> Option<Kind> {
        eq_ignore_case(media::media_type(content_type), b"application/json").then_some(Kind::Json)
    }
}

/// Why a body is passed on untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unparsed {
    Empty,
    Malformed(&'static str),
}

/// A parsed body.
pub enum Body<'a> {
    Json(Node<'a>),
    Form(Pairs<'a>),
    Multipart(Multipart<'a>),
}

impl<'a> Body<'a> {
    /// Parses `bytes` as `kind`.
    pub fn parse(kind: &'a Kind, bytes: &'a [u8]) -> Result<Body<'a>, Unparsed> {
        if bytes.is_empty() {
            return Err(Unparsed::Empty);
        }
        match kind {
            Kind::Json => {
                let text = std::str::from_utf8(bytes).map_err(|_| Unparsed::Malformed("JSON that is not UTF-8"))?;
                json::parse_lazily(text).map(Body::Json).ok_or(Unparsed::Malformed("invalid JSON"))
            }
            Kind::Form if urlencoded::is_well_formed(bytes) => Ok(Body::Form(urlencoded::parse(bytes))),
            Kind::Form => Err(Unparsed::Malformed("a form with an invalid escape or a `;` in a name")),
            Kind::Multipart(boundary) => Multipart::parse(bytes, boundary)
                .map(Body::Multipart)
                .ok_or(Unparsed::Malformed("an incomplete multipart body, or one without its boundary")),
        }
    }

    /// The fields of a form or multipart body.
    pub fn fields(&self) -> Option<&Pairs<'a>> {
        match self {
            Body::Json(_) => None,
            Body::Form(pairs) => Some(pairs),
            Body::Multipart(form) => Some(&form.fields),
        }
    }

    /// Runs the body's operations; whether the body changed.
    pub fn transform(&mut self, ops: &[Op], sources: &Sources<'_>, subject: &Subject<'_>) -> bool {
        match self {
            Body::Json(node) => run::json(ops, node, sources, subject),
            Body::Form(pairs) => run::pairs(ops, pairs, sources, subject),
            Body::Multipart(form) => run::pairs(ops, &mut form.fields, sources, subject),
        }
    }

    /// The body's bytes (JSON compact, as Go's `pretty` also rewrites it; forms and
    /// multipart bodies with untouched pairs as they came).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Body::Json(node) => node.to_json().into_bytes(),
            Body::Form(pairs) => urlencoded::encode(pairs),
            Body::Multipart(form) => form.encode(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(Kind::of_request(b"application/json; charset=utf-8"), Some(Kind::Json));
        assert_eq!(Kind::of_request(b"Application/X-WWW-Form-Urlencoded"), Some(Kind::Form));
        assert_eq!(Kind::of_request(b"multipart/form-data; boundary=xyz"), Some(Kind::Multipart(b"xyz".to_vec())));
        assert_eq!(Kind::of_request(b"text/plain"), None);
        assert_eq!(Kind::of_request(b"application/vnd.api+json"), None);
        assert_eq!(Kind::of_response(b"application/x-www-form-urlencoded"), None);
        assert_eq!(Kind::of_response(b"application/json"), Some(Kind::Json));
        assert_eq!(Kind::of_response(b" Application/JSON;charset=utf-8"), Some(Kind::Json));
        assert_eq!(Kind::of_request(b"multipart/form-data"), Some(Kind::Multipart(Vec::new())));
        assert_eq!(Kind::of_request(b"application/json\xff"), None);
        assert_eq!(Kind::of_request(b""), None);
    }

    /// Go's `TestParseBody`, with its form and multipart cases.
    #[test]
    fn parses_as_go_does() {
        let form = Body::parse(&Kind::Form, b"k1=v11&k1=v12&k2=v2&k3=v3").unwrap();
        let values: Vec<&[u8]> = form.fields().unwrap().get(b"k1").unwrap().iter().map(|v| v.bytes.as_ref()).collect();
        assert_eq!(values, [b"v11", b"v12"]);
        assert!(matches!(Body::parse(&Kind::Json, b""), Err(Unparsed::Empty)));
        assert!(matches!(Body::parse(&Kind::Json, b"{\"a\":"), Err(Unparsed::Malformed(_))));
        assert!(matches!(Body::parse(&Kind::Json, b"{\"a\":\"\xff\"}"), Err(Unparsed::Malformed(_))));
        assert!(matches!(Body::parse(&Kind::Form, b"a=%zz"), Err(Unparsed::Malformed(_))));
        assert!(matches!(Body::parse(&Kind::Multipart(Vec::new()), b"--\r\n"), Err(Unparsed::Malformed(_))));
    }
}
