//! `POST /login/mfa`: a sign-in's second step — the challenge a one-factor proof left, and a
//! code from the authenticator app or a recovery code — and the second-factor check that a
//! reauthentication uses too.

use super::recovery;
use super::store::MfaStore;
use super::totp;
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::mail::Message;
use crate::kernel::redact::shown;
use crate::kernel::service::{ClientInfo, Core, SignIn, TokenPair};
use crate::kernel::store::{Account, AccountStatus, KernelStore};

/// A second factor's proof.
pub enum SecondFactor {
    /// A six-digit code from the authenticator app.
    Totp(String),
    /// One of the recovery codes.
    RecoveryCode(String),
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecondFactor::Totp(_) => shown(f, "Totp", &[]),
            SecondFactor::RecoveryCode(_) => shown(f, "RecoveryCode", &[]),
        }
    }
}

impl<S: ?Sized + KernelStore + MfaStore> Core<S> {
    /// Whether `proof` is a second factor of `account` at `now`, spending it if so: an
    /// authenticator code is taken once (its step and every earlier one are then refused), a
    /// recovery code is gone.
    pub async fn prove_second_factor(
        &self,
        account: &Account,
        proof: &SecondFactor,
        now: i64,
    ) -> Result<bool, ApiError> {
        self.mfa_key()?;
        match proof {
            SecondFactor::Totp(code) => {
                let state = self.store().mfa_state(account.id, now).await?;
                let Some((salt, _)) = state.totp else {
                    return Ok(false);
                };
                let generator = self.authenticator(account, &salt)?;
                let Some(step) = totp::matching_step(&generator, code, now) else {
                    return Ok(false);
                };
                Ok(self
                    .store()
                    .accept_totp_step(account.id, &salt, step)
                    .await?)
            }
            SecondFactor::RecoveryCode(code) => {
                if recovery::normalize(code).is_none() {
                    return Ok(false);
                }
                let digest = recovery::digest(account.id, code);
                match self
                    .store()
                    .spend_recovery_code(
                        account.id,
                        &digest,
                        &Entry::new(Activity::RecoveryCodeUsed, now),
                    )
                    .await?
                {
                    Some(left) => {
                        tracing::info!(account = %account.id, left, "recovery code used");
                        self.notify(account.id, &account.email, |link| {
                            Message::RecoveryCodeUsed { left, link }
                        })
                        .await;
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
        }
    }

    /// `POST /login/mfa`: completes the sign-in `challenge` names with a second factor, into a
    /// session at `aal2` (`amr` the first factor's and `otp`, `mfa`). Counted first toward the
    /// login lockout, as a password is; a wrong code puts the challenge back with one try
    /// fewer, and it dies after the last. Any refusal is `invalid_credentials`, whether the
    /// challenge is unknown, used, expired or the code wrong.
    pub async fn complete_sign_in(
        &self,
        challenge: &str,
        proof: SecondFactor,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        self.mfa_key()?;
        let Ok(id) = challenge.parse::<Id>() else {
            return Err(ApiError::InvalidCredentials);
        };
        let pending = self
            .take_sign_in_challenge(id)
            .await?
            .ok_or(ApiError::InvalidCredentials)?;
        let ip = client.kept_address();
        let limited = self.limit_key(ip.as_deref());
        let now = self.clock().now();
        self.begin_attempt(&pending.email, limited.as_deref(), now)
            .await?;
        let account = self
            .store()
            .account(pending.account)
            .await?
            .filter(|a| a.email == pending.email && a.password_version == pending.password_version)
            .ok_or(ApiError::InvalidCredentials)?;
        if account.status == AccountStatus::Disabled {
            return Err(ApiError::AccountDisabled);
        }
        if !self.prove_second_factor(&account, &proof, now).await? {
            // Counted toward the address when the gate reserved it; the owner's history shows
            // that their password was right and a second factor was not.
            self.return_sign_in_challenge(id, pending).await?;
            let entry = Entry::refused(Activity::SignInRefused, now, Some("otp"), ip.as_deref());
            self.store().record_refusal(account.id, &entry).await?;
            return Err(ApiError::InvalidCredentials);
        }
        self.attempt_succeeded(&pending.email, limited.as_deref(), now)
            .await?;
        let authentication = pending.first_factor().with_second_factor(now);
        let sign_in = SignIn {
            account: &account,
            email: &pending.email,
            device: pending.device.clone(),
            client,
            authentication,
            via: pending.via.clone(),
        };
        self.start_session(sign_in, now).await
    }
}
