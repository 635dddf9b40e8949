//! Signing in, whatever the proof: the login gate that counts attempts before any proof is
//! checked, the password checks (argon2, a bounded pool), and starting a session once the owner
//! has proved who they are — the same session, pair and record for every way of signing in.

use super::{Core, TokenPair};
use crate::kernel::accounts::{self, MAX_DEVICE_CHARS};
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::addresses;
use crate::kernel::authentication::{Acr, Authentication};
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::mail::Message;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::store::{
    Account, KernelStore, LoginAttempt, LoginState, NewSession, SessionStart,
};
use crate::kernel::tokens::refresh::RefreshToken;
use crate::kernel::user_agent::cut_bytes;
use serde_json::json;
use std::sync::Arc;

/// Longest `User-Agent` read (longer ones are cut before they are parsed).
pub const MAX_USER_AGENT_CHARS: usize = 256;
/// Longest `User-Agent` kept on a session, and longest device description (`agent`), in bytes:
/// Redis keeps a session's hash compact only while every value is at most 64 bytes
/// (`hash-max-listpack-value`). The description parsed from the whole header says what people
/// read ("Chrome 131 on Mac OSX"); the kept start of the header, what any other client is.
pub const KEPT_USER_AGENT_BYTES: usize = 64;
/// Longest source address kept, in bytes (an IPv6 address with its zone fits).
pub const MAX_IP_CHARS: usize = 64;

/// Where a request came from, as the edge saw it.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Source IP address.
    pub ip: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The client's address as a session keeps it (cut to [`MAX_IP_CHARS`]).
    pub fn kept_address(&self) -> Option<String> {
        self.ip.as_deref().map(|ip| cut_bytes(ip, MAX_IP_CHARS))
    }
}

/// A session about to start: whose, from where, and how its owner proved who they are.
pub struct SignIn<'a> {
    /// The account, as read when the proof was checked.
    pub account: &'a Account,
    /// The email its attempt counters are kept under.
    pub email: &'a str,
    /// The device name the client gave.
    pub device: Option<String>,
    /// Where the request came from.
    pub client: &'a ClientInfo,
    /// How the owner proved who they are, and when.
    pub authentication: Authentication,
    /// The identity provider that vouched for them (a federated sign-in).
    pub via: Option<String>,
}

impl<S: ?Sized + KernelStore> Core<S> {
    /// Starts a session for an account whose owner has just proved who they are (a password,
    /// a passkey): the session pair, the same for every way of signing in.
    ///
    /// An account with a second factor gets no session from a one-factor proof: the answer is
    /// [`ApiError::SecondFactorRequired`], with the challenge that completes it
    /// ([`second_step`](super::second_step)).
    pub async fn start_session(&self, s: SignIn<'_>, now: i64) -> Result<TokenPair, ApiError> {
        let account = s.account;
        if account.second_factor && s.authentication.acr() < Acr::Aal2 {
            return Err(self.second_step(&s, now).await);
        }
        // Before the session exists: keys that cannot be published fail the sign-in whole.
        let ring = self.signing_ring().await?;
        let session = Id::random();
        let refresh = RefreshToken::new(account.id, session);
        let absolute_expires_at = now + self.config.session_max_age;
        let expires_at = (now + self.config.refresh_token_ttl).min(absolute_expires_at);
        let user_agent = s
            .client
            .user_agent
            .as_deref()
            .map(|ua| truncate(ua, MAX_USER_AGENT_CHARS));
        let agent = user_agent
            .as_deref()
            .and_then(crate::kernel::user_agent::describe)
            .map(|a| cut_bytes(&a, KEPT_USER_AGENT_BYTES));
        let new = NewSession {
            account: account.id,
            session,
            digest: refresh.digest(),
            family: refresh.family_digest(),
            device: s.device,
            // A browser the parser names is kept by that name alone: its header says nothing
            // more a person reads, and left out it takes the record a size class down
            // (docs/scale.md). Anything else keeps the start of its header.
            user_agent: user_agent
                .as_deref()
                .filter(|_| agent.is_none())
                .map(|ua| cut_bytes(ua, KEPT_USER_AGENT_BYTES)),
            ip: s.client.kept_address(),
            now,
            expires_at,
            absolute_expires_at,
            password_version: account.password_version,
            max_sessions: self.config.max_sessions_per_account,
            via: s.via.clone(),
        };
        let start = self
            .store
            .start_session(&new, s.email, &s.authentication, agent.as_deref())
            .await?;
        match start {
            SessionStart::Started { new_device: false } => {}
            SessionStart::Started { new_device: true } => {
                let ip = new.ip.clone();
                self.notify(account.id, &account.email, |link| {
                    Message::NewDeviceSignIn {
                        device: agent,
                        ip,
                        link,
                    }
                })
                .await;
            }
            SessionStart::AccountDisabled => return Err(ApiError::AccountDisabled),
            // Deleted, or its password changed after this one was checked: the password this
            // sign-in knew is no longer the account's.
            SessionStart::AccountMissing | SessionStart::PasswordChanged => {
                return Err(ApiError::InvalidCredentials);
            }
        }
        let methods = s.authentication.methods_text();
        tracing::info!(account = %account.id, session = %session, amr = %methods, "login");
        self.pair(
            &ring,
            account.id,
            session,
            &refresh,
            expires_at,
            &s.authentication,
            account.email_verified,
            now,
        )
    }

