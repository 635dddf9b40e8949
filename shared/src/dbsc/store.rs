//! DBSC's slice of the store: binding a live session to a device key, and renewing its bound
//! cookie. The binding lives in the session's record (the kernel's), so whatever ends the
//! session ends it.

use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use async_trait::async_trait;

/// What binding a session found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindOutcome {
    /// Bound to the key (or already bound to this same key), with the new cookie.
    Bound,
    /// Already bound to another key: nothing changed.
    Taken,
    /// The session has ended.
    Gone,
}

/// What renewing a bound cookie found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewOutcome {
    /// The new cookie is in force; the one it replaced is kept as the previous.
    Renewed,
    /// Another cookie than the one expected is in force (the renewal's challenge was used):
    /// nothing changed.
    Stale,
    /// The session has ended, or is not bound.
    Gone,
}

/// DBSC's store. Every method is atomic.
#[async_trait]
pub trait DbscStore: Send + Sync {
    /// Binds a live session to a device key (DBSC registration) and records its first bound
    /// cookie's digest (hex) and expiry, unless it is bound to another key.
    async fn bind_session(
        &self,
        account: Id,
        session: Id,
        key: &str,
        cookie: &str,
        cookie_expires_at: i64,
        now: i64,
    ) -> Result<BindOutcome, StoreError>;
    /// Records a bound session's new bound cookie (digest, hex), the one it replaces kept as the
    /// previous, if the cookie in force is still `expected` (digest, hex).
    async fn renew_bound_cookie(
        &self,
        account: Id,
        session: Id,
        cookie: &str,
        cookie_expires_at: i64,
        expected: &str,
        now: i64,
    ) -> Result<RenewOutcome, StoreError>;
}
