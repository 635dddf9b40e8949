//! The signing key ring: which key signs, which keys verify, looked up by `kid`.
//!
//! Token code only sees a [`KeyRing`] (or, where nothing signs, the [`published::PublicKeys`]
//! the signers publish); where its keys come from (a literal `SIGNING_SECRET`, or Secrets
//! Manager versions through [`KeyProvider`]) is the business of whoever builds it.
//!
//! One secret makes every key of a version, whatever `SIGNING_ALGORITHM` says: with HS256 it is
//! the HMAC key itself; with ES256 two P-256 private keys (access tokens, passports) are derived
//! from it with HKDF-SHA256 (RFC 5869), so a new key version is the same one command as ever and
//! CloudFormation's generated secret serves both algorithms. Refresh-token successors and DBSC
//! refresh challenges use keys derived with HMAC either way.

pub mod crypto;
pub mod es256;
pub mod provider;
pub mod published;
pub mod secrets_manager;

pub use provider::KeyProvider;

use crate::kernel::config::{MIN_KEY_BYTES, SecretBytes, SigningAlgorithm};
use es256::PublicJwk;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
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
    /// An ES256 key could not be made from the secret (a fault of this code, never of the
    /// secret's value).
    #[error("ES256 key derivation: {0}")]
    Derive(String),
    /// Secrets Manager could not be read, or the secret has no usable value.
    #[error("signing key from secret {secret}: {reason}")]
    Secret {
        /// The secret's ARN or name (never its value).
        secret: String,
        /// What went wrong.
        reason: String,
    },
}

/// One key version with its id: the access-token key pair, the passport key pair and the
/// refresh-successor and DBSC-challenge keys, all made from the version's secret.
pub struct Key {
    kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    refresh_key: [u8; 32],
    challenge_key: [u8; 32],
    passport_encoding: EncodingKey,
    passport_decoding: DecodingKey,
    /// ES256: the public halves as JWKs (access token, passport); none for HS256.
    public: Option<(PublicJwk, PublicJwk)>,
}

/// The prefix of a web-app passport's `kid`: `p-<kid of the key it derives from>`. No access
/// token's `kid` has it, so no verifier finds an access-token key for a passport.
pub const PASSPORT_KID_PREFIX: &str = "p-";

impl Key {
    /// Builds an HS256 key named `kid` from `secret`; `source_name` names it in errors.
    pub fn new(kid: String, secret: &SecretBytes, source_name: &str) -> Result<Self, KeyError> {
        Self::for_algorithm(SigningAlgorithm::Hs256, kid, secret, source_name)
    }

    /// Builds the `algorithm` keys named `kid` from `secret`; `source_name` names it in errors.
    pub fn for_algorithm(
        algorithm: SigningAlgorithm,
        kid: String,
        secret: &SecretBytes,
        source_name: &str,
    ) -> Result<Self, KeyError> {
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
        let refresh_key = derive(b"passport/refresh-successor/v1");
        let challenge_key = derive(b"passport/dbsc-refresh-challenge/v1");
        if algorithm == SigningAlgorithm::Es256 {
            let access = es256::KeyPair::derive(bytes, es256::ACCESS_TOKEN_LABEL, &kid)?;
            let passport = es256::KeyPair::derive(
                bytes,
                es256::PASSPORT_LABEL,
                &format!("{PASSPORT_KID_PREFIX}{kid}"),
            )?;
            return Ok(Self {
                kid,
                algorithm: Algorithm::ES256,
                encoding: access.encoding,
                decoding: access.decoding,
                refresh_key,
                challenge_key,
                passport_encoding: passport.encoding,
                passport_decoding: passport.decoding,
                public: Some((access.jwk, passport.jwk)),
            });
        }
        let passport = derive(b"passport/web-app-passport/v1");
        Ok(Self {
            kid,
            algorithm: Algorithm::HS256,
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            refresh_key,
            challenge_key,
            passport_encoding: EncodingKey::from_secret(&passport),
            passport_decoding: DecodingKey::from_secret(&passport),
            public: None,
        })
    }

    /// The JWT algorithm of its tokens.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// ES256: the public access-token key as a JWK (`kid`, `alg`, `use: sig`); none for HS256.
    pub fn public_jwk(&self) -> Option<&PublicJwk> {
        self.public.as_ref().map(|(access, _)| access)
    }

