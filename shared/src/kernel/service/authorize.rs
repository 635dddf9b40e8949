//! The account authorizer's decision: a bearer token that verifies, of a session that is live.

use super::Core;
use crate::kernel::caller::Caller;
use crate::kernel::error::StoreError;
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::{TokenError, Verified};

/// Why an authorizer denies. Every variant is a deny; `Store` is also logged as an error.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// No `Authorization` header, or not `Bearer <token>`.
    #[error("no bearer token")]
    NoToken,
    /// The token failed verification.
    #[error("token rejected: {0}")]
    Token(#[from] TokenError),
    /// The session has ended (logout, reuse, disable, expiry).
    #[error("session is not live")]
    SessionEnded,
    /// The token's assurance level is below `AUTHORIZER_REQUIRED_ACR`.
    #[error("the session's assurance level is below the one this API requires")]
    AssuranceTooLow,
    /// A passport sent for another app than `X-App-Code` names, or without `X-App-Code`.
    #[error("passport is for another app")]
    WrongApp,
    /// The store could not answer.
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
}

impl<S: ?Sized + KernelStore> Core<S> {
    /// The authorizer's decision: verify the bearer token, check its assurance level against
    /// `AUTHORIZER_REQUIRED_ACR`, then check the session is live.
    pub async fn authorize(&self, authorization: Option<&str>) -> Result<Caller, Denied> {
        let token = presented(authorization)?;
        let now = self.clock().now();
        let Verified {
            account,
            session,
            acr,
        } = self.verify_access_token(token, now).await?;
        if acr < self.config().authorizer_required_acr {
            return Err(Denied::AssuranceTooLow);
        }
        match self.store().live_session(account, session, now).await? {
            Some(live) => Ok(Caller {
                account,
                session,
                email: live.email,
                acr,
            }),
            None => Err(Denied::SessionEnded),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// The bearer token an authorizer was given; a deny when there is none.
pub fn presented(authorization: Option<&str>) -> Result<&str, Denied> {
    authorization.and_then(bearer_token).ok_or(Denied::NoToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer a b"), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
