//! Device binding (DBSC) as the kernel sees it: the offer every cookie sign-in makes, and the
//! digest a bound cookie is kept as. Registration and renewal are the `dbsc` feature's; the
//! check that a bound session's refresh shows its device is the rotation's own (`sessions`).

use super::{Core, TokenPair};
use crate::kernel::binding::{CHALLENGE_SECONDS, Challenge, registration_header};
use crate::kernel::config::DbscBinding;
use crate::kernel::error::ApiError;
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::refresh::RefreshToken;

/// The digest (hex) the store keeps of a bound cookie's value.
pub fn bound_cookie_digest(value: &str) -> String {
    crate::kernel::tokens::digest::sha256_hex(value.as_bytes())
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
}
