//! The sessions feature's slice of the store: rotating a refresh token, checking one presented
//! as a credential, ending one session or all, listing them, and changing the password (which
//! ends them).

use crate::kernel::activity::Entry;
use crate::kernel::authentication::Authentication;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::SessionInfo;
use crate::kernel::tokens::refresh::TokenDigest;
use async_trait::async_trait;

/// Which sessions a password change leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionsAfter {
    /// End every session.
    EndAll,
    /// End every session but this one (the caller's).
    KeepOnly(Id),
    /// End none (an operator's explicit choice).
    KeepAll,
}

/// A rotation request: replace `presented` by `successor`.
#[derive(Debug, Clone)]
pub struct Rotate {
    /// Owner.
    pub account: Id,
    /// The session.
    pub session: Id,
    /// Digest of the token the client presented.
    pub presented: TokenDigest,
    /// Digest of the token that replaces it.
    pub successor: TokenDigest,
    /// Digest of the presented token's family: a match that is neither the current nor the
    /// just-rotated token is a spent ancestor, and ends the session.
    pub family: TokenDigest,
    /// Random per refresh request and the same when the store retries it after a dropped
    /// connection: a rotation run twice with one id is a retry, never reuse.
    pub request_id: [u8; 16],
    /// Now (Unix seconds).
    pub now: i64,
    /// Idle lifetime: the new expiry is `now + idle_ttl`, capped by the absolute expiry.
    pub idle_ttl: i64,
    /// Seconds after a rotation during which the old token still gets the same successor:
    /// whole seconds, so the window is at least `grace` seconds long (up to one more); 0 turns
    /// it off.
    pub grace: i64,
    /// With `DBSC_BINDING=required`, what the request shows of its device; `None` when binding
    /// is not required.
    pub device: Option<DeviceProof>,
}

/// What a refresh request shows of the device it came from. A session bound to a device key
/// rotates only when this is a cookie refresh that carries the session's live bound cookie:
/// the refresh token's value alone, however it arrives, is no way around the binding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceProof {
    /// The answer goes back by cookie (a body-transport answer would hand the successor to
    /// whoever holds a copy of the value).
    pub by_cookie: bool,
    /// Digest (hex, [`crate::kernel::service::binding::bound_cookie_digest`]) of the bound cookie the
    /// request carried.
    pub bound_cookie: Option<String>,
}

/// What a rotated (or replayed) session hands its new access token: how and when it
/// authenticated, and whether its account's address is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// Its `auth_time` and `amr`.
    pub authentication: Authentication,
    /// Its `email_verified`.
    pub email_verified: bool,
}

/// The outcome of a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was current; `successor` is now current.
    Rotated {
        /// The session's new expiry.
        expires_at: i64,
    },
    /// The presented token was rotated within the grace window into `successor`, which is
    /// still current: the caller gets the same successor.
    Replayed {
        /// The session's expiry.
        expires_at: i64,
    },
    /// A spent token of the session's family, after the grace window (the just-rotated one) or
    /// of any older generation: the session is now revoked.
    Reused,
    /// Unknown session, expired, or a token not of the session's family (a forged secret).
    Invalid,
    /// A token of the session's family, but the session is bound to a device key and the
    /// request did not show its live bound cookie ([`DeviceProof`]): nothing was spent, and
    /// nothing ended (a copy of the cookie jar cannot end the session it cannot use).
    Unbound,
}

/// A refresh token presented as a credential (logout), to be classified without spending it.
#[derive(Debug, Clone)]
pub struct CheckToken {
    /// The session's account.
    pub account: Id,
    /// The session.
    pub session: Id,
    /// Digest of the presented token.
    pub presented: TokenDigest,
    /// Digest of the presented token's family.
    pub family: TokenDigest,
    /// Now (Unix seconds).
    pub now: i64,
    /// The grace window in which the just-rotated token still counts (seconds).
    pub grace: i64,
}

/// What a presented refresh token is to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// The session's current token.
    Current,
    /// The just-rotated token, within the grace window.
    Previous,
    /// A spent token of the session's family, as at rotation: the session is now revoked.
    Reused,
    /// Unknown session, expired, or not of the session's family.
    Invalid,
}

/// How long a replaced password hash is kept after a change ([`SessionStore::previous_password_hash`]).
pub const PREVIOUS_PASSWORD_SECONDS: i64 = 60;

/// The sessions feature's store. Every method is atomic: it does all of its writes or none
/// (one Lua script on Redis, one critical section in memory).
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Rotates a refresh token in one atomic step (see [`Rotation`]), with the session's
    /// authentication when it rotated or replayed (what the new access token carries: a refresh
    /// keeps the session's `auth_time` and `amr`). A presented token of the session's family
    /// that is neither current nor, within the grace window, just rotated is reuse: the session
    /// ends. Run again with the same `request_id` after it rotated, it answers `Replayed`
    /// whatever the grace (a retry is not reuse).
    async fn rotate(&self, request: &Rotate) -> Result<(Rotation, Option<Carried>), StoreError>;
    /// Classifies a refresh token presented as a credential without spending it; a spent
    /// token of the family ends the session, as at rotation (see [`TokenCheck`]).
    async fn check_token(&self, c: &CheckToken) -> Result<TokenCheck, StoreError>;
    /// Ends one session; `false` if it did not exist or had expired by `now` (whether or not
    /// its record was pruned yet).
    async fn revoke_session(&self, account: Id, session: Id, now: i64) -> Result<bool, StoreError>;
    /// Ends every session of an account; returns how many there were. When there were any,
    /// `entry` goes into the account's history in the same step.
    async fn revoke_all(&self, account: Id, entry: &Entry) -> Result<u64, StoreError>;
    /// The account's live sessions, oldest first; drops expired entries from the account's set.
    async fn list_sessions(&self, account: Id, now: i64) -> Result<Vec<SessionInfo>, StoreError>;
    /// Replaces the password hash, moves the password version on and ends the sessions
    /// `sessions` says, in one atomic step; `false` if there is no such account. A new hash is
    /// recorded in the account's history as `entry` in the same step (the same hash again is
    /// the retry of a change already applied, and recorded nothing more).
    async fn set_password(
        &self,
        id: Id,
        password_hash: &str,
        sessions: SessionsAfter,
        entry: &Entry,
    ) -> Result<bool, StoreError>;
    /// The password hash the last change replaced, for [`PREVIOUS_PASSWORD_SECONDS`] after it:
    /// only to recognise the retry of a change that was applied but never acknowledged.
    async fn previous_password_hash(&self, id: Id, now: i64) -> Result<Option<String>, StoreError>;
}
