//! Passwords, API tokens and session ids: made, hashed and checked here, so the store only
//! ever holds hashes.
//!
//! - Passwords and the secret part of tokens: argon2id with the crate's default parameters
//!   (RFC 9106's second recommended option), as a PHC string that carries its own salt and
//!   parameters.
//! - A token reads `cgt_<id>_<secret>`: 12 random lower-case letters and digits of id (public,
//!   finds the row; shown in `token list`) and 32 of secret (about 165 bits).
//! - Session ids and CSRF tokens are 32 random characters; sessions are looked up by the
//!   SHA-256 of the id (high entropy needs no slow hash).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::Rng;
use sha2::{Digest, Sha256};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

const TOKEN_PREFIX: &str = "cgt";
const ID_CHARS: usize = 12;
const SECRET_CHARS: usize = 32;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `n` random characters of [`ALPHABET`] from the operating system's generator.
pub fn random_text(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The argon2id PHC string of `secret`.
pub fn hash_secret(secret: &str) -> String {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .expect("argon2 with default parameters hashes any input")
        .to_string()
}

/// Whether `secret` matches `hash`; a malformed hash matches nothing.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(secret.as_bytes(), hash)
        .is_ok()
}

/// Key and token secrets already checked against their hash, by key id (as a SHA-256 of the
/// secret): argon2 takes tens of milliseconds, so a key is verified once, not on every request;
/// its row is still read on every request, so a revoked or disabled key stops at once.
#[derive(Default)]
pub struct VerifiedSecrets {
    verified: std::sync::Mutex<std::collections::HashMap<String, [u8; 32]>>,
}

impl VerifiedSecrets {
    /// Whether `secret` matches `hash`, the key `id`'s; argon2 runs off the async threads, once
    /// per id and secret.
    pub async fn verify(&self, id: &str, secret: &str, hash: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let known = self.verified.lock().expect("not poisoned").get(id) == Some(&digest);
        if known {
            return true;
        }
        let (secret, hash) = (secret.to_string(), hash.to_string());
        let valid = tokio::task::spawn_blocking(move || verify_secret(&secret, &hash))
            .await
            .unwrap_or(false);
        if valid {
            self.verified
                .lock()
                .expect("not poisoned")
                .insert(id.to_string(), digest);
        }
        valid
    }
}

/// Why a password was refused.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters (this one has {chars})"
        ));
    }
    if password.trim() != password {
        return Err("a password must not start or end with white space".into());
    }
    Ok(())
}

/// A new token: what to show once, and the id and hash to store.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub text: String,
    pub id: String,
    pub hash: String,
}

/// Makes a new token.
pub fn mint_token() -> MintedToken {
    mint_key(TOKEN_PREFIX)
}

/// `(id, secret)` of a presented token, or `None` when it is not one of ours.
pub fn split_token(text: &str) -> Option<(&str, &str)> {
    split_key(TOKEN_PREFIX, text)
}

/// Makes a new key of the token's shape under another prefix (`<prefix>_<id>_<secret>`): the
/// Open311 server's api_keys.
pub fn mint_key(prefix: &str) -> MintedToken {
    let id = random_text(ID_CHARS);
    let secret = random_text(SECRET_CHARS);
    MintedToken {
        text: format!("{prefix}_{id}_{secret}"),
        hash: hash_secret(&secret),
        id,
    }
}

/// `(id, secret)` of a presented key made by [`mint_key`] with `prefix`, or `None`.
pub fn split_key<'a>(prefix: &str, text: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = text.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    let ours = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| ALPHABET.contains(&b));
    (ours(id, ID_CHARS) && ours(secret, SECRET_CHARS)).then_some((id, secret))
}

/// The SHA-256 (hex) a session is stored under.
pub fn session_hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_with_its_own_secret() {
        let minted = mint_token();
        let (id, secret) = split_token(&minted.text).expect("our own format");
        assert_eq!(id, minted.id);
        assert!(verify_secret(secret, &minted.hash));
        assert!(!verify_secret(
            &secret.replace(&secret[..1], "_"),
            &minted.hash
        ));
        let other = mint_token();
        assert_ne!(other.id, minted.id);
        assert!(!verify_secret(secret, &other.hash));
        assert!(minted.hash.starts_with("$argon2id$"), "{}", minted.hash);
        assert!(!minted.hash.contains(secret), "only the hash is kept");
    }

    #[test]
    fn foreign_and_malformed_tokens_are_not_split() {
        for text in [
            "",
            "cgt_",
            "cgt_abc_def",
            "Bearer cgt_abcdefghijkl_abcdefghijklmnopqrstuvwxyz012345",
            "cgt_ABCDEFGHIJKL_abcdefghijklmnopqrstuvwxyz012345",
            "xyz_abcdefghijkl_abcdefghijklmnopqrstuvwxyz012345",
            "cgt_abcdefghijkl_abcdefghijklmnopqrstuvwxyz01234",
        ] {
            assert_eq!(split_token(text), None, "{text}");
        }
        assert!(split_token("cgt_abcdefghijkl_abcdefghijklmnopqrstuvwxyz012345").is_some());
    }

    #[test]
    fn keys_of_another_prefix_are_not_tokens_and_split_only_under_their_own() {
        let key = mint_key("o311");
        assert!(key.text.starts_with("o311_"), "{}", key.text);
        assert_eq!(split_token(&key.text), None);
        let (id, secret) = split_key("o311", &key.text).expect("its own prefix");
        assert_eq!(id, key.id);
        assert!(verify_secret(secret, &key.hash));
        assert_eq!(split_key("o311", &mint_token().text), None);
    }

    #[test]
    fn passwords_hash_with_a_salt_and_weak_ones_are_refused() {
        let a = hash_secret("correct horse battery");
        let b = hash_secret("correct horse battery");
        assert_ne!(a, b, "salted");
        assert!(verify_secret("correct horse battery", &a));
        assert!(!verify_secret("correct horse batterY", &a));
        assert!(!verify_secret("anything", "not a hash"));
        assert!(check_password("short").is_err());
        assert!(check_password(" padded password ").is_err());
        assert!(
            check_password("办公室的长密码一二三四").is_ok(),
            "counted in characters"
        );
    }
}
