//! JSON bodies edited in place: an ordered tree that keeps every value's text as it came,
//! and gjson/sjson-style dotted paths into it.

mod node;
mod path;

#[cfg(test)]
pub use node::parse;
pub use node::{parse_lazily, Node};
pub use path::{delete, get, get_mut, set, Path};
