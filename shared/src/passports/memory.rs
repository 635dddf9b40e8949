//! The passports feature's store slice in memory.

use super::store::{
    App, NEW_VISITOR_WINDOW, PassportOf, PassportOutcome, PassportStart, PassportStore,
    PrivatePassport, VisitorCount,
};
use crate::kernel::addresses::network_key;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::memory::FeatureTable;
use crate::kernel::store::{Counter, MemoryStore};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};

/// One account's private-app passport sessions: (app, session) → (when the record ends, the
/// order it was recorded in).
type PrivatePassports = BTreeMap<(Id, Id), (i64, u64)>;

#[derive(Debug, Clone)]
struct PassportRecord {
    end_user: Id,
    account: Option<Id>,
    /// The record ends then (the passport's expiry plus the retention window).
    keep_until: i64,
}

/// The apps, their passport sessions, and the accounts' private passports.
#[derive(Default)]
struct Passports {
    /// Shared web apps by id, and their codes.
    apps: HashMap<Id, App>,
    app_codes: HashMap<String, Id>,
    /// Per app, each account's end user.
    app_users: HashMap<Id, HashMap<Id, Id>>,
    /// Per account, its private apps' passport sessions: (app, session) → (when the record
    /// ends, the order it was recorded in).
    private_passports: HashMap<Id, PrivatePassports>,
    /// Orders the recordings of `private_passports`.
    recordings: u64,
    /// Passport sessions by (app, session).
    passports: HashMap<(Id, Id), PassportRecord>,
}

impl FeatureTable for Passports {
    fn account_deleted(&mut self, account: Id) {
        self.private_passports.remove(&account);
    }

    // A private app's passports end with the account's sessions, whichever is kept (as
    // `set_password.lua` and `revoke_all` end them on Redis).
    fn sessions_ended(&mut self, account: Id, _kept: Option<Id>) {
        self.private_passports.remove(&account);
    }
}

#[async_trait]
impl PassportStore for MemoryStore {
    async fn create_app(&self, app: &App) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Passports>();
        if t.app_codes.contains_key(&app.code) {
            return Ok(false);
        }
        t.app_codes.insert(app.code.clone(), app.id);
        t.apps.insert(app.id, app.clone());
        Ok(true)
    }

    async fn app_by_code(&self, code: &str) -> Result<Option<App>, StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Passports>();
        Ok(t.app_codes.get(code).and_then(|id| t.apps.get(id)).cloned())
    }

    async fn list_apps(&self) -> Result<Vec<App>, StoreError> {
        let mut apps: Vec<App> = self
            .lock()
            .feature::<Passports>()
            .apps
            .values()
            .cloned()
            .collect();
        apps.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(apps)
    }

    async fn set_app_enabled(&self, id: Id, enabled: bool) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Passports>();
        Ok(t.apps.get_mut(&id).map(|a| a.enabled = enabled).is_some())
    }

    async fn delete_app(&self, id: Id) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Passports>();
        let Some(app) = t.apps.remove(&id) else {
            return Ok(false);
        };
        t.app_codes.remove(&app.code);
        t.app_users.remove(&id);
        t.passports.retain(|(a, _), _| *a != id);
        Ok(true)
    }

    async fn start_passport(
        &self,
        p: &PassportStart,
        now: i64,
    ) -> Result<PassportOutcome, StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Passports>();
        t.passports.retain(|_, r| r.keep_until > now);
        if !t.apps.get(&p.app).is_some_and(|a| a.enabled) {
            return Ok(PassportOutcome::AppOff);
        }
        let renewable = p
            .renew
            .and_then(|old| t.passports.get_mut(&(p.app, old)))
            .filter(|r| r.account == p.account);
        if let Some(r) = renewable {
            r.keep_until = p.keep_until;
            return Ok(PassportOutcome::Renewed {
                end_user: r.end_user,
            });
        }
        if !p.create {
            return Ok(PassportOutcome::Gone);
        }
        let end_user = match p.account {
            Some(account) => *t
                .app_users
                .entry(p.app)
                .or_default()
                .entry(account)
                .or_insert(p.end_user),
            None => p.end_user,
        };
        t.passports.insert(
            (p.app, p.session),
            PassportRecord {
                end_user,
                account: p.account,
                keep_until: p.keep_until,
            },
        );
        Ok(PassportOutcome::Started { end_user })
    }

    async fn passport_live(&self, app: Id, session: Id, now: i64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Passports>();
        Ok(t.apps.get(&app).is_some_and(|a| a.enabled)
            && t.passports
                .get(&(app, session))
                .is_some_and(|r| r.keep_until > now))
    }

    async fn end_passport(&self, app: Id, session: Id, now: i64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Passports>();
        Ok(t.passports
            .remove(&(app, session))
            .is_some_and(|r| r.keep_until > now))
    }

    async fn track_private_passport(&self, p: &PrivatePassport) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Passports>();
        t.recordings += 1;
        let order = t.recordings;
        let recorded = t.private_passports.entry(p.account).or_default();
        recorded.retain(|_, (until, _)| *until > p.now);
        if let Some(entry) = p.renew.and_then(|s| recorded.get_mut(&(p.app, s))) {
            *entry = (p.keep_until, order);
            return Ok(true);
        }
        let mut mine: Vec<((i64, u64), Id)> = recorded
            .iter()
            .filter(|((app, _), _)| *app == p.app)
            .map(|((_, s), at)| (*at, *s))
            .collect();
        mine.sort();
        let over = (mine.len() + 1).saturating_sub(p.cap.max(1) as usize);
        for (_, s) in mine.into_iter().take(over) {
            recorded.remove(&(p.app, s));
        }
        recorded.insert((p.app, p.session), (p.keep_until, order));
        Ok(false)
    }

    async fn private_passport_live(&self, p: PassportOf, now: i64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let session_live = g.live_session(p.account, p.account_session, now).is_some();
        let recorded = g
            .feature::<Passports>()
            .private_passports
            .get(&p.account)
            .and_then(|r| r.get(&(p.app, p.session)))
            .is_some_and(|(until, _)| *until > now);
        Ok(session_live && recorded)
    }

    async fn count_new_visitor(
        &self,
        by: VisitorCount<'_>,
        now: i64,
    ) -> Result<Counter, StoreError> {
        let key = match by {
            VisitorCount::Address(ip) => format!("visitor:{ip}"),
            VisitorCount::Network(ip) => format!("visitor-network:{}", network_key(ip)),
            VisitorCount::App(app) => format!("visitor-app:{app}"),
        };
        Ok(self.lock().count(key, NEW_VISITOR_WINDOW, now))
    }
}
