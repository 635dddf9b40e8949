//! Recent authentication: the check in front of the dangerous routes (the route table's
//! `recent_auth`), and the record a reauthentication leaves on its session.

use super::Core;
use crate::kernel::authentication::{Authentication, RecentAuth};
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

    /// The route table's rule for a request: when `rule` asks for it (`ends_others`: the request
    /// ends sessions other than the caller's own), [`Core::require_recent_authentication`].
    pub async fn check_recent(
        &self,
        rule: RecentAuth,
        account: Id,
        session: Id,
        ends_others: bool,
    ) -> Result<(), ApiError> {
        if rule.needed(ends_others) {
            self.require_recent_authentication(account, session).await
        } else {
            Ok(())
        }
    }

    /// Records that the caller's session authenticated again: its `auth_time` and `amr` become
    /// `authentication`'s. `Unauthorized` when the session has ended.
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
