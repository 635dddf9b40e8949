//! The public keys the signers publish (ES256): the document kept in the store, from which
//! `GET /.well-known/jwks.json` is answered and which every function that only verifies reads
//! instead of the secret. It lists the access-token keys (`keys`, a JWK Set, RFC 7517 §5) and,
//! apart, the passport keys (`passport_keys`), which the public JWKS never shows: a passport is
//! then not verifiable as an access token by anyone's library, whatever it checks.

use super::es256::PublicJwk;
use super::{KeyRing, PASSPORT_KID_PREFIX, VerifyingKeys};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};

/// The most keys of each kind a document may list (current and previous, with room to spare):
/// a bigger one is refused rather than parsed.
const MAX_KEYS: usize = 8;

/// The document as stored.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    keys: Vec<PublicJwk>,
    passport_keys: Vec<PublicJwk>,
}

/// A JWK Set of access-token keys: the body of `GET /.well-known/jwks.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JwkSet {
    /// The keys, current first.
    pub keys: Vec<PublicJwk>,
}

/// A set of public keys: what an ES256 verifier checks signatures with.
pub struct PublicKeys {
    document: Document,
    access: Vec<(String, DecodingKey)>,
    passport: Vec<(String, DecodingKey)>,
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.access.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "PublicKeys {kids:?}")
    }
}

impl PublicKeys {
    /// No keys: verifies nothing (before any signer has published).
    pub fn empty() -> Self {
        Self {
            document: Document::default(),
            access: Vec::new(),
            passport: Vec::new(),
        }
    }

    /// The public keys of an ES256 ring; none for HS256.
    pub fn of_ring(ring: &KeyRing) -> Option<Self> {
        let mut document = Document::default();
        for key in ring.keys() {
            document.keys.push(key.public_jwk()?.clone());
            document
                .passport_keys
                .push(key.public_passport_jwk()?.clone());
        }
        Self::from_document(document).ok()
    }

    /// Reads a stored document; an error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let document: Document =
            serde_json::from_str(text).map_err(|e| format!("not a key document: {e}"))?;
        Self::from_document(document)
    }

    fn from_document(document: Document) -> Result<Self, String> {
        // ES256 keys are verified through ring (see `keys::crypto`).
        super::crypto::install();
        let decode = |jwks: &[PublicJwk]| -> Result<Vec<(String, DecodingKey)>, String> {
            if jwks.len() > MAX_KEYS {
                return Err(format!("{} keys, at most {MAX_KEYS}", jwks.len()));
            }
            jwks.iter().map(es256_key).collect()
        };
        Ok(Self {
            access: decode(&document.keys)?,
            passport: decode(&document.passport_keys)?,
            document,
        })
    }

    /// The document to store.
    pub fn document(&self) -> String {
        serde_json::to_string(&self.document).unwrap_or_default()
    }

    /// The public JWK Set of access-token keys: the body of `GET /.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.document.keys.clone(),
        }
    }

    /// The `kid`s of its access-token keys, in order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.access.iter().map(|(kid, _)| kid.as_str())
    }
}

/// An ES256 public key; anything else is refused.
fn es256_key(jwk: &PublicJwk) -> Result<(String, DecodingKey), String> {
    let kid = &jwk.kid;
    if (jwk.kty.as_str(), jwk.crv.as_str(), jwk.alg.as_str()) != ("EC", "P-256", "ES256") {
        return Err(format!("key {kid}: not an ES256 (P-256) key"));
    }
    let key = DecodingKey::from_ec_components(&jwk.x, &jwk.y)
        .map_err(|_| format!("key {kid}: bad coordinates"))?;
    Ok((kid.clone(), key))
}

impl VerifyingKeys for PublicKeys {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }

    fn access_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.access.iter().find(|(k, _)| k == kid).map(|(_, d)| d)
    }

    fn passport_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.passport
            .iter()
            .find(|(k, _)| k.strip_prefix(PASSPORT_KID_PREFIX) == Some(kid))
            .map(|(_, d)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::config::{SecretBytes, SigningAlgorithm};
    use crate::kernel::keys::Key;

    fn key(kid: &str, byte: u8) -> Key {
        Key::for_algorithm(
            SigningAlgorithm::Es256,
            kid.into(),
            &SecretBytes::new(vec![byte; 32]),
            "t",
        )
        .unwrap()
    }

    #[test]
    fn a_ring_round_trips_through_its_document_and_hs256_has_none() {
        let ring = KeyRing::new(key("v2", 2), vec![key("v1", 1)]);
        let public = ring.public_keys().unwrap();
        let again = PublicKeys::parse(&public.document()).unwrap();
        assert_eq!(again.kids().collect::<Vec<_>>(), ["v2", "v1"]);
        assert!(again.passport_key("v1").is_some() && again.access_key("p-v1").is_none());
        let jwks = serde_json::to_value(again.jwks()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(
            !jwks.to_string().contains("p-v"),
            "passport keys in the JWKS: {jwks}"
        );
        let hs = KeyRing::from_literal(&SecretBytes::new(vec![b'h'; 32])).unwrap();
        assert!(hs.public_keys().is_none());
    }

    #[test]
    fn documents_with_other_keys_are_refused() {
        assert!(PublicKeys::parse("[]").is_err());
        let hmac =
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x","alg":"HS256"}],"passport_keys":[]}"#;
        assert!(PublicKeys::parse(hmac).is_err());
        let ring = KeyRing::new(key("v1", 1), vec![]);
        let doc = ring
            .public_keys()
            .unwrap()
            .document()
            .replace("\"kid\":\"v1\",", "");
        assert!(PublicKeys::parse(&doc).is_err(), "{doc}");
    }
}
