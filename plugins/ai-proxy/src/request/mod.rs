//! The request side: headers (API, protocols, host, path, key), then the body (custom
//! settings, model mapping, translation).

mod auth;
mod body;
mod conversation;
mod convert;
mod edit;
mod headers;
mod health;
mod quirks;
mod route;

pub use auth::key_headers;
pub use body::{on_body, send, sign};
pub use conversation::Tidy;
pub use convert::convert_value;
pub use edit::edit;
pub use headers::{on_headers, protocols};
pub use health::health_request;
pub use route::{host as route_host, path as route_path};
