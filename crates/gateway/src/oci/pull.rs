//! Fetching a plugin's module as Higress does for a WasmPlugin's `spec.url`: an OCI image
//! from a registry (`oci://host[:port]/repository[:tag|@sha256:...]`; both image forms:
//! a `tar+gzip` layer holding `plugin.wasm`, or the OCI artifact's raw module layer), or a
//! module over HTTP(S). Registries are spoken to with the distribution API: anonymous bearer
//! tokens when a registry asks for one, blob redirects followed, every blob checked against
//! its digest. A loopback registry is spoken to over plain HTTP, any other over HTTPS.

use super::{digest, wasm_of_layer, INDEX};
use serde_json::Value;
use std::io::Read;
use std::time::Duration;

/// Manifests a registry may answer with.
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The config media type of the OCI-artifact form (its layer is the raw module).
const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
/// The largest module or blob read.
const MAX_BYTES: u64 = 256 << 20;

/// An image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    /// A tag or a `sha256:` digest.
    pub reference: String,
}

impl Reference {
    /// Reads `oci://host[:port]/repository[:tag|@digest]` (the tag defaults to `latest`).
    pub fn parse(url: &str) -> Result<Reference, String> {
        let rest = url.strip_prefix("oci://").ok_or("not an oci:// URL")?;
        let (registry, path) = rest.split_once('/').ok_or("no repository after the registry")?;
        if registry.is_empty() || path.is_empty() {
            return Err("expected oci://<registry>/<repository>[:<tag>]".into());
        }
        let (repository, reference) = if let Some((repo, digest)) = path.split_once('@') {
            (repo, digest.to_string())
        } else {
            match path.rsplit_once(':') {
                Some((repo, tag)) if !tag.contains('/') => (repo, tag.to_string()),
                _ => (path, "latest".to_string()),
            }
        };
        if repository.is_empty() || reference.is_empty() {
            return Err("expected oci://<registry>/<repository>[:<tag>]".into());
        }
        Ok(Reference { registry: registry.to_string(), repository: repository.to_string(), reference })
    }

    /// Whether the reference names a digest (it cannot change).
    pub fn is_digest(&self) -> bool {
        self.reference.starts_with("sha256:")
    }

    fn base(&self) -> String {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(h, _)| h);
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.");
        format!("{}://{}/v2/{}", if loopback { "http" } else { "https" }, self.registry, self.repository)
    }
}

/// A pulled module and the image it came from.
#[derive(Debug)]
pub struct Pulled {
    pub module: Vec<u8>,
    /// The config schema the image carries beside the module.
    pub schema: Option<Vec<u8>>,
    /// The image manifest's digest.
    pub digest: String,
}

/// A registry session: the bearer token, once one was asked for.
struct Session {
    agent: ureq::Agent,
    token: Option<String>,
}

impl Session {
    fn new() -> Session {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .redirects(5)
            .build();
        Session { agent, token: None }
    }

    /// GETs `url` (with `accept`), answering a bearer challenge once; the body and its
    /// content type.
    fn get(&mut self, url: &str, accept: &str) -> Result<(Vec<u8>, String), String> {
        for attempt in 0..2 {
            let mut request = self.agent.get(url).set("Accept", accept);
            if let Some(token) = &self.token {
                request = request.set("Authorization", &format!("Bearer {token}"));
            }
            match request.call() {
                Ok(response) => {
                    let content_type = response.content_type().to_string();
                    let mut body = Vec::new();
                    response
                        .into_reader()
                        .take(MAX_BYTES + 1)
                        .read_to_end(&mut body)
                        .map_err(|e| format!("{url}: {e}"))?;
                    if body.len() as u64 > MAX_BYTES {
                        return Err(format!("{url}: larger than {MAX_BYTES} bytes"));
                    }
                    return Ok((body, content_type));
                }
                Err(ureq::Error::Status(401, response)) if attempt == 0 => {
                    let challenge = response.header("www-authenticate").unwrap_or_default().to_string();
                    self.token = Some(self.token_for(&challenge)?);
                }
                Err(ureq::Error::Status(code, response)) => {
                    let body = response.into_string().unwrap_or_default();
                    let body: String = body.chars().take(200).collect();
                    return Err(format!("{url}: HTTP {code} {}", body.trim()));
                }
                // ureq's transport errors name the URL themselves.
                Err(error) => return Err(error.to_string()),
            }
        }
        Err(format!("{url}: still unauthorized with a token"))
    }

