//! Recent authentication: the check in front of the dangerous routes (the route table's
//! `recent_auth`), and the record a reauthentication leaves on its session.

use super::Core;
use crate::kernel::authentication::{Authentication, REAUTH_GRANT_SECONDS, RecentAuth};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::store::KernelStore;

impl<S: ?Sized + KernelStore> Core<S> {
    /// When and how a live session last authenticated; `Unauthorized` once it has ended.
    pub async fn session_authentication(
        &self,
        account: Id,
        session: Id,
    ) -> Result<Authentication, ApiError> {
        self.store()
            .session_authentication(account, session, self.clock().now())
            .await?
            .ok_or(ApiError::Unauthorized)
    }

    /// Refuses with `reauthentication_required` unless `account`'s `session` authenticated
    /// within `REAUTH_MAX_AGE_SECONDS`.
    pub async fn require_recent_authentication(
        &self,
        account: Id,
        session: Id,
    ) -> Result<(), ApiError> {
        let a = self.session_authentication(account, session).await?;
        if a.is_recent(self.clock().now(), self.config().reauth_max_age) {
            Ok(())
        } else {
            Err(ApiError::ReauthenticationRequired)
        }
    }

    /// Refuses with `reauthentication_required` unless `account`'s `session` made a
    /// `POST /reauthenticate` within [`REAUTH_GRANT_SECONDS`] that no action has spent yet.
    pub async fn require_reauthentication(&self, account: Id, session: Id) -> Result<(), ApiError> {
        let now = self.clock().now();
        match self
            .store()
            .reauthenticated_at(account, session, now)
            .await?
        {
            Some(at) if now - at <= REAUTH_GRANT_SECONDS => Ok(()),
            _ => Err(ApiError::ReauthenticationRequired),
        }
    }

    /// The route table's rule for a request: when `rule` asks for it (`ends_others`: the request
    /// ends sessions other than the caller's own), [`Core::require_recent_authentication`], or
    /// for [`RecentAuth::Reauthenticated`], [`Core::require_reauthentication`].
    pub async fn check_recent(
        &self,
        rule: RecentAuth,
        account: Id,
        session: Id,
        ends_others: bool,
    ) -> Result<(), ApiError> {
        match rule {
            RecentAuth::Reauthenticated => self.require_reauthentication(account, session).await,
            _ if rule.needed(ends_others) => {
                self.require_recent_authentication(account, session).await
            }
            _ => Ok(()),
        }
    }

    /// Records that the caller's session authenticated again: its `auth_time` and `amr` become
    /// `authentication`'s, and it holds a grant for one [`RecentAuth::Reauthenticated`] action.
    /// `Unauthorized` when the session has ended.
    pub async fn record_authentication(
        &self,
        account: Id,
        session: Id,
        authentication: &Authentication,
    ) -> Result<(), ApiError> {
        let now = self.clock().now();
        if !self
            .store()
            .reauthenticate(account, session, authentication, now)
            .await?
        {
            return Err(ApiError::Unauthorized);
        }
        let methods = authentication.methods_text();
        tracing::info!(account = %account, session = %session, amr = %methods, "reauthenticated");
        Ok(())
    }
}
