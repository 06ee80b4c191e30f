//! The package document: manifest, payload and signature in one JSON file.

use crate::{PackageError, Signature};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

/// A plugin package as uploaded: `{"manifest": {...}, "payload_base64": "...", "signature": {...}}`.
///
/// `manifest` holds the canonical manifest bytes: the compact JSON of the manifest object with its
/// keys in the order given, so re-indenting a package does not change its hash but any edit does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    manifest: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Option<Signature>,
}

fn canonical_manifest(value: &Value) -> Result<Vec<u8>, PackageError> {
    if !value.is_object() {
        return Err(PackageError::malformed(
            "manifest",
            "must be a JSON object with name, version, publisher, description, kind, tools",
        ));
    }
    serde_json::to_vec(value).map_err(|e| PackageError::malformed("manifest", e.to_string()))
}

impl Package {
    /// An unsigned package from manifest JSON text (any formatting) and payload bytes.
    pub fn new(manifest_json: &[u8], payload: Vec<u8>) -> Result<Self, PackageError> {
        let value: Value = serde_json::from_slice(manifest_json)
            .map_err(|e| PackageError::malformed("manifest", format!("not JSON: {e}")))?;
        Ok(Package {
            manifest: canonical_manifest(&value)?,
            payload,
            signature: None,
        })
    }

    /// The canonical manifest bytes, the ones whose sha256 is signed.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest
    }

    /// Parses the package document; errors name the field that is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PackageError> {
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|e| PackageError::malformed("package", format!("not JSON: {e}")))?;
        let Value::Object(mut doc) = doc else {
            return Err(PackageError::malformed(
                "package",
                "must be a JSON object with manifest, payload_base64 and signature",
            ));
        };
        if let Some(unknown) = doc
            .keys()
            .find(|k| !matches!(k.as_str(), "manifest" | "payload_base64" | "signature"))
        {
            return Err(PackageError::malformed(
                unknown.clone(),
                "unknown field; expected manifest, payload_base64, signature",
            ));
        }
        let manifest = doc
            .get("manifest")
            .ok_or_else(|| PackageError::malformed("manifest", "missing"))?;
        let manifest = canonical_manifest(manifest)?;
        let payload = match doc.get("payload_base64") {
            None => return Err(PackageError::malformed("payload_base64", "missing")),
            Some(Value::String(s)) => B64.decode(s).map_err(|e| {
                PackageError::malformed("payload_base64", format!("not base64: {e}"))
            })?,
            Some(_) => {
                return Err(PackageError::malformed(
                    "payload_base64",
                    "must be a base64 string (empty for builtin plugins)",
                ));
            }
        };
        let signature = match doc.remove("signature") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value(v)
                    .map_err(|e| PackageError::malformed("signature", e.to_string()))?,
            ),
        };
        Ok(Package {
            manifest,
            payload,
            signature,
        })
    }

    /// The package document, pretty-printed.
    pub fn to_json(&self) -> Result<String, PackageError> {
        let manifest: Value = serde_json::from_slice(&self.manifest)
            .map_err(|e| PackageError::malformed("manifest", e.to_string()))?;
        let mut doc = Map::new();
        doc.insert("manifest".into(), manifest);
        doc.insert(
            "payload_base64".into(),
            Value::String(B64.encode(&self.payload)),
        );
        if let Some(sig) = &self.signature {
            let sig = serde_json::to_value(sig)
                .map_err(|e| PackageError::malformed("signature", e.to_string()))?;
            doc.insert("signature".into(), sig);
        }
        serde_json::to_string_pretty(&Value::Object(doc))
            .map_err(|e| PackageError::malformed("package", e.to_string()))
    }
}
