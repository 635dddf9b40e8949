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

pub fn device() -> Device {
    let secret = loop {
        if let Ok(k) = p256::SecretKey::from_slice(&passport::ids::random_bytes::<32>()) {
            break k;
        }
    };
    let der = secret.to_pkcs8_der().unwrap();
    let key = EncodingKey::from_ec_der(der.as_bytes());
    let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    Device { key, jwk }
}

/// A `dbsc+jwt` answering `challenge`, signed by `signer`; a registration's carries `key`'s JWK.
pub fn proof(signer: &Device, challenge: &str, key: Option<&Device>) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dbsc+jwt".into());
    header.jwk = key.map(|d| d.jwk.clone());
    jsonwebtoken::encode(&header, &json!({ "jti": challenge }), &signer.key).unwrap()
}
