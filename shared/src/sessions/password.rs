//! `POST /password`: the caller changes its password; every other session ends.

use super::store::{SessionStore, SessionsAfter};
use crate::kernel::accounts::{self, MAX_PASSWORD_CHARS};
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::mail::Message;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::{ClientInfo, Core};
use crate::kernel::store::{Account, KernelStore};
use serde_json::json;

/// What `POST /password` asks.
pub struct PasswordChange {
    /// The password the caller has now.
    pub current_password: String,
    /// The one it wants.
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::kernel::redact::shown(f, "PasswordChange", &[])
    }
}

impl<S: ?Sized + KernelStore + SessionStore> Core<S> {
    /// `POST /password`: the caller changes its own password. The current password is checked
    /// as a login attempt is (counted first, toward the same limits); the new hash, the next
    /// password version and the end of every other session are one atomic step, so no login
    /// that checked the old password can start a session afterwards. The caller's session
    /// (and its refresh token) lives on.
    pub async fn change_password(
        &self,
        caller: &Caller,
        change: PasswordChange,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        if change.current_password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(ApiError::InvalidRequest(format!(
                "current_password must be at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        accounts::check_new_password(&change.new_password)
            .map_err(|e| ApiError::InvalidRequest(format!("new_{e}")))?;
        let now = self.clock().now();
        let (account, ip) = self.caller_attempt(caller, client, now).await?;
        let verified = self
            .check_password(
                change.current_password.clone(),
                Some(account.password_hash.clone()),
            )
            .await?;
        let phc = if verified {
            self.hash_password(change.new_password).await?
        } else if self.is_applied_change(&account, &change, now).await? {
            // The retry of a change that ran but was never acknowledged (its answer lost, or
            // its replicas did not confirm it in time). Writing the stored hash again confirms
            // it, and ends the other sessions if a failover had brought any back.
            account.password_hash.clone()
        } else {
            // Counted toward the address when the gate reserved it.
            return Err(ApiError::InvalidCredentials);
        };
        if let Some(ip) = &ip {
            self.store().release_ip_attempt(ip, now).await?;
        }
        let keep = SessionsAfter::KeepOnly(caller.session);
        let entry = Entry {
            ip: client.kept_address(),
            ..Entry::new(Activity::PasswordChanged, now)
        };
        if !self
            .store()
            .set_password(account.id, &phc, keep, &entry)
            .await?
        {
            return Err(ApiError::Unauthorized);
        }
        self.store()
            .clear_attempts(&account.email, ip.as_deref())
            .await?;
        let by = [("by", json!("owner"))];
        self.security_event(
            SecurityEvent::PasswordChanged,
            Some(account.id),
            Some(caller.session),
            &by,
        );
        self.notify(account.id, &account.email, |link| {
            Message::PasswordChanged { link }
        })
        .await;
        self.security_event(
            SecurityEvent::SessionsRevoked,
            Some(account.id),
            Some(caller.session),
            &[
                ("reason", json!("password_changed")),
                ("kept", json!("this_session")),
            ],
        );
        Ok(())
    }

    /// Whether `change` repeats the account's last password change, made within
    /// [`super::store::PREVIOUS_PASSWORD_SECONDS`]: its current password is the one that change replaced and
    /// its new password the one stored now. Anything else is a wrong current password.
    async fn is_applied_change(
        &self,
        account: &Account,
        change: &PasswordChange,
        now: i64,
    ) -> Result<bool, ApiError> {
        let Some(previous) = self.store().previous_password_hash(account.id, now).await? else {
            return Ok(false);
        };
        Ok(self
            .check_password(change.current_password.clone(), Some(previous))
            .await?
            && self
                .check_password(
                    change.new_password.clone(),
                    Some(account.password_hash.clone()),
                )
                .await?)
    }
}
