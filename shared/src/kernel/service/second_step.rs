//! A sign-in's second step: when the account has a second factor, a password or a mailed code
//! starts no session; it leaves a challenge, kept single-use for a few minutes, that a code
//! completes (`mfa`'s `POST /login/mfa`). Every first factor goes through
//! [`Core::start_session`], so no way of signing in skips the step.

use super::Core;
use super::signin::SignIn;
use crate::kernel::authentication::{Authentication, REAUTH_GRANT_SECONDS};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::store::KernelStore;
use serde::{Deserialize, Serialize};

/// How long a challenge lives (seconds).
pub const CHALLENGE_SECONDS: i64 = REAUTH_GRANT_SECONDS;
/// Wrong codes a challenge takes before it dies (each also counts toward the login lockout).
pub const CHALLENGE_TRIES: u32 = 5;

/// A sign-in whose first factor was right, waiting for its second.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The account.
    pub account: Id,
    /// The email its attempt counters are kept under.
    pub email: String,
    /// The password's version the first factor saw: a change since voids the challenge.
    pub password_version: u64,
    /// The device name the client gave.
    pub device: Option<String>,
    /// The first factor's methods (RFC 8176 names, as stored) and when it was proved.
    pub methods: String,
    /// When the first factor was proved.
    pub time: i64,
    /// Until when the challenge lives.
    pub until: i64,
    /// Wrong codes it may still take.
    pub tries: u32,
    /// The identity provider of a federated first step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl PendingSignIn {
    /// The first factor's authentication.
    pub fn first_factor(&self) -> Authentication {
        Authentication::from_stored(Some(self.time), Some(&self.methods), self.time)
    }
}

impl<S: ?Sized + KernelStore> Core<S> {
    /// Keeps `s` as a challenge and answers the error that carries it.
    pub(super) async fn second_step(&self, s: &SignIn<'_>, now: i64) -> ApiError {
        let pending = PendingSignIn {
            account: s.account.id,
            email: s.email.to_string(),
            password_version: s.account.password_version,
            device: s.device.clone(),
            methods: s.authentication.methods_text(),
            time: s.authentication.time,
            until: now + CHALLENGE_SECONDS,
            tries: CHALLENGE_TRIES,
            via: s.via.clone(),
        };
        match self.keep_state(&pending, CHALLENGE_SECONDS).await {
            Ok(id) => {
                tracing::info!(account = %s.account.id, "second factor asked");
                ApiError::SecondFactorRequired {
                    challenge: id.to_string(),
                    expires_in: CHALLENGE_SECONDS,
                }
            }
            Err(e) => e,
        }
    }

    /// Takes the challenge `id` names: once (a second request with it finds nothing until a
    /// wrong code puts it back with one try fewer).
    pub async fn take_sign_in_challenge(&self, id: Id) -> Result<Option<PendingSignIn>, ApiError> {
        let now = self.clock().now();
        Ok(self
            .take_state::<PendingSignIn>(id)
            .await?
            .filter(|p| p.until > now))
    }

    /// Puts back a challenge a wrong code was tried on, one try fewer, for what is left of its
    /// life; a challenge out of tries stays taken.
    pub async fn return_sign_in_challenge(
        &self,
        id: Id,
        mut pending: PendingSignIn,
    ) -> Result<(), ApiError> {
        let now = self.clock().now();
        pending.tries = pending.tries.saturating_sub(1);
        if pending.tries == 0 || pending.until <= now {
            return Ok(());
        }
        let text =
            serde_json::to_string(&pending).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.store()
            .put_state(id, &text, pending.until - now, now)
            .await?;
        Ok(())
    }
}
