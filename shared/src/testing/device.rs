//! A Device Bound Session Credentials client's key, as a browser's unexportable-key service
//! would hold it, and the `dbsc+jwt` proofs it signs (the protocol-level client of the tests).

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use serde_json::json;

/// A device: its key pair, as a browser's unexportable-key service would hold it.
pub struct Device {
    key: EncodingKey,
    jwk: Jwk,
}

/// A new device with a fresh key.
pub fn device() -> Device {
    let secret = loop {
        if let Ok(k) = p256::SecretKey::from_slice(&crate::kernel::ids::random_bytes::<32>()) {
            break k;
        }
    };
    #[allow(clippy::expect_used)]
    let der = secret.to_pkcs8_der().expect("a P-256 key encodes");
    let key = EncodingKey::from_ec_der(der.as_bytes());
    #[allow(clippy::expect_used)]
    let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).expect("an EC key has a JWK");
    Device { key, jwk }
}

/// A `dbsc+jwt` answering `challenge`, signed by `signer`; a registration's carries `key`'s JWK.
pub fn proof(signer: &Device, challenge: &str, key: Option<&Device>) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dbsc+jwt".into());
    header.jwk = key.map(|d| d.jwk.clone());
    #[allow(clippy::expect_used)]
    jsonwebtoken::encode(&header, &json!({ "jti": challenge }), &signer.key).expect("ES256 signs")
}
