//! `POST /logout`: ends this session, or every session of the account.

use super::store::{CheckToken, SessionStore, TokenCheck};
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::authentication::RecentAuth;
use crate::kernel::error::ApiError;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::refresh::RefreshToken;
use serde_json::json;

impl<S: ?Sized + KernelStore + SessionStore> Core<S> {
    /// `POST /logout`: ends the session named by a valid bearer token whose session is alive,
    /// else by a refresh token that is the session's current one (or the just-rotated one within
    /// the grace window); with `all`, every session of the account, when `recent` (the route's
    /// rule) lets the session whose credential was presented do that. A credential of a
    /// session that has ended ends nothing and still answers Ok (logout is idempotent, and a
    /// revoked session's access token must not end the owner's other sessions). An older
    /// refresh token of the family is reuse, handled as at `/refresh-token`: the session ends,
    /// the event is raised, and the answer is `refresh_token_reused`.
    pub async fn logout(
        &self,
        bearer: Option<&str>,
        refresh: Option<&str>,
        all: bool,
        recent: RecentAuth,
    ) -> Result<(), ApiError> {
        let now = self.clock().now();
        let bearer = match bearer {
            Some(t) => self.verify_access_token(t, now).await.ok(),
            None => None,
        };
        let (account, session) = match (bearer, refresh.and_then(RefreshToken::parse)) {
            (Some(v), _) => {
                if self
                    .store()
                    .live_session(v.account, v.session, now)
                    .await?
                    .is_none()
                {
                    return Ok(());
                }
                (v.account, v.session)
            }
            (None, Some(t)) => {
                let check = self
                    .store()
                    .check_token(&CheckToken {
                        account: t.account(),
                        session: t.session(),
                        presented: t.digest(),
                        family: t.family_digest(),
                        now,
                        grace: self.config().refresh_reuse_grace,
                    })
                    .await?;
                match check {
                    TokenCheck::Current | TokenCheck::Previous => (t.account(), t.session()),
                    // A well-formed token for a session that has ended: nothing left to end.
                    // It cannot be told apart from a forged one, so it ends nothing either.
                    TokenCheck::Invalid => return Ok(()),
                    TokenCheck::Reused => return Err(self.reused(&t).await),
                }
            }
            (None, None) => return Err(ApiError::Unauthorized),
        };
        if all {
            self.check_recent(recent, account, session, true).await?;
            let entry = Entry::new(Activity::SignedOutEverywhere, now);
            let n = self.store().revoke_all(account, &entry).await?;
            self.security_event(
                SecurityEvent::SessionsRevoked,
                Some(account),
                Some(session),
                &[("reason", json!("logout_all")), ("count", json!(n))],
            );
        } else {
            self.store().revoke_session(account, session, now).await?;
            tracing::info!(account = %account, session = %session, "logout");
        }
        Ok(())
    }
}
