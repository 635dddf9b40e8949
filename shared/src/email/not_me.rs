//! "This wasn't me": the one-click link each notice carries. Its token (a mailed token of
//! purpose [`Purpose::EndSessions`], a week) is written when the notice is queued; on the page
//! it opens (`#not-me=<token>`), a button — never the link itself, which mail scanners follow —
//! sends it to `POST /email/not-me`, which ends every session of the account and records it.
//! At most [`NOTICES_PER_HOUR`] notices an account: the rest are not sent.

use super::mailing::write_link;
use super::store::{EmailStore, MailCount};
use super::tokens::Purpose;
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::mail::{NotMe, NotMeLink};
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use crate::sessions::SessionStore;
use async_trait::async_trait;
use serde_json::json;
use std::sync::Arc;

/// The notices' "this wasn't me" links, written to `store`.
pub struct NotMeTokens<S: ?Sized>(pub Arc<S>);

/// Notices mailed about one account in an hour, at most: each writes a token living a week.
pub const NOTICES_PER_HOUR: u64 = 10;

#[async_trait]
impl<S: ?Sized + EmailStore + 'static> NotMe for NotMeTokens<S> {
    async fn link(&self, account: Id, to: &str, page: &str, now: i64) -> NotMeLink {
        match self.0.count_mail(MailCount::Notices(account), now).await {
            Ok(c) if c.count > NOTICES_PER_HOUR => return NotMeLink::OverLimit,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "a notice goes without its \"this wasn't me\" link");
                return NotMeLink::Unavailable;
            }
        }
        // The password version is not checked for this purpose (`take_token`).
        let owner = Some((account, 0));
        match write_link(&*self.0, Purpose::EndSessions, owner, to, page, now).await {
            Ok(link) => NotMeLink::Link(link),
            Err(e) => {
                tracing::warn!(error = %e, "a notice goes without its \"this wasn't me\" link");
                NotMeLink::Unavailable
            }
        }
    }
}

impl<S: ?Sized + KernelStore + EmailStore + SessionStore> Core<S> {
    /// `POST /email/not-me`: the token of a notice's "this wasn't me" link ends every session
    /// of its account (and its private-app passports), recorded in its history; how many.
    /// 400 `invalid_token` when the token is unknown, used, expired or another purpose's.
    pub async fn end_sessions_by_mail(&self, token: &str) -> Result<u64, ApiError> {
        let (_, account) = self.take_token(token, Purpose::EndSessions).await?;
        let now = self.clock().now();
        let entry =
            Entry::new(Activity::SignedOutEverywhere, now).with_detail("from a mailed link");
        let n = self.store().revoke_all(account.id, &entry).await?;
        self.security_event(
            SecurityEvent::SessionsRevoked,
            Some(account.id),
            None,
            &[("reason", json!("not_me")), ("count", json!(n))],
        );
        Ok(n)
    }
}
