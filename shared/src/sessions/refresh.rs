//! `POST /refresh-token`: a refresh token for its successor (rotation, with reuse detection).

use super::store::{DeviceProof, Rotate, Rotation, SessionStore};
use crate::kernel::authentication::Authentication;
use crate::kernel::config::DbscBinding;
use crate::kernel::error::ApiError;
use crate::kernel::mail::Message;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::binding::bound_cookie_digest;
use crate::kernel::service::{Core, TokenPair};
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::refresh::RefreshToken;

/// How a refresh request came, as device binding sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Through<'a> {
    /// The answer goes back by cookie.
    pub cookie: bool,
    /// The bound cookie's value, if the request carried one.
    pub bound_cookie: Option<&'a str>,
}

impl Through<'static> {
    /// A token in the body, answered in the body.
    pub const BODY: Self = Self {
        cookie: false,
        bound_cookie: None,
    };
}

impl<S: ?Sized + KernelStore + SessionStore> Core<S> {
    /// `POST /refresh-token` with the token in the body, answered in the body.
    pub async fn refresh(&self, presented: &str) -> Result<TokenPair, ApiError> {
        self.refresh_through(presented, Through::BODY).await
    }

    /// `POST /refresh-token`, as the request came. With `DBSC_BINDING=required` a session bound
    /// to a device key rotates only as a cookie refresh with its live bound cookie, checked in
    /// the rotation's own atomic step; refused, nothing is spent.
    pub async fn refresh_through(
        &self,
        presented: &str,
        through: Through<'_>,
    ) -> Result<TokenPair, ApiError> {
        let token = RefreshToken::parse(presented).ok_or(ApiError::InvalidRefreshToken)?;
        let ring = self.signing_ring().await?;
        let successor = token.successor(ring.signing().refresh_key());
        let now = self.clock().now();
        let (rotation, carried) = self
            .store()
            .rotate(&Rotate {
                account: token.account(),
                session: token.session(),
                presented: token.digest(),
                successor: successor.digest(),
                family: token.family_digest(),
                request_id: crate::kernel::ids::random_bytes(),
                now,
                idle_ttl: self.config().refresh_token_ttl,
                grace: self.config().refresh_reuse_grace,
                device: (self.config().dbsc_binding == DbscBinding::Required).then(|| {
                    DeviceProof {
                        by_cookie: through.cookie,
                        bound_cookie: through.bound_cookie.map(bound_cookie_digest),
                    }
                }),
            })
            .await?;
        match rotation {
            Rotation::Rotated { expires_at } | Rotation::Replayed { expires_at } => self.pair(
                &ring,
                token.account(),
                token.session(),
                &successor,
                expires_at,
                &carried.as_ref().map_or_else(
                    || Authentication::password(now),
                    |c| c.authentication.clone(),
                ),
                carried.as_ref().is_none_or(|c| c.email_verified),
                now,
            ),
            Rotation::Reused => Err(self.reused(&token).await),
            Rotation::Invalid => Err(ApiError::InvalidRefreshToken),
            Rotation::Unbound => Err(ApiError::BoundCookieRequired),
        }
    }

    /// A spent token of `token`'s family was presented and its session ended: the security
    /// event, the owner mailed, and the answer.
    pub(super) async fn reused(&self, token: &RefreshToken) -> ApiError {
        self.security_event(
            SecurityEvent::RefreshTokenReused,
            Some(token.account()),
            Some(token.session()),
            &[],
        );
        // The owner is told (the store recorded it in the history as it ended the session).
        // Best effort: the answer is the refusal whatever the mail path does.
        match self.store().account(token.account()).await {
            Ok(Some(account)) => {
                self.notify(account.id, &account.email, |link| {
                    Message::SessionEndedAsStolen { link }
                })
                .await;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "no notice of a stolen session: account unread"),
        }
        ApiError::RefreshTokenReused
    }
}
