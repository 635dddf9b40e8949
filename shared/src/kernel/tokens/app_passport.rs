//! Web-app passports: JWTs (ES256 or HS256, as access tokens) with `typ: passport+jwt`, naming a
//! shared app and one of its end
//! users, signed by the same key ring as access tokens and verified by the same path
//! (`tokens::jwt`). The `typ` keeps the two apart: an access token is never a passport, and a
//! passport never an access token (each verifier refuses the other's `typ` before any claim).

pub use super::jwt::PASSPORT_TYPE;
use super::jwt::{
    Checks, TokenError, check_expiry, check_issued_at, decode, decode_legacy_passport, sign,
    validation,
};
use crate::kernel::ids::{Id, random_bytes};
use crate::kernel::keys::{KeyRing, VerifyingKeys};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The claims of a passport. Every field but `acct` is required on verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassportClaims {
    /// Issuer (`TOKEN_ISSUER`, as access tokens).
    pub iss: String,
    /// Audience: `passport:<app code>` — never an access token's.
    #[serde(default)]
    pub aud: Option<String>,
    /// The end user.
    pub sub: String,
    /// The app's id.
    pub app: String,
    /// The app's code (what `X-App-Code` must say).
    pub app_code: String,
    /// The signed-in account, for a private app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acct: Option<String>,
    /// The account's session that asked for it, for a private app: the passport lives only
    /// while that session does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asid: Option<String>,
    /// The visitor's passport session.
    pub sid: String,
    /// Unique token id.
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// What a verified passport names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    /// The app's id.
    pub app: Id,
    /// The app's code.
    pub app_code: String,
    /// The end user.
    pub end_user: Id,
    /// The account bound to it (private apps).
    pub account: Option<Id>,
    /// The account's session it was issued to (private apps): it dies with that session.
    /// `None` in a private passport issued before passports named it.
    pub account_session: Option<Id>,
    /// The passport session.
    pub session: Id,
    /// When the passport expires.
    pub expires_at: i64,
}

/// Issues and verifies passports; build it once per process.
#[derive(Debug, Clone)]
pub struct PassportIssuer {
    issuer: String,
    /// The claim checks of every passport. `exp` is the caller's to judge, at its `now`:
    /// [`PassportIssuer::verify`] wants it live, [`PassportIssuer::verify_within`] within the
    /// retention window.
    checks: Checks,
}

impl PassportIssuer {
    /// Settings for issuer `iss`.
    pub fn new(issuer: &str) -> Self {
        let mut checks = validation(issuer);
        checks.set_required_spec_claims(&["exp", "iss", "sub"]);
        Self {
            issuer: issuer.to_string(),
            checks: Checks::from(checks),
        }
    }

    /// Signs a passport for `visitor`, issued at `now`.
    pub fn issue(&self, ring: &KeyRing, v: &Visitor, now: i64) -> Result<String, TokenError> {
        let claims = PassportClaims {
            iss: self.issuer.clone(),
            aud: Some(audience(&v.app_code)),
            sub: v.end_user.to_string(),
            app: v.app.to_string(),
            app_code: v.app_code.clone(),
            acct: v.account.map(|a| a.to_string()),
            asid: v.account_session.map(|s| s.to_string()),
            sid: v.session.to_string(),
            jti: URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
            iat: now,
            exp: v.expires_at,
        };
        sign(ring, PASSPORT_TYPE, &claims)
    }

    /// Verifies a passport that must be live at `now` (the app authorizer).
    pub fn verify<K: VerifyingKeys + ?Sized>(
        &self,
        keys: &K,
        token: &str,
        now: i64,
    ) -> Result<Visitor, TokenError> {
        let claims: PassportClaims = decode(keys, token, PASSPORT_TYPE, &self.checks)?;
        check_expiry(claims.exp, now)?;
        if claims.aud.as_deref() != Some(audience(&claims.app_code).as_str()) {
            return Err(TokenError::Claims);
        }
        visitor(claims, now)
    }

