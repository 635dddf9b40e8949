//! A passport as a credential: the app authorizer's decision, and `POST /passport/logout`.

use super::store::{PassportOf, PassportStore};
use crate::kernel::caller::AppCaller;
use crate::kernel::error::ApiError;
use crate::kernel::service::authorize::presented;
use crate::kernel::service::{Core, Denied, bearer_token};
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::app_passport::Visitor;

impl From<Visitor> for AppCaller {
    fn from(v: Visitor) -> Self {
        Self {
            app: v.app,
            app_code: v.app_code,
            end_user: v.end_user,
            account: v.account,
        }
    }
}

impl<S: ?Sized + KernelStore + PassportStore> Core<S> {
    /// The app authorizer's decision: a live passport (never an access token) for the app that
    /// `X-App-Code` names, whose app is enabled and whose session has not ended (one store round
    /// trip).
    pub async fn authorize_visitor(
        &self,
        authorization: Option<&str>,
        app_code: Option<&str>,
    ) -> Result<AppCaller, Denied> {
        let token = presented(authorization)?;
        let now = self.clock().now();
        let visitor = self
            .with_ring(|ring| self.passports().verify(ring, token, now))
            .await?;
        if app_code != Some(visitor.app_code.as_str()) {
            return Err(Denied::WrongApp);
        }
        // A private app's passport also lives only while the account session it was issued to
        // does, and while its record under the account does (an account-wide revocation ends
        // those): two slots, asked at once.
        let on_app = self
            .store()
            .passport_live(visitor.app, visitor.session, now);
        let live = match (visitor.account, visitor.account_session) {
            (Some(account), Some(account_session)) => {
                let of = PassportOf {
                    account,
                    account_session,
                    app: visitor.app,
                    session: visitor.session,
                };
                let on_account = self.store().private_passport_live(of, now);
                let (a, b) = tokio::try_join!(on_app, on_account)?;
                a && b
            }
            // A private passport that names no account session (issued before they did) is
            // refused: its app asks for a new one, which will.
            (Some(_), None) => false,
            (None, _) => on_app.await?,
        };
        if !live {
            return Err(Denied::SessionEnded);
        }
        Ok(visitor.into())
    }

    /// `POST /passport/logout`: ends the passport's session, so neither it nor any passport of
    /// that session is accepted or renews again. A passport past its expiry but within the
    /// retention window still ends its session (it would otherwise renew). Idempotent.
    pub async fn end_passport(
        &self,
        authorization: Option<&str>,
        app_code: Option<&str>,
    ) -> Result<(), ApiError> {
        let token = authorization
            .and_then(bearer_token)
            .ok_or(ApiError::Unauthorized)?;
        let now = self.clock().now();
        let retention = self.config().passport_retention;
        let visitor = self
            .with_ring(|ring| self.passports().verify_within(ring, token, now, retention))
            .await
            .map_err(|_| ApiError::Unauthorized)?;
        if app_code != Some(visitor.app_code.as_str()) {
            return Err(ApiError::Unauthorized);
        }
        self.store()
            .end_passport(visitor.app, visitor.session, now)
            .await?;
        Ok(())
    }
}
