//! `POST /refresh-token`: a refresh token for its successor (rotation, with reuse detection).

use super::store::{Rotate, Rotation, SessionStore};
use crate::kernel::authentication::Authentication;
use crate::kernel::error::ApiError;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::{Core, TokenPair};
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::refresh::RefreshToken;

impl<S: ?Sized + KernelStore + SessionStore> Core<S> {
    /// `POST /refresh-token`.
    pub async fn refresh(&self, presented: &str) -> Result<TokenPair, ApiError> {
        let token = RefreshToken::parse(presented).ok_or(ApiError::InvalidRefreshToken)?;
        let ring = self.signing_ring().await?;
        let successor = token.successor(ring.signing().refresh_key());
        let now = self.clock().now();
        let (rotation, authentication) = self
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
            })
            .await?;
        match rotation {
            Rotation::Rotated { expires_at } | Rotation::Replayed { expires_at } => self.pair(
                &ring,
                token.account(),
                token.session(),
                &successor,
                expires_at,
                &authentication.unwrap_or_else(|| Authentication::password(now)),
                now,
            ),
            Rotation::Reused => Err(self.reused(&token)),
            Rotation::Invalid => Err(ApiError::InvalidRefreshToken),
        }
    }

    /// A spent token of `token`'s family was presented and its session ended: the security
    /// event, and the answer.
    pub(super) fn reused(&self, token: &RefreshToken) -> ApiError {
        self.security_event(
            SecurityEvent::RefreshTokenReused,
            Some(token.account()),
            Some(token.session()),
            &[],
        );
        ApiError::RefreshTokenReused
    }
}
