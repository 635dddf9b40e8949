//! `POST /login/email-code` and `POST /login/email-code/verify`: sign-in with a six-digit code
//! mailed to the account's address (Dify's "email code login"): ten minutes, a few tries, once.

use super::store::EmailStore;
use super::tokens::{CODE_MAX_TRIES, CODE_TTL, code_digest, new_code, same_digest, valid_code};
use crate::kernel::accounts::normalize_email;
use crate::kernel::authentication::{Amr, Authentication};
use crate::kernel::error::ApiError;
use crate::kernel::mail::Message;
use crate::kernel::service::signin::device_name;
use crate::kernel::service::{ClientInfo, Core, SignIn, TokenPair};
use crate::kernel::store::{AccountStatus, KernelStore};

impl<S: ?Sized + KernelStore + EmailStore> Core<S> {
    /// `POST /login/email-code`: a new code for the address (replacing any before it), mailed
    /// when an account has the address. The code's record is written either way, with the
    /// account read in the same step: the same work, and 202.
    pub async fn request_email_code(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        let email = self.mail_request(email, client).await?;
        let code = new_code();
        let now = self.clock().now();
        let account = self
            .store()
            .put_email_code(&email, &code_digest(&email, &code), CODE_TTL, now)
            .await?;
        let message = match account {
            Some(_) => Message::SignInCode { code },
            None => Message::NoAccount,
        };
        self.enqueue(&email, message).await
    }

    /// `POST /login/email-code/verify`: the code starts a session like any other sign-in, its
    /// `amr` `otp`. Counted first toward the login lockout (as a password is), then toward the
    /// code's own tries: past [`CODE_MAX_TRIES`] wrong ones, the code is dead. A right code
    /// also verifies the address.
    pub async fn sign_in_with_email_code(
        &self,
        email: &str,
        code: &str,
        device: Option<String>,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let email = normalize_email(email).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        if !valid_code(code) {
            return Err(ApiError::InvalidRequest("code must be six digits".into()));
        }
        let device = device_name(device)?;
        let ip = client.kept_address();
        let limited = self.limit_key(ip.as_deref());
        let now = self.clock().now();
        self.begin_attempt(&email, limited.as_deref(), now).await?;
        let found = self
            .store()
            .try_email_code(&email, CODE_MAX_TRIES, now)
            .await?;
        let digest = code_digest(&email, code);
        // A wrong code, none, a dead one, or one for an address no account had: counted
        // toward the address when the gate reserved it.
        let Some((account, digest)) = found
            .filter(|r| same_digest(&r.digest, &digest))
            .and_then(|r| Some((r.account?, r.digest)))
        else {
            return Err(ApiError::InvalidCredentials);
        };
        if !self.store().spend_email_code(&email, &digest).await? {
            return Err(ApiError::InvalidCredentials);
        }
        let account = self
            .store()
            .account(account)
            .await?
            .filter(|a| a.email == email)
            .ok_or(ApiError::InvalidCredentials)?;
        if account.status == AccountStatus::Disabled {
            return Err(ApiError::AccountDisabled);
        }
        self.store().set_email_verified(account.id, &email).await?;
        self.attempt_succeeded(&email, limited.as_deref(), now)
            .await?;
        let sign_in = SignIn {
            account: &account,
            email: &email,
            device,
            client,
            authentication: Authentication {
                time: now,
                methods: vec![Amr::Otp],
            },
            via: None,
        };
        self.start_session(sign_in, now).await
    }
}