    /// An anonymous token for a `Bearer realm=...,service=...,scope=...` challenge.
    fn token_for(&self, challenge: &str) -> Result<String, String> {
        let params =
            challenge.strip_prefix("Bearer ").ok_or_else(|| format!("unsupported authentication `{challenge}`"))?;
        let mut realm = None;
        let mut query = Vec::new();
        for part in split_params(params) {
            let Some((key, value)) = part.split_once('=') else { continue };
            let value = value.trim_matches('"');
            match key.trim() {
                "realm" => realm = Some(value.to_string()),
                key => query.push((key.to_string(), value.to_string())),
            }
        }
        let realm = realm.ok_or("the registry's challenge has no realm")?;
        let mut request = self.agent.get(&realm);
        for (key, value) in &query {
            request = request.query(key, value);
        }
        let text = request
            .call()
            .map_err(|e| format!("token from {realm}: {e}"))?
            .into_string()
            .map_err(|e| format!("token from {realm}: {e}"))?;
        let reply: Value = serde_json::from_str(&text).map_err(|e| format!("token from {realm}: {e}"))?;
        reply
            .get("token")
            .or_else(|| reply.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("token from {realm}: none in the reply"))
    }
}

/// The comma-separated parameters of a challenge (commas inside quotes kept).
fn split_params(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// The digest of the image `reference` names now (one manifest request).
pub fn resolve(reference: &Reference) -> Result<String, String> {
    let mut session = Session::new();
    let (manifest, _) = manifest(&mut session, reference)?;
    Ok(digest(&manifest))
}

fn manifest(session: &mut Session, reference: &Reference) -> Result<(Vec<u8>, Value), String> {
    let url = format!("{}/manifests/{}", reference.base(), reference.reference);
    let (body, content_type) = session.get(&url, ACCEPT)?;
    if reference.is_digest() && digest(&body) != reference.reference {
        return Err(format!("{url}: the manifest does not match its digest"));
    }
    let value: Value = serde_json::from_slice(&body).map_err(|e| format!("{url}: not a manifest: {e}"))?;
    let media = value.get("mediaType").and_then(Value::as_str).unwrap_or(&content_type).to_string();
    if media.starts_with(INDEX) || media.starts_with(DOCKER_LIST) || value.get("manifests").is_some() {
        // An index: the wasm platform's manifest, else the first.
        let manifests = value.get("manifests").and_then(Value::as_array).cloned().unwrap_or_default();
        let platform =
            |m: &Value, key: &str| m.pointer(&format!("/platform/{key}")).and_then(Value::as_str).map(str::to_string);
        let chosen = manifests
            .iter()
            .find(|m| platform(m, "architecture").as_deref() == Some("wasm"))
            .or_else(|| manifests.first())
            .and_then(|m| m.get("digest").and_then(Value::as_str))
            .ok_or_else(|| format!("{url}: an index without manifests"))?;
        let inner = Reference { reference: chosen.to_string(), ..reference.clone() };
        return manifest(session, &inner);
    }
    Ok((body, value))
}

/// Pulls the module of the image `reference`.
pub fn pull(reference: &Reference) -> Result<Pulled, String> {
    let mut session = Session::new();
    let (body, manifest) = manifest(&mut session, reference)?;
    let layers = manifest.get("layers").and_then(Value::as_array).cloned().unwrap_or_default();
    if layers.is_empty() {
        return Err("the image has no layers".into());
    }
    let artifact = manifest.pointer("/config/mediaType").and_then(Value::as_str) == Some(WASM_CONFIG);
    let mut last_error = String::new();
    // The module's layer: the artifact's `+wasm` one, else the last layer holding plugin.wasm.
    for layer in layers.iter().rev() {
        let media = layer.get("mediaType").and_then(Value::as_str).unwrap_or_default();
        if artifact && !media.ends_with("+wasm") {
            continue;
        }
        let Some(blob_digest) = layer.get("digest").and_then(Value::as_str) else { continue };
        let url = format!("{}/blobs/{blob_digest}", reference.base());
        let (blob, _) = session.get(&url, "*/*")?;
        if digest(&blob) != blob_digest {
            return Err(format!("{url}: the blob does not match its digest"));
        }
        match wasm_of_layer(media, &blob) {
            Ok(module) => {
                let schema = super::schema_of_layer(media, &blob);
                return Ok(Pulled { module, schema, digest: super::digest(&body) });
            }
            Err(error) => last_error = error,
        }
    }
    Err(format!("no layer holds a module ({last_error})"))
}

/// GETs a module over HTTP(S).
pub fn download(url: &str) -> Result<Vec<u8>, String> {
    Session::new().get(url, "*/*").map(|(body, _)| body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("oci://127.0.0.1:5000/plugins/key-auth:1.0.0").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "plugins/key-auth", "1.0.0")
        );
        assert!(r.base().starts_with("http://127.0.0.1:5000/v2/plugins/key-auth"));
        let r = Reference::parse("oci://higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins/ai-proxy").unwrap();
        assert_eq!(r.reference, "latest");
        assert!(r.base().starts_with("https://"));
        let r = Reference::parse("oci://ghcr.io/o/p@sha256:abc").unwrap();
        assert!(r.is_digest());
        assert_eq!(r.repository, "o/p");
        assert!(Reference::parse("oci://host").is_err());
        assert!(Reference::parse("oci:///x:1").is_err());
        assert_eq!(
            split_params(r#"realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push""#)
                .len(),
            3
        );
    }
}
