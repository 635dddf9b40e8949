//! ES256 key pairs derived from a version's secret: HKDF-SHA256 (RFC 5869, the `hkdf` crate)
//! expands the secret into a candidate P-256 private scalar, and the `p256` crate accepts it or
//! (with probability about 2⁻³², for a value of at least the group order) the next candidate is
//! tried. The same secret always makes the same key, so every signer of a version signs alike
//! and the `kid` stays the version's name.

use super::KeyError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::pkcs8::EncodePrivateKey;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The HKDF `info` of the access-token key.
pub const ACCESS_TOKEN_LABEL: &str = "passport/es256/access-token/v1";
/// The HKDF `info` of the web-app passport key.
pub const PASSPORT_LABEL: &str = "passport/es256/web-app-passport/v1";

/// A P-256 public key as a JWK (RFC 7517 §4, RFC 7518 §6.2.1): exactly the members Passport
/// publishes and reads, nothing else (jsonwebtoken's general `Jwk`, with every key type's
/// serde code, made each bootstrap about 40–50 KB larger for these seven strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The point's x coordinate, base64url.
    pub x: String,
    /// The point's y coordinate, base64url.
    pub y: String,
    /// The key's id: the secret's version (`p-<version>` for a passport key).
    pub kid: String,
    /// `ES256`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// One derived key pair, in the forms jsonwebtoken signs and verifies with, and its JWK.
pub struct KeyPair {
    /// The private key (PKCS#8 DER, as jsonwebtoken's ES256 signer reads it).
    pub encoding: EncodingKey,
    /// The public key (SEC1 uncompressed point, as its verifier reads it).
    pub decoding: DecodingKey,
    /// The public key as a JWK with `kid`, `alg: ES256` and `use: sig`.
    pub jwk: PublicJwk,
}

impl KeyPair {
    /// The key pair `label` of `secret`, named `kid`.
    pub fn derive(secret: &[u8], label: &str, kid: &str) -> Result<Self, KeyError> {
        // ES256 keys are signed and verified through ring (see `keys::crypto`).
        super::crypto::install();
        let hkdf = Hkdf::<Sha256>::new(Some(b"passport/es256"), secret);
        let private = (0u8..=255)
            .find_map(|attempt| {
                let mut candidate = [0u8; 32];
                hkdf.expand_multi_info(&[label.as_bytes(), &[attempt]], &mut candidate)
                    .ok()?;
                p256::SecretKey::from_slice(&candidate).ok()
            })
            .ok_or_else(|| derive_error("no P-256 key in 256 candidates"))?;
        let der = private
            .to_pkcs8_der()
            .map_err(|_| derive_error("PKCS#8 encoding failed"))?;
        let encoding = EncodingKey::from_ec_der(der.as_bytes());
        let point = p256::EncodedPoint::from(private.public_key());
        let decoding = DecodingKey::from_ec_der(point.as_bytes());
        let (x, y) = match (point.x(), point.y()) {
            (Some(x), Some(y)) => (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y)),
            _ => return Err(derive_error("the public point is not uncompressed")),
        };
        let jwk = PublicJwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x,
            y,
            kid: kid.to_string(),
            alg: "ES256".into(),
            use_: "sig".into(),
        };
        Ok(Self {
            encoding,
            decoding,
            jwk,
        })
    }
}

fn derive_error(reason: &str) -> KeyError {
    KeyError::Derive(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_secret_same_key_and_labels_apart() {
        let a = KeyPair::derive(&[7; 32], ACCESS_TOKEN_LABEL, "v1").unwrap();
        let b = KeyPair::derive(&[7; 32], ACCESS_TOKEN_LABEL, "v1").unwrap();
        let p = KeyPair::derive(&[7; 32], PASSPORT_LABEL, "p-v1").unwrap();
        let other = KeyPair::derive(&[8; 32], ACCESS_TOKEN_LABEL, "v2").unwrap();
        let x = |k: &KeyPair| serde_json::to_value(&k.jwk).unwrap()["x"].clone();
        assert_eq!(x(&a), x(&b));
        assert_ne!(x(&a), x(&p));
        assert_ne!(x(&a), x(&other));
        let jwk = serde_json::to_value(&a.jwk).unwrap();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], "v1");
        assert!(jwk.get("d").is_none(), "a private part in the JWK: {jwk}");
    }
}
