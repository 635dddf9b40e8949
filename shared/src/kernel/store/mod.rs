//! The session store: one trait, two implementations (Redis in production, in-memory locally),
//! held to one contract (`shared/tests/store_contract.rs`).
//!
//! It keeps sessions (refresh-token digests, device data, expiries), each account's set of
//! sessions, the account directory, and login-failure counters. Every time-dependent method
//! takes `now` (Unix seconds) from the caller, so both implementations judge expiry alike.

pub mod acl;
pub mod connection;
pub mod durability;
pub mod lua;
pub mod memory;
pub mod redis;

use crate::kernel::authentication::Authentication;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::tokens::refresh::TokenDigest;
use async_trait::async_trait;

pub use self::connection::{RedisConnection, RedisCredentials};
pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;

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
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A failure counter and the seconds left in its window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// Failures counted in the current window.
    pub count: u64,
    /// Seconds until the window ends (0 when there is no window).
    pub retry_after: i64,
}

/// What login needs to know before checking a password: one store round trip (two at once on a
/// cluster: the email's keys and the address's live in different slots).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginState {
    /// The account the email names, if any.
    pub account: Option<Id>,
    /// Attempts for this email from this address in the window, this one included: the strict
    /// limit, which one attacker's address cannot use against the owner elsewhere. Attempts are
    /// counted before the password is checked (and cleared by a success), so a burst of
    /// parallel guesses cannot slip past the limit.
    pub pair_attempts: Counter,
    /// Attempts for this email from every address in the window, this one included: the loose
    /// limit, which only a distributed attack reaches.
    pub account_attempts: Counter,
    /// Failed logins from this address in the window.
    pub ip_failures: Counter,
    /// The address was at its failure limit: this attempt was counted nowhere.
    pub ip_blocked: bool,
}

/// A live session, as the authorizer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// The account's normalised email, copied into the session when it started; `None` for a
    /// session started before sessions kept it.
    pub email: Option<String>,
}

/// A session to create at login.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Owner.
    pub account: Id,
    /// The new session's id.
    pub session: Id,
    /// Digest of its first refresh token.
    pub digest: TokenDigest,
    /// Digest of its token family (`RefreshToken::family_digest`), for reuse detection.
    pub family: TokenDigest,
    /// Device name the client gave.
    pub device: Option<String>,
    /// `User-Agent` of the login request.
    pub user_agent: Option<String>,
    /// Source IP of the login request.
    pub ip: Option<String>,
    /// Now (Unix seconds).
    pub now: i64,
    /// Idle expiry (already capped by `absolute_expires_at`).
    pub expires_at: i64,
    /// Absolute expiry.
    pub absolute_expires_at: i64,
    /// The account's password version when the password was checked: a change since then
    /// refuses the session.
    pub password_version: u64,
    /// The account's session cap: beyond it, the least recently used sessions end.
    pub max_sessions: u64,
}

/// What creating a session found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    /// Created.
    Started,
    /// The account was disabled meanwhile; nothing was created.
    AccountDisabled,
    /// The account was deleted meanwhile; nothing was created.
    AccountMissing,
    /// The password changed after it was checked; nothing was created.
    PasswordChanged,
}

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
}

/// A private app's passport session, and the account it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassportOf {
    /// The account.
    pub account: Id,
    /// The app.
    pub app: Id,
    /// The passport session.
    pub session: Id,
}

/// A login attempt at the gate ([`Store::reserve_login`]).
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// The (normalised) email.
    pub email: &'a str,
    /// The client's address as limits count it, if known.
    pub ip: Option<&'a str>,
    /// The failure-counting window (seconds).
    pub window: i64,
    /// The address's failure limit.
    pub ip_max_failures: u64,
    /// Now (Unix seconds).
    pub now: i64,
}

