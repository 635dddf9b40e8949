//! Access tokens: ES256 (or HS256) JWTs with `kid` and `typ: at+jwt`, issued with a key ring and
//! verified against it or against the published public keys.

use super::jwt::{
    Checks, TOKEN_TYPE, TokenError, check_expiry, check_issued_at, decode, sign, validation,
};
use crate::kernel::authentication::{Acr, Amr, Authentication};
use crate::kernel::ids::{Id, random_bytes};
use crate::kernel::keys::{KeyRing, VerifyingKeys};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

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
    /// When the session last authenticated (OpenID Connect Core §2): login or reauthentication,
    /// kept across refreshes. Absent only from tokens issued before sessions kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// How it authenticated (RFC 8176).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<Amr>>,
    /// The assurance level `amr` reaches (`aal1`, `aal2`: [`Acr`]). Absent only from tokens
    /// issued before sessions had levels, which read as `aal1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<Acr>,
    /// Whether the account's address is verified (OpenID Connect Core §5.1's claim), as the
    /// session knows it: at sign-in, and updated in the session when the address is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// The identity a verified access token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Account id (`sub`).
    pub account: Id,
    /// Session id (`sid`).
    pub session: Id,
    /// The assurance level (`acr`; `aal1` when absent).
    pub acr: Acr,
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

    /// Signs a token for `account`'s `session`, valid from `now` for the configured lifetime,
    /// for a session that signed in with a password at `now`.
    pub fn issue(
        &self,
        ring: &KeyRing,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<String, TokenError> {
        let password = Authentication::password(now);
        self.issue_authenticated(ring, account, session, &password, None, now)
    }

    /// Signs a token for `account`'s `session`, carrying how and when it authenticated.
    pub fn issue_authenticated(
        &self,
        ring: &KeyRing,
        account: Id,
        session: Id,
        authentication: &Authentication,
        email_verified: Option<bool>,
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
            auth_time: Some(authentication.time),
            amr: Some(authentication.methods.clone()),
            acr: Some(authentication.acr()),
            email_verified,
        };
        sign(ring, TOKEN_TYPE, &claims)
    }

    /// Verifies `token` against `keys` at time `now`: size, `alg`, `typ`, `kid`, signature,
    /// `exp` and `iat` (with leeway, at `now`), `nbf` (jsonwebtoken's clock), `iss`, `aud`, and the claim set.
    pub fn verify<K: VerifyingKeys + ?Sized>(
        &self,
        keys: &K,
        token: &str,
        now: i64,
    ) -> Result<Verified, TokenError> {
        let claims: Claims = decode(keys, token, TOKEN_TYPE, &self.validation)?;
        check_issued_at(claims.iat, now)?;
        check_expiry(claims.exp, now)?;
        if self.audience.is_some() && claims.aud != self.audience {
            return Err(TokenError::Claims);
        }
        Ok(Verified {
            account: claims.sub.parse().map_err(|_| TokenError::Claims)?,
            session: claims.sid.parse().map_err(|_| TokenError::Claims)?,
            acr: claims.acr.unwrap_or(Acr::Aal1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::jwt::MAX_TOKEN_BYTES;
    use super::*;
    use crate::kernel::config::SecretBytes;
    use crate::kernel::keys::Key;
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
        let now = crate::kernel::clock::now();
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
        let now = crate::kernel::clock::now();
        let t = forge(good_header(&ring), good_claims(now), KEY.as_bytes());
        assert!(issuer().verify(&ring, &t, now).is_ok());
    }

    #[test]
    fn tampered_expired_none_wrong_iss_and_typ_are_denied() {
        let (ring, iss) = (ring(), issuer());
        let now = crate::kernel::clock::now();
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
        let now = crate::kernel::clock::now();
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
        let now = crate::kernel::clock::now();
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
        let now = crate::kernel::clock::now();
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
        let now = crate::kernel::clock::now();
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
