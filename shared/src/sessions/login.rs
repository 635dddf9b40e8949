//! `POST /login`: email and password for a session.

use super::store::SessionStore;
use crate::kernel::accounts::{self, MAX_PASSWORD_CHARS};
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::authentication::Authentication;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::service::signin::device_name;
use crate::kernel::service::{ClientInfo, Core, SignIn, TokenPair};
use crate::kernel::store::{AccountStatus, KernelStore};

/// A login request's fields, already shaped by the HTTP edge (no `Debug`: it holds the
/// password).
#[derive(Clone)]
pub struct LoginInput {
    /// Email as typed.
    pub email: String,
    /// Password.
    pub password: String,
    /// Optional device name.
    pub device: Option<String>,
}

impl LoginInput {
    /// A login with `email` and `password`, from an unnamed device.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            device: None,
        }
    }

    /// The same login, naming its device.
    pub fn on_device(mut self, device: impl Into<String>) -> Self {
        self.device = Some(device.into());
        self
    }
}

impl<S: ?Sized + KernelStore + SessionStore> Core<S> {
    /// `POST /login`: one argon2 verification whether or not the email has an account, counted
    /// first toward the lockout's limits.
    pub async fn login(
        &self,
        input: LoginInput,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let email = accounts::normalize_email(&input.email)
            .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        if input.password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(ApiError::InvalidRequest(format!(
                "password must be at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        let device = device_name(input.device)?;
        let ip = client.kept_address();
        let limited = self.limit_key(ip.as_deref());
        let now = self.clock().now();

        let state = self.begin_attempt(&email, limited.as_deref(), now).await?;

        // An unknown email still reads an (absent) account, so both paths make the same store
        // round trips before the hash check.
        let id = state.account.unwrap_or_else(Id::random);
        let account = self.store().account(id).await?;
        let phc = account.as_ref().map(|a| a.password_hash.clone());
        let verified = self.check_password(input.password, phc).await?;

        let account = match account {
            Some(a) if verified => a,
            // The failure was counted toward the address when the gate reserved it. It goes
            // into the account's history — a random id's for an unknown email, which records
            // nothing in the same round trip.
            _ => {
                let entry =
                    Entry::refused(Activity::SignInRefused, now, Some("pwd"), ip.as_deref());
                self.store().record_refusal(id, &entry).await?;
                return Err(ApiError::InvalidCredentials);
            }
        };
        if let Some(ip) = &limited {
            self.store().release_ip_attempt(ip, now).await?;
        }

        if account.status == AccountStatus::Disabled {
            return Err(ApiError::AccountDisabled);
        }
        if self.config().require_verified_email && !account.email_verified {
            // The password was right: its attempt does not count toward a lockout.
            self.store()
                .clear_attempts(&email, limited.as_deref())
                .await?;
            return Err(ApiError::EmailNotVerified);
        }

        let sign_in = SignIn {
            account: &account,
            email: &email,
            device,
            client,
            authentication: Authentication::password(now),
            via: None,
        };
        let pair = self.start_session(sign_in, now).await?;
        if limited != ip {
            // start_session cleared the counts under the address itself; an IPv6 client's
            // are under its network.
            self.store()
                .clear_attempts(&email, limited.as_deref())
                .await?;
        }
        Ok(pair)
    }
}