impl<'a> LoginAttempt<'a> {
    /// The attempt of `begin_login`'s arguments.
    pub fn new(
        email: &'a str,
        ip: Option<&'a str>,
        window: i64,
        ip_max_failures: u64,
        now: i64,
    ) -> Self {
        Self {
            email,
            ip,
            window,
            ip_max_failures,
            now,
        }
    }
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

/// A live session as listed to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Session id.
    pub id: Id,
    /// Device name the client gave at login.
    pub device: Option<String>,
    /// `User-Agent` at login.
    pub user_agent: Option<String>,
    /// Source IP at login.
    pub ip: Option<String>,
    /// Login time.
    pub created_at: i64,
    /// Last refresh (or login).
    pub last_used_at: i64,
    /// When it ends unless refreshed.
    pub expires_at: i64,
    /// What the server made of the `User-Agent` at login ("Chrome 156 on Linux"), if anything.
    pub agent: Option<String>,
    /// When and how the session last authenticated.
    pub authentication: Authentication,
}

impl SessionInfo {
    /// The JSON shape of a session in answers (times in RFC 3339).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "session_id": self.id.to_string(),
            "device": self.device.as_ref().or(self.agent.as_ref()),
            "agent": self.agent,
            "user_agent": self.user_agent,
            "auth_time": crate::kernel::clock::rfc3339(self.authentication.time),
            "amr": self.authentication.methods,
            "ip": self.ip,
            "created_at": crate::kernel::clock::rfc3339(self.created_at),
            "last_used_at": crate::kernel::clock::rfc3339(self.last_used_at),
            "expires_at": crate::kernel::clock::rfc3339(self.expires_at),
        })
    }
}

/// Who may get a passport to a shared web app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAccess {
    /// Any visitor, as an anonymous end user.
    Public,
    /// Only a signed-in account, as its own end user.
    Private,
}

impl AppAccess {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppAccess::Public => "public",
            AppAccess::Private => "private",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(AppAccess::Public),
            "private" => Some(AppAccess::Private),
            _ => None,
        }
    }
}

/// A shared web app in the directory: what `X-App-Code` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Its id (in its passports, and in its store keys' hash tag).
    pub id: Id,
    /// The code visitors' pages send (`X-App-Code`): URL-safe, 8–32 characters, unique.
    pub code: String,
    /// A display name.
    pub name: String,
    /// Public or private.
    pub access: AppAccess,
    /// Lifetime of its passports, in seconds.
    pub passport_ttl: i64,
    /// Whether passports are issued and accepted (`disable_app` ends them all at once).
    pub enabled: bool,
    /// Creation time (Unix seconds).
    pub created_at: i64,
}

/// A request to start or renew a visitor's passport session.
#[derive(Debug, Clone)]
pub struct PassportStart {
    /// The app.
    pub app: Id,
    /// The session to renew (the previous passport's `sid`), if the visitor sent one whose
    /// signature checks.
    pub renew: Option<Id>,
    /// The new session's id, used when there is nothing to renew.
    pub session: Id,
    /// The end user a new session gets, unless `account` already has one in this app.
    pub end_user: Id,
    /// The signed-in account (private apps): it always maps to the same end user.
    pub account: Option<Id>,
    /// When a new session may be created only if renewing fails (`false`: answer
    /// [`PassportOutcome::Gone`] instead, so the caller can count a new anonymous user first).
    pub create: bool,
    /// The passport's expiry.
    pub expires_at: i64,
    /// When the session's record ends: the expiry plus the retention window.
    pub keep_until: i64,
}

/// A private app's passport session, recorded under its account so that ending the account's
/// sessions ends it too ([`Store::track_private_passport`]).
#[derive(Debug, Clone)]
pub struct PrivatePassport {
    /// The signed-in account.
    pub account: Id,
    /// The app.
    pub app: Id,
    /// The session to renew, if the visitor sent a passport of one.
    pub renew: Option<Id>,
    /// The new session's id, used when `renew` is not recorded (any more).
    pub session: Id,
    /// When the session's record ends.
    pub keep_until: i64,
    /// Most sessions one account keeps in one app: a new one ends the oldest beyond it.
    pub cap: u64,
    /// Now (Unix seconds).
    pub now: i64,
}

