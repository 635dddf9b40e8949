//! Notices by mail of something already done to an account (a second factor turned on or off, a
//! recovery code used, a new device, a stolen session), each with a one-click "this wasn't me"
//! that ends every session: queued to the mail path the mailed proofs use, and never a reason for
//! the request that did it to fail — the change has happened; a notice that cannot be queued is
//! logged (its kind, never its address) and dropped.

use super::Core;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::mail::{Mail, MailOutbox, Message, NotMeLink, NotMeLinks};

impl<S: ?Sized> Core<S> {
    /// The page mailed links open: `APP_URL`, or `PUBLIC_BASE_URL` + `/app/`.
    pub fn mail_page(&self) -> Result<String, ApiError> {
        let c = self.config();
        match (&c.app_url, &c.public_base_url) {
            (Some(app), _) => Ok(app.clone()),
            (None, Some(base)) => Ok(format!("{base}/app/")),
            (None, None) => Err(ApiError::NotConfigured(
                "APP_URL or PUBLIC_BASE_URL: mailed links need the page's address",
            )),
        }
    }

    /// Queues the notice `message(page)` to `to`, the address of `account`, when this
    /// deployment mails, with its one-click "this wasn't me" link ([`NotMeLinks`]).
    pub async fn notify(&self, account: Id, to: &str, message: impl FnOnce(String) -> Message) {
        let (Some(outbox), Ok(page)) = (self.extension::<MailOutbox>(), self.mail_page()) else {
            return;
        };
        let not_me = match self.extension::<NotMeLinks>() {
            Some(links) => match links.0.link(account, to, &page, self.clock().now()).await {
                NotMeLink::Link(link) => Some(link),
                NotMeLink::Unavailable => None,
                NotMeLink::OverLimit => {
                    let kind = message(page).kind();
                    tracing::warn!(%account, kind, "notice not sent: the account's hour of notices is spent");
                    return;
                }
            },
            None => None,
        };
        let mail = Mail {
            to: to.to_string(),
            message: message(page),
            not_me,
        };
        if let Err(e) = outbox.0.enqueue(&mail).await {
            tracing::warn!(kind = mail.message.kind(), error = %e, "notice not queued");
        }
    }
}
