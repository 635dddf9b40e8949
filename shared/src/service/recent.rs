//! Recent authentication: the check in front of the dangerous routes, and
//! `POST /reauthenticate`, which raises a session's `auth_time` without making a new session.

use super::{ClientInfo, Service};
use crate::kernel::authentication::Authentication;
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::passkeys::PublicKeyCredential;

/// How the caller proves itself again.
pub enum Reauthentication {
    /// Its account's password.
    Password(String),
    /// A passkey assertion to the challenge of `POST /login/passkey/options`.
    Passkey {
        /// The ceremony the options named.
        ceremony: Id,
        /// The browser's `PublicKeyCredential`.
        credential: Box<PublicKeyCredential>,
    },
}

impl std::fmt::Debug for Reauthentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reauthentication::Password(_) => f.write_str("Password(..)"),
            Reauthentication::Passkey { ceremony, .. } => write!(f, "Passkey({ceremony})"),
        }
    }
}

impl Service {
    async fn session_authentication(
        &self,
        account: Id,
        session: Id,
    ) -> Result<Authentication, ApiError> {
        self.store
            .session_authentication(account, session, self.clock.now())
            .await?
            .ok_or(ApiError::Unauthorized)
    }

    /// Refuses with `reauthentication_required` unless `account`'s `session` authenticated
    /// within `REAUTH_MAX_AGE_SECONDS`. The HTTP layer calls it for the routes the route
    /// table marks (`RouteSpec::recent_auth`).
    pub async fn require_recent_authentication(
        &self,
        account: Id,
        session: Id,
    ) -> Result<(), ApiError> {
        let a = self.session_authentication(account, session).await?;
        if a.is_recent(self.clock.now(), self.config.reauth_max_age) {
            Ok(())
        } else {
            Err(ApiError::ReauthenticationRequired)
        }
    }

    /// `POST /reauthenticate`: the caller proves itself again, and its session's `auth_time`
    /// (and `amr`) become now's. A password is checked as a login's is: counted first, toward
    /// the same limits, so guesses here lock out as guesses at `/login` do.
    pub async fn reauthenticate(
        &self,
        caller: &Caller,
        proof: Reauthentication,
        client: &ClientInfo,
    ) -> Result<Authentication, ApiError> {
        let now = self.clock.now();
        let authentication = match proof {
            Reauthentication::Password(password) => {
                self.reauthenticate_with_password(caller, password, client, now)
                    .await?
            }
            Reauthentication::Passkey {
                ceremony,
                credential,
            } => {
                let expected = Some(caller.account);
                self.assert_passkey(ceremony, &credential, expected, now)
                    .await?
                    .1
            }
        };
        if !self
            .store
            .reauthenticate(caller.account, caller.session, &authentication, now)
            .await?
        {
            return Err(ApiError::Unauthorized);
        }
        let methods = authentication.methods_text();
        tracing::info!(account = %caller.account, session = %caller.session, amr = %methods, "reauthenticated");
        Ok(authentication)
    }

    async fn reauthenticate_with_password(
        &self,
        caller: &Caller,
        password: String,
        client: &ClientInfo,
        now: i64,
    ) -> Result<Authentication, ApiError> {
        if password.chars().count() > crate::kernel::accounts::MAX_PASSWORD_CHARS {
            return Err(ApiError::InvalidRequest(format!(
                "password must be at most {} characters",
                crate::kernel::accounts::MAX_PASSWORD_CHARS
            )));
        }
        let (account, ip) = self.caller_attempt(caller, client, now).await?;
        let phc = Some(account.password_hash.clone()).filter(|p| !p.is_empty());
        if !self.check_password(password, phc).await? {
            // Counted toward the address when the gate reserved it.
            return Err(ApiError::InvalidCredentials);
        }
        if let Some(ip) = &ip {
            self.store.release_ip_attempt(ip, now).await?;
        }
        self.store
            .clear_attempts(&account.email, ip.as_deref())
            .await?;
        Ok(Authentication::password(now))
    }
}