    /// What per-address limits count `ip` by ([`addresses::limit_key`]).
    pub fn limit_key(&self, ip: Option<&str>) -> Option<String> {
        ip.map(|ip| addresses::limit_key(ip, self.config.ipv6_limit_prefix))
    }

    /// Counts a sign-in attempt (or a password change's check of the current password) before
    /// any proof is checked, and refuses it when the address or the account is over its limit.
    pub async fn begin_attempt(
        &self,
        email: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<LoginState, ApiError> {
        let c = &self.config;
        let state = self
            .store
            .reserve_login(&LoginAttempt {
                email,
                ip,
                window: c.login_lockout_seconds,
                ip_max_failures: c.login_ip_max_failures,
                pair_max_failures: c.login_max_failures,
                now,
            })
            .await?;
        let over = if state.ip_blocked {
            Some(("address", state.ip_failures))
        } else if state.pair_blocked || state.pair_attempts.count > c.login_max_failures {
            Some(("account_and_address", state.pair_attempts))
        } else if state.account_attempts.count > c.login_account_max_failures {
            Some(("account", state.account_attempts))
        } else {
            None
        };
        match over {
            Some((limit, counter)) => {
                let entry = Entry::refused(Activity::SignInLocked, now, None, ip);
                let id = state.account.unwrap_or_else(Id::random);
                self.store.record_refusal(id, &entry).await?;
                self.security_event(
                    SecurityEvent::LoginLocked,
                    state.account,
                    None,
                    &[("limit", json!(limit)), ("ip", json!(ip))],
                );
                Err(ApiError::TooManyAttempts {
                    retry_after: counter.retry_after.max(1),
                })
            }
            None => Ok(state),
        }
    }

    /// A signed-in caller's password check, counted as a sign-in attempt first (see
    /// [`Core::begin_attempt`]): its account, and the address its limits count.
    pub async fn caller_attempt(
        &self,
        caller: &Caller,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(Account, Option<String>), ApiError> {
        let account = self
            .store
            .account(caller.account)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let ip = self.limit_key(client.kept_address().as_deref());
        self.begin_attempt(&account.email, ip.as_deref(), now)
            .await?;
        Ok((account, ip))
    }

    /// A proof was right: the address's reservation given back and the email's counts cleared.
    pub async fn attempt_succeeded(
        &self,
        email: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<(), ApiError> {
        if let Some(ip) = ip {
            self.store.release_ip_attempt(ip, now).await?;
        }
        self.store.clear_attempts(email, ip).await?;
        Ok(())
    }
}

impl<S: ?Sized> Core<S> {
    /// Runs argon2 work on a blocking thread, at most one per CPU at once.
    async fn on_password_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self
            .password_checks
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("password check queue closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("password work did not finish: {e}")))
    }

    /// Checks `password` against `phc` (a dummy hash when `None`: the same work either way).
    pub async fn check_password(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, ApiError> {
        let pool = Arc::clone(&self.workspaces);
        self.on_password_thread(move || {
            // Holding a permit: at most as many workspaces as permits ever exist.
            let taken = pool.lock().map(|mut p| p.pop()).unwrap_or(None);
            let mut ws = taken.unwrap_or_default();
            let ok = accounts::verify_password_in(&mut ws, &password, phc.as_deref());
            if let Ok(mut p) = pool.lock() {
                p.push(ws);
            }
            ok
        })
        .await
    }

    /// Hashes a new password.
    pub async fn hash_password(&self, password: String) -> Result<String, ApiError> {
        self.on_password_thread(move || accounts::hash_password(&password))
            .await?
            .map_err(|e| ApiError::Internal(e.to_string()))
    }
}

/// A device name as given: within [`MAX_DEVICE_CHARS`], blank meaning none.
pub fn device_name(device: Option<String>) -> Result<Option<String>, ApiError> {
    match device {
        Some(d) if d.chars().count() > MAX_DEVICE_CHARS => Err(ApiError::InvalidRequest(format!(
            "device must be at most {MAX_DEVICE_CHARS} characters"
        ))),
        Some(d) if d.trim().is_empty() => Ok(None),
        d => Ok(d),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("ab", 5), "ab");
        assert_eq!(cut_bytes("héllo", 2), "h");
        assert_eq!(cut_bytes("héllo", 3), "hé");
        assert_eq!(cut_bytes("ab", 64), "ab");
    }
}
