//! Device Bound Session Credentials for the cookie transport (see `crate::dbsc` for the
//! protocol): offering binding at login, registering a session's device key, renewing its
//! short-lived bound cookie with a proof of that key, and, when binding is required, refusing a
//! bound session's refresh without that cookie.

use super::{Service, TokenPair};
use crate::dbsc::{self, CHALLENGE_SECONDS, Challenge};
use crate::kernel::config::DbscBinding;
use crate::kernel::error::ApiError;
use crate::kernel::ids::{Id, random_bytes};
use crate::kernel::store::BindOutcome;
use crate::kernel::tokens::refresh::{RefreshToken, TokenDigest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a renewal at the refresh URL answers.
#[derive(Debug)]
pub enum Renewal {
    /// 403 with this `Secure-Session-Challenge`: sign it.
    Challenge(String),
    /// 200: the instructions, and the new bound cookie's value.
    Renewed {
        /// The session instructions.
        instructions: Value,
        /// The bound cookie's value.
        cookie: String,
    },
    /// 200 `{"continue": false}`: the session has ended; the browser stops renewing.
    Ended(Value),
}

/// A fresh bound cookie: its value, and the digest (hex) the store keeps.
fn new_cookie() -> (String, String) {
    let value = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let digest = digest(&value);
    (value, digest)
}

fn digest(value: &str) -> String {
    TokenDigest(Sha256::digest(value.as_bytes()).into()).to_hex()
}

impl Service {
    /// Where the bound cookie's routes are: below `COOKIE_PATH_PREFIX`, as the cookies are.
    fn dbsc_prefix(&self) -> &str {
        match self.config.session_cookie.path() {
            "/" => "",
            p => p,
        }
    }

    fn instructions(&self, account: Id, session: Id) -> Value {
        let bound = self.config.session_cookie.bound();
        dbsc::instructions(
            &dbsc::session_identifier(account, session),
            &format!("{}{}", self.dbsc_prefix(), dbsc::REFRESH_PATH),
            bound.name(),
            &bound.attributes(),
        )
    }

    async fn issue_challenge(&self, challenge: &Challenge) -> Result<Id, ApiError> {
        self.keep_state(challenge, CHALLENGE_SECONDS).await
    }

    /// Takes the challenge a proof answered (`jti`): once, while it lives.
    async fn take_challenge(&self, jti: &str) -> Result<Option<Challenge>, ApiError> {
        match jti.parse::<Id>() {
            Ok(id) => self.take_state(id).await,
            Err(_) => Ok(None),
        }
    }

    /// The `Secure-Session-Registration` a cookie-transport login answers with, unless binding
    /// is off.
    pub async fn offer_binding(&self, pair: &TokenPair) -> Result<Option<String>, ApiError> {
        if self.config.dbsc_binding == DbscBinding::Off {
            return Ok(None);
        }
        let token = RefreshToken::parse(&pair.refresh_token)
            .ok_or_else(|| ApiError::Internal("a pair's own refresh token".into()))?;
        let id = self
            .issue_challenge(&Challenge::DbscRegister {
                account: token.account(),
                session: token.session(),
            })
            .await?;
        Ok(Some(dbsc::registration_header(self.dbsc_prefix(), id)))
    }

    /// The registration route: the browser's proof (`Secure-Session-Response`) of a new key,
    /// answering the challenge its session's login was given. The session is bound to that key;
    /// the answer is the instructions and the first bound cookie's value.
    pub async fn register_binding(&self, proof: Option<&str>) -> Result<(Value, String), ApiError> {
        if self.config.dbsc_binding == DbscBinding::Off {
            return Err(ApiError::NotFound);
        }
        let proof = proof.ok_or_else(|| {
            ApiError::InvalidRequest("the Secure-Session-Response header is required".into())
        })?;
        let (jti, key) =
            dbsc::verify_registration(proof).map_err(|_| ApiError::SessionProofRejected)?;
        let Some(Challenge::DbscRegister { account, session }) = self.take_challenge(&jti).await?
        else {
            return Err(ApiError::SessionProofRejected);
        };
        let now = self.clock.now();
        let (cookie, digest) = new_cookie();
        let until = now + self.config.dbsc_cookie_seconds;
        match self
            .store
            .bind_session(account, session, &key, &digest, until, now)
            .await?
        {
            BindOutcome::Bound => {
                tracing::info!(account = %account, session = %session, "session bound to a device key");
                Ok((self.instructions(account, session), cookie))
            }
            BindOutcome::Taken | BindOutcome::Gone => Err(ApiError::SessionProofRejected),
        }
    }

    /// The refresh route: `Sec-Secure-Session-Id` names the session. Without a proof, a
    /// challenge; with one signed by the session's key over a live challenge for it, a new bound
    /// cookie. A session that has ended (logout, reuse, revocation, expiry) answers
    /// `continue: false` either way.
    pub async fn renew_binding(
        &self,
        identifier: Option<&str>,
        proof: Option<&str>,
    ) -> Result<Renewal, ApiError> {
        if self.config.dbsc_binding == DbscBinding::Off {
            return Err(ApiError::NotFound);
        }
        if proof.is_some_and(|p| p.len() > dbsc::MAX_PROOF_BYTES) {
            return Err(ApiError::InvalidRequest(format!(
                "Secure-Session-Response is longer than {} bytes",
                dbsc::MAX_PROOF_BYTES
            )));
        }
        let named = identifier.ok_or_else(|| {
            ApiError::InvalidRequest("the Sec-Secure-Session-Id header is required".into())
        })?;
        let Some((account, session)) = dbsc::parse_session_identifier(named) else {
            return Err(ApiError::InvalidRequest(
                "Sec-Secure-Session-Id names no session of this service".into(),
            ));
        };
        let identifier = dbsc::session_identifier(account, session);
        let now = self.clock.now();
        let binding = self.store.session_binding(account, session, now).await?;
        let Some(key) = binding.and_then(|b| b.key) else {
            // Ended, or never bound: nothing for this browser to keep renewing.
            return Ok(Renewal::Ended(dbsc::ended(&identifier)));
        };
        let Some(proof) = proof else {
            let id = self
                .issue_challenge(&Challenge::DbscRefresh { account, session })
                .await?;
            return Ok(Renewal::Challenge(dbsc::challenge_header(id, &identifier)));
        };
        let jti = dbsc::verify_refresh(proof, &key).map_err(|_| ApiError::SessionProofRejected)?;
        match self.take_challenge(&jti).await? {
            Some(Challenge::DbscRefresh {
                account: a,
                session: s,
            }) if a == account && s == session => {}
            _ => return Err(ApiError::SessionProofRejected),
        }
        let (cookie, digest) = new_cookie();
        let until = now + self.config.dbsc_cookie_seconds;
        if !self
            .store
            .renew_bound_cookie(account, session, &digest, until, now)
            .await?
        {
            return Ok(Renewal::Ended(dbsc::ended(&identifier)));
        }
        Ok(Renewal::Renewed {
            instructions: self.instructions(account, session),
            cookie,
        })
    }

    /// With `DBSC_BINDING=required`: a refresh by the session cookie of a session bound to a
    /// device key needs that session's live bound cookie too. An unbound session, or a deployment
    /// that only offers binding, passes.
    pub async fn check_binding(
        &self,
        refresh_token: &str,
        bound_cookie: Option<&str>,
    ) -> Result<(), ApiError> {
        if self.config.dbsc_binding != DbscBinding::Required {
            return Ok(());
        }
        let Some(token) = RefreshToken::parse(refresh_token) else {
            return Ok(()); // The refresh itself refuses it.
        };
        let now = self.clock.now();
        let binding = self
            .store
            .session_binding(token.account(), token.session(), now)
            .await?;
        let Some(binding) = binding.filter(|b| b.key.is_some()) else {
            return Ok(());
        };
        let presented = bound_cookie.map(digest).unwrap_or_default();
        // The cookie in force, or the one its last renewal replaced, each until its own expiry.
        let live = |kept: Option<String>, expires_at: i64| {
            let kept = kept.unwrap_or_default();
            let matches: bool = presented.as_bytes().ct_eq(kept.as_bytes()).into();
            matches && !kept.is_empty() && expires_at > now
        };
        let current = live(binding.cookie, binding.cookie_expires_at);
        let previous = live(binding.previous, binding.previous_expires_at);
        if current || previous {
            Ok(())
        } else {
            Err(ApiError::BoundCookieRequired)
        }
    }
}
