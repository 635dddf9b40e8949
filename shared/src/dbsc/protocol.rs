//! Device Bound Session Credentials: the headers and session instructions Passport sends, and the
//! browser's proofs of possession it checks.
//!
//! Implemented from the W3C WebAppSec Editor's Draft "Device Bound Session Credentials"
//! (w3c.github.io/webappsec-dbsc, as of 2026-11), whose wire format the Web Platform Tests'
//! `device-bound-session-credentials/` handlers exercise:
//!
//! - a response that starts a session carries `Secure-Session-Registration: (ES256);path="…";
//!   challenge="…"` (a structured-field list: the algorithms offered, then parameters);
//! - the browser makes a key pair and POSTs to `path` with `Secure-Session-Response: <JWS>`: a
//!   JWT of `typ: dbsc+jwt`, signed by the new key, whose public key is the `jwk` of its header,
//!   and whose `jti` is the challenge;
//! - the server answers the session instructions (JSON: `session_identifier`, `refresh_url`,
//!   `scope`, `credentials` — the bound cookie's name and attributes) and sets that cookie;
//! - when the cookie is missing or expired, the browser POSTs to `refresh_url` with
//!   `Sec-Secure-Session-Id`; the server answers 403 with `Secure-Session-Challenge: "…";id="…"`;
//!   the browser retries with a proof signed by the session's key (`jti`: that challenge); the
//!   server sets a new cookie and answers the instructions again, or `{"continue": false}` when
//!   the session has ended.
//!
//! The signature check is jsonwebtoken's (ES256 only, by allow-list), with the key from the
//! header's JWK; nothing here parses a key or a signature by hand.

use crate::kernel::ids::Id;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

pub use crate::kernel::binding::{
    CHALLENGE_SECONDS, Challenge, REGISTER_PATH, REGISTRATION_HEADER,
};

/// Where the browser renews the bound cookie.
pub const REFRESH_PATH: &str = "/dbsc/refresh";
/// The header of the browser's proof.
pub const RESPONSE_HEADER: &str = "secure-session-response";
/// The header of a refresh's challenge.
pub const CHALLENGE_HEADER: &str = "secure-session-challenge";
/// The header naming the session a refresh is for.
pub const SESSION_ID_HEADER: &str = "sec-secure-session-id";
/// The proof's JWT type.
pub const PROOF_TYPE: &str = "dbsc+jwt";
/// Longest proof read.
pub const MAX_PROOF_BYTES: usize = 4096;

/// Why a proof was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// Not a JWS of the expected shape, type or algorithm, or too large.
    #[error("the proof is not an ES256 dbsc+jwt")]
    Malformed,
    /// A registration proof without a usable public key in its header.
    #[error("the proof carries no P-256 public key")]
    NoKey,
    /// The signature does not verify with the key.
    #[error("the proof's signature does not verify")]
    Signature,
}

/// `Secure-Session-Challenge` for `challenge` and the session `identifier`.
pub fn challenge_header(challenge: &str, identifier: &str) -> String {
    format!("\"{challenge}\";id=\"{identifier}\"")
}

/// The `session_identifier` of a session: its account and its id, so that a refresh finds the
/// session's record (which lives under its account) with no lookup.
pub fn session_identifier(account: Id, session: Id) -> String {
    format!("{account}.{session}")
}

/// The account and session a `session_identifier` names.
pub fn parse_session_identifier(text: &str) -> Option<(Id, Id)> {
    let (a, s) = text.trim().trim_matches('"').split_once('.')?;
    Some((a.parse().ok()?, s.parse().ok()?))
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::ES256);
    // The challenge, good once within CHALLENGE_SECONDS, is the freshness; the draft's proofs
    // carry no `exp`, `aud` is optional.
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v
}

fn header_of(jws: &str) -> Result<jsonwebtoken::Header, ProofError> {
    if jws.len() > MAX_PROOF_BYTES {
        return Err(ProofError::Malformed);
    }
    let header = jsonwebtoken::decode_header(jws).map_err(|_| ProofError::Malformed)?;
    if header.alg != Algorithm::ES256 || header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(ProofError::Malformed);
    }
    Ok(header)
}

fn verify(jws: &str, key: &Jwk) -> Result<String, ProofError> {
    crate::kernel::keys::crypto::install();
    let decoding = DecodingKey::from_jwk(key).map_err(|_| ProofError::NoKey)?;
    match jsonwebtoken::decode::<ProofClaims>(jws, &decoding, &validation()) {
        Ok(data) => Ok(data.claims.jti),
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => {
            Err(ProofError::Signature)
        }
        Err(_) => Err(ProofError::Malformed),
    }
}

fn p256(key: &Jwk) -> bool {
    matches!(
        &key.algorithm,
        jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(p)
            if p.curve == jsonwebtoken::jwk::EllipticCurve::P256
    )
}

/// A registration proof, checked: signed by the P-256 key in its header. The challenge it
/// answers (`jti`) and that key as JSON (what the session keeps).
pub fn verify_registration(jws: &str) -> Result<(String, String), ProofError> {
    let header = header_of(jws)?;
    let key = header.jwk.filter(p256).ok_or(ProofError::NoKey)?;
    let jti = verify(jws, &key)?;
    let key = serde_json::to_string(&key).map_err(|_| ProofError::NoKey)?;
    Ok((jti, key))
}

/// A refresh proof, checked against the session's key (`key`, as [`verify_registration`]
/// returned it): the challenge it answers.
pub fn verify_refresh(jws: &str, key: &str) -> Result<String, ProofError> {
    header_of(jws)?;
    let key: Jwk = serde_json::from_str(key).map_err(|_| ProofError::NoKey)?;
    verify(jws, &key)
}

/// The session instructions: the bound cookie `cookie` (`attributes` as `Set-Cookie` has them)
/// covers the deployment's origin, and is renewed at `refresh_url`.
pub fn instructions(identifier: &str, refresh_url: &str, cookie: &str, attributes: &str) -> Value {
    json!({
        "session_identifier": identifier,
        "refresh_url": refresh_url,
        "scope": { "include_site": false },
        "credentials": [{ "type": "cookie", "name": cookie, "attributes": attributes }],
    })
}

/// The answer to a refresh of a session that has ended: the browser stops the session.
pub fn ended(identifier: &str) -> Value {
    json!({ "session_identifier": identifier, "continue": false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_identifiers_have_the_drafts_shape() {
        let (a, s, c) = (Id::random(), Id::random(), Id::random());
        assert_eq!(
            crate::kernel::binding::registration_header("/auth", c),
            format!("(ES256);path=\"/auth/dbsc/register\";challenge=\"{c}\"")
        );
        let id = session_identifier(a, s);
        assert_eq!(parse_session_identifier(&id), Some((a, s)));
        assert_eq!(parse_session_identifier(&format!("\"{id}\"")), Some((a, s)));
        assert_eq!(
            challenge_header(&c.to_string(), &id),
            format!("\"{c}\";id=\"{id}\"")
        );
        assert_eq!(parse_session_identifier("nope"), None);
    }

    #[test]
    fn garbage_is_malformed() {
        for bad in ["", "a.b.c", &"x".repeat(MAX_PROOF_BYTES + 1)] {
            assert_eq!(verify_registration(bad), Err(ProofError::Malformed));
        }
    }
}
