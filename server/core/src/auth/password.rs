//! Password hashing with argon2id (the OWASP-recommended defaults of the `argon2` crate).
//! Hashing is slow on purpose, so it runs on the blocking thread pool.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{CoreResult, Error};

/// Passwords shorter than this are refused when set.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longer input is refused before hashing, so nobody can make the server hash megabytes.
pub const MAX_PASSWORD_LEN: usize = 256;

/// Checks a new password's length; says what is wrong.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(format!(
            "password must have at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(format!(
            "password must have at most {MAX_PASSWORD_LEN} bytes"
        ));
    }
    Ok(())
}

/// Hashes a password into an argon2id PHC string with a fresh random salt.
pub async fn hash_password(password: String) -> CoreResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Error::internal(format!("argon2 hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::internal(format!("the password task failed: {e}")))?
}

/// Verifies a password against a stored PHC string. With no stored hash (unknown user, or an
/// account without a password) it verifies against a fixed hash anyway, so the answer takes the
/// same time and does not tell which usernames exist.
pub async fn verify_password(password: String, stored: Option<String>) -> CoreResult<bool> {
    tokio::task::spawn_blocking(move || {
        let has_hash = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| Error::internal(format!("stored password hash is malformed: {e}")))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(has_hash && matches)
    })
    .await
    .map_err(|e| Error::internal(format!("the password task failed: {e}")))?
}

/// argon2id of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2cWzGB+XYl9RNNsKnc5CmMr4lX9YQxbyPUzfK0r/SNY";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("correct horse".into()).await.unwrap();
        let b = hash_password("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(
            verify_password("correct horse".into(), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(a))
                .await
                .unwrap()
        );
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password(&"x".repeat(300)).is_err());
        assert!(check_new_password("long enough").is_ok());
    }
}
