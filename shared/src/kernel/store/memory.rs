//! The in-memory store: the local default, so the API runs with nothing installed. One mutex
//! over plain maps; every method is one critical section, hence atomic.
//!
//! The kernel's records (accounts, sessions, counters, two-step states, the published keys) are
//! fields of [`Tables`]; a feature keeps its own records in a [`FeatureTable`] of its own type,
//! which the kernel tells when an account is deleted or its sessions end, as the Redis store's
//! scripts delete the keys under the account's hash tag.

use super::durability::{Durability, Topology};
use super::{Account, SessionBinding, SessionInfo};
use crate::kernel::activity::{Activity, Entry, Log};
use crate::kernel::ids::Id;
use crate::kernel::tokens::refresh::TokenDigest;
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

/// A session as the in-memory store keeps it.
#[derive(Debug, Clone)]
pub(crate) struct SessionRecord {
    pub(crate) current: TokenDigest,
    pub(crate) previous: Option<(TokenDigest, i64)>,
    pub(crate) family: TokenDigest,
    /// The request id of the last rotation.
    pub(crate) rotated_by: Option<[u8; 16]>,
    pub(crate) info: SessionInfo,
    pub(crate) absolute_expires_at: i64,
    /// The account's email when the session started.
    pub(crate) email: String,
    /// Its device binding (DBSC).
    pub(crate) binding: SessionBinding,
    /// When it last reauthenticated, until an action spends that grant.
    pub(crate) reauthenticated_at: Option<i64>,
    /// The identity provider that signed it in, if one did.
    pub(crate) via: Option<String>,
}

/// A feature's own records in the in-memory store, told what the kernel ends.
pub(crate) trait FeatureTable: Any + Send {
    /// The account is gone: drop everything of it.
    fn account_deleted(&mut self, _account: Id) {}
    /// Every session of the account but `kept` ended (logout everywhere, a password change,
    /// disable): drop what dies with them.
    fn sessions_ended(&mut self, _account: Id, _kept: Option<Id>) {}
    /// How many ways to sign in the account has here (its passkeys, its connected identities).
    fn ways_in(&self, _account: Id) -> usize {
        0
    }
}

/// Every kernel record, and the features' tables.
#[derive(Default)]
pub(crate) struct Tables {
    pub(crate) emails: HashMap<String, Id>,
    pub(crate) accounts: HashMap<Id, Account>,
    /// Per account, the hash its last password change replaced, and until when it is kept.
    pub(crate) previous_passwords: HashMap<Id, (String, i64)>,
    /// Per account, its sessions by id.
    pub(crate) sessions: HashMap<Id, BTreeMap<Id, SessionRecord>>,
    /// Counters by key: (count, window end).
    pub(crate) counters: HashMap<String, (u64, i64)>,
    /// Per account, its security history.
    pub(crate) activity: HashMap<Id, Log>,
    /// Two-step exchanges' states and when each expires.
    pub(crate) states: HashMap<Id, (String, i64)>,
    /// The signers' public key document and the creation time of its key version.
    pub(crate) public_keys: Option<(i64, String)>,
    features: HashMap<TypeId, Box<dyn FeatureTable>>,
}

impl Tables {
    /// The live session, its account's expired sessions dropped on the way.
    pub(crate) fn live_session(
        &mut self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Option<&mut SessionRecord> {
        let sessions = self.sessions.get_mut(&account)?;
        sessions.retain(|_, s| s.info.expires_at > now);
        sessions.get_mut(&session)
    }

    /// Ends one session (reuse detected) and records it in the account's history; whether it
    /// did.
    pub(crate) fn end_if_reused(
        &mut self,
        account: Id,
        session: Id,
        reused: bool,
        now: i64,
    ) -> bool {
        if reused && let Some(sessions) = self.sessions.get_mut(&account) {
            sessions.remove(&session);
            self.record(account, &Entry::new(Activity::SessionEndedAsStolen, now));
        }
        reused
    }

    /// Ends every session of `account` but `kept`, and what dies with them; how many ended.
    pub(crate) fn end_sessions(&mut self, account: Id, kept: Option<Id>) -> u64 {
        for table in self.features.values_mut() {
            table.sessions_ended(account, kept);
        }
        match kept {
            None => self.sessions.remove(&account).map_or(0, |s| s.len() as u64),
            Some(keep) => self.sessions.get_mut(&account).map_or(0, |s| {
                let before = s.len();
                s.retain(|sid, _| *sid == keep);
                (before - s.len()) as u64
            }),
        }
    }

    /// Drops everything of `account` (its record is already gone).
    pub(crate) fn forget_account(&mut self, account: Id) {
        self.end_sessions(account, None);
        self.previous_passwords.remove(&account);
        self.activity.remove(&account);
        for table in self.features.values_mut() {
            table.account_deleted(account);
        }
    }

    /// Records `entry` in the account's history (in the critical section of the change it
    /// records, as the Redis scripts do).
    /// How many ways to sign in the account has: its password, and each feature's
    /// ([`FeatureTable::ways_in`]). Removing one of them is refused when it is the last.
    pub(crate) fn ways_in(&self, account: Id) -> usize {
        let password = self
            .accounts
            .get(&account)
            .is_some_and(|a| !a.password_hash.is_empty());
        usize::from(password)
            + self
                .features
                .values()
                .map(|t| t.ways_in(account))
                .sum::<usize>()
    }

    pub(crate) fn record(&mut self, account: Id, entry: &Entry) {
        self.activity
            .entry(account)
            .or_default()
            .record(entry.clone());
    }

    /// A counter's count and the seconds left in its window.
    pub(crate) fn counter(&self, key: &str, now: i64) -> super::Counter {
        match self.counters.get(key) {
            Some(&(count, ends)) if ends > now => super::Counter {
                count,
                retry_after: ends - now,
            },
            _ => super::Counter::default(),
        }
    }

    /// Counts one on `key`, whose window of `window` seconds starts at its first count.
    pub(crate) fn bump(&mut self, key: String, window: i64, now: i64) {
        let entry = self.counters.entry(key).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
    }

    /// Counts one on `key` ([`Self::bump`]) and reads it back ([`Self::counter`]).
    pub(crate) fn count(&mut self, key: String, window: i64, now: i64) -> super::Counter {
        self.bump(key.clone(), window, now);
        self.counter(&key, now)
    }

    /// A feature's table, made empty on first use.
    pub(crate) fn feature<T: FeatureTable + Default>(&mut self) -> &mut T {
        let table = self
            .features
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()));
        let any: &mut dyn Any = table.as_mut();
        match any.downcast_mut::<T>() {
            Some(t) => t,
            // Entries are keyed by their own type's id.
            None => unreachable!("a feature table under another type's id"),
        }
    }
}

/// Sessions and accounts in this process's memory; gone when it exits.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Tables>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    /// How many two-step states the store keeps now (tests: what a request made it keep).
    #[cfg(any(test, feature = "testing"))]
    pub fn kept_states(&self) -> usize {
        self.lock().states.len()
    }

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// What an acknowledged write survives here: nothing past this process.
    pub fn durability(&self) -> Durability {
        Durability::none(Topology::Memory)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-written record behind (each method
        // writes whole values), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
