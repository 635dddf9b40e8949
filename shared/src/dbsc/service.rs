//! Device Bound Session Credentials' use cases (the protocol is `protocol`'s; the offer at a
//! cookie sign-in and the check of a bound session's refresh are the kernel's): registering a
//! session's device key, and renewing its short-lived bound cookie with a proof of that key.

use super::challenge::{self, For};
use super::protocol::{self, Challenge};
use super::store::{BindOutcome, DbscStore, RenewOutcome};
use crate::kernel::config::DbscBinding;
use crate::kernel::error::ApiError;
use crate::kernel::ids::{Id, random_bytes};
use crate::kernel::service::Core;
use crate::kernel::service::binding::bound_cookie_digest;
use crate::kernel::store::KernelStore;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

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
    let digest = bound_cookie_digest(&value);
    (value, digest)
}

impl<S: ?Sized + KernelStore + DbscStore> Core<S> {
    fn instructions(&self, account: Id, session: Id) -> Value {
        let bound = self.config().session_cookie.bound();
        protocol::instructions(
            &protocol::session_identifier(account, session),
            &format!("{}{}", self.bound_prefix(), protocol::REFRESH_PATH),
            bound.name(),
            &bound.attributes(),
        )
    }

    /// Takes the registration challenge a proof answered (`jti`): once, while it lives.
    async fn take_challenge(&self, jti: &str) -> Result<Option<Challenge>, ApiError> {
        match jti.parse::<Id>() {
            Ok(id) => self.take_state(id).await,
            Err(_) => Ok(None),
        }
    }

    /// The registration route: the browser's proof (`Secure-Session-Response`) of a new key,
    /// answering the challenge its session's login was given. The session is bound to that key;
    /// the answer is the instructions and the first bound cookie's value.
    pub async fn register_binding(&self, proof: Option<&str>) -> Result<(Value, String), ApiError> {
        if self.config().dbsc_binding == DbscBinding::Off {
            return Err(ApiError::NotFound);
        }
        let proof = proof.ok_or_else(|| {
            ApiError::InvalidRequest("the Secure-Session-Response header is required".into())
        })?;
        let (jti, key) =
            protocol::verify_registration(proof).map_err(|_| ApiError::SessionProofRejected)?;
        let Some(Challenge::DbscRegister { account, session }) = self.take_challenge(&jti).await?
        else {
            return Err(ApiError::SessionProofRejected);
        };
        let now = self.clock().now();
        let (cookie, digest) = new_cookie();
        let until = now + self.config().dbsc_cookie_seconds;
        match self
            .store()
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
    /// challenge (which the store does not keep: `challenge`); with one signed by the session's
    /// key over a live challenge made for it and for its bound cookie in force, a new bound
    /// cookie. A session that has ended (logout, reuse, revocation, expiry) answers
    /// `continue: false` either way.
    pub async fn renew_binding(
        &self,
        identifier: Option<&str>,
        proof: Option<&str>,
    ) -> Result<Renewal, ApiError> {
        if self.config().dbsc_binding == DbscBinding::Off {
            return Err(ApiError::NotFound);
        }
        if proof.is_some_and(|p| p.len() > protocol::MAX_PROOF_BYTES) {
            return Err(ApiError::InvalidRequest(format!(
                "Secure-Session-Response is longer than {} bytes",
                protocol::MAX_PROOF_BYTES
            )));
        }
        let named = identifier.ok_or_else(|| {
            ApiError::InvalidRequest("the Sec-Secure-Session-Id header is required".into())
        })?;
        let Some((account, session)) = protocol::parse_session_identifier(named) else {
            return Err(ApiError::InvalidRequest(
                "Sec-Secure-Session-Id names no session of this service".into(),
            ));
        };
        let identifier = protocol::session_identifier(account, session);
        let now = self.clock().now();
        let binding = self.store().session_binding(account, session, now).await?;
        let Some((key, cookie)) =
            binding.and_then(|b| Some((b.key?, b.cookie.unwrap_or_default())))
        else {
            // Ended, or never bound: nothing for this browser to keep renewing.
            return Ok(Renewal::Ended(protocol::ended(&identifier)));
        };
        let made_for = For {
            account,
            session,
            cookie: &cookie,
        };
        let ring = self.keys().current();
        let Some(proof) = proof else {
            let made = challenge::make(&ring, made_for, now);
            return Ok(Renewal::Challenge(protocol::challenge_header(
                &made,
                &identifier,
            )));
        };
        let jti =
            protocol::verify_refresh(proof, &key).map_err(|_| ApiError::SessionProofRejected)?;
        if !challenge::verify(&ring, &jti, made_for, now) {
            return Err(ApiError::SessionProofRejected);
        }
        let (new, digest) = new_cookie();
        let until = now + self.config().dbsc_cookie_seconds;
        match self
            .store()
            .renew_bound_cookie(account, session, &digest, until, &cookie, now)
            .await?
        {
            RenewOutcome::Renewed => Ok(Renewal::Renewed {
                instructions: self.instructions(account, session),
                cookie: new,
            }),
            // Another renewal with this challenge came first.
            RenewOutcome::Stale => Err(ApiError::SessionProofRejected),
            RenewOutcome::Gone => Ok(Renewal::Ended(protocol::ended(&identifier))),
        }
    }
}
