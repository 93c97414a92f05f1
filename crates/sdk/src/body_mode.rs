//! How a plugin wants each body delivered: a plain value the plugin trait declares and the
//! HTTP context switches per request.

/// How a plugin wants a body delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// Do not look at the body: it streams through untouched (the default).
    Skip,
    /// The whole body, once, when the stream ends (`on_request_body` / `on_response_body`):
    /// on the last data chunk, or when trailers end the stream. Earlier chunks are held and
    /// buffered by the host.
    Buffered,
    /// Every chunk as it arrives (`on_request_body_chunk` / `on_response_body_chunk`); a chunk
    /// can be replaced with [`crate::Http::replace_request_body`] / [`crate::Http::replace_response_body`].
    /// The end of the stream always arrives as `end_of_stream = true`: when trailers end the
    /// stream, as an empty chunk just before the trailers callback (Envoy has no body buffer
    /// to write into then).
    Streaming,
}
