//! The HS256 signing key: configured, or generated into the data folder on first run.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::config::Config;

/// Where the key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `auth.signing_key`.
    Configured,
    /// Read from this file.
    File(PathBuf),
    /// Generated into this file now.
    Generated(PathBuf),
}

/// Key material for HS256. `Debug` never shows the bytes.
#[derive(Clone)]
pub struct SigningKey {
    bytes: Vec<u8>,
    origin: KeyOrigin,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("len", &self.bytes.len())
            .field("origin", &self.origin)
            .finish()
    }
}

/// Why the key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// Reading or writing the key file failed.
    #[error("signing key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key is shorter than 32 bytes.
    #[error(
        "signing key from {0} is shorter than 32 bytes: use a longer key, or delete the file to have one generated"
    )]
    TooShort(String),
}

/// Minimum key length for HS256.
pub const MIN_KEY_BYTES: usize = 32;

impl SigningKey {
    /// Uses `bytes` directly (at least 32).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<SigningKey, SigningKeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(SigningKeyError::TooShort("the given bytes".into()));
        }
        Ok(SigningKey {
            bytes,
            origin: KeyOrigin::Configured,
        })
    }

    /// `auth.signing_key` when set, else the key file (`auth.signing_key_file` or
    /// `<data_dir>/jwt.key`), generated with 64 random bytes and mode 0600 when missing.
    pub fn load_or_generate(config: &Config) -> Result<SigningKey, SigningKeyError> {
        if let Some(key) = &config.auth.signing_key {
            if key.len() < MIN_KEY_BYTES {
                return Err(SigningKeyError::TooShort("auth.signing_key".into()));
            }
            return Ok(SigningKey {
                bytes: key.as_bytes().to_vec(),
                origin: KeyOrigin::Configured,
            });
        }
        SigningKey::load_or_generate_file(&config.signing_key_path())
    }

    /// Reads the key file, or creates it (and its folder) with a new random key.
    pub fn load_or_generate_file(path: &Path) -> Result<SigningKey, SigningKeyError> {
        let io = |source| SigningKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read(path) {
            Ok(content) => {
                let text = String::from_utf8_lossy(&content);
                let bytes = text.trim().as_bytes().to_vec();
                if bytes.len() < MIN_KEY_BYTES {
                    return Err(SigningKeyError::TooShort(path.display().to_string()));
                }
                Ok(SigningKey {
                    bytes,
                    origin: KeyOrigin::File(path.to_path_buf()),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                let mut raw = [0u8; 64];
                rand::rng().fill_bytes(&mut raw);
                let text: String = raw.iter().map(|b| format!("{b:02x}")).collect();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = options.open(path).map_err(io)?;
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(SigningKey {
                    bytes: text.into_bytes(),
                    origin: KeyOrigin::Generated(path.to_path_buf()),
                })
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The key bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where it came from.
    pub fn origin(&self) -> &KeyOrigin {
        &self.origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_with_0600_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.path().join("nested");
        let first = SigningKey::load_or_generate(&config).unwrap();
        let path = dir.path().join("nested/jwt.key");
        assert_eq!(first.origin(), &KeyOrigin::Generated(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = SigningKey::load_or_generate(&config).unwrap();
        assert_eq!(second.origin(), &KeyOrigin::File(path));
        assert_eq!(first.bytes(), second.bytes());
        assert!(
            !format!("{first:?}").contains(&String::from_utf8_lossy(first.bytes()).to_string())
        );
    }

    #[test]
    fn configured_key_wins_and_must_be_long() {
        let mut config = Config::default();
        config.auth.signing_key = Some("x".repeat(32));
        let key = SigningKey::load_or_generate(&config).unwrap();
        assert_eq!(key.origin(), &KeyOrigin::Configured);
        config.auth.signing_key = Some("short".into());
        assert!(SigningKey::load_or_generate(&config).is_err());
    }
}
