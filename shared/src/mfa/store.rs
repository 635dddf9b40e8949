//! The second factor's slice of the store: per account, beside its record and in its hash slot,
//! the authenticator's salt (confirmed, or pending while being set up), the last step a code was
//! accepted for (a code is taken once), and the recovery codes' digests. Confirming sets the
//! account's `second_factor` in the same step; removing clears it.

use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use async_trait::async_trait;

/// An account's second factor, as kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaState {
    /// The confirmed authenticator's salt, and since when.
    pub totp: Option<(String, i64)>,
    /// The salt being set up (not yet confirmed), while it lives.
    pub pending: Option<String>,
    /// The last step a code was accepted for.
    pub last_step: i64,
    /// Recovery codes not spent.
    pub recovery_left: u32,
}

/// What starting a set-up found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    /// The salt is pending.
    Pending,
    /// The account already has a confirmed authenticator.
    Exists,
    /// No such account.
    NoAccount,
}

/// The second factor's store. Every method is atomic.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// The account's second factor (a pending salt only until `now` passes its end).
    async fn mfa_state(&self, account: Id, now: i64) -> Result<MfaState, StoreError>;
    /// Keeps `salt` pending until `until`, replacing a pending one, unless the account has a
    /// confirmed authenticator.
    async fn begin_totp(
        &self,
        account: Id,
        salt: &str,
        until: i64,
        now: i64,
    ) -> Result<Begun, StoreError>;
    /// Confirms the pending `salt` (still pending, unexpired, and no authenticator confirmed
    /// meanwhile) with the first code's `step`, and keeps `recovery_digests` as the account's
    /// recovery codes; the account's `second_factor` is set and `entry` recorded in its history
    /// in the same step. `false` if not.
    async fn confirm_totp(
        &self,
        account: Id,
        salt: &str,
        step: i64,
        recovery_digests: &[String],
        entry: &Entry,
    ) -> Result<bool, StoreError>;
    /// Takes a code of `step` for the confirmed `salt`: only once, and only after every step
    /// taken before (a code replayed in its window, or an older one, is refused).
    async fn accept_totp_step(
        &self,
        account: Id,
        salt: &str,
        step: i64,
    ) -> Result<bool, StoreError>;
    /// Spends the recovery code with digest `digest` (compared in constant time); the codes
    /// left, or `None` when no unspent code has it. A spent code is recorded in the history as
    /// `entry` in the same step.
    async fn spend_recovery_code(
        &self,
        account: Id,
        digest: &str,
        entry: &Entry,
    ) -> Result<Option<u32>, StoreError>;
    /// Replaces the account's recovery codes (the old set void); `false` without a confirmed
    /// authenticator.
    async fn replace_recovery_codes(
        &self,
        account: Id,
        digests: &[String],
    ) -> Result<bool, StoreError>;
    /// Removes the authenticator and the recovery codes, and clears the account's
    /// `second_factor`, recording `entry` in the history when it had one; `false` if not.
    async fn remove_totp(&self, account: Id, entry: &Entry) -> Result<bool, StoreError>;
}
