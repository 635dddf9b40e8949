//! Device binding (DBSC) as the kernel sees it: the offer every cookie sign-in makes, and, with
//! `DBSC_BINDING=required`, the check that a bound session's refresh carries its live bound
//! cookie. Registration and renewal are the `dbsc` feature's.

use super::{Core, TokenPair};
use crate::kernel::binding::{CHALLENGE_SECONDS, Challenge, registration_header};
use crate::kernel::config::DbscBinding;
use crate::kernel::error::ApiError;
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::refresh::{RefreshToken, TokenDigest};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The digest (hex) the store keeps of a bound cookie's value.
pub fn bound_cookie_digest(value: &str) -> String {
    TokenDigest(Sha256::digest(value.as_bytes()).into()).to_hex()
}

impl<S: ?Sized + KernelStore> Core<S> {
    /// Where device binding's routes are: below `COOKIE_PATH_PREFIX`, as the cookies are.
    pub fn bound_prefix(&self) -> &str {
        match self.config().session_cookie.path() {
            "/" => "",
            p => p,
        }
    }

    /// The `Secure-Session-Registration` a cookie-transport sign-in answers with, unless
    /// binding is off.
    pub async fn offer_binding(&self, pair: &TokenPair) -> Result<Option<String>, ApiError> {
        if self.config().dbsc_binding == DbscBinding::Off {
            return Ok(None);
        }
        let token = RefreshToken::parse(&pair.refresh_token)
            .ok_or_else(|| ApiError::Internal("a pair's own refresh token".into()))?;
        let id = self
            .keep_state(
                &Challenge::DbscRegister {
                    account: token.account(),
                    session: token.session(),
                },
                CHALLENGE_SECONDS,
            )
            .await?;
        Ok(Some(registration_header(self.bound_prefix(), id)))
    }

    /// With `DBSC_BINDING=required`: a refresh by the session cookie of a session bound to a
    /// device key needs that session's live bound cookie too. An unbound session, or a deployment
    /// that only offers binding, passes.
    pub async fn check_binding(
        &self,
        refresh_token: &str,
        bound_cookie: Option<&str>,
    ) -> Result<(), ApiError> {
        if self.config().dbsc_binding != DbscBinding::Required {
            return Ok(());
        }
        let Some(token) = RefreshToken::parse(refresh_token) else {
            return Ok(()); // The refresh itself refuses it.
        };
        let now = self.clock().now();
        let binding = self
            .store()
            .session_binding(token.account(), token.session(), now)
            .await?;
        let Some(binding) = binding.filter(|b| b.key.is_some()) else {
            return Ok(());
        };
        let presented = bound_cookie.map(bound_cookie_digest).unwrap_or_default();
        // The cookie in force, or the one its last renewal replaced, each until its own expiry.
        let live = |kept: Option<String>, expires_at: i64| {
            let kept = kept.unwrap_or_default();
            let matches: bool = presented.as_bytes().ct_eq(kept.as_bytes()).into();
            matches && !kept.is_empty() && expires_at > now
        };
        let current = live(binding.cookie, binding.cookie_expires_at);
        let previous = live(binding.previous, binding.previous_expires_at);
        if current || previous {
            Ok(())
        } else {
            Err(ApiError::BoundCookieRequired)
        }
    }
}
