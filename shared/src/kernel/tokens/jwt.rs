//! The JWT core every token Passport signs goes through: the one verification path (size,
//! `alg`, `typ`, `kid`, signature, claims) and the one signing path, the algorithm allow-list and
//! the claim checks per algorithm. Access tokens and web-app passports differ only in `typ`,
//! claims and validation.

use crate::kernel::keys::{KeyRing, PASSPORT_KID_PREFIX, VerifyingKeys};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::Serialize;

/// The algorithm of HS256 deployments. Each set of keys accepts exactly one algorithm, its own
/// ([`VerifyingKeys::algorithm`]): ES256 keys never take an HS256 token, nor the reverse.
pub const ALGORITHM: Algorithm = Algorithm::HS256;
/// The `typ` header of an access token (RFC 9068).
pub const TOKEN_TYPE: &str = "at+jwt";
/// The `typ` header of a web-app passport: signed with the passport key pair, under the `kid`
/// `p-<version>`.
pub const PASSPORT_TYPE: &str = "passport+jwt";
/// Clock leeway for `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;
/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was refused. Callers answer every variant the same way (a deny or a 401); the
/// variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token too long")]
    TooLong,
    /// Not a JWT, or a header or claim set that does not parse.
    #[error("malformed token")]
    Malformed,
    /// `alg` is not the algorithm of the keys in force.
    #[error("algorithm not allowed")]
    Algorithm,
    /// `typ` is not the one expected (`at+jwt` for an access token, `passport+jwt` for a
    /// web-app passport): one is never accepted as the other.
    #[error("wrong token type")]
    Type,
    /// No `kid`, or one not in the key ring.
    #[error("unknown key id")]
    UnknownKey,
    /// The signature does not match.
    #[error("bad signature")]
    Signature,
    /// Expired, or not yet valid.
    #[error("expired or not yet valid")]
    Expired,
    /// Wrong issuer or audience, or a missing claim.
    #[error("claims rejected")]
    Claims,
    /// Signing failed (a server fault, not the caller's).
    #[error("could not sign token")]
    Signing,
}

/// One set of claim checks, prepared for each algorithm a key set may have: jsonwebtoken wants
/// every algorithm a `Validation` names to fit the key, so each verification takes the one of
/// its keys' algorithm. Built once, beside the issuer that uses it.
#[derive(Debug, Clone)]
pub(crate) struct Checks {
    hs256: Validation,
    es256: Validation,
}

impl From<Validation> for Checks {
    fn from(v: Validation) -> Self {
        let with = |alg| Validation {
            algorithms: vec![alg],
            ..v.clone()
        };
        Self {
            hs256: with(Algorithm::HS256),
            es256: with(Algorithm::ES256),
        }
    }
}

impl Checks {
    /// The checks for keys of `algorithm` (HS256 or ES256, the two Passport signs with).
    fn of(&self, algorithm: Algorithm) -> &Validation {
        if algorithm == Algorithm::ES256 {
            &self.es256
        } else {
            &self.hs256
        }
    }
}

/// The validation every JWT Passport accepts starts from: the leeway, `exp` required, `nbf`
/// checked, the issuer; no audience unless the caller sets one. [`Checks`] makes one per
/// algorithm. `exp` is compared by [`check_expiry`] with the service's clock, not jsonwebtoken's
/// (so a test can move the time).
pub(crate) fn validation(issuer: &str) -> Validation {
    let mut v = Validation::new(ALGORITHM);
    v.algorithms = vec![ALGORITHM];
    v.leeway = LEEWAY_SECONDS;
    v.validate_exp = false;
    v.validate_nbf = true;
    v.validate_aud = false;
    v.set_issuer(&[issuer]);
    v
}

/// Refuses an `exp` more than the leeway before `now`, as jsonwebtoken's own check would
/// (`exp < now - leeway`).
pub(crate) fn check_expiry(exp: i64, now: i64) -> Result<(), TokenError> {
    if exp < now - LEEWAY_SECONDS as i64 {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// Refuses an `iat` more than the leeway after `now` (jsonwebtoken does not check `iat`).
pub(crate) fn check_issued_at(iat: i64, now: i64) -> Result<(), TokenError> {
    if iat > now + LEEWAY_SECONDS as i64 {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// Checks size, `alg`, `typ` (exactly `typ`, or `application/<typ>`, any case) and `kid`, then
/// decodes and validates: the one verification path of every JWT Passport accepts, so an
/// access token and a web-app passport differ only in `typ`, claims and validation.
pub(crate) fn decode<C: serde::de::DeserializeOwned, K: VerifyingKeys + ?Sized>(
    keys: &K,
    token: &str,
    typ: &str,
    validation: &Checks,
) -> Result<C, TokenError> {
    decode_as(keys, token, typ, validation, false)
}

/// [`decode`], also accepting a passport signed before passports had their own key (its `kid`
/// unprefixed, under the key itself): only to renew or end one, never at the app authorizer.
pub(crate) fn decode_legacy_passport<C: serde::de::DeserializeOwned, K: VerifyingKeys + ?Sized>(
    keys: &K,
    token: &str,
    validation: &Checks,
) -> Result<C, TokenError> {
    decode_as(keys, token, PASSPORT_TYPE, validation, true)
}

fn decode_as<C: serde::de::DeserializeOwned, K: VerifyingKeys + ?Sized>(
    keys: &K,
    token: &str,
    typ: &str,
    validation: &Checks,
    legacy: bool,
) -> Result<C, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLong);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    let algorithm = keys.algorithm();
    if header.alg != algorithm {
        return Err(TokenError::Algorithm);
    }
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case(typ)
            || t.strip_prefix("application/")
                .is_some_and(|t| t.eq_ignore_ascii_case(typ))
    });
    if !typ_ok {
        return Err(TokenError::Type);
    }
    let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
    // A passport's kid is `p-<kid>` and its key derived; an access token's is the key's own.
    let decoding = if typ == PASSPORT_TYPE {
        match kid.strip_prefix(PASSPORT_KID_PREFIX) {
            Some(kid) => keys.passport_key(kid),
            None if legacy => keys.legacy_passport_key(kid),
            None => None,
        }
    } else {
        keys.access_key(kid)
    };
    let decoding = decoding.ok_or(TokenError::UnknownKey)?;
    crate::kernel::keys::crypto::install();
    jsonwebtoken::decode::<C>(token, decoding, validation.of(algorithm))
        .map(|data| data.claims)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => TokenError::Signature,
                K::ExpiredSignature | K::ImmatureSignature => TokenError::Expired,
                K::InvalidIssuer | K::InvalidAudience | K::MissingRequiredClaim(_) => {
                    TokenError::Claims
                }
                K::InvalidAlgorithm => TokenError::Algorithm,
                _ => TokenError::Malformed,
            }
        })
}

/// Signs `claims` with the ring's signing key, with `typ` and `kid` in the header.
pub(crate) fn sign<C: Serialize>(
    ring: &KeyRing,
    typ: &str,
    claims: &C,
) -> Result<String, TokenError> {
    let key = ring.signing();
    let mut header = Header::new(key.algorithm());
    header.typ = Some(typ.to_string());
    let encoding = if typ == PASSPORT_TYPE {
        header.kid = Some(format!("{PASSPORT_KID_PREFIX}{}", key.kid()));
        key.passport_encoding()
    } else {
        header.kid = Some(key.kid().to_string());
        key.encoding()
    };
    crate::kernel::keys::crypto::install();
    jsonwebtoken::encode(&header, claims, encoding).map_err(|_| TokenError::Signing)
}
