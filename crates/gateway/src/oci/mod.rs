//! Plugin images as Higress and Istio pull them for a WasmPlugin `oci://` URL: an OCI image
//! with one `tar+gzip` layer holding `plugin.wasm` (the form of Higress's own `FROM scratch`
//! plugin images, Istio's "compat" variant), written as an OCI image layout directory that
//! `skopeo`, `oras` or `crane` push as they are, no container engine needed.
//!
//! Builds are reproducible: no timestamps, no owners, the gzip header's time 0, so a module
//! that did not change gives the same digests.

pub mod pull;
pub mod tar;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The file of the layer the gateway loads.
pub const WASM_FILE: &str = "plugin.wasm";
/// The config schema beside it (`make image` puts the plugin's there).
pub const SCHEMA_FILE: &str = "config.schema.json";

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// What an image is built from.
pub struct ImageSpec<'a> {
    /// The plugin's name (`org.opencontainers.image.title`).
    pub name: &'a str,
    /// Its version: the tag (`org.opencontainers.image.ref.name`).
    pub version: &'a str,
    /// The module.
    pub wasm: &'a [u8],
    /// Files put beside `plugin.wasm` in the layer (the config schema).
    pub extra: Vec<(&'a str, &'a [u8])>,
}

/// The blobs of one image: (digest, bytes) of its layer, config and manifest.
pub struct Image {
    pub layer: (String, Vec<u8>),
    pub config: (String, Vec<u8>),
    pub manifest: (String, Vec<u8>),
}

/// Builds the image's blobs.
pub fn build(spec: &ImageSpec<'_>) -> Result<Image, String> {
    let mut archive = tar::one_file(WASM_FILE, spec.wasm);
    for (name, data) in &spec.extra {
        // Each file its own archive, joined: the end blocks of all but the last dropped.
        archive.truncate(archive.len().saturating_sub(1024));
        archive.extend(tar::one_file(name, data));
    }
    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    gzip.write_all(&archive).map_err(|e| e.to_string())?;
    let layer = gzip.finish().map_err(|e| e.to_string())?;
    let config = json!({
        "architecture": "wasm",
        "os": "wasip1",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [digest(&archive)]},
    });
    let config = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": digest(&config), "size": config.len()},
        "layers": [{"mediaType": LAYER, "digest": digest(&layer), "size": layer.len(),
            "annotations": {"org.opencontainers.image.title": WASM_FILE}}],
        "annotations": {
            "org.opencontainers.image.title": spec.name,
            "org.opencontainers.image.version": spec.version,
        },
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
    Ok(Image {
        layer: (digest(&layer), layer),
        config: (digest(&config), config),
        manifest: (digest(&manifest), manifest),
    })
}

/// Writes `image` as an OCI image layout in `dir` (replacing what was there), tagged
/// `version`.
pub fn write_layout(dir: &Path, image: &Image, version: &str) -> Result<(), String> {
    let at = |e: std::io::Error| format!("{}: {e}", dir.display());
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(at)?;
    }
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).map_err(at)?;
    for (digest, bytes) in [&image.layer, &image.config, &image.manifest] {
        let hex = digest.trim_start_matches("sha256:");
        std::fs::write(blobs.join(hex), bytes).map_err(at)?;
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [{"mediaType": MANIFEST, "digest": image.manifest.0, "size": image.manifest.1.len(),
            "annotations": {"org.opencontainers.image.ref.name": version}}],
    });
    let text = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    std::fs::write(dir.join("index.json"), text(&index)).map_err(at)?;
    std::fs::write(dir.join("oci-layout"), text(&json!({"imageLayoutVersion": "1.0.0"}))).map_err(at)?;
    Ok(())
}

/// The module in a layer (`tar+gzip`, or the OCI-artifact form's raw module).
pub fn wasm_of_layer(media_type: &str, layer: &[u8]) -> Result<Vec<u8>, String> {
    if media_type.ends_with("+wasm") || layer.starts_with(b"\0asm") {
        return Ok(layer.to_vec());
    }
    tar::find(&unpacked(layer)?, WASM_FILE)
}

/// The config schema beside the module in a layer, if the image carries one.
pub fn schema_of_layer(media_type: &str, layer: &[u8]) -> Option<Vec<u8>> {
    if media_type.ends_with("+wasm") || layer.starts_with(b"\0asm") {
        return None;
    }
    tar::find(&unpacked(layer).ok()?, SCHEMA_FILE).ok()
}

/// The tar archive of a layer, gunzipped when it is compressed.
fn unpacked(layer: &[u8]) -> Result<Vec<u8>, String> {
    if !layer.starts_with(&[0x1f, 0x8b]) {
        return Ok(layer.to_vec());
    }
    let mut out = Vec::new();
    let mut decoder = flate2::write::GzDecoder::new(&mut out);
    decoder.write_all(layer).and_then(|_| decoder.finish().map(|_| ())).map_err(|e| format!("layer: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_reproducible_and_hold_the_module() {
        let wasm = b"\0asm\x01\0\0\0 some module".to_vec();
        let spec = ImageSpec { name: "hello", version: "1.2.3", wasm: &wasm, extra: vec![(SCHEMA_FILE, b"{}")] };
        let (a, b) = (build(&spec).unwrap(), build(&spec).unwrap());
        assert_eq!(a.manifest.0, b.manifest.0, "same module, same digest");
        assert_eq!(a.layer.0, digest(&a.layer.1));
        assert_eq!(wasm_of_layer(LAYER, &a.layer.1).unwrap(), wasm);
        assert_eq!(schema_of_layer(LAYER, &a.layer.1).unwrap(), b"{}");
        let manifest: Value = serde_json::from_slice(&a.manifest.1).unwrap();
        assert_eq!(manifest["layers"][0]["digest"], a.layer.0);
        assert_eq!(manifest["config"]["digest"], a.config.0);
        assert_eq!(wasm_of_layer("application/vnd.module.wasm.content.layer.v1+wasm", &wasm).unwrap(), wasm);
    }
}
