//! The passkeys feature's store slice in memory.

use super::store::{Grant, PasskeyAdded, PasskeyRemoved, PasskeyStore, StoredPasskey};
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::MemoryStore;
use crate::kernel::store::memory::FeatureTable;
use async_trait::async_trait;
use std::collections::HashMap;

/// Per account, its passkeys.
#[derive(Default)]
struct Passkeys(HashMap<Id, Vec<StoredPasskey>>);

impl FeatureTable for Passkeys {
    fn account_deleted(&mut self, account: Id) {
        self.0.remove(&account);
    }

    fn ways_in(&self, account: Id) -> usize {
        self.0.get(&account).map_or(0, Vec::len)
    }
}

#[async_trait]
impl PasskeyStore for MemoryStore {
    async fn passkeys(&self, account: Id) -> Result<Vec<StoredPasskey>, StoreError> {
        let mut list = self
            .lock()
            .feature::<Passkeys>()
            .0
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
        grant: Grant,
        entry: &Entry,
    ) -> Result<PasskeyAdded, StoreError> {
        let mut g = self.lock();
        if !g.accounts.contains_key(&account) {
            return Ok(PasskeyAdded::NoAccount);
        }
        let granted = g
            .live_session(account, grant.session, grant.now)
            .and_then(|s| s.reauthenticated_at)
            .is_some_and(|at| at >= grant.not_before());
        if !granted {
            return Ok(PasskeyAdded::NotReauthenticated);
        }
        let keys = g.feature::<Passkeys>().0.entry(account).or_default();
        if keys.iter().any(|k| k.id == passkey.id) {
            return Ok(PasskeyAdded::Exists);
        }
        if keys.len() as u64 >= max {
            return Ok(PasskeyAdded::Full);
        }
        keys.push(passkey.clone());
        if let Some(s) = g.live_session(account, grant.session, grant.now) {
            s.reauthenticated_at = None;
        }
        g.record(account, entry);
        Ok(PasskeyAdded::Added)
    }

    async fn update_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let kept = g
            .feature::<Passkeys>()
            .0
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

    async fn remove_passkey(
        &self,
        account: Id,
        id: &str,
        entry: &Entry,
    ) -> Result<PasskeyRemoved, StoreError> {
        let mut g = self.lock();
        let ways_in = g.ways_in(account);
        let Some(keys) = g.feature::<Passkeys>().0.get_mut(&account) else {
            return Ok(PasskeyRemoved::Missing);
        };
        let Some(at) = keys.iter().position(|k| k.id == id) else {
            return Ok(PasskeyRemoved::Missing);
        };
        if ways_in <= 1 {
            return Ok(PasskeyRemoved::Last);
        }
        let removed = keys.remove(at);
        g.record(account, &entry.clone().with_detail(&removed.name));
        Ok(PasskeyRemoved::Removed)
    }
}
