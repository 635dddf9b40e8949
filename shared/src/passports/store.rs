//! The passports feature's slice of the store: shared web apps (the directory's part), their
//! visitors' passport sessions in each app's hash slot, a private app's passports recorded
//! under their account, and the count of new anonymous visitors per address.

use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::Counter;
use async_trait::async_trait;

/// A private app's passport session, the account it belongs to, and the account's session it
/// was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassportOf {
    /// The account.
    pub account: Id,
    /// The account's session that asked for the passport.
    pub account_session: Id,
    /// The app.
    pub app: Id,
    /// The passport session.
    pub session: Id,
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
/// sessions ends it too ([`PassportStore::track_private_passport`]).
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

/// The window of [`PassportStore::count_new_visitor`], in seconds.
pub const NEW_VISITOR_WINDOW: i64 = 3600;

/// How long after its passport's expiry a new anonymous visitor's session record is kept until
/// the passport is first renewed (then it is kept for `PASSPORT_RETENTION_SECONDS`): a visitor
/// who never comes back costs the store a day and an hour, not a month.
pub const NEW_VISITOR_KEEP_SECONDS: i64 = 3600;

/// What a new anonymous end user is counted under ([`PassportStore::count_new_visitor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitorCount<'a> {
    /// The client's address, as limits count it (an IPv6 client's /64).
    Address(&'a str),
    /// The network of the client's address key (`kernel::addresses::network_key`: an IPv6
    /// client's /48), when that is not the address itself.
    Network(&'a str),
    /// The app.
    App(Id),
}

/// The passports feature's store. Every method but `create_app` is atomic.
#[async_trait]
pub trait PassportStore: Send + Sync {
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
    /// Whether a private app's passport session is still recorded under its account, and the
    /// account's session it was issued to lives: however that session ended (logout, its
    /// revocation, reuse detection, expiry), the passport ends with it. One round trip: both
    /// live in the account's slot.
    async fn private_passport_live(&self, p: PassportOf, now: i64) -> Result<bool, StoreError>;
    /// Counts one new anonymous end user under `by` in an hour-long window that starts at its
    /// first count.
    async fn count_new_visitor(
        &self,
        by: VisitorCount<'_>,
        now: i64,
    ) -> Result<Counter, StoreError>;
}
