//! Azure OpenAI: the host, deployment and `api-version` of `azureServiceUrl`, and the path
//! each request goes to.
//!
//! `azureServiceUrl` comes in three shapes:
//! - a full path (`.../openai/deployments/d/chat/completions?api-version=...`, or any path
//!   outside `/openai/deployments/`): every request goes to exactly that path and query;
//! - a deployment (`.../openai/deployments/d?api-version=...`): each API's Azure path under
//!   that deployment;
//! - a host only (`https://r.openai.azure.com?api-version=...`): each API's Azure path, under
//!   a deployment named like the (mapped) model of the request.
//!
//! APIs that have no deployment (models, files, batches, responses) go to `/openai/<api>`.
//! The service URL's query (`api-version`) is appended to every path.

use super::url;
use crate::api::{self, Api, OPENAI_PATHS};

/// The placeholder of the deployment in Azure's paths.
const MODEL: &str = "{model}";

/// The deployment used in a path before the request's model is known (Higress's).
const PLACEHOLDER: &str = "placeholder";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Full(String),
    Deployment(String),
    HostOnly,
}

/// A parsed `azureServiceUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Azure {
    pub host: String,
    shape: Shape,
    query: String,
}

impl Azure {
    /// Reads `azureServiceUrl`; an error says what is missing.
    pub fn parse(service_url: &str) -> Result<Azure, String> {
        let (host, path, query) = url::split(service_url);
        if host.is_empty() {
            return Err("has no host".into());
        }
        if !query.split('&').any(|pair| pair.split('=').next() == Some("api-version")) {
            return Err(format!("has no api-version query parameter: {service_url}"));
        }
        let shape = match path.find("/openai/deployments/") {
            Some(at) => {
                let rest = path.get(at + "/openai/deployments/".len()..).unwrap_or_default();
                match rest.split_once('/') {
                    Some((deployment, more)) if !deployment.is_empty() && !more.is_empty() => {
                        Shape::Full(format!("{path}?{query}"))
                    }
                    Some((deployment, _)) if !deployment.is_empty() => Shape::Deployment(deployment.to_string()),
                    None if !rest.is_empty() => Shape::Deployment(rest.to_string()),
                    _ => Shape::Full(format!("{path}?{query}")),
                }
            }
            None if path != "/" => Shape::Full(format!("{path}?{query}")),
            None => Shape::HostOnly,
        };
        Ok(Azure { host: host.to_string(), shape, query: query.to_string() })
    }

    /// Azure's path of each OpenAI API (with `{model}` for the deployment).
    pub fn paths() -> Vec<(Api, String)> {
        OPENAI_PATHS
            .iter()
            .filter_map(|(api, path)| {
                let rest = path.strip_prefix("/v1")?;
                let without_deployment = matches!(
                    api,
                    Api::Models
                        | Api::Batches
                        | Api::RetrieveBatch
                        | Api::CancelBatch
                        | Api::Files
                        | Api::RetrieveFile
                        | Api::RetrieveFileContent
                        | Api::Responses
                );
                let prefix =
                    if without_deployment { "/openai".to_string() } else { format!("/openai/deployments/{MODEL}") };
                Some((*api, format!("{prefix}{rest}")))
            })
            .collect()
    }

    /// Whether the deployment comes from the request's model (the body must be read first).
    pub fn needs_model(&self) -> bool {
        self.shape == Shape::HostOnly
    }

    /// The path a request to `api` at `request_path` goes to; `template` is the API's Azure
    /// path (`None`: Azure has no such API, the request's path is kept with the query added).
    /// `model` is the request's mapped model, once known.
    pub fn path(&self, api: Option<Api>, template: Option<&str>, request_path: &str, model: Option<&str>) -> String {
        if let Shape::Full(path) = &self.shape {
            return path.clone();
        }
        let mut path = match (api, template) {
            (Some(api), Some(template)) => api::map_path(api, template, request_path),
            _ => request_path.to_string(),
        };
        if path.contains(MODEL) {
            let deployment = match &self.shape {
                Shape::Deployment(deployment) => deployment.as_str(),
                _ => model.filter(|m| !m.is_empty()).unwrap_or(PLACEHOLDER),
            };
            path = path.replace(MODEL, deployment);
        }
        if !path.contains('?') {
            path.push('?');
        } else if !path.ends_with('?') {
            path.push('&');
        }
        path.push_str(&self.query);
        path
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn template(api: Api) -> String {
        Azure::paths().into_iter().find(|(a, _)| *a == api).unwrap().1
    }

    #[test]
    fn every_shape_of_service_url() {
        let chat = template(Api::ChatCompletion);
        assert_eq!(chat, "/openai/deployments/{model}/chat/completions");
        assert_eq!(template(Api::Models), "/openai/models");

        let full =
            Azure::parse("https://r.openai.azure.com/openai/deployments/d1/chat/completions?api-version=2024-06-01")
                .unwrap();
        assert_eq!(full.host, "r.openai.azure.com");
        let path = full.path(Some(Api::Embeddings), Some(&template(Api::Embeddings)), "/v1/embeddings", Some("m"));
        assert_eq!(path, "/openai/deployments/d1/chat/completions?api-version=2024-06-01");

        let deployment =
            Azure::parse("https://r.openai.azure.com/openai/deployments/d1?api-version=2024-06-01").unwrap();
        assert!(!deployment.needs_model());
        assert_eq!(
            deployment.path(Some(Api::ChatCompletion), Some(&chat), "/v1/chat/completions?x=1", Some("m")),
            "/openai/deployments/d1/chat/completions?x=1&api-version=2024-06-01"
        );

        let host = Azure::parse("https://r.openai.azure.com?api-version=2024-06-01").unwrap();
        assert!(host.needs_model());
        assert_eq!(
            host.path(Some(Api::ChatCompletion), Some(&chat), "/v1/chat/completions", Some("gpt-4o")),
            "/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01"
        );
        assert_eq!(
            host.path(Some(Api::Models), Some(&template(Api::Models)), "/v1/models", None),
            "/openai/models?api-version=2024-06-01"
        );
        assert_eq!(
            host.path(Some(Api::ChatCompletion), Some(&chat), "/v1/chat/completions", None),
            "/openai/deployments/placeholder/chat/completions?api-version=2024-06-01"
        );
        let custom = Azure::parse("https://r.com/custom/path?api-version=1").unwrap();
        assert_eq!(custom.path(None, None, "/x", None), "/custom/path?api-version=1");
    }

    #[test]
    fn api_version_is_required() {
        assert!(Azure::parse("https://r.openai.azure.com/openai/deployments/d").is_err());
        assert!(Azure::parse("https://?api-version=1").is_err());
    }
}
