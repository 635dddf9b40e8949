//! The in-memory store: the local default, so the API runs with nothing installed.
//! One mutex over plain maps; every method is one critical section, hence atomic.

use super::{
    Account, AccountStatus, App, BindOutcome, CheckToken, Counter, LiveSession, LoginAttempt,
    LoginState, NEW_VISITOR_WINDOW, NewSession, PREVIOUS_PASSWORD_SECONDS, PasskeyAdded,
    PasskeyRemoved, PassportOf, PassportOutcome, PassportStart, PrivatePassport, Rotate, Rotation,
    SessionBinding, SessionInfo, SessionStart, SessionsAfter, Store, StoredPasskey, TokenCheck,
};
use crate::kernel::authentication::Authentication;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::tokens::refresh::TokenDigest;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

/// One account's private-app passport sessions: (app, session) → (when the record ends, the
/// order it was recorded in).
type PrivatePassports = BTreeMap<(Id, Id), (i64, u64)>;

#[derive(Debug, Clone)]
struct SessionRecord {
    current: TokenDigest,
    previous: Option<(TokenDigest, i64)>,
    family: TokenDigest,
    /// The request id of the last rotation.
    rotated_by: Option<[u8; 16]>,
    info: SessionInfo,
    absolute_expires_at: i64,
    /// The account's email when the session started.
    email: String,
    /// Its device binding (DBSC).
    binding: SessionBinding,
}

#[derive(Debug, Default)]
struct Inner {
    emails: HashMap<String, Id>,
    accounts: HashMap<Id, Account>,
    /// Per account, the hash its last password change replaced, and until when it is kept.
    previous_passwords: HashMap<Id, (String, i64)>,
    /// Per account, its sessions by id.
    sessions: HashMap<Id, BTreeMap<Id, SessionRecord>>,
    /// Failure counters by key: (count, window end).
    counters: HashMap<String, (u64, i64)>,
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
    /// The signers' public key document and the creation time of its key version.
    public_keys: Option<(i64, String)>,
    /// Per account, its passkeys.
    passkeys: HashMap<Id, Vec<StoredPasskey>>,
    /// WebAuthn ceremonies' states and when each expires.
    ceremonies: HashMap<Id, (String, i64)>,
}

#[derive(Debug, Clone)]
struct PassportRecord {
    end_user: Id,
    account: Option<Id>,
    /// The record ends then (the passport's expiry plus the retention window).
    keep_until: i64,
}

impl Inner {
    fn live_session(&mut self, account: Id, session: Id, now: i64) -> Option<&mut SessionRecord> {
        let sessions = self.sessions.get_mut(&account)?;
        sessions.retain(|_, s| s.info.expires_at > now);
        sessions.get_mut(&session)
    }

    fn counter(&self, key: &str, now: i64) -> Counter {
        match self.counters.get(key) {
            Some(&(count, ends)) if ends > now => Counter {
                count,
                retry_after: ends - now,
            },
            _ => Counter::default(),
        }
    }

    /// The login gate of `begin_login` and `reserve_login` (`reserve`: count the attempt
    /// toward the address's failures too).
    fn gate(&mut self, a: &LoginAttempt<'_>, reserve: bool) -> LoginState {
        let (email, ip, window, now) = (a.email, a.ip, a.window, a.now);
        let ip_failures = ip
            .map(|ip| self.counter(&ip_counter(ip), now))
            .unwrap_or_default();
        let ip_blocked = ip_failures.count >= a.ip_max_failures;
        if !ip_blocked {
            self.bump(pair_counter(email, ip), window, now);
            self.bump(email_counter(email), window, now);
            if let Some(ip) = ip.filter(|_| reserve) {
                self.bump(ip_counter(ip), window, now);
            }
        }
        LoginState {
            account: self.emails.get(email).copied(),
            pair_attempts: self.counter(&pair_counter(email, ip), now),
            account_attempts: self.counter(&email_counter(email), now),
            ip_failures: ip
                .map(|ip| self.counter(&ip_counter(ip), now))
                .unwrap_or_default(),
            ip_blocked,
        }
    }

