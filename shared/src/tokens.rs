//! Access tokens: ES256 (or HS256) JWTs with `kid` and `typ: at+jwt`, issued with a key ring and
//! verified against it or against the published public keys.

use crate::ids::{Id, random_bytes};
use crate::keys::{KeyRing, PASSPORT_KID_PREFIX, VerifyingKeys};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

/// The algorithm of HS256 deployments. Each set of keys accepts exactly one algorithm, its own
/// ([`VerifyingKeys::algorithm`]): ES256 keys never take an HS256 token, nor the reverse.
pub const ALGORITHM: Algorithm = Algorithm::HS256;
/// The `typ` header of an access token (RFC 9068).
pub const TOKEN_TYPE: &str = "at+jwt";
/// Clock leeway for `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;
/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The claims of an access token. Every field is required on verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience, present when `TOKEN_AUDIENCE` is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Account id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Unique token id.
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

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

/// The identity a verified access token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Account id (`sub`).
    pub account: Id,
    /// Session id (`sid`).
    pub session: Id,
}

/// Issues and verifies access tokens; build it once per process.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    issuer: String,
    audience: Option<String>,
    ttl: i64,
    validation: Checks,
}

impl TokenIssuer {
    /// Settings for issuer `iss`, optional audience and lifetime in seconds.
    pub fn new(issuer: &str, audience: Option<&str>, ttl: i64) -> Self {
        let mut validation = validation(issuer);
        let mut required = vec!["exp", "iss", "sub"];
        if let Some(aud) = audience {
            validation.validate_aud = true;
            validation.set_audience(&[aud]);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        Self {
            issuer: issuer.to_string(),
            audience: audience.map(str::to_string),
            ttl,
            validation: Checks::from(validation),
        }
    }

    /// Access-token lifetime in seconds (`expires_in`).
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    /// Signs a token for `account`'s `session`, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        ring: &KeyRing,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account.to_string(),
            sid: session.to_string(),
            jti: URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
            iat: now,
            exp: now + self.ttl,
        };
        sign(ring, TOKEN_TYPE, &claims)
    }

    /// Verifies `token` against `keys` at time `now`: size, `alg`, `typ`, `kid`, signature,
    /// `exp`/`nbf` (jsonwebtoken's clock) and `iat` (with leeway), `iss`, `aud`, and the claim set.
    pub fn verify<K: VerifyingKeys + ?Sized>(
        &self,
        keys: &K,
        token: &str,
        now: i64,
    ) -> Result<Verified, TokenError> {
        let claims: Claims = decode(keys, token, TOKEN_TYPE, &self.validation)?;
        check_issued_at(claims.iat, now)?;
        if self.audience.is_some() && claims.aud != self.audience {
            return Err(TokenError::Claims);
        }
        Ok(Verified {
            account: claims.sub.parse().map_err(|_| TokenError::Claims)?,
            session: claims.sid.parse().map_err(|_| TokenError::Claims)?,
        })
    }
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

