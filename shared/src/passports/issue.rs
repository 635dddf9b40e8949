//! `POST /passport`: a passport to a shared web app, new or renewed. A public app gives one to
//! anyone (a new anonymous end user, rate-limited per address); a private app only to a
//! signed-in account (always the same end user per account and app), recorded under the
//! account so that ending its sessions ends the passport, and naming the account session that
//! asked, with which it dies.

use super::store::{
    App, AppAccess, NEW_VISITOR_KEEP_SECONDS, PassportOutcome, PassportStart, PassportStore,
    PrivatePassport, VisitorCount,
};
use crate::kernel::addresses::network_key;
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::service::{ClientInfo, Core, Denied};
use crate::kernel::store::{Counter, KernelStore};
use crate::kernel::tokens::app_passport::Visitor;

/// Shortest app code.
pub const MIN_APP_CODE_CHARS: usize = 8;
/// Longest app code.
pub const MAX_APP_CODE_CHARS: usize = 32;

/// Whether `code` has an app code's form: 8–32 of `A-Z a-z 0-9 - _` (URL-safe).
pub fn valid_app_code(code: &str) -> bool {
    (MIN_APP_CODE_CHARS..=MAX_APP_CODE_CHARS).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What `POST /passport` asks.
#[derive(Clone, Copy)]
pub struct PassportRequest<'a> {
    /// `X-App-Code`.
    pub app_code: Option<&'a str>,
    /// The `Authorization` header (a private app needs an account's bearer token).
    pub authorization: Option<&'a str>,
    /// The visitor's previous passport (body `passport`), to keep its end user.
    pub previous: Option<&'a str>,
}

/// What `POST /passport` answers.
#[derive(Clone, PartialEq, Eq)]
pub struct PassportGrant {
    /// The passport (a JWT).
    pub passport: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The end user it names.
    pub end_user: Id,
    /// The app's code.
    pub app_code: String,
}

impl std::fmt::Debug for PassportGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::kernel::redact::shown(
            f,
            "PassportGrant",
            &[("end_user", &self.end_user), ("app_code", &self.app_code)],
        )
    }
}

/// A passport session about to be renewed or started: its app, the session the visitor's
/// previous passport names (if it verified), and the lifetime of the new passport.
struct Issue<'a> {
    app: &'a App,
    previous: Option<Id>,
    expires_at: i64,
    keep_until: i64,
    now: i64,
}

impl Issue<'_> {
    /// The request to the store: renew `renew` if it is there, else (with `create`) start a
    /// new session for `account` (or an anonymous end user).
    fn start(&self, renew: Option<Id>, account: Option<Id>, create: bool) -> PassportStart {
        PassportStart {
            app: self.app.id,
            renew,
            session: Id::random(),
            end_user: Id::random(),
            account,
            create,
            expires_at: self.expires_at,
            keep_until: self.keep_until,
        }
    }
}

impl<S: ?Sized + KernelStore + PassportStore> Core<S> {
    /// `POST /passport`.
    pub async fn issue_passport(
        &self,
        req: PassportRequest<'_>,
        client: &ClientInfo,
    ) -> Result<PassportGrant, ApiError> {
        let now = self.clock().now();
        let app = self.live_app(req.app_code).await?;
        let caller = match app.access {
            AppAccess::Public => None,
            AppAccess::Private => Some(self.signed_in_caller(req.authorization).await?),
        };
        let account = caller.as_ref().map(|c| c.account);
        let ttl = match account {
            Some(_) => app.passport_ttl.min(self.config().private_passport_max_ttl),
            None => app.passport_ttl,
        };
        let retention = self.config().passport_retention;
        // A previous passport that does not verify (forged, too old, another app's) is as if
        // none were sent: the visitor becomes a new end user.
        let previous = match req.previous {
            Some(p) => self
                .with_ring(|ring| self.passports().verify_within(ring, p, now, retention))
                .await
                .ok()
                .filter(|v| v.app == app.id && v.account == account)
                .map(|v| v.session),
            None => None,
        };
        // Before anything is recorded: keys that cannot be published fail the request whole.
        let ring = self.signing_ring().await?;
        let issue = Issue {
            app: &app,
            previous,
            expires_at: now + ttl,
            keep_until: now + ttl + retention,
            now,
        };
        let (end_user, session) = match account {
            Some(account) => self.start_private(&issue, account).await?,
            None => self.start_public(&issue, client).await?,
        };
        let visitor = Visitor {
            app: app.id,
            app_code: app.code.clone(),
            end_user,
            account,
            account_session: caller.map(|c| c.session),
            session,
            expires_at: issue.expires_at,
        };
        let passport = self
            .passports()
            .issue(&ring, &visitor, now)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(PassportGrant {
            passport,
            expires_in: ttl,
            end_user,
            app_code: app.code,
        })
    }

    /// Who a private app's passport is for: the caller of a live account session (the
    /// passport dies with that session).
    async fn signed_in_caller(&self, authorization: Option<&str>) -> Result<Caller, ApiError> {
        match self.authorize(authorization).await {
            Ok(caller) => Ok(caller),
            Err(Denied::Store(e)) => Err(e.into()),
            Err(_) => Err(ApiError::SignInRequired),
        }
    }

