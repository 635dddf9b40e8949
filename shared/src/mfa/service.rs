//! Setting up an authenticator app, confirming it, removing it, and the recovery codes: the
//! signed-in owner's side of the second factor.

use super::recovery;
use super::store::{Begun, MfaStore};
use super::totp::{self, MfaKey};
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::authentication::Acr;
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::mail::Message;
use crate::kernel::service::Core;
use crate::kernel::store::{Account, KernelStore};
use serde::Serialize;
use totp_rs::Totp;

/// How long a set-up waits for its first code (seconds).
pub const ENROLMENT_SECONDS: i64 = 600;

/// What the owner sees of the second factor.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MfaStatus {
    /// Whether an authenticator app is confirmed.
    pub totp: bool,
    /// Since when (RFC 3339), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_since: Option<String>,
    /// Recovery codes not spent.
    pub recovery_codes_left: u32,
}

/// What an authenticator app needs to be set up (shown once).
#[derive(Serialize)]
pub struct Enrolment {
    /// The secret, base32 (to type in).
    pub secret: String,
    /// The `otpauth://totp/…` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code, SVG.
    pub qr_svg: String,
    /// Seconds left to confirm it.
    pub expires_in: i64,
}

/// A new set of recovery codes, shown once.
#[derive(Serialize)]
pub struct RecoveryCodes {
    /// The codes.
    pub recovery_codes: Vec<String>,
}

impl<S: ?Sized + KernelStore + MfaStore> Core<S> {
    /// The deployment's second-factor key; `not_configured` without one.
    pub fn mfa_key(&self) -> Result<&MfaKey, ApiError> {
        self.extension::<MfaKey>()
            .ok_or(ApiError::NotConfigured("MFA_SECRET_ARN"))
    }

    /// The account's authenticator for `salt`: its generator, labelled with its email.
    pub fn authenticator(&self, account: &Account, salt: &str) -> Result<Totp, ApiError> {
        totp::account_generator(
            self.mfa_key()?,
            &self.config().totp_issuer,
            account.id,
            &account.email,
            salt,
        )
    }

    /// `GET /mfa`.
    pub async fn mfa_status(&self, caller: &Caller) -> Result<MfaStatus, ApiError> {
        let state = self
            .store()
            .mfa_state(caller.account, self.clock().now())
            .await?;
        Ok(MfaStatus {
            totp: state.totp.is_some(),
            totp_since: state
                .totp
                .map(|(_, since)| crate::kernel::clock::rfc3339(since)),
            recovery_codes_left: state.recovery_left,
        })
    }

    /// `POST /mfa/totp`: a new secret for an authenticator app, pending until a first code
    /// confirms it.
    pub async fn begin_totp(&self, caller: &Caller) -> Result<Enrolment, ApiError> {
        self.mfa_key()?;
        let account = self
            .store()
            .account(caller.account)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let now = self.clock().now();
        let salt = totp::new_salt();
        match self
            .store()
            .begin_totp(account.id, &salt, now + ENROLMENT_SECONDS, now)
            .await?
        {
            Begun::Pending => {}
            Begun::Exists => return Err(ApiError::SecondFactorExists),
            Begun::NoAccount => return Err(ApiError::Unauthorized),
        }
        let generator = self.authenticator(&account, &salt)?;
        let (secret, otpauth_uri, qr_svg) = totp::enrolment(&generator)?;
        Ok(Enrolment {
            secret,
            otpauth_uri,
            qr_svg,
            expires_in: ENROLMENT_SECONDS,
        })
    }

    /// `POST /mfa/totp/confirm`: the app's first code confirms the pending secret; the account
    /// then has a second factor (every one-factor sign-in asks for a code) and ten recovery
    /// codes, answered once.
    pub async fn confirm_totp(
        &self,
        caller: &Caller,
        code: &str,
    ) -> Result<RecoveryCodes, ApiError> {
        self.mfa_key()?;
        let now = self.clock().now();
        let account = self
            .store()
            .account(caller.account)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let state = self.store().mfa_state(account.id, now).await?;
        if state.totp.is_some() {
            return Err(ApiError::SecondFactorExists);
        }
        let salt = state.pending.ok_or(ApiError::InvalidCode)?;
        let generator = self.authenticator(&account, &salt)?;
        let step = totp::matching_step(&generator, code, now).ok_or(ApiError::InvalidCode)?;
        let codes = recovery::new_codes();
        let digests: Vec<String> = codes
            .iter()
            .map(|c| recovery::digest(account.id, c))
            .collect();
        if !self
            .store()
            .confirm_totp(
                account.id,
                &salt,
                step,
                &digests,
                &Entry::new(Activity::SecondFactorAdded, now),
            )
            .await?
        {
            return Err(ApiError::InvalidCode);
        }
        tracing::info!(account = %account.id, "second factor added");
        self.notify(account.id, &account.email, |link| {
            Message::SecondFactorAdded { link }
        })
        .await;
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    }

    /// Refuses unless the caller's session proved two factors within `REAUTH_MAX_AGE_SECONDS`
    /// (a sign-in or reauthentication with a code, or a passkey): what removing the second
    /// factor and replacing the recovery codes ask, so a stolen password (or a session it
    /// started before the app was set up) cannot.
    pub async fn require_recent_aal2(&self, caller: &Caller) -> Result<(), ApiError> {
        let a = self
            .session_authentication(caller.account, caller.session)
            .await?;
        if a.acr() == Acr::Aal2 && a.is_recent(self.clock().now(), self.config().reauth_max_age) {
            Ok(())
        } else {
            Err(ApiError::SecondFactorRequiredToChange)
        }
    }

    /// `DELETE /mfa/totp`: removes the authenticator and the recovery codes.
    pub async fn remove_totp(&self, caller: &Caller) -> Result<(), ApiError> {
        self.require_recent_aal2(caller).await?;
        let entry = Entry::new(Activity::SecondFactorRemoved, self.clock().now());
        if !self.store().remove_totp(caller.account, &entry).await? {
            return Err(ApiError::NotFound);
        }
        tracing::info!(account = %caller.account, "second factor removed");
        if let Some(account) = self.store().account(caller.account).await? {
            self.notify(account.id, &account.email, |link| {
                Message::SecondFactorRemoved { link }
            })
            .await;
        }
        Ok(())
    }

    /// `POST /mfa/recovery-codes`: a new set, the old one void.
    pub async fn replace_recovery_codes(&self, caller: &Caller) -> Result<RecoveryCodes, ApiError> {
        self.require_recent_aal2(caller).await?;
        let codes = recovery::new_codes();
        let digests: Vec<String> = codes
            .iter()
            .map(|c| recovery::digest(caller.account, c))
            .collect();
        if !self
            .store()
            .replace_recovery_codes(caller.account, &digests)
            .await?
        {
            return Err(ApiError::NotFound);
        }
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    }
}
