//! `POST /email` and `POST /email/confirm`: an account moves to another address once that
//! address confirms; the old one is told.

use super::store::{EmailMove, EmailStore};
use super::tokens::Purpose;
use crate::kernel::accounts::normalize_email;
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::mail::{Message, masked};
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::{ClientInfo, Core};
use crate::kernel::store::KernelStore;

impl<S: ?Sized + KernelStore + EmailStore> Core<S> {
    /// `POST /email` (after a reauthentication made for it): a confirmation link to the new
    /// address and a notice to the current one; nothing moves until the link is used. 202.
    pub async fn request_email_change(
        &self,
        caller: &Caller,
        new_email: &str,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        let new_email =
            normalize_email(new_email).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        self.can_mail()?;
        let account = self
            .store()
            .account(caller.account)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if account.email == new_email {
            return Err(ApiError::InvalidRequest(
                "this is already the account's email".into(),
            ));
        }
        self.limit_mail(&new_email, client).await?;
        let link = self
            .mint_link(Purpose::ChangeEmail, Some(&account), &new_email)
            .await?;
        self.enqueue(&new_email, Message::ConfirmNewEmail { link })
            .await?;
        let new_email = masked(&new_email);
        self.notify(account.id, &account.email, |link| {
            Message::EmailChangeRequested { new_email, link }
        })
        .await;
        Ok(())
    }

    /// `POST /email/confirm`: the token of a confirmation link moves its account to the
    /// address it was mailed to (verified), with the email index and every session's copy;
    /// 409 `email_taken` if another account has it by now. Returns the new address.
    pub async fn confirm_email_change(&self, token: &str) -> Result<String, ApiError> {
        let (record, account) = self.take_token(token, Purpose::ChangeEmail).await?;
        match self
            .store()
            .move_email(
                account.id,
                &account.email,
                &record.email,
                &Entry::new(Activity::EmailChanged, self.clock().now()),
            )
            .await?
        {
            EmailMove::Moved => {}
            EmailMove::Taken => return Err(ApiError::EmailTaken),
            EmailMove::Stale => return Err(ApiError::InvalidMailToken),
        }
        self.security_event(SecurityEvent::EmailChanged, Some(account.id), None, &[]);
        Ok(record.email)
    }
}
