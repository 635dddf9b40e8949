//! The account directory: accounts by id and by email, an account's status, and its deletion
//! with everything kept under it.

use super::keys;
use super::memory::MemoryStore;
use super::redis::{RedisStore, field, int, lacks, long_field};
use super::scripts::{CREATE_ACCOUNT, DELETE_ACCOUNT, SET_STATUS};
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use async_trait::async_trait;

/// How long a new account's record lives before its email is claimed (a create cut short
/// leaves nothing behind after this); an app's record likewise.
pub const PROVISIONAL_SECONDS: i64 = 60;

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// May log in.
    Active,
    /// May not log in; has no sessions.
    Disabled,
}

impl AccountStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(AccountStatus::Active),
            "disabled" => Some(AccountStatus::Disabled),
            _ => None,
        }
    }
}

/// An account in the directory.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// Account id (the `sub` of its tokens).
    pub id: Id,
    /// Normalised email (trimmed, lower-cased).
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Active or disabled.
    pub status: AccountStatus,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// Counts password changes: a session is created only for the version that was checked.
    pub password_version: u64,
    /// Whether its owner proved the email theirs (a mailed link). Accounts made before mail
    /// existed, and operators' accounts, count as verified.
    pub email_verified: bool,
    /// Whether it has a confirmed second factor (an authenticator app): a password or mailed
    /// code then starts no session until a code completes it (`mfa`'s store sets it).
    pub second_factor: bool,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::kernel::redact::shown(
            f,
            "Account",
            &[
                ("id", &self.id),
                ("status", &self.status),
                ("created_at", &self.created_at),
            ],
        )
    }
}

/// The account directory. `create_account` is several steps on Redis, since the account's
/// record and its email's index entry live in two hash slots: the record first (provisional,
/// with a TTL), then the email claimed compare-and-set; concurrent creates of one email still
/// make exactly one account and leave no orphan, and a create cut short leaves nothing durable.
/// Every other method is atomic.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Adds an account; `false` if its email is taken. Not atomic on Redis (see above).
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError>;
    /// The id of the account with this (normalised) email.
    async fn account_id(&self, email: &str) -> Result<Option<Id>, StoreError>;
    /// The account with this id.
    async fn account(&self, id: Id) -> Result<Option<Account>, StoreError>;
    /// Sets the status; disabling also revokes every session in the same atomic step.
    /// `false` if there is no such account.
    async fn set_status(&self, id: Id, status: AccountStatus) -> Result<bool, StoreError>;
    /// Removes the account, its email, every session and everything kept under it; `false` if
    /// there was none.
    async fn delete_account(&self, id: Id) -> Result<bool, StoreError>;
}

#[async_trait]
impl Directory for MemoryStore {
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        let mut g = self.lock();
        if g.emails.contains_key(&account.email) {
            return Ok(false);
        }
        g.emails.insert(account.email.clone(), account.id);
        g.accounts.insert(account.id, account.clone());
        Ok(true)
    }

    async fn account_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        Ok(self.lock().emails.get(email).copied())
    }

    async fn account(&self, id: Id) -> Result<Option<Account>, StoreError> {
        Ok(self.lock().accounts.get(&id).cloned())
    }

    async fn set_status(&self, id: Id, status: AccountStatus) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let Some(a) = g.accounts.get_mut(&id) else {
            return Ok(false);
        };
        a.status = status;
        if status == AccountStatus::Disabled {
            g.end_sessions(id, None);
        }
        Ok(true)
    }

    async fn delete_account(&self, id: Id) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let Some(a) = g.accounts.remove(&id) else {
            return Ok(false);
        };
        g.emails.remove(&a.email);
        g.forget_account(id);
        Ok(true)
    }
}

#[async_trait]
impl Directory for RedisStore {
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        // The account's record and the email's index entry live in two hash slots, so no one
        // script can write both. Order makes it safe instead: the record is written first, with
        // a TTL, so an index entry never names an id whose record was never there; then the
        // email is claimed (or an entry naming a vanished account taken over, compare-and-set);
        // the loser of a race deletes its record; the winner makes its record durable.
        let record = keys::account(account.id);
        let index = keys::email(&account.email);
        let id = account.id.to_string();
        let _: i64 = self
            .run(&CREATE_ACCOUNT.invocation(
                &[("account", record.clone())],
                &[
                    ("email", account.email.clone()),
                    ("password_hash", account.password_hash.clone()),
                    ("status", account.status.as_str().to_string()),
                    ("created_at", account.created_at.to_string()),
                    ("verified", u8::from(account.email_verified).to_string()),
                    ("provisional_seconds", PROVISIONAL_SECONDS.to_string()),
                ],
            )?)
            .await?;
        self.claim(&index, &id, &record, keys::account).await
    }

    async fn account_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        let v = self.string(&keys::email(email)).await?;
        Ok(v.and_then(|s| s.parse().ok()))
    }

    async fn account(&self, id: Id) -> Result<Option<Account>, StoreError> {
        let h = self.hash(&keys::account(id)).await?;
        if h.is_empty() {
            return Ok(None);
        }
        Ok(Some(Account {
            id,
            email: long_field(&h, "email").ok_or_else(|| lacks("email"))?,
            password_hash: long_field(&h, "pw").ok_or_else(|| lacks("pw"))?,
            status: AccountStatus::parse(field(&h, "status")?)
                .ok_or_else(|| StoreError::Corrupt("unknown account status".into()))?,
            created_at: int(field(&h, "created")?)?,
            password_version: h.get("pwv").map_or(Ok(0), |v| int(v))? as u64,
            // No `ev`: written before mail existed, by an operator: verified.
            email_verified: h.get("ev").is_none_or(|v| v != "0"),
            second_factor: h.get("mfa").is_some_and(|v| v == "1"),
        }))
    }

    async fn set_status(&self, id: Id, status: AccountStatus) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&SET_STATUS.invocation(
                &[
                    ("account", keys::account(id)),
                    ("sessions", keys::sessions(id)),
                ],
                &[
                    ("status", status.as_str().to_string()),
                    ("session_prefix", keys::session_prefix(id)),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn delete_account(&self, id: Id) -> Result<bool, StoreError> {
        let email: Option<String> = self
            .write(&DELETE_ACCOUNT.invocation(
                &[
                    ("account", keys::account(id)),
                    ("sessions", keys::sessions(id)),
                    ("passkeys", keys::passkeys(id)),
                    ("mfa", keys::mfa(id)),
                    ("log", keys::log(id)),
                    ("identities", keys::identities(id)),
                ],
                &[("session_prefix", keys::session_prefix(id))],
            )?)
            .await?;
        let Some(email) = email else {
            return Ok(false);
        };
        self.unindex(keys::email(&email), id).await?;
        Ok(true)
    }
}
