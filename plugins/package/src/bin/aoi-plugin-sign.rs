//! aoi-plugin-sign: make a publisher key, sign a plugin package, check one.
//!
//! `keygen --out KEYFILE` writes `{"secret_key": b64, "public_key": b64}` (mode 0600, never
//! overwrites) and prints the public key; `sign` writes a package document; `verify` checks a
//! package against one publisher key and prints what it verified.

use aoi_plugin_package::{Package, TrustedKeys, generate_signing_key, sign, verify};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "aoi-plugin-sign",
    about = "Sign and verify AOI plugin packages"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an ed25519 key pair into a new key file and print the public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a manifest and payload into a package document.
    Sign {
        #[arg(long)]
        manifest: PathBuf,
        /// The payload file; omit for builtin plugins (empty payload).
        #[arg(long)]
        payload: Option<PathBuf>,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        key_id: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a package against one trusted publisher key.
    Verify {
        #[arg(long)]
        package: PathBuf,
        #[arg(long)]
        publisher: String,
        /// Base64 ed25519 public key, as printed by `keygen`.
        #[arg(long)]
        public_key: String,
        /// The key id to trust the key under; defaults to the one the signature names.
        #[arg(long)]
        key_id: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    secret_key: String,
    public_key: String,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| {
        format!(
            "cannot create {}: {e} (an existing file is never overwritten)",
            path.display()
        )
    })?;
    file.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn load_key(path: &Path) -> Result<SigningKey, String> {
    let file: KeyFile = serde_json::from_slice(&read(path)?)
        .map_err(|e| format!("{}: not a key file from `keygen`: {e}", path.display()))?;
    let bytes = B64
        .decode(file.secret_key.trim())
        .map_err(|e| format!("{}: secret_key is not base64: {e}", path.display()))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "{}: secret_key is {} bytes; an ed25519 secret key is 32",
            path.display(),
            b.len()
        )
    })?;
    Ok(SigningKey::from_bytes(&bytes))
}

fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Keygen { out } => {
            let key = generate_signing_key();
            let public_key = B64.encode(key.verifying_key().to_bytes());
            let file = KeyFile {
                secret_key: B64.encode(key.to_bytes()),
                public_key: public_key.clone(),
            };
            let json = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
            write_new(&out, &json, true)?;
            Ok(public_key)
        }
        Command::Sign {
            manifest,
            payload,
            key,
            key_id,
            out,
        } => {
            let manifest_json = read(&manifest)?;
            let payload = match payload {
                Some(p) => read(&p)?,
                None => Vec::new(),
            };
            let key = load_key(&key)?;
            let signature = sign(&manifest_json, &payload, &key, &key_id)
                .map_err(|e| format!("{}: {e}", manifest.display()))?;
            let mut package = Package::new(&manifest_json, payload).map_err(|e| e.to_string())?;
            package.signature = Some(signature);
            let json = package.to_json().map_err(|e| e.to_string())?;
            write_new(&out, json.as_bytes(), false)?;
            Ok(format!("signed {}", out.display()))
        }
        Command::Verify {
            package,
            publisher,
            public_key,
            key_id,
        } => {
            let parsed = Package::from_json(&read(&package)?)
                .map_err(|e| format!("{}: {e}", package.display()))?;
            let key_id = key_id
                .or_else(|| parsed.signature.as_ref().map(|s| s.key_id.clone()))
                .unwrap_or_default();
            let mut trusted = TrustedKeys::new();
            trusted
                .add(&publisher, &key_id, &public_key)
                .map_err(|e| e.to_string())?;
            let verified =
                verify(&parsed, &trusted).map_err(|e| format!("{}: {e}", package.display()))?;
            Ok(format!(
                "verified {} {} by {} (key {}), payload sha256 {}",
                verified.manifest.name,
                verified.manifest.version,
                verified.publisher,
                verified.key_id,
                verified.payload_sha256
            ))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("aoi-plugin-sign: {message}");
            ExitCode::FAILURE
        }
    }
}