    /// Verifies a passport whatever its age, then refuses one that expired more than
    /// `retention` seconds before `now`: a previous passport sent to renew, or one ending its
    /// session. The signature, `typ`, `kid` and issuer are checked as for a live one.
    pub fn verify_within<K: VerifyingKeys + ?Sized>(
        &self,
        keys: &K,
        token: &str,
        now: i64,
        retention: i64,
    ) -> Result<Visitor, TokenError> {
        // A passport from before passports had their own key and audience still renews into
        // a new one for the same end user (the app authorizer refuses it).
        let claims: PassportClaims = decode_legacy_passport(keys, token, &self.checks)?;
        if claims
            .aud
            .as_deref()
            .is_some_and(|aud| aud != audience(&claims.app_code))
        {
            return Err(TokenError::Claims);
        }
        if claims.exp + retention < now {
            return Err(TokenError::Expired);
        }
        visitor(claims, now)
    }
}

/// A passport's `aud`: the app it is for.
fn audience(app_code: &str) -> String {
    format!("passport:{app_code}")
}

fn visitor(c: PassportClaims, now: i64) -> Result<Visitor, TokenError> {
    check_issued_at(c.iat, now)?;
    let id = |s: &str| s.parse::<Id>().map_err(|_| TokenError::Claims);
    Ok(Visitor {
        app: id(&c.app)?,
        app_code: c.app_code,
        end_user: id(&c.sub)?,
        account: c.acct.as_deref().map(id).transpose()?,
        account_session: c.asid.as_deref().map(id).transpose()?,
        session: id(&c.sid)?,
        expires_at: c.exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::config::SecretBytes;
    use crate::kernel::tokens::TokenIssuer;

    fn ring() -> KeyRing {
        KeyRing::from_literal(&SecretBytes::new(
            b"unit-test signing key, 32+ bytes long".to_vec(),
        ))
        .unwrap()
    }

    fn visitor_at(exp: i64) -> Visitor {
        Visitor {
            app: Id::random(),
            app_code: "demo-app".into(),
            end_user: Id::random(),
            account: None,
            account_session: None,
            session: Id::random(),
            expires_at: exp,
        }
    }

    #[test]
    fn a_passport_verifies_and_an_access_token_is_not_one_nor_the_reverse() {
        let (ring, now) = (ring(), crate::kernel::clock::now());
        let issuer = PassportIssuer::new("passport");
        let v = visitor_at(now + 600);
        let p = issuer.issue(&ring, &v, now).unwrap();
        assert_eq!(issuer.verify(&ring, &p, now).unwrap(), v);
        let header = jsonwebtoken::decode_header(&p).unwrap();
        assert_eq!(header.typ.as_deref(), Some(PASSPORT_TYPE));

        let access = TokenIssuer::new("passport", None, 900);
        assert_eq!(access.verify(&ring, &p, now), Err(TokenError::Type));
        let at = access
            .issue(&ring, Id::random(), Id::random(), now)
            .unwrap();
        assert_eq!(issuer.verify(&ring, &at, now), Err(TokenError::Type));
        assert_eq!(
            issuer.verify_within(&ring, &at, now, 86_400),
            Err(TokenError::Type)
        );
    }

    #[test]
    fn an_expired_passport_renews_only_within_the_retention_window() {
        let (ring, now) = (ring(), crate::kernel::clock::now());
        let issuer = PassportIssuer::new("passport");
        let old = issuer
            .issue(&ring, &visitor_at(now - 1000), now - 2000)
            .unwrap();
        assert_eq!(issuer.verify(&ring, &old, now), Err(TokenError::Expired));
        assert!(issuer.verify_within(&ring, &old, now, 1000).is_ok());
        assert_eq!(
            issuer.verify_within(&ring, &old, now, 999),
            Err(TokenError::Expired)
        );
        let other_key = KeyRing::random();
        assert!(issuer.verify_within(&other_key, &old, now, 1000).is_err());
        let other_issuer = PassportIssuer::new("someone-else");
        assert_eq!(
            other_issuer.verify_within(&ring, &old, now, 1000),
            Err(TokenError::Claims)
        );
    }
}
