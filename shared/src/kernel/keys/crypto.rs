//! Which library does jsonwebtoken's arithmetic: ES256 through `ring`, everything else through
//! jsonwebtoken's own RustCrypto backend (its `rust_crypto` feature, the one the workspace
//! enables).
//!
//! Chosen by measurement (`make bench`, docs/performance.md "ES256"): on the 2-core machine of
//! these runs, verifying an ES256 signature takes about 200 µs with the RustCrypto `p256` crate
//! and about 46 µs with `ring`'s assembly P-256; signing, about 350 µs against about 30 µs. `ring`
//! is already in every binary (rustls, under the Redis and AWS clients), so it adds no size.
//! jsonwebtoken still parses, checks and encodes every token; `ring` only signs and verifies the
//! bytes it is handed ([`jsonwebtoken::crypto::CryptoProvider`], the crate's documented way to
//! bring another backend).
//!
//! jsonwebtoken keeps, for the life of the process, whichever provider it saw first: the one
//! installed, or its own default the first time anything signs or verifies. So [`install`] runs
//! before every sign and verify of this crate (`kernel::tokens::jwt`, `dbsc::protocol`), and
//! every entry point (each function, `local-api`, the bench harness) calls it first and logs
//! which backend it got; a process that touched jsonwebtoken some other way before would say
//! [`Backend::RustCrypto`], which verifies the same tokens, only slower.

use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, UnparsedPublicKey,
};
use std::cell::Cell;
use std::sync::OnceLock;

static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();

/// Which library this process's jsonwebtoken uses for ES256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `ring`'s P-256 (this module's provider).
    Ring,
    /// jsonwebtoken's own RustCrypto `p256`: something used jsonwebtoken before [`install`].
    RustCrypto,
}

impl Backend {
    /// The name logged at start (`es256_backend`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Ring => "ring",
            Backend::RustCrypto => "rust_crypto",
        }
    }
}

/// Makes this process's jsonwebtoken sign and verify ES256 with `ring`, and says which backend
/// the process has: a process that already used jsonwebtoken keeps the one it started with
/// (both are correct). Idempotent, and cheap after the first call (one atomic load).
pub fn install() -> Backend {
    static BACKEND: OnceLock<Backend> = OnceLock::new();
    *BACKEND.get_or_init(|| {
        let ours = PROVIDER.get_or_init(|| CryptoProvider {
            signer_factory: signer,
            verifier_factory: verifier,
            key_utils: DEFAULT_PROVIDER.key_utils.clone(),
        });
        // Refused when jsonwebtoken already has a provider; its answer does not say which
        // (it hands back the one offered), so ask jsonwebtoken for a verifier and see whether
        // this module's factory made it.
        let _ = ours.install_default();
        ASKED.with(|asked| asked.set(false));
        let probe = DecodingKey::from_secret(b"which backend?");
        let _ = jsonwebtoken::crypto::verify("", b"", &probe, Algorithm::ES256);
        if ASKED.with(Cell::get) {
            Backend::Ring
        } else {
            Backend::RustCrypto
        }
    })
}

thread_local! {
    /// Set by this module's verifier factory: how [`install`] tells whose provider is in use.
    static ASKED: Cell<bool> = const { Cell::new(false) };
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match algorithm {
        Algorithm::ES256 => Ok(Box::new(Es256Signer::new(key)?)),
        other => (DEFAULT_PROVIDER.signer_factory)(other, key),
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    ASKED.with(|asked| asked.set(true));
    match algorithm {
        Algorithm::ES256 => Ok(Box::new(Es256Verifier::new(key)?)),
        other => (DEFAULT_PROVIDER.verifier_factory)(other, key),
    }
}

/// An ES256 private key (PKCS#8, as jsonwebtoken's `EncodingKey::from_ec_der` holds it).
struct Es256Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Es256Signer {
    fn new(key: &EncodingKey) -> Result<Self, Error> {
        if key.family() != AlgorithmFamily::Ec {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key.as_bytes(), &rng)
            .map_err(|_| Error::from(ErrorKind::InvalidEcdsaKey))?;
        Ok(Self { pair, rng })
    }
}

impl signature::Signer<Vec<u8>> for Es256Signer {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        // JWS wants r ‖ s, 64 bytes (RFC 7518 §3.4): ring's FIXED encoding.
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Es256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

/// An ES256 public key (the SEC1 point, as `DecodingKey::from_ec_components` holds it).
struct Es256Verifier(UnparsedPublicKey<Vec<u8>>);

impl Es256Verifier {
    fn new(key: &DecodingKey) -> Result<Self, Error> {
        if key.family() != AlgorithmFamily::Ec {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        let point = key.try_get_as_bytes()?.to_vec();
        Ok(Self(UnparsedPublicKey::new(
            &ECDSA_P256_SHA256_FIXED,
            point,
        )))
    }
}

impl signature::Verifier<Vec<u8>> for Es256Verifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        self.0
            .verify(message, signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Es256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::keys::es256::{ACCESS_TOKEN_LABEL, KeyPair};
    use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER as RUST_CRYPTO;

    fn pair() -> KeyPair {
        KeyPair::derive(&[9; 32], ACCESS_TOKEN_LABEL, "k").unwrap()
    }

    #[test]
    fn each_backend_verifies_what_the_other_signs_and_refuses_a_changed_message() {
        let pair = pair();
        let message = b"header.claims";
        let ring_sig = signer(&Algorithm::ES256, &pair.encoding)
            .unwrap()
            .try_sign(message)
            .unwrap();
        let rc_sig = (RUST_CRYPTO.signer_factory)(&Algorithm::ES256, &pair.encoding)
            .unwrap()
            .try_sign(message)
            .unwrap();
        let by_ring = verifier(&Algorithm::ES256, &pair.decoding).unwrap();
        let by_rc = (RUST_CRYPTO.verifier_factory)(&Algorithm::ES256, &pair.decoding).unwrap();
        for sig in [&ring_sig, &rc_sig] {
            assert_eq!(sig.len(), 64);
            assert!(by_ring.verify(message, sig).is_ok());
            assert!(by_rc.verify(message, sig).is_ok());
            assert!(by_ring.verify(b"header.claimz", sig).is_err());
        }
        let mut bad = ring_sig.clone();
        bad[10] ^= 1;
        assert!(by_ring.verify(message, &bad).is_err());
    }

    #[test]
    fn keys_of_another_family_are_refused() {
        let hmac = DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        assert!(verifier(&Algorithm::ES256, &hmac).is_err());
        let hmac = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        assert!(signer(&Algorithm::ES256, &hmac).is_err());
        // Other algorithms go to jsonwebtoken's own backend.
        assert!(signer(&Algorithm::HS256, &hmac).is_ok());
    }
}