/// What starting a passport session found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassportOutcome {
    /// The previous session lives on with a new expiry, for this end user.
    Renewed {
        /// Its end user.
        end_user: Id,
    },
    /// A new session for this end user.
    Started {
        /// Its end user.
        end_user: Id,
    },
    /// Nothing to renew and `create` was false: nothing was written.
    Gone,
    /// The app is missing or disabled: nothing was written.
    AppOff,
}

/// How long a replaced password hash is kept after a change ([`Store::previous_password_hash`]).
pub const PREVIOUS_PASSWORD_SECONDS: i64 = 60;

/// The session store. Every method but `create_account` is atomic: it does all of its writes or
/// none, and concurrent calls behave as if run one after the other (one Lua script, or one
/// command, on Redis). `create_account` is several steps on Redis, since the account's record
/// and its email's index entry live in two hash slots: the record first (provisional, with a
/// TTL), then the email claimed compare-and-set; concurrent creates of one email still make
/// exactly one account and leave no orphan, and a create cut short leaves nothing durable.
#[async_trait]
pub trait Store: Send + Sync {
    /// What an acknowledged write survives: the replicas each write waits for, and what the
    /// store reported at start (the start-up line).
    fn durability(&self) -> durability::Durability;
    /// Adds an account; `false` if its email is taken. Not atomic on Redis (see above).
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError>;
    /// The id of the account with this (normalised) email.
    async fn account_id(&self, email: &str) -> Result<Option<Id>, StoreError>;
    /// The account with this id.
    async fn account(&self, id: Id) -> Result<Option<Account>, StoreError>;
    /// Replaces the password hash, moves the password version on and ends the sessions
    /// `sessions` says, in one atomic step; `false` if there is no such account.
    async fn set_password(
        &self,
        id: Id,
        password_hash: &str,
        sessions: SessionsAfter,
    ) -> Result<bool, StoreError>;
    /// The password hash the last change replaced, for [`PREVIOUS_PASSWORD_SECONDS`] after it:
    /// only to recognise the retry of a change that was applied but never acknowledged.
    async fn previous_password_hash(&self, id: Id, now: i64) -> Result<Option<String>, StoreError>;
    /// Sets the status; disabling also revokes every session in the same atomic step.
    /// `false` if there is no such account.
    async fn set_status(&self, id: Id, status: AccountStatus) -> Result<bool, StoreError>;
    /// Removes the account, its email and every session; `false` if there was none.
    async fn delete_account(&self, id: Id) -> Result<bool, StoreError>;