/// The validation every JWT Passport accepts starts from: the leeway, `exp` and `nbf` checked,
/// the issuer; no audience unless the caller sets one. [`Checks`] makes one per algorithm.
pub(crate) fn validation(issuer: &str) -> Validation {
    let mut v = Validation::new(ALGORITHM);
    v.algorithms = vec![ALGORITHM];
    v.leeway = LEEWAY_SECONDS;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = false;
    v.set_issuer(&[issuer]);
    v
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
    decode_as(
        keys,
        token,
        crate::passport_token::PASSPORT_TYPE,
        validation,
        true,
    )
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
    let decoding = if typ == crate::passport_token::PASSPORT_TYPE {
        match kid.strip_prefix(PASSPORT_KID_PREFIX) {
            Some(kid) => keys.passport_key(kid),
            None if legacy => keys.legacy_passport_key(kid),
            None => None,
        }
    } else {
        keys.access_key(kid)
    };
    let decoding = decoding.ok_or(TokenError::UnknownKey)?;
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
    let encoding = if typ == crate::passport_token::PASSPORT_TYPE {
        header.kid = Some(format!("{PASSPORT_KID_PREFIX}{}", key.kid()));
        key.passport_encoding()
    } else {
        header.kid = Some(key.kid().to_string());
        key.encoding()
    };
    jsonwebtoken::encode(&header, claims, encoding).map_err(|_| TokenError::Signing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretBytes;
    use crate::keys::Key;
    use serde_json::json;

    const KEY: &str = "unit-test signing key, 32+ bytes long";

    fn ring() -> KeyRing {
        KeyRing::from_literal(&SecretBytes::new(KEY.as_bytes().to_vec())).unwrap()
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new("passport", None, 900)
    }

    /// Signs arbitrary header and claims JSON with HMAC-SHA256 of `key`, bypassing the library.
    fn forge(header: serde_json::Value, claims: serde_json::Value, key: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(format!("{h}.{c}").as_bytes());
        let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{h}.{c}.{s}")
    }

    fn good_claims(now: i64) -> serde_json::Value {
        json!({"iss": "passport", "sub": Id::random().to_string(), "sid": Id::random().to_string(),
               "jti": "x", "iat": now, "exp": now + 900})
    }

    fn good_header(ring: &KeyRing) -> serde_json::Value {
        json!({"alg": "HS256", "typ": "at+jwt", "kid": ring.signing().kid()})
    }

    #[test]
    fn issued_token_verifies_and_carries_ids() {
        let (ring, iss) = (ring(), issuer());
        let (a, s) = (Id::random(), Id::random());
        let now = crate::clock::now();
        let t = iss.issue(&ring, a, s, now).unwrap();
        let v = iss.verify(&ring, &t, now).unwrap();
        assert_eq!((v.account, v.session), (a, s));
        let header = jsonwebtoken::decode_header(&t).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(ring.signing().kid()));
    }

    #[test]
    fn forged_baseline_verifies_so_the_negative_cases_mean_something() {
        let ring = ring();
        let now = crate::clock::now();
        let t = forge(good_header(&ring), good_claims(now), KEY.as_bytes());
        assert!(issuer().verify(&ring, &t, now).is_ok());
    }

    #[test]
    fn tampered_expired_none_wrong_iss_and_typ_are_denied() {
        let (ring, iss) = (ring(), issuer());
        let now = crate::clock::now();
        let t = iss.issue(&ring, Id::random(), Id::random(), now).unwrap();
        // Tampered: flip a character of the claims.
        let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
        let c = parts[1].clone();
        let flipped = if c.ends_with('A') { 'B' } else { 'A' };
        parts[1] = format!("{}{flipped}", &c[..c.len() - 1]);
        assert!(iss.verify(&ring, &parts.join("."), now).is_err());

        let k = KEY.as_bytes();
        let mut expired = good_claims(now - 3600);
        expired["exp"] = json!(now - 31);
        assert_eq!(
            iss.verify(&ring, &forge(good_header(&ring), expired, k), now),
            Err(TokenError::Expired)
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg":"none","typ":"at+jwt"}).to_string()),
            URL_SAFE_NO_PAD.encode(good_claims(now).to_string())
        );
        assert!(iss.verify(&ring, &none, now).is_err());
        let mut wrong_iss = good_claims(now);
        wrong_iss["iss"] = json!("someone-else");
        assert_eq!(
            iss.verify(&ring, &forge(good_header(&ring), wrong_iss, k), now),
            Err(TokenError::Claims)
        );
        let mut jwt_typ = good_header(&ring);
        jwt_typ["typ"] = json!("JWT");
        assert_eq!(
            iss.verify(&ring, &forge(jwt_typ, good_claims(now), k), now),
            Err(TokenError::Type)
        );
    }

    #[test]
    fn other_algorithms_unknown_kid_and_missing_claims_are_denied() {
        let (ring, iss) = (ring(), issuer());
        let now = crate::clock::now();
        let k = KEY.as_bytes();
        let mut hs512 = good_header(&ring);
        hs512["alg"] = json!("HS512");
        assert_eq!(
            iss.verify(&ring, &forge(hs512, good_claims(now), k), now),
            Err(TokenError::Algorithm)
        );
        // An RS256 or ES256 header is refused before any key is looked at (no key confusion).
        for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
            let mut h = good_header(&ring);
            h["alg"] = json!(alg);
            assert_eq!(
                iss.verify(&ring, &forge(h, good_claims(now), k), now),
                Err(TokenError::Algorithm),
                "{alg}"
            );
        }
        let mut unknown = good_header(&ring);
        unknown["kid"] = json!("../../etc/passwd");
        assert_eq!(
            iss.verify(&ring, &forge(unknown, good_claims(now), k), now),
            Err(TokenError::UnknownKey)
        );
        for claim in ["sub", "sid", "jti", "iat", "exp", "iss"] {
            let mut c = good_claims(now);
            c.as_object_mut().unwrap().remove(claim);
            assert!(
                iss.verify(&ring, &forge(good_header(&ring), c, k), now)
                    .is_err(),
                "missing {claim} accepted"
            );
        }
        let mut future_iat = good_claims(now);
        future_iat["iat"] = json!(now + 120);
        assert!(
            iss.verify(&ring, &forge(good_header(&ring), future_iat, k), now)
                .is_err()
        );
        assert_eq!(
            iss.verify(&ring, &"a".repeat(MAX_TOKEN_BYTES + 1), now),
            Err(TokenError::TooLong)
        );
    }

    #[test]
    fn leeway_is_thirty_seconds() {
        let ring = ring();
        let now = crate::clock::now();
        let with_exp = |exp: i64| {
            let mut c = good_claims(now - 900);
            c["exp"] = json!(exp);
            forge(good_header(&ring), c, KEY.as_bytes())
        };
        // `exp` is checked against the system clock, which only moves on: 20 s past is inside
        // the leeway by 10 s, and 31 s past stays outside it however long the test takes.
        assert!(issuer().verify(&ring, &with_exp(now - 20), now).is_ok());
        assert_eq!(
            issuer().verify(&ring, &with_exp(now - 31), now),
            Err(TokenError::Expired)
        );
        // `iat` is checked against the `now` given: 30 s ahead passes, 31 s does not.
        let with_iat = |iat: i64| {
            let mut c = good_claims(iat);
            c["exp"] = json!(now + 600);
            forge(good_header(&ring), c, KEY.as_bytes())
        };
        assert!(issuer().verify(&ring, &with_iat(now + 30), now).is_ok());
        assert_eq!(
            issuer().verify(&ring, &with_iat(now + 31), now),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn audience_is_required_when_configured() {
        let ring = ring();
        let iss = TokenIssuer::new("passport", Some("web"), 900);
        let now = crate::clock::now();
        let t = iss.issue(&ring, Id::random(), Id::random(), now).unwrap();
        assert!(iss.verify(&ring, &t, now).is_ok());
        // A token without aud, or for another audience, is refused.
        let no_aud = issuer()
            .issue(&ring, Id::random(), Id::random(), now)
            .unwrap();
        assert_eq!(iss.verify(&ring, &no_aud, now), Err(TokenError::Claims));
        let other = TokenIssuer::new("passport", Some("mobile"), 900)
            .issue(&ring, Id::random(), Id::random(), now)
            .unwrap();
        assert_eq!(iss.verify(&ring, &other, now), Err(TokenError::Claims));
    }

    #[test]
    fn token_from_a_previous_key_verifies_and_a_foreign_key_does_not() {
        let old = Key::new("v1".into(), &SecretBytes::new(vec![b'a'; 32]), "t").unwrap();
        let old_ring = KeyRing::new(old, vec![]);
        let now = crate::clock::now();
        let t = issuer()
            .issue(&old_ring, Id::random(), Id::random(), now)
            .unwrap();
        let new = Key::new("v2".into(), &SecretBytes::new(vec![b'b'; 32]), "t").unwrap();
        let old_again = Key::new("v1".into(), &SecretBytes::new(vec![b'a'; 32]), "t").unwrap();
        assert!(
            issuer()
                .verify(&KeyRing::new(new, vec![old_again]), &t, now)
                .is_ok()
        );
        let impostor = Key::new("v1".into(), &SecretBytes::new(vec![b'c'; 32]), "t").unwrap();
        assert_eq!(
            issuer().verify(&KeyRing::new(impostor, vec![]), &t, now),
            Err(TokenError::Signature)
        );
    }
}
