//! `POST /reauthenticate`: the caller proves itself again — its password or a passkey of its
//! account, either counted toward the login lockout — and its session's `auth_time` (and `amr`)
//! become now's, without a new session. A password with a second-factor code raises the session
//! to `aal2`. Depends on `passkeys` for the passkey proof and `mfa` for the code.

use crate::kernel::authentication::Authentication;
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::redact::shown;
use crate::kernel::service::{ClientInfo, Core};
use crate::kernel::store::KernelStore;
use crate::mfa::MfaStore;
use crate::mfa::login::SecondFactor;
use crate::passkeys::PasskeyStore;
use crate::passkeys::webauthn::PublicKeyCredential;

/// How the caller proves itself again.
pub enum Reauthentication {
    /// Its account's password, and a second factor if the caller gives one.
    Password(String, Option<SecondFactor>),
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
            Reauthentication::Password(_, second) => {
                shown(f, "Password", &[("second_factor", &second.is_some())])
            }
            Reauthentication::Passkey { ceremony, .. } => {
                shown(f, "Passkey", &[("ceremony", ceremony)])
            }
        }
    }
}

impl<S: ?Sized + KernelStore + PasskeyStore + MfaStore> Core<S> {
    /// `POST /reauthenticate`: the caller proves itself again, and its session's `auth_time`
    /// (and `amr`) become now's. A password is checked as a login's is: counted first, toward
    /// the same limits, so guesses here lock out as guesses at `/login` do.
    pub async fn reauthenticate(
        &self,
        caller: &Caller,
        proof: Reauthentication,
        client: &ClientInfo,
    ) -> Result<Authentication, ApiError> {
        let now = self.clock().now();
        let authentication = match proof {
            Reauthentication::Password(password, second) => {
                self.reauthenticate_with_password(caller, password, second, client, now)
                    .await?
            }
            Reauthentication::Passkey {
                ceremony,
                credential,
            } => {
                // Counted as a password proof is: the same limits, whichever proof is guessed.
                let (account, ip) = self.caller_attempt(caller, client, now).await?;
                let proved = self
                    .assert_passkey(ceremony, &credential, account.id, now)
                    .await?;
                self.attempt_succeeded(&account.email, ip.as_deref(), now)
                    .await?;
                proved
            }
        };
        self.record_authentication(caller.account, caller.session, &authentication)
            .await?;
        Ok(authentication)
    }

    async fn reauthenticate_with_password(
        &self,
        caller: &Caller,
        password: String,
        second: Option<SecondFactor>,
        client: &ClientInfo,
        now: i64,
    ) -> Result<Authentication, ApiError> {
        if password.chars().count() > crate::kernel::accounts::MAX_PASSWORD_CHARS {
            return Err(ApiError::InvalidRequest(format!(
                "password must be at most {} characters",
                crate::kernel::accounts::MAX_PASSWORD_CHARS
            )));
        }
        // An account with a second factor proves itself with it too: a stolen session and a
        // stolen password together must not reach what a reauthentication opens (the email,
        // the password). Said before the password is checked: no oracle for it.
        if second.is_none()
            && self
                .store()
                .account(caller.account)
                .await?
                .is_some_and(|a| a.second_factor)
        {
            return Err(ApiError::SecondFactorRequiredToChange);
        }
        let (account, ip) = self.caller_attempt(caller, client, now).await?;
        let phc = Some(account.password_hash.clone()).filter(|p| !p.is_empty());
        if !self.check_password(password, phc).await? {
            // Counted toward the address when the gate reserved it.
            return Err(ApiError::InvalidCredentials);
        }
        let password = Authentication::password(now);
        let authentication = match second {
            None => password,
            Some(proof) => {
                if !self.prove_second_factor(&account, &proof, now).await? {
                    return Err(ApiError::InvalidCredentials);
                }
                password.with_second_factor(now)
            }
        };
        self.attempt_succeeded(&account.email, ip.as_deref(), now)
            .await?;
        Ok(authentication)
    }
}
