//! `POST /password/forgot` and `POST /password/reset`: a new password through a mailed link,
//! which ends every session (and with them every private passport) in the same atomic step.

use super::store::EmailStore;
use super::tokens::Purpose;
use crate::kernel::accounts;
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::error::ApiError;
use crate::kernel::mail::Message;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::{ClientInfo, Core};
use crate::kernel::store::KernelStore;
use crate::sessions::SessionStore;
use crate::sessions::store::SessionsAfter;
use serde_json::json;

impl<S: ?Sized + KernelStore + EmailStore + SessionStore> Core<S> {
    /// `POST /password/forgot`: a reset link to the address when an account has it; nothing
    /// mailed when none does. 202 either way, after the same work.
    pub async fn forgot_password(&self, email: &str, client: &ClientInfo) -> Result<(), ApiError> {
        let email = self.mail_request(email, client).await?;
        let account = self.account_by_email(&email).await?;
        let link = self
            .mint_link(Purpose::Reset, account.as_ref(), &email)
            .await?;
        let message = match account {
            Some(_) => Message::ResetPassword { link },
            None => Message::NoAccount,
        };
        self.enqueue(&email, message).await
    }

    /// `POST /password/reset`: the token of a reset link sets `password`. The new hash, the
    /// next password version (which voids every other reset link and any sign-in that checked
    /// the old password) and the end of every session are one atomic step, as a password change
    /// is; the address counts as verified (the link reached it); its owner is mailed.
    pub async fn reset_password(&self, token: &str, password: String) -> Result<(), ApiError> {
        // Checked before the token is spent, so a weak password can be retried with the same
        // link; then again with the address (known only now), which it must not be made of.
        accounts::check_password_strength(&password, "").map_err(ApiError::WeakPassword)?;
        let (record, account) = self.take_token(token, Purpose::Reset).await?;
        accounts::check_password_strength(&password, &account.email)
            .map_err(ApiError::WeakPassword)?;
        let phc = self.hash_password(password).await?;
        if !self
            .store()
            .set_password(
                account.id,
                &phc,
                SessionsAfter::EndAll,
                &Entry::new(Activity::PasswordReset, self.clock().now()),
            )
            .await?
        {
            return Err(ApiError::InvalidMailToken);
        }
        self.store()
            .set_email_verified(account.id, &record.email)
            .await?;
        // A reset is a proof of the address: the lockout it may have been locked by ends.
        self.store().clear_attempts(&account.email, None).await?;
        self.security_event(
            SecurityEvent::PasswordChanged,
            Some(account.id),
            None,
            &[("by", json!("reset"))],
        );
        self.security_event(
            SecurityEvent::SessionsRevoked,
            Some(account.id),
            None,
            &[("reason", json!("password_reset"))],
        );
        self.notify(account.id, &account.email, |link| {
            Message::PasswordChanged { link }
        })
        .await;
        Ok(())
    }
}
