//! Password hashing with Argon2id (PHC strings).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// Why a password could not be hashed, or a stored hash could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Hashing failed (bad parameters or no randomness).
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// The stored string is not a PHC Argon2 hash.
    #[error("the stored password hash is not a valid PHC string: {0}")]
    StoredHash(String),
}

/// Hashes `password` with Argon2id, default parameters and a random salt; returns the PHC
/// string to store.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Checks `password` against a stored PHC string. The comparison is constant time (done by
/// the argon2 crate). `Ok(false)` for a wrong password; `Err` only for an unreadable hash.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, PasswordError> {
    match Argon2::default().verify_password(password.as_bytes(), phc) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(PasswordError::StoredHash(e.to_string())),
    }
}

/// A valid hash of a random password, to verify against when a user does not exist, so that
/// a login for an unknown user costs as much time as one for a known user.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: [u8; 16] = rand::random();
        let text: String = random.iter().map(|b| format!("{b:02x}")).collect();
        hash_password(&text).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc).unwrap());
        assert!(!verify_password("wrong horse", &phc).unwrap());
        assert_ne!(phc, hash_password("correct horse").unwrap(), "salted");
        assert!(verify_password("x", "not a hash").is_err());
        assert!(!verify_password("x", dummy_hash()).unwrap());
    }
}