    /// Starts a login attempt: unless `ip` is at `ip_max_failures`, counts it for `email`
    /// from `ip` and for `email` from anywhere (each counter's window of `window` seconds
    /// starts at its first attempt), and reads the account id. A refused address counts
    /// nowhere.
    async fn begin_login(
        &self,
        email: &str,
        ip: Option<&str>,
        window: i64,
        ip_max_failures: u64,
        now: i64,
    ) -> Result<LoginState, StoreError>;
    /// As [`Store::begin_login`], and when the address is not at its limit, the attempt also
    /// counts toward `ip`'s failures at once, before the password is checked: a reservation, so
    /// that a burst of parallel attempts cannot all pass the limit while their checks run. The
    /// service gives it back with [`Store::release_ip_attempt`] when the password was right.
    async fn reserve_login(&self, a: &LoginAttempt<'_>) -> Result<LoginState, StoreError>;
    /// Takes back one attempt [`Store::reserve_login`] counted toward `ip`'s failures (never
    /// below zero, the window unchanged).
    async fn release_ip_attempt(&self, ip: &str, now: i64) -> Result<(), StoreError>;
    /// Counts a failed login from `ip`.
    async fn record_ip_failure(&self, ip: &str, window: i64, now: i64) -> Result<(), StoreError>;
    /// Clears `email`'s attempt counters (from `ip` and from anywhere): the password was right.
    async fn clear_attempts(&self, email: &str, ip: Option<&str>) -> Result<(), StoreError>;

    /// Creates a session if the account is still active and its password version is the
    /// one checked, ends the least recently used sessions beyond the cap, and clears `email`'s
    /// attempt counters (whatever the outcome: the password was right). On Redis these go out
    /// together, so a login costs three round trips besides the password check.
    async fn create_session(
        &self,
        session: &NewSession,
        email: &str,
    ) -> Result<SessionStart, StoreError> {
        let password = Authentication::password(session.now);
        self.start_session(session, email, &password, None).await
    }
    /// [`Store::create_session`], recording how the session authenticated and what the server
    /// made of its user agent (`agent`).
    async fn start_session(
        &self,
        session: &NewSession,
        email: &str,
        authentication: &Authentication,
        agent: Option<&str>,
    ) -> Result<SessionStart, StoreError>;
    /// Rotates a refresh token in one atomic step (see [`Rotation`]). A presented token of the
    /// session's family that is neither current nor, within the grace window, just rotated is
    /// reuse: the session ends. Run again with the same `request_id` after it rotated, it
    /// answers `Replayed` whatever the grace (a retry is not reuse).
    async fn rotate(&self, request: &Rotate) -> Result<Rotation, StoreError> {
        Ok(self.rotate_session(request).await?.0)
    }
    /// [`Store::rotate`], with the session's authentication when it rotated or replayed (what
    /// the new access token carries: a refresh keeps the session's `auth_time` and `amr`).
    async fn rotate_session(
        &self,
        request: &Rotate,
    ) -> Result<(Rotation, Option<Authentication>), StoreError>;
    /// When and how a live session last authenticated; `None` if it has ended.
    async fn session_authentication(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<Authentication>, StoreError>;
    /// Records a new authentication of a live session (`POST /reauthenticate`); `false` if the
    /// session has ended.
    async fn reauthenticate(
        &self,
        account: Id,
        session: Id,
        authentication: &Authentication,
        now: i64,
    ) -> Result<bool, StoreError>;

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
    /// previous; `false` if the session has ended or is not bound.
    async fn renew_bound_cookie(
        &self,
        account: Id,
        session: Id,
        cookie: &str,
        cookie_expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// A live session's binding (default when unbound); `None` if the session has ended.
    async fn session_binding(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<SessionBinding>, StoreError>;
    /// Keeps a WebAuthn ceremony's state for `ttl` seconds.
    async fn put_ceremony(&self, id: Id, state: &str, ttl: i64, now: i64)
    -> Result<(), StoreError>;
    /// Takes a ceremony's state: it answers once, then never again (single use).
    async fn take_ceremony(&self, id: Id, now: i64) -> Result<Option<String>, StoreError>;
    /// The session, if it exists and has not expired: what the authorizer reads, in one round
    /// trip, so that routes behind it (`GET /me`) need no store call of their own.
    async fn live_session(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<LiveSession>, StoreError>;
    /// Whether the session exists and has not expired.
    async fn session_live(&self, account: Id, session: Id, now: i64) -> Result<bool, StoreError> {
        Ok(self.live_session(account, session, now).await?.is_some())
    }
    /// Whether `digest` is the session's current or just-rotated token.
    async fn token_matches(
        &self,
        account: Id,
        session: Id,
        digest: &TokenDigest,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Classifies a refresh token presented as a credential without spending it; a spent
    /// token of the family ends the session, as at rotation (see [`TokenCheck`]).
    async fn check_token(&self, c: &CheckToken) -> Result<TokenCheck, StoreError>;
    /// Ends one session; `false` if it did not exist or had expired by `now` (whether or not
    /// its record was pruned yet).
    async fn revoke_session(&self, account: Id, session: Id, now: i64) -> Result<bool, StoreError>;
    /// Ends every session of an account; returns how many there were.
    async fn revoke_all(&self, account: Id) -> Result<u64, StoreError>;
    /// The account's live sessions, oldest first; drops expired entries from the account's set.
    async fn list_sessions(&self, account: Id, now: i64) -> Result<Vec<SessionInfo>, StoreError>;

    /// Adds an app; `false` if its code is taken. Several steps on Redis, as `create_account`
    /// (the record and the code's index entry live in two slots).
    async fn create_app(&self, app: &App) -> Result<bool, StoreError>;
    /// The app with this code.
    async fn app_by_code(&self, code: &str) -> Result<Option<App>, StoreError>;
    /// Every app, by code.
    async fn list_apps(&self) -> Result<Vec<App>, StoreError>;
    /// Enables or disables an app; `false` if there is no such app. A disabled app's passports
    /// are refused from that moment (the authorizer reads the app with the passport's session).
    async fn set_app_enabled(&self, id: Id, enabled: bool) -> Result<bool, StoreError>;
    /// Removes an app, its code and its account-to-end-user map; `false` if there was none.
    /// Its passports are refused from that moment; their session records expire by their TTL.
    async fn delete_app(&self, id: Id) -> Result<bool, StoreError>;
    /// Renews or starts a visitor's passport session, in one atomic step on the app's slot
    /// (see [`PassportStart`]).
    async fn start_passport(
        &self,
        start: &PassportStart,
        now: i64,
    ) -> Result<PassportOutcome, StoreError>;
    /// Whether the app is enabled and the passport session exists: the app authorizer's one
    /// round trip.
    async fn passport_live(&self, app: Id, session: Id, now: i64) -> Result<bool, StoreError>;
    /// Ends a passport session; `false` if there was none.
    async fn end_passport(&self, app: Id, session: Id, now: i64) -> Result<bool, StoreError>;
    /// Records a private app's passport session under its account, before the session is
    /// started on the app's slot: `true` when `renew` is still recorded (and is renewed), else
    /// `session` is recorded and the account's oldest sessions in this app beyond `cap` end.
    /// Ending the account's sessions (logout-all, a password change, disable, delete) ends
    /// these records in the same atomic step.
    async fn track_private_passport(&self, p: &PrivatePassport) -> Result<bool, StoreError>;
    /// Whether a private app's passport session is still recorded under its account.
    async fn private_passport_live(&self, p: PassportOf, now: i64) -> Result<bool, StoreError>;
    /// Counts one new anonymous end user from `ip` in an hour-long window that starts at its
    /// first count.
    async fn count_new_visitor(&self, ip: &str, now: i64) -> Result<Counter, StoreError>;
    /// Publishes the signers' public key document (`keys::published`), made from the key
    /// version created at `created_ms`, unless one from a newer version is there (`false`).
    async fn publish_keys(&self, document: &str, created_ms: i64) -> Result<bool, StoreError>;
    /// The published public key document, if a signer has published one.
    async fn published_keys(&self) -> Result<Option<String>, StoreError>;
}

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
    /// Orders `list` as [`Store::passkeys`] answers: oldest first, ties by id.
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

/// A session's device binding (DBSC), as the store keeps it with the session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionBinding {
    /// The public key (JWK, JSON) the session is bound to; `None` while unbound.
    pub key: Option<String>,
    /// The SHA-256 digest (hex) of the bound cookie in force.
    pub cookie: Option<String>,
    /// When that cookie stops counting (Unix seconds).
    pub cookie_expires_at: i64,
    /// The digest (hex) of the bound cookie the last renewal replaced, still honoured until its
    /// own expiry: a browser renews ahead of expiry (Chromium's proactive refresh), and a request
    /// it sent meanwhile carries the cookie it had.
    pub previous: Option<String>,
    /// When that previous cookie stops counting (Unix seconds).
    pub previous_expires_at: i64,
}

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

/// The window of [`Store::count_new_visitor`], in seconds.
pub const NEW_VISITOR_WINDOW: i64 = 3600;
