//! The passkeys feature's slice of the store: an account's passkeys (beside its record, in its
//! hash slot), added, updated after a sign-in, and removed — never the account's last way in.

use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use async_trait::async_trait;

/// A passkey registered to an account, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// The credential id, base64url: its key in the account's passkeys.
    pub id: String,
    /// The name its owner sees.
    pub name: String,
    /// When it was registered.
    pub created_at: i64,
    /// When it last signed in or reauthenticated (0: never).
    pub last_used_at: i64,
    /// The credential as `webauthn-rs` serialises it (public key, counter, backup flags).
    pub credential: String,
}

impl StoredPasskey {
    /// Orders `list` as [`PasskeyStore::passkeys`] answers: oldest first, ties by id.
    pub fn oldest_first(list: &mut [StoredPasskey]) {
        list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    }
}

/// What adding a passkey found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyAdded {
    /// Added.
    Added,
    /// The account already has a passkey with this credential id.
    Exists,
    /// The account has as many passkeys as it may.
    Full,
    /// The account does not exist (any more).
    NoAccount,
}

/// What removing a passkey found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoved {
    /// Removed.
    Removed,
    /// The account has no passkey with this id.
    Missing,
    /// It is the account's last way to sign in (no password, no other passkey): kept.
    Last,
}

/// The passkeys feature's store. Every method is atomic.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// The account's passkeys, oldest first.
    async fn passkeys(&self, account: Id) -> Result<Vec<StoredPasskey>, StoreError>;
    /// Registers a passkey if the account exists, does not have it and has fewer than `max`.
    async fn add_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
        max: u64,
    ) -> Result<PasskeyAdded, StoreError>;
    /// Replaces a registered passkey's record (its counter and flags after a sign-in); `false`
    /// if it was removed meanwhile.
    async fn update_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
    ) -> Result<bool, StoreError>;
    /// Removes a passkey, unless it is the account's last way to sign in.
    async fn remove_passkey(&self, account: Id, id: &str) -> Result<PasskeyRemoved, StoreError>;
}
