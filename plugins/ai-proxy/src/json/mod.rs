//! Request bodies edited where they stand.
//!
//! A same-protocol request (an OpenAI client to an OpenAI-compatible provider, an Anthropic
//! client to Claude) is passed on as its own text with only the values the gateway must
//! change replaced (`model`, `stream_options`, custom settings): fields unknown to the
//! gateway, their order, numbers as written (`0.0` stays `0.0`) and whitespace reach the
//! provider byte for byte, as Go's sjson keeps them. Parsing into a value and serialising it
//! again would sort the keys and rewrite numbers.

mod doc;
mod scan;

pub use doc::JsonDoc;