    /// ES256: the public passport key as a JWK (its `kid` is `p-<kid>`); none for HS256.
    pub fn public_passport_jwk(&self) -> Option<&PublicJwk> {
        self.public.as_ref().map(|(_, passport)| passport)
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

    /// A key derived from this one for DBSC refresh challenges, which carry their own MAC
    /// instead of a state in the store (never the signing key itself).
    pub fn challenge_key(&self) -> &[u8; 32] {
        &self.challenge_key
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
        crate::kernel::redact::shown(f, "Key", &[("kid", &self.kid)])
    }
}

/// The keys in force: one signs, it and any older ones verify.
#[derive(Debug)]
pub struct KeyRing {
    signing: Key,
    verify_only: Vec<Key>,
    created_ms: i64,
}

/// What verifies tokens: a [`KeyRing`] (a process that signs, or any process under HS256), or
/// the public keys the signers published ([`published::PublicKeys`], ES256 verifiers).
pub trait VerifyingKeys {
    /// The one algorithm accepted.
    fn algorithm(&self) -> Algorithm;
    /// The access-token key named `kid`.
    fn access_key(&self, kid: &str) -> Option<&DecodingKey>;
    /// The passport key of version `kid` (the passport's own `kid` without its `p-`).
    fn passport_key(&self, kid: &str) -> Option<&DecodingKey>;
    /// The key a passport signed before passports had their own key verifies with (HS256
    /// rings only).
    fn legacy_passport_key(&self, kid: &str) -> Option<&DecodingKey> {
        let _ = kid;
        None
    }
}

impl VerifyingKeys for KeyRing {
    fn algorithm(&self) -> Algorithm {
        self.signing.algorithm
    }

    fn access_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.get(kid).map(Key::decoding)
    }

    fn passport_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.get(kid).map(Key::passport_decoding)
    }

    fn legacy_passport_key(&self, kid: &str) -> Option<&DecodingKey> {
        (self.signing.algorithm == Algorithm::HS256)
            .then(|| self.access_key(kid))
            .flatten()
    }
}

impl KeyRing {
    /// A ring that signs with `current` and also accepts tokens signed with `previous`.
    pub fn new(current: Key, previous: Vec<Key>) -> Self {
        Self {
            signing: current,
            verify_only: previous,
            created_ms: crate::kernel::clock::now() * 1000,
        }
    }

    /// The same ring, its current version made at `created_ms` (Unix milliseconds): the order
    /// in which published key sets replace each other (see [`published`]).
    pub fn created_at(mut self, created_ms: i64) -> Self {
        self.created_ms = created_ms;
        self
    }

    /// When its current version was made (Unix milliseconds; load time for a literal key).
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    /// A one-key ring of a key made for this process alone, signing with `algorithm`
    /// (`local-api` without `SIGNING_SECRET`).
    pub fn generated(algorithm: SigningAlgorithm) -> Self {
        let bytes = crate::kernel::ids::random_bytes::<32>();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let kid: String = hex[..16].to_string();
        match Key::for_algorithm(
            algorithm,
            format!("generated-{kid}"),
            &SecretBytes::new(hex.into_bytes()),
            "generated key",
        ) {
            Ok(k) => Self::new(k, Vec::new()),
            Err(e) => unreachable!("a generated key was refused: {e}"),
        }
    }

    /// A one-key ring of 32 random bytes that no other process holds: it signs nothing anyone
    /// else accepts (local runs without `SIGNING_SECRET`, and functions that need no key).
    pub fn random() -> Self {
        let bytes = crate::kernel::ids::random_bytes::<32>();
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
        Self::from_literal_for(SigningAlgorithm::Hs256, secret)
    }

    /// [`KeyRing::from_literal`], signing with `algorithm`.
    pub fn from_literal_for(
        algorithm: SigningAlgorithm,
        secret: &SecretBytes,
    ) -> Result<Self, KeyError> {
        let digest = Sha256::new()
            .chain_update(b"passport/kid/v1")
            .chain_update(secret.expose())
            .finalize();
        let kid: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self::new(
            Key::for_algorithm(
                algorithm,
                format!("literal-{kid}"),
                secret,
                "SIGNING_SECRET",
            )?,
            Vec::new(),
        ))
    }

    /// The key new tokens are signed with.
    pub fn signing(&self) -> &Key {
        &self.signing
    }

    /// The key named `kid`, if it is in the ring.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys().find(|k| k.kid == kid)
    }

    /// Every key, the signing one first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.signing).chain(&self.verify_only)
    }

    /// ES256: the public keys of the ring, as the signers publish them (see [`published`]);
    /// none for HS256, whose keys are never published.
    pub fn public_keys(&self) -> Option<published::PublicKeys> {
        published::PublicKeys::of_ring(self)
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
