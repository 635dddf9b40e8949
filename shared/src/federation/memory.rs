//! The federation feature's store slice in memory.

use super::store::{FederationStore, Identity, Linked, Unlinked};
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::MemoryStore;
use crate::kernel::store::memory::FeatureTable;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};

/// Per account, its identities by provider; and the index from `(iss, sub)`.
#[derive(Default)]
struct Identities {
    by_account: HashMap<Id, BTreeMap<String, Identity>>,
    index: HashMap<(String, String), Id>,
}

impl FeatureTable for Identities {
    fn account_deleted(&mut self, account: Id) {
        self.by_account.remove(&account);
    }

    fn ways_in(&self, account: Id) -> usize {
        self.by_account.get(&account).map_or(0, BTreeMap::len)
    }
}

impl Identities {
    /// The account the index names, if it still holds the identity.
    fn owner(&self, iss: &str, sub: &str) -> Option<Id> {
        let id = *self.index.get(&(iss.to_string(), sub.to_string()))?;
        let holds = self
            .by_account
            .get(&id)
            .is_some_and(|m| m.values().any(|i| i.iss == iss && i.sub == sub));
        holds.then_some(id)
    }
}

#[async_trait]
impl FederationStore for MemoryStore {
    async fn identity_owner(&self, iss: &str, sub: &str) -> Result<Option<Id>, StoreError> {
        Ok(self.lock().feature::<Identities>().owner(iss, sub))
    }

    async fn identities(&self, account: Id) -> Result<Vec<Identity>, StoreError> {
        Ok(self
            .lock()
            .feature::<Identities>()
            .by_account
            .get(&account)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn link_identity(
        &self,
        account: Id,
        identity: &Identity,
        entry: &Entry,
    ) -> Result<Linked, StoreError> {
        let mut g = self.lock();
        if !g.accounts.contains_key(&account) {
            return Ok(Linked::NoAccount);
        }
        let table = g.feature::<Identities>();
        match table.owner(&identity.iss, &identity.sub) {
            Some(owner) if owner == account => return Ok(Linked::Linked),
            Some(_) => return Ok(Linked::InUse),
            None => {}
        }
        let mine = table.by_account.entry(account).or_default();
        if mine.contains_key(&identity.provider) {
            return Ok(Linked::ProviderTaken);
        }
        mine.insert(identity.provider.clone(), identity.clone());
        table
            .index
            .insert((identity.iss.clone(), identity.sub.clone()), account);
        g.record(account, entry);
        Ok(Linked::Linked)
    }

    async fn unlink_identity(
        &self,
        account: Id,
        provider: &str,
        entry: &Entry,
    ) -> Result<Unlinked, StoreError> {
        let mut g = self.lock();
        let ways_in = g.ways_in(account);
        let table = g.feature::<Identities>();
        let Some(mine) = table.by_account.get_mut(&account) else {
            return Ok(Unlinked::Missing);
        };
        if !mine.contains_key(provider) {
            return Ok(Unlinked::Missing);
        }
        if ways_in <= 1 {
            return Ok(Unlinked::Last);
        }
        let gone = mine.remove(provider);
        if let Some(i) = gone {
            table.index.remove(&(i.iss, i.sub));
        }
        if let Some(sessions) = g.sessions.get_mut(&account) {
            sessions.retain(|_, s| s.via.as_deref() != Some(provider));
        }
        g.record(account, entry);
        Ok(Unlinked::Unlinked)
    }
}