    /// Ends the session when a spent token of its family was presented; whether it did.
    fn end_if_reused(&mut self, account: Id, session: Id, reused: bool) -> bool {
        if reused && let Some(sessions) = self.sessions.get_mut(&account) {
            sessions.remove(&session);
        }
        reused
    }

    fn bump(&mut self, key: String, window: i64, now: i64) {
        let entry = self.counters.entry(key).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
    }
}

/// The rotation itself ([`Store::rotate`]), in one critical section.
fn rotate_record(g: &mut Inner, r: &Rotate) -> Rotation {
    let Some(rec) = g.live_session(r.account, r.session, r.now) else {
        return Rotation::Invalid;
    };
    if rec.current.ct_eq(&r.presented) {
        let expires_at = (r.now + r.idle_ttl).min(rec.absolute_expires_at);
        rec.previous = Some((rec.current, r.now));
        rec.current = r.successor;
        rec.rotated_by = Some(r.request_id);
        rec.info.last_used_at = r.now;
        rec.info.expires_at = expires_at;
        return Rotation::Rotated { expires_at };
    }
    let reused = match rec.previous {
        Some((prev, rotated_at)) if prev.ct_eq(&r.presented) => {
            let same_successor = rec.current.ct_eq(&r.successor);
            if same_successor && rec.rotated_by == Some(r.request_id) {
                // The store's own retry of the rotation that ran.
                return Rotation::Replayed {
                    expires_at: rec.info.expires_at,
                };
            }
            if r.grace > 0 && r.now - rotated_at <= r.grace {
                return if same_successor {
                    Rotation::Replayed {
                        expires_at: rec.info.expires_at,
                    }
                } else {
                    Rotation::Invalid
                };
            }
            true
        }
        _ => rec.family.ct_eq(&r.family),
    };
    if g.end_if_reused(r.account, r.session, reused) {
        Rotation::Reused
    } else {
        Rotation::Invalid
    }
}

/// Sessions and accounts in this process's memory; gone when it exits.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written record behind (each method
        // writes whole values), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn email_counter(email: &str) -> String {
    format!("email:{email}")
}

fn pair_counter(email: &str, ip: Option<&str>) -> String {
    format!("pair:{}:{email}", ip.unwrap_or("-"))
}

fn ip_counter(ip: &str) -> String {
    format!("ip:{ip}")
}

