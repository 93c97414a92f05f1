//! The URLs a provider's config may give (`openaiCustomUrl`, `vllmCustomUrl`,
//! `azureServiceUrl`), split the way Higress splits them.

/// `http(s)://host/path?query` as `(host, path, query)`: the path is `/` when absent, the
/// query without its `?`.
pub fn split(url: &str) -> (&str, &str, &str) {
    let url = url.trim();
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or(url);
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = match rest.find('/') {
        Some(at) => (rest.get(..at).unwrap_or_default(), rest.get(at..).unwrap_or("/")),
        None => (rest, "/"),
    };
    (host, path, query)
}

/// A custom URL as Higress reads `openaiCustomUrl`: the host, and the rest of the URL
/// (query included) as the path.
pub fn custom(url: &str) -> (String, String) {
    let url = url.trim();
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or(url);
    match rest.split_once('/') {
        Some((host, path)) => (host.to_string(), format!("/{path}")),
        None => (rest.to_string(), "/".to_string()),
    }
}

/// `base` and `path` joined with one `/`, and no trailing `/` (Go's `path.Join` for the
/// paths a config gives).
pub fn join(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    let joined = match (base.is_empty(), path.is_empty()) {
        (_, true) => base.to_string(),
        (true, false) => format!("/{path}"),
        (false, false) => format!("{base}/{path}"),
    };
    let joined = joined.trim_end_matches('/');
    if joined.is_empty() {
        "/".to_string()
    } else if joined.starts_with('/') {
        joined.to_string()
    } else {
        format!("/{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_as_higress_splits_them() {
        assert_eq!(
            split("https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=1"),
            ("r.openai.azure.com", "/openai/deployments/d/chat/completions", "api-version=1")
        );
        assert_eq!(split("https://r.openai.azure.com?api-version=1"), ("r.openai.azure.com", "/", "api-version=1"));
        assert_eq!(split("r.com"), ("r.com", "/", ""));
        assert_eq!(
            custom("https://proxy.com/v1/chat/completions"),
            ("proxy.com".into(), "/v1/chat/completions".into())
        );
        assert_eq!(custom("http://proxy.com"), ("proxy.com".into(), "/".into()));
        assert_eq!(join("/custom/v1", "/chat/completions"), "/custom/v1/chat/completions");
        assert_eq!(join("/", "/chat/completions"), "/chat/completions");
        assert_eq!(join("/api/", "/"), "/api");
        assert_eq!(join("", ""), "/");
    }
}
