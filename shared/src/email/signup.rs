//! `POST /signup`, `POST /email/verify` and `POST /email/verify/resend`: a new account, and the
//! proof that its address is its owner's.

use super::store::EmailStore;
use super::tokens::Purpose;
use crate::kernel::accounts::{self, normalize_email};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::mail::Message;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::{ClientInfo, Core};
use crate::kernel::store::{Account, AccountStatus, KernelStore};
use serde_json::json;

impl<S: ?Sized + KernelStore + EmailStore> Core<S> {
    /// `POST /signup`: a new account with `email` and `password`, unverified, and a mail to
    /// the address — a verification link, or, when the address has an account already, a
    /// reminder to sign in or reset. The answer (202) and the work (a password hash, an account
    /// created or not in the same steps, one token written, one mail queued) are the same
    /// either way.
    pub async fn sign_up(
        &self,
        email: &str,
        password: String,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        if !self.config().signup_open {
            return Err(ApiError::SignupClosed);
        }
        let email = normalize_email(email).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        accounts::check_password_strength(&password, &email).map_err(ApiError::WeakPassword)?;
        self.can_mail()?;
        self.limit_mail(&email, client).await?;
        let now = self.clock().now();
        let account = Account {
            id: Id::random(),
            email: email.clone(),
            password_hash: self.hash_password(password).await?,
            status: AccountStatus::Active,
            created_at: now,
            password_version: 0,
            email_verified: false,
            second_factor: false,
        };
        let created = self.store().create_account(&account).await?;
        let made = created.then_some(&account);
        let link = self.mint_link(Purpose::Verify, made, &email).await?;
        let message = if created {
            self.security_event(
                SecurityEvent::AccountCreated,
                Some(account.id),
                None,
                &[("by", json!("signup"))],
            );
            Message::VerifyEmail { link }
        } else {
            Message::AlreadyRegistered {
                link: self.page_url()?,
            }
        };
        self.enqueue(&email, message).await
    }

    /// `POST /email/verify/resend`: another verification link, when the address has an account
    /// that is not verified; otherwise nothing is mailed. 202 either way, after the same work.
    pub async fn resend_verification(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        let email = self.mail_request(email, client).await?;
        let account = self
            .account_by_email(&email)
            .await?
            .filter(|a| !a.email_verified);
        let link = self
            .mint_link(Purpose::Verify, account.as_ref(), &email)
            .await?;
        let message = match account {
            Some(_) => Message::VerifyEmail { link },
            None => Message::NoAccount,
        };
        self.enqueue(&email, message).await
    }

    /// `POST /email/verify`: the token of a verification link marks its account's address
    /// verified. Single use; 400 `invalid_token` for anything else.
    pub async fn verify_email(&self, token: &str) -> Result<String, ApiError> {
        let (record, account) = self.take_token(token, Purpose::Verify).await?;
        if !self
            .store()
            .set_email_verified(account.id, &record.email)
            .await?
        {
            return Err(ApiError::InvalidMailToken);
        }
        self.security_event(SecurityEvent::EmailVerified, Some(account.id), None, &[]);
        Ok(account.email)
    }
}