#[async_trait]
impl Store for MemoryStore {
    fn durability(&self) -> super::durability::Durability {
        super::durability::Durability::none(super::durability::Topology::Memory)
    }
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        let mut g = self.lock();
        if g.emails.contains_key(&account.email) {
            return Ok(false);
        }
        g.emails.insert(account.email.clone(), account.id);
        g.accounts.insert(account.id, account.clone());
        Ok(true)
    }

    async fn account_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        Ok(self.lock().emails.get(email).copied())
    }

    async fn account(&self, id: Id) -> Result<Option<Account>, StoreError> {
        Ok(self.lock().accounts.get(&id).cloned())
    }

    async fn set_password(
        &self,
        id: Id,
        password_hash: &str,
        sessions: SessionsAfter,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let Some(a) = g.accounts.get_mut(&id) else {
            return Ok(false);
        };
        a.password_version += 1;
        if a.password_hash != password_hash {
            let old = std::mem::replace(&mut a.password_hash, password_hash.to_string());
            g.previous_passwords.insert(
                id,
                (old, crate::kernel::clock::now() + PREVIOUS_PASSWORD_SECONDS),
            );
        }
        if sessions != SessionsAfter::KeepAll {
            g.private_passports.remove(&id);
        }
        match sessions {
            SessionsAfter::EndAll => {
                g.sessions.remove(&id);
            }
            SessionsAfter::KeepOnly(keep) => {
                if let Some(s) = g.sessions.get_mut(&id) {
                    s.retain(|sid, _| *sid == keep);
                }
            }
            SessionsAfter::KeepAll => {}
        }
        Ok(true)
    }

    async fn previous_password_hash(&self, id: Id, now: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .previous_passwords
            .get(&id)
            .filter(|(_, until)| *until > now)
            .map(|(hash, _)| hash.clone()))
    }

    async fn set_status(&self, id: Id, status: AccountStatus) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let Some(a) = g.accounts.get_mut(&id) else {
            return Ok(false);
        };
        a.status = status;
        if status == AccountStatus::Disabled {
            g.sessions.remove(&id);
            g.private_passports.remove(&id);
        }
        Ok(true)
    }

    async fn delete_account(&self, id: Id) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let Some(a) = g.accounts.remove(&id) else {
            return Ok(false);
        };
        g.emails.remove(&a.email);
        g.sessions.remove(&id);
        g.private_passports.remove(&id);
        g.passkeys.remove(&id);
        Ok(true)
    }

    async fn begin_login(
        &self,
        email: &str,
        ip: Option<&str>,
        window: i64,
        ip_max_failures: u64,
        now: i64,
    ) -> Result<LoginState, StoreError> {
        let attempt = LoginAttempt::new(email, ip, window, ip_max_failures, now);
        Ok(self.lock().gate(&attempt, false))
    }

    async fn reserve_login(&self, a: &LoginAttempt<'_>) -> Result<LoginState, StoreError> {
        Ok(self.lock().gate(a, true))
    }

    async fn release_ip_attempt(&self, ip: &str, now: i64) -> Result<(), StoreError> {
        let mut g = self.lock();
        if let Some(entry) = g.counters.get_mut(&ip_counter(ip))
            && entry.1 > now
        {
            entry.0 = entry.0.saturating_sub(1);
        }
        Ok(())
    }

    async fn record_ip_failure(&self, ip: &str, window: i64, now: i64) -> Result<(), StoreError> {
        self.lock().bump(ip_counter(ip), window, now);
        Ok(())
    }

    async fn clear_attempts(&self, email: &str, ip: Option<&str>) -> Result<(), StoreError> {
        let mut g = self.lock();
        g.counters.remove(&email_counter(email));
        g.counters.remove(&pair_counter(email, ip));
        Ok(())
    }

    async fn start_session(
        &self,
        s: &NewSession,
        email: &str,
        authentication: &Authentication,
        agent: Option<&str>,
    ) -> Result<SessionStart, StoreError> {
        let mut g = self.lock();
        g.counters.remove(&email_counter(email));
        g.counters.remove(&pair_counter(email, s.ip.as_deref()));
        let account_email = match g
            .accounts
            .get(&s.account)
            .map(|a| (a.status, a.password_version, a.email.clone()))
        {
            None => return Ok(SessionStart::AccountMissing),
            Some((AccountStatus::Disabled, _, _)) => return Ok(SessionStart::AccountDisabled),
            Some((_, v, _)) if v != s.password_version => {
                return Ok(SessionStart::PasswordChanged);
            }
            Some((AccountStatus::Active, _, e)) => e,
        };
        let record = SessionRecord {
            current: s.digest,
            previous: None,
            family: s.family,
            rotated_by: None,
            info: SessionInfo {
                id: s.session,
                device: s.device.clone(),
                user_agent: s.user_agent.clone(),
                ip: s.ip.clone(),
                created_at: s.now,
                last_used_at: s.now,
                expires_at: s.expires_at,
                agent: agent.map(str::to_string),
                authentication: authentication.clone(),
            },
            absolute_expires_at: s.absolute_expires_at,
            email: account_email,
            binding: SessionBinding::default(),
        };
        let sessions = g.sessions.entry(s.account).or_default();
        sessions.retain(|_, r| r.info.expires_at > s.now);
        sessions.insert(s.session, record);
        // Beyond the cap, the sessions that expire first end: the least recently used, since
        // each refresh moves a session's expiry on (the same rule as the Redis store's).
        let over = sessions.len().saturating_sub(s.max_sessions as usize);
        if over > 0 {
            // Ties go by the id's text, as Redis orders equal scores; the new one never ends.
            let mut by_expiry: Vec<(i64, String, Id)> = sessions
                .iter()
                .filter(|(id, _)| **id != s.session)
                .map(|(id, r)| (r.info.expires_at, id.to_string(), *id))
                .collect();
            by_expiry.sort_unstable();
            for (_, _, id) in by_expiry.into_iter().take(over) {
                sessions.remove(&id);
            }
        }
        Ok(SessionStart::Started)
    }

    async fn rotate_session(
        &self,
        r: &Rotate,
    ) -> Result<(Rotation, Option<Authentication>), StoreError> {
        let mut g = self.lock();
        let rotation = rotate_record(&mut g, r);
        let authentication = match rotation {
            Rotation::Rotated { .. } | Rotation::Replayed { .. } => g
                .live_session(r.account, r.session, r.now)
                .map(|rec| rec.info.authentication.clone()),
            Rotation::Reused | Rotation::Invalid => None,
        };
        Ok((rotation, authentication))
    }

    async fn session_authentication(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<Authentication>, StoreError> {
        Ok(self
            .lock()
            .live_session(account, session, now)
            .map(|rec| rec.info.authentication.clone()))
    }

    async fn reauthenticate(
        &self,
        account: Id,
        session: Id,
        authentication: &Authentication,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        Ok(match g.live_session(account, session, now) {
            Some(rec) => {
                rec.info.authentication = authentication.clone();
                true
            }
            None => false,
        })
    }

    async fn passkeys(&self, account: Id) -> Result<Vec<StoredPasskey>, StoreError> {
        let mut list = self
            .lock()
            .passkeys
            .get(&account)
            .cloned()
            .unwrap_or_default();
        StoredPasskey::oldest_first(&mut list);
        Ok(list)
    }

    async fn add_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
        max: u64,
    ) -> Result<PasskeyAdded, StoreError> {
        let mut g = self.lock();
        if !g.accounts.contains_key(&account) {
            return Ok(PasskeyAdded::NoAccount);
        }
        let keys = g.passkeys.entry(account).or_default();
        if keys.iter().any(|k| k.id == passkey.id) {
            return Ok(PasskeyAdded::Exists);
        }
        if keys.len() as u64 >= max {
            return Ok(PasskeyAdded::Full);
        }
        keys.push(passkey.clone());
        Ok(PasskeyAdded::Added)
    }

    async fn update_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let kept = g
            .passkeys
            .get_mut(&account)
            .and_then(|keys| keys.iter_mut().find(|k| k.id == passkey.id));
        Ok(match kept {
            Some(k) => {
                *k = passkey.clone();
                true
            }
            None => false,
        })
    }

    async fn remove_passkey(&self, account: Id, id: &str) -> Result<PasskeyRemoved, StoreError> {
        let mut g = self.lock();
        let has_password = g
            .accounts
            .get(&account)
            .is_some_and(|a| !a.password_hash.is_empty());
        let Some(keys) = g.passkeys.get_mut(&account) else {
            return Ok(PasskeyRemoved::Missing);
        };
        let Some(at) = keys.iter().position(|k| k.id == id) else {
            return Ok(PasskeyRemoved::Missing);
        };
        if keys.len() == 1 && !has_password {
            return Ok(PasskeyRemoved::Last);
        }
        keys.remove(at);
        Ok(PasskeyRemoved::Removed)
    }

    async fn bind_session(
        &self,
        account: Id,
        session: Id,
        key: &str,
        cookie: &str,
        cookie_expires_at: i64,
        now: i64,
    ) -> Result<BindOutcome, StoreError> {
        let mut g = self.lock();
        let Some(rec) = g.live_session(account, session, now) else {
            return Ok(BindOutcome::Gone);
        };
        if rec.binding.key.as_deref().is_some_and(|k| k != key) {
            return Ok(BindOutcome::Taken);
        }
        rec.binding = SessionBinding {
            key: Some(key.to_string()),
            cookie: Some(cookie.to_string()),
            cookie_expires_at,
            ..SessionBinding::default()
        };
        Ok(BindOutcome::Bound)
    }

    async fn renew_bound_cookie(
        &self,
        account: Id,
        session: Id,
        cookie: &str,
        cookie_expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        Ok(match g.live_session(account, session, now) {
            Some(rec) if rec.binding.key.is_some() => {
                let b = &mut rec.binding;
                b.previous = b.cookie.replace(cookie.to_string());
                b.previous_expires_at =
                    std::mem::replace(&mut b.cookie_expires_at, cookie_expires_at);
                true
            }
            _ => false,
        })
    }

    async fn session_binding(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<SessionBinding>, StoreError> {
        Ok(self
            .lock()
            .live_session(account, session, now)
            .map(|rec| rec.binding.clone()))
    }

    async fn put_ceremony(
        &self,
        id: Id,
        state: &str,
        ttl: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut g = self.lock();
        g.ceremonies.retain(|_, (_, until)| *until > now);
        g.ceremonies.insert(id, (state.to_string(), now + ttl));
        Ok(())
    }

    async fn take_ceremony(&self, id: Id, now: i64) -> Result<Option<String>, StoreError> {
        Ok(match self.lock().ceremonies.remove(&id) {
            Some((state, until)) if until > now => Some(state),
            _ => None,
        })
    }

    async fn live_session(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        Ok(self
            .lock()
            .live_session(account, session, now)
            .map(|r| LiveSession {
                email: Some(r.email.clone()),
            }))
    }

    async fn token_matches(
        &self,
        account: Id,
        session: Id,
        digest: &TokenDigest,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        Ok(g.live_session(account, session, now).is_some_and(|rec| {
            let current = rec.current.ct_eq(digest);
            let previous = rec.previous.is_some_and(|(p, _)| p.ct_eq(digest));
            current | previous
        }))
    }

    async fn check_token(&self, c: &CheckToken) -> Result<TokenCheck, StoreError> {
        let mut g = self.lock();
        let Some(rec) = g.live_session(c.account, c.session, c.now) else {
            return Ok(TokenCheck::Invalid);
        };
        if rec.current.ct_eq(&c.presented) {
            return Ok(TokenCheck::Current);
        }
        let reused = match rec.previous {
            Some((prev, rotated_at)) if prev.ct_eq(&c.presented) => {
                if c.grace > 0 && c.now - rotated_at <= c.grace {
                    return Ok(TokenCheck::Previous);
                }
                true
            }
            _ => rec.family.ct_eq(&c.family),
        };
        Ok(if g.end_if_reused(c.account, c.session, reused) {
            TokenCheck::Reused
        } else {
            TokenCheck::Invalid
        })
    }

    async fn revoke_session(&self, account: Id, session: Id, now: i64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        Ok(g.sessions
            .get_mut(&account)
            .and_then(|s| s.remove(&session))
            .is_some_and(|r| r.info.expires_at > now))
    }

    async fn revoke_all(&self, account: Id) -> Result<u64, StoreError> {
        let mut g = self.lock();
        g.private_passports.remove(&account);
        Ok(g.sessions.remove(&account).map_or(0, |s| s.len() as u64))
    }

    async fn list_sessions(&self, account: Id, now: i64) -> Result<Vec<SessionInfo>, StoreError> {
        let mut g = self.lock();
        let Some(sessions) = g.sessions.get_mut(&account) else {
            return Ok(Vec::new());
        };
        sessions.retain(|_, s| s.info.expires_at > now);
        let mut list: Vec<SessionInfo> = sessions.values().map(|s| s.info.clone()).collect();
        list.sort_by_key(|s| (s.created_at, s.id));
        Ok(list)
    }

    async fn create_app(&self, app: &App) -> Result<bool, StoreError> {
        let mut g = self.lock();
        if g.app_codes.contains_key(&app.code) {
            return Ok(false);
        }
        g.app_codes.insert(app.code.clone(), app.id);
        g.apps.insert(app.id, app.clone());
        Ok(true)
    }

    async fn app_by_code(&self, code: &str) -> Result<Option<App>, StoreError> {
        let g = self.lock();
        Ok(g.app_codes.get(code).and_then(|id| g.apps.get(id)).cloned())
    }

    async fn list_apps(&self) -> Result<Vec<App>, StoreError> {
        let mut apps: Vec<App> = self.lock().apps.values().cloned().collect();
        apps.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(apps)
    }

    async fn set_app_enabled(&self, id: Id, enabled: bool) -> Result<bool, StoreError> {
        let mut g = self.lock();
        Ok(g.apps.get_mut(&id).map(|a| a.enabled = enabled).is_some())
    }

    async fn delete_app(&self, id: Id) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let Some(app) = g.apps.remove(&id) else {
            return Ok(false);
        };
        g.app_codes.remove(&app.code);
        g.app_users.remove(&id);
        g.passports.retain(|(a, _), _| *a != id);
        Ok(true)
    }

    async fn start_passport(
        &self,
        p: &PassportStart,
        now: i64,
    ) -> Result<PassportOutcome, StoreError> {
        let mut g = self.lock();
        g.passports.retain(|_, r| r.keep_until > now);
        if !g.apps.get(&p.app).is_some_and(|a| a.enabled) {
            return Ok(PassportOutcome::AppOff);
        }
        let renewable = p
            .renew
            .and_then(|old| g.passports.get_mut(&(p.app, old)))
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
            Some(account) => *g
                .app_users
                .entry(p.app)
                .or_default()
                .entry(account)
                .or_insert(p.end_user),
            None => p.end_user,
        };
        g.passports.insert(
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
        let g = self.lock();
        Ok(g.apps.get(&app).is_some_and(|a| a.enabled)
            && g.passports
                .get(&(app, session))
                .is_some_and(|r| r.keep_until > now))
    }

    async fn end_passport(&self, app: Id, session: Id, now: i64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        Ok(g.passports
            .remove(&(app, session))
            .is_some_and(|r| r.keep_until > now))
    }

    async fn track_private_passport(&self, p: &PrivatePassport) -> Result<bool, StoreError> {
        let mut g = self.lock();
        g.recordings += 1;
        let order = g.recordings;
        let recorded = g.private_passports.entry(p.account).or_default();
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
        Ok(self
            .lock()
            .private_passports
            .get(&p.account)
            .and_then(|r| r.get(&(p.app, p.session)))
            .is_some_and(|(until, _)| *until > now))
    }

    async fn publish_keys(&self, document: &str, created_ms: i64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        if g.public_keys.as_ref().is_some_and(|(c, _)| *c > created_ms) {
            return Ok(false);
        }
        g.public_keys = Some((created_ms, document.to_string()));
        Ok(true)
    }

    async fn published_keys(&self) -> Result<Option<String>, StoreError> {
        Ok(self.lock().public_keys.as_ref().map(|(_, d)| d.clone()))
    }

    async fn count_new_visitor(&self, ip: &str, now: i64) -> Result<Counter, StoreError> {
        let mut g = self.lock();
        let key = format!("visitor:{ip}");
        g.bump(key.clone(), NEW_VISITOR_WINDOW, now);
        Ok(g.counter(&key, now))
    }
}
