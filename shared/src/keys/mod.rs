//! The signing key ring: which key signs, which keys verify, looked up by `kid`.
//!
//! Token code only sees a [`KeyRing`]; where its keys come from (a literal `SIGNING_SECRET`, or
//! Secrets Manager versions through [`KeyProvider`]) is the business of whoever builds it.

pub mod provider;
pub mod secrets_manager;

pub use provider::KeyProvider;

use crate::config::{MIN_KEY_BYTES, SecretBytes};
use hmac::{Hmac, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// A key could not be put in the ring.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key material is too short for HS256.
    #[error("signing key from {source_name} is {len} bytes; at least {MIN_KEY_BYTES} are required")]
    TooShort {
        /// Where the key came from (a variable or secret name, never the value).
        source_name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// No signing key was configured.
    #[error(
        "no signing key configured: set SIGNING_SECRET_ARN (deployed) or SIGNING_SECRET (local runs and tests)"
    )]
    Missing,
    /// Secrets Manager could not be read, or the secret has no usable value.
    #[error("signing key from secret {secret}: {reason}")]
    Secret {
        /// The secret's ARN or name (never its value).
        secret: String,
        /// What went wrong.
        reason: String,
    },
}

/// One HMAC key with its id, and the keys derived from it.
pub struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    refresh_key: [u8; 32],
    passport_encoding: EncodingKey,
    passport_decoding: DecodingKey,
}

/// The prefix of a web-app passport's `kid`: `p-<kid of the key it derives from>`. No access
/// token's `kid` has it, so no verifier finds an access-token key for a passport.
pub const PASSPORT_KID_PREFIX: &str = "p-";

impl Key {
    /// Builds a key named `kid` from `secret`; `source_name` names it in errors.
    pub fn new(kid: String, secret: &SecretBytes, source_name: &str) -> Result<Self, KeyError> {
        let bytes = secret.expose();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                source_name: source_name.to_string(),
                len: bytes.len(),
            });
        }
        let derive = |label: &[u8]| -> [u8; 32] {
            #[allow(clippy::expect_used)]
            let mut mac = Hmac::<Sha256>::new_from_slice(bytes).expect("HMAC takes any key length");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        let passport = derive(b"passport/web-app-passport/v1");
        Ok(Self {
            kid,
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            refresh_key: derive(b"passport/refresh-successor/v1"),
            passport_encoding: EncodingKey::from_secret(&passport),
            passport_decoding: DecodingKey::from_secret(&passport),
        })
    }

    /// The key id, written into each token's `kid` header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key for signing.
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The key for verifying.
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// A key derived from this one for refresh-token successors (never the signing key itself).
    pub fn refresh_key(&self) -> &[u8; 32] {
        &self.refresh_key
    }

    /// The key web-app passports are signed with: derived from this one, so that a passport
    /// never verifies under the access-token key, even for a verifier that ignores `typ`.
    pub fn passport_encoding(&self) -> &EncodingKey {
        &self.passport_encoding
    }

    /// The key web-app passports are verified with.
    pub fn passport_decoding(&self) -> &DecodingKey {
        &self.passport_decoding
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key {{ kid: {:?}, material: redacted }}", self.kid)
    }
}

/// The keys in force: one signs, it and any older ones verify.
#[derive(Debug)]
pub struct KeyRing {
    signing: Key,
    verify_only: Vec<Key>,
}

impl KeyRing {
    /// A ring that signs with `current` and also accepts tokens signed with `previous`.
    pub fn new(current: Key, previous: Vec<Key>) -> Self {
        Self {
            signing: current,
            verify_only: previous,
        }
    }

    /// A one-key ring of 32 random bytes that no other process holds: it signs nothing anyone
    /// else accepts (local runs without `SIGNING_SECRET`, and functions that need no key).
    pub fn random() -> Self {
        let bytes = crate::ids::random_bytes::<32>();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let key = Key::new(
            "random".to_string(),
            &SecretBytes::new(hex.into_bytes()),
            "random key",
        );
        match key {
            Ok(k) => Self::new(k, Vec::new()),
            // 64 hex characters are always long enough.
            Err(e) => unreachable!("a random key was refused: {e}"),
        }
    }

    /// A one-key ring from a literal secret (`SIGNING_SECRET`). Its `kid` is derived from the key
    /// with a one-way hash, so every process given the same secret names it the same way.
    pub fn from_literal(secret: &SecretBytes) -> Result<Self, KeyError> {
        let digest = Sha256::new()
            .chain_update(b"passport/kid/v1")
            .chain_update(secret.expose())
            .finalize();
        let kid: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self::new(
            Key::new(format!("literal-{kid}"), secret, "SIGNING_SECRET")?,
            Vec::new(),
        ))
    }

    /// The key new tokens are signed with.
    pub fn signing(&self) -> &Key {
        &self.signing
    }

    /// The key named `kid`, if it is in the ring.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        std::iter::once(&self.signing)
            .chain(&self.verify_only)
            .find(|k| k.kid == kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretBytes {
        SecretBytes::new(s.as_bytes().to_vec())
    }

    #[test]
    fn literal_kid_is_stable_and_hides_the_key() {
        let s = secret("an example key that is long enough!!");
        let a = KeyRing::from_literal(&s).unwrap();
        let b = KeyRing::from_literal(&s).unwrap();
        assert_eq!(a.signing().kid(), b.signing().kid());
        assert!(a.signing().kid().starts_with("literal-"));
        assert!(!a.signing().kid().contains("example"));
        let other = KeyRing::from_literal(&secret("another example key, long enough!!")).unwrap();
        assert_ne!(a.signing().kid(), other.signing().kid());
        assert!(!format!("{a:?}").contains("example"));
    }

    #[test]
    fn short_key_is_refused_by_name() {
        let err = KeyRing::from_literal(&secret("too short")).unwrap_err();
        assert!(err.to_string().contains("SIGNING_SECRET"));
        assert!(!err.to_string().contains("too short"));
    }

    #[test]
    fn lookup_by_kid_covers_previous_keys() {
        let cur = Key::new("v2".into(), &secret(&"b".repeat(32)), "test").unwrap();
        let old = Key::new("v1".into(), &secret(&"a".repeat(32)), "test").unwrap();
        let ring = KeyRing::new(cur, vec![old]);
        assert_eq!(ring.signing().kid(), "v2");
        assert_eq!(ring.get("v1").unwrap().kid(), "v1");
        assert!(ring.get("v3").is_none());
        assert_ne!(
            ring.get("v1").unwrap().refresh_key(),
            ring.signing().refresh_key()
        );
    }
}
