//! The federation feature's slice of the store: an account's connected identities (beside its
//! record, in its hash slot, one per provider) and the index from a provider's `(iss, sub)` to
//! the account (its own hash slot, as the email index is).

use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// An identity of a provider, connected to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The provider's name (`OIDC_PROVIDERS`).
    #[serde(skip)]
    pub provider: String,
    /// The provider's issuer (`iss`).
    pub iss: String,
    /// The provider's subject (`sub`).
    pub sub: String,
    /// The address the provider gave when it was connected, if any (shown to the owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When it was connected.
    pub at: i64,
}

/// What connecting an identity found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// Connected (or already connected to this account: a retried request).
    Linked,
    /// The identity is connected to another account.
    InUse,
    /// The account has another identity of this provider.
    ProviderTaken,
    /// The account does not exist (any more).
    NoAccount,
}

/// What disconnecting an identity found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    /// Disconnected, and the sessions it started ended.
    Unlinked,
    /// The account has no identity of this provider.
    Missing,
    /// It is the account's last way to sign in (no password, passkey or other provider): kept.
    Last,
}

/// The federation feature's store. Every method is atomic.
#[async_trait]
pub trait FederationStore: Send + Sync {
    /// The account the identity `(iss, sub)` is connected to.
    async fn identity_owner(&self, iss: &str, sub: &str) -> Result<Option<Id>, StoreError>;
    /// The account's connected identities, by provider name.
    async fn identities(&self, account: Id) -> Result<Vec<Identity>, StoreError>;
    /// Connects `identity` to the account: its index entry claimed first, then the account's
    /// record of it written and `entry` recorded in its history (one step). An index entry
    /// naming a vanished account, or an account that no longer holds the identity, is taken
    /// over; a failed claim leaves nothing behind.
    async fn link_identity(
        &self,
        account: Id,
        identity: &Identity,
        entry: &Entry,
    ) -> Result<Linked, StoreError>;
    /// Disconnects the account's identity of `provider` unless it is the account's last way to
    /// sign in, ending every session it started and recording `entry` (one step); then drops
    /// its index entry.
    async fn unlink_identity(
        &self,
        account: Id,
        provider: &str,
        entry: &Entry,
    ) -> Result<Unlinked, StoreError>;
}
