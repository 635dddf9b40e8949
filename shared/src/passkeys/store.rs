//! The passkeys feature's slice of the store: an account's passkeys (beside its record, in its
//! hash slot), added, updated after a sign-in, and removed — never the account's last way in.

use crate::kernel::activity::Entry;
use crate::kernel::authentication::REAUTH_GRANT_SECONDS;
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
    /// The session that added it, and what its owner sees of that device; `None` for a
    /// passkey added before passkeys kept it.
    pub added_by: Option<AddedBy>,
}

/// Which session added a passkey, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedBy {
    /// The session.
    pub session: Id,
    /// What the server made of that request's `User-Agent` ("Chrome 156 on Linux"), if anything.
    pub agent: Option<String>,
}

/// The reauthentication an addition spends: `session`'s, made within
/// [`REAUTH_GRANT_SECONDS`] before `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The session adding the passkey.
    pub session: Id,
    /// Now (Unix seconds).
    pub now: i64,
}

impl Grant {
    /// The earliest reauthentication that counts.
    pub fn not_before(self) -> i64 {
        self.now - REAUTH_GRANT_SECONDS
    }
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
    /// The session holds no unspent reauthentication within the grant's window (or has ended).
    NotReauthenticated,
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
    /// Registers a passkey if the account exists, `grant`'s session holds an unspent
    /// reauthentication made since [`Grant::not_before`], the account does not have the passkey
    /// and has fewer than `max`; the reauthentication is spent in the same step.
    async fn add_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
        max: u64,
        grant: Grant,
        entry: &Entry,
    ) -> Result<PasskeyAdded, StoreError>;
    /// Replaces a registered passkey's record (its counter and flags after a sign-in); `false`
    /// if it was removed meanwhile.
    async fn update_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
    ) -> Result<bool, StoreError>;
    /// Removes a passkey, unless it is the account's last way to sign in.
    ///
    /// A passkey added or removed is recorded in the account's history as `entry` in the same
    /// step (a removed one's entry gets the passkey's name as its detail).
    async fn remove_passkey(
        &self,
        account: Id,
        id: &str,
        entry: &Entry,
    ) -> Result<PasskeyRemoved, StoreError>;
}