    /// An anonymous visitor's session: the previous one renewed, or else a new end user,
    /// counted first toward the address's limit. Its end user and session.
    async fn start_public(
        &self,
        issue: &Issue<'_>,
        client: &ClientInfo,
    ) -> Result<(Id, Id), ApiError> {
        if let Some(previous) = issue.previous {
            let renew = issue.start(Some(previous), None, false);
            match self.store().start_passport(&renew, issue.now).await? {
                PassportOutcome::Renewed { end_user } => return Ok((end_user, previous)),
                PassportOutcome::AppOff => return Err(ApiError::AppNotFound),
                PassportOutcome::Started { .. } | PassportOutcome::Gone => {}
            }
        }
        self.count_new_visitor(client, issue.app.id, issue.now)
            .await?;
        // Kept briefly until its first renewal: a visitor who never comes back costs little.
        let start = PassportStart {
            keep_until: issue
                .keep_until
                .min(issue.expires_at + NEW_VISITOR_KEEP_SECONDS),
            ..issue.start(None, None, true)
        };
        match self.store().start_passport(&start, issue.now).await? {
            PassportOutcome::Started { end_user } => Ok((end_user, start.session)),
            // Disabled or deleted since it was read.
            _ => Err(ApiError::AppNotFound),
        }
    }

    /// A signed-in account's session: recorded under the account first (so that a revocation
    /// racing this issue ends the passport rather than missing it), then renewed or started on
    /// the app's slot. Its end user and session.
    async fn start_private(&self, issue: &Issue<'_>, account: Id) -> Result<(Id, Id), ApiError> {
        let track = |renew, session| PrivatePassport {
            account,
            app: issue.app.id,
            renew,
            session,
            keep_until: issue.keep_until,
            cap: self.config().private_passports_per_app,
            now: issue.now,
        };
        let mut start = issue.start(issue.previous, Some(account), true);
        if !self
            .store()
            .track_private_passport(&track(start.renew, start.session))
            .await?
        {
            start.renew = None;
        }
        let (end_user, session) = match self.store().start_passport(&start, issue.now).await? {
            PassportOutcome::Renewed { end_user } => {
                (end_user, start.renew.unwrap_or(start.session))
            }
            PassportOutcome::Started { end_user } => (end_user, start.session),
            // Disabled or deleted since it was read.
            PassportOutcome::AppOff | PassportOutcome::Gone => return Err(ApiError::AppNotFound),
        };
        if start.renew.is_some_and(|renewed| renewed != session) {
            // The recorded session's record had expired on the app's slot: the new one is
            // recorded instead.
            self.store()
                .track_private_passport(&track(None, session))
                .await?;
        }
        Ok((end_user, session))
    }

    /// The enabled app `code` names; an unknown, malformed or disabled code is the same
    /// `AppNotFound`.
    pub(super) async fn live_app(&self, code: Option<&str>) -> Result<App, ApiError> {
        let code = code
            .filter(|c| valid_app_code(c))
            .ok_or(ApiError::AppNotFound)?;
        self.store()
            .app_by_code(code)
            .await?
            .filter(|a| a.enabled)
            .ok_or(ApiError::AppNotFound)
    }

    /// Counts a new anonymous end user toward its address, its network (an IPv6 client's /48)
    /// and, when those let it through, its app: each has its hourly limit, and a visitor
    /// refused by its own address never uses up the app's.
    async fn count_new_visitor(
        &self,
        client: &ClientInfo,
        app: Id,
        now: i64,
    ) -> Result<(), ApiError> {
        let c = self.config();
        let ip = self
            .limit_key(client.kept_address().as_deref())
            .unwrap_or_else(|| "-".into());
        let over = |counter: Counter, max: u64| {
            (counter.count > max).then_some(ApiError::RateLimited {
                retry_after: counter.retry_after,
            })
        };
        let by_address = self
            .store()
            .count_new_visitor(VisitorCount::Address(&ip), now);
        if network_key(&ip) == ip {
            if let Some(e) = over(by_address.await?, c.passport_ip_max_per_hour) {
                return Err(e);
            }
        } else {
            let by_network = self
                .store()
                .count_new_visitor(VisitorCount::Network(&ip), now);
            let (address, network) = tokio::try_join!(by_address, by_network)?;
            if let Some(e) = over(address, c.passport_ip_max_per_hour)
                .or_else(|| over(network, c.passport_network_max_per_hour))
            {
                return Err(e);
            }
        }
        let by_app = self
            .store()
            .count_new_visitor(VisitorCount::App(app), now)
            .await?;
        match over(by_app, c.passport_app_max_per_hour) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_codes_are_url_safe_and_8_to_32_characters() {
        for ok in ["demo-app", "A_b-9xyz", &"a".repeat(32)] {
            assert!(valid_app_code(ok), "{ok}");
        }
        for bad in [
            "short",
            &"a".repeat(33),
            "has space",
            "slash/app",
            "ünicode1",
            "",
        ] {
            assert!(!valid_app_code(bad), "{bad}");
        }
    }
}
