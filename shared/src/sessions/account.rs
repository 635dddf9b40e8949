//! The signed-in caller's own sessions and identity: `GET /sessions`, `DELETE /sessions/{id}`,
//! `GET /me`.

use super::store::SessionStore;
use crate::kernel::authentication::Authentication;
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::service::Core;
use crate::kernel::store::{KernelStore, SessionInfo};

/// What `GET /me` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    /// Account id.
    pub user_id: Id,
    /// Normalised email.
    pub email: String,
    /// The caller's session.
    pub session_id: Id,
    /// When and how the caller's session last authenticated; `None` when the session's record
    /// is gone by the time `/me` reads it (ended since its authorizer ran).
    pub authentication: Option<Authentication>,
}

impl<S: ?Sized + KernelStore + SessionStore> Core<S> {
    /// `GET /sessions`: the caller's live sessions; the caller's own is `current`.
    pub async fn sessions(&self, caller: &Caller) -> Result<Vec<SessionInfo>, ApiError> {
        Ok(self
            .store()
            .list_sessions(caller.account, self.clock().now())
            .await?)
    }

    /// `DELETE /sessions/{id}`: `NotFound` for an id that is not one of the caller's sessions.
    pub async fn revoke(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        let id: Id = id.parse().map_err(|_| ApiError::NotFound)?;
        if self
            .store()
            .revoke_session(caller.account, id, self.clock().now())
            .await?
        {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// `GET /me`: from what the authorizer established, and the session's authentication (one
    /// read of the session); only a caller whose session does not keep the email costs a read
    /// of the account.
    pub async fn me(&self, caller: &Caller) -> Result<Me, ApiError> {
        let authentication = self
            .store()
            .session_authentication(caller.account, caller.session, self.clock().now())
            .await?;
        if let Some(email) = &caller.email {
            return Ok(Me {
                user_id: caller.account,
                email: email.clone(),
                session_id: caller.session,
                authentication,
            });
        }
        let account = self
            .store()
            .account(caller.account)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Me {
            user_id: account.id,
            email: account.email,
            session_id: caller.session,
            authentication,
        })
    }
}
