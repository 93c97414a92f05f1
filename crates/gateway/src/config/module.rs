//! Where a WasmPlugin's module comes from (`spec.url`): a local file (`file://`, relative to
//! the configuration), a module over HTTP(S), or an OCI image (`oci://`), as Higress loads
//! them. Fetched modules are kept in a cache keyed by content (`$HGW_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/hgw`, else `~/.cache/hgw`); `spec.imagePullPolicy` says when a cached
//! module is used without asking the registry (`IfNotPresent`, the default except for
//! `:latest`) and when the registry is asked every time (`Always`); `spec.sha256` is checked
//! against the module (or, for an image, its manifest digest).

use crate::oci::{self, pull};
use std::path::{Path, PathBuf};

type Failure = (String, String);

/// When a cached module is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    IfNotPresent,
    Always,
}

/// The module file for `url`.
pub fn module_path(url: &str, sha256: Option<&str>, policy: Option<&str>, base: &Path) -> Result<PathBuf, Failure> {
    let sha256 = sha256.map(|s| s.trim().trim_start_matches("sha256:").to_ascii_lowercase()).filter(|s| !s.is_empty());
    let url_error = |message: String| ("spec.url".to_string(), format!("`{url}`: {message}"));
    if let Some(path) = url.strip_prefix("file://") {
        let path = Path::new(path);
        let full = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
        if !full.is_file() {
            return Err(("spec.url".into(), format!("{} does not exist (run `make build`)", full.display())));
        }
        if let Some(expected) = &sha256 {
            let bytes = std::fs::read(&full).map_err(|e| url_error(e.to_string()))?;
            check(&bytes, expected, None)?;
        }
        return Ok(full);
    }
    let remote = url.starts_with("oci://") || url.starts_with("http://") || url.starts_with("https://");
    if !remote {
        return Err(url_error("expected a file://, http(s):// or oci:// URL".into()));
    }
    let latest = url.starts_with("oci://") && pull::Reference::parse(url).is_ok_and(|r| r.reference == "latest");
    let policy = match policy.unwrap_or_default() {
        "" if latest => Policy::Always,
        "" | "IfNotPresent" | "UNSPECIFIED_POLICY" => Policy::IfNotPresent,
        "Always" => Policy::Always,
        other => {
            return Err(("spec.imagePullPolicy".into(), format!("`{other}`: expected IfNotPresent or Always")));
        }
    };
    let cache = Cache::open().map_err(url_error)?;
    if policy == Policy::IfNotPresent {
        if let Some(path) = cache.by_url(url) {
            if let Ok(bytes) = std::fs::read(&path) {
                if sha256
                    .as_deref()
                    .is_none_or(|expected| check(&bytes, expected, cache.digest_of(url).as_deref()).is_ok())
                {
                    return Ok(path);
                }
            }
        }
    }
    let (module, schema, image_digest) = if url.starts_with("oci://") {
        let reference = pull::Reference::parse(url).map_err(url_error)?;
        // `Always`: the registry is asked which image the tag names; an image already here
        // is not pulled again.
        if let (Some(cached), Ok(now)) = (cache.digest_of(url), pull::resolve(&reference)) {
            if cached == now {
                if let Some(path) = cache.by_url(url) {
                    if let Some(expected) = &sha256 {
                        let bytes = std::fs::read(&path).map_err(|e| url_error(e.to_string()))?;
                        check(&bytes, expected, Some(&now))?;
                    }
                    return Ok(path);
                }
            }
        }
        let pulled = pull::pull(&reference).map_err(url_error)?;
        (pulled.module, pulled.schema, Some(pulled.digest))
    } else {
        (pull::download(url).map_err(url_error)?, None, None)
    };
    if !module.starts_with(b"\0asm") {
        return Err(url_error("what it holds is not a wasm module".into()));
    }
    if let Some(expected) = &sha256 {
        check(&module, expected, image_digest.as_deref())?;
    }
    cache.store(url, &module, schema.as_deref(), image_digest.as_deref()).map_err(url_error)
}

/// Whether `module` (or the image it came from) has the `expected` sha256.
fn check(module: &[u8], expected: &str, image_digest: Option<&str>) -> Result<(), Failure> {
    let actual = oci::digest(module);
    let actual = actual.trim_start_matches("sha256:");
    let image = image_digest.map(|d| d.trim_start_matches("sha256:"));
    if actual == expected || image == Some(expected) {
        return Ok(());
    }
    Err(("spec.sha256".into(), format!("`{expected}` does not match the module's sha256 `{actual}`")))
}

/// The module cache: `<sha256 of the module>.wasm` (and the config schema its image carried,
/// `<sha256>.schema.json`), and per URL the file it last gave.
struct Cache {
    dir: PathBuf,
}

impl Cache {
    fn open() -> Result<Cache, String> {
        let dir = std::env::var_os("HGW_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("hgw")))
            .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/hgw")))
            .unwrap_or_else(|| std::env::temp_dir().join("hgw-cache"));
        std::fs::create_dir_all(dir.join("urls")).map_err(|e| format!("cache {}: {e}", dir.display()))?;
        Ok(Cache { dir })
    }

    fn url_file(&self, url: &str) -> PathBuf {
        let key = oci::digest(url.as_bytes());
        self.dir.join("urls").join(key.trim_start_matches("sha256:"))
    }

    /// The cached module `url` last gave.
    fn by_url(&self, url: &str) -> Option<PathBuf> {
        let text = std::fs::read_to_string(self.url_file(url)).ok()?;
        let name = text.lines().next()?.trim();
        let path = self.dir.join(name);
        path.is_file().then_some(path)
    }

    /// The image digest `url` last gave.
    fn digest_of(&self, url: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.url_file(url)).ok()?;
        text.lines().nth(1).map(str::to_string)
    }

    fn store(
        &self,
        url: &str,
        module: &[u8],
        schema: Option<&[u8]>,
        image_digest: Option<&str>,
    ) -> Result<PathBuf, String> {
        let digest = oci::digest(module);
        let name = format!("{}.wasm", digest.trim_start_matches("sha256:"));
        let path = self.dir.join(&name);
        let at = |e: std::io::Error| format!("cache {}: {e}", self.dir.display());
        // Written aside, then renamed: a reader never sees half a file.
        let put = |path: &Path, bytes: &[u8]| -> Result<(), String> {
            let partial = path.with_extension(format!("{}.partial", std::process::id()));
            std::fs::write(&partial, bytes).map_err(at)?;
            std::fs::rename(&partial, path).map_err(at)
        };
        // The schema first: a module is never seen without the schema it came with.
        if let Some(schema) = schema {
            put(&crate::config::schema::file_for(&path), schema)?;
        }
        if !path.is_file() {
            put(&path, module)?;
        }
        std::fs::write(self.url_file(url), format!("{name}\n{}\n", image_digest.unwrap_or_default())).map_err(at)?;
        Ok(path)
    }
}
