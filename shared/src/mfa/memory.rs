//! The second factor's store slice in memory: a feature table beside the accounts.

use super::store::{Begun, MfaState, MfaStore};
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::MemoryStore;
use crate::kernel::store::memory::FeatureTable;
use async_trait::async_trait;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

#[derive(Default)]
struct Record {
    totp: Option<(String, i64)>,
    pending: Option<(String, i64)>,
    last_step: i64,
    recovery: Vec<String>,
}

#[derive(Default)]
struct MfaTable(HashMap<Id, Record>);

impl FeatureTable for MfaTable {
    fn account_deleted(&mut self, account: Id) {
        self.0.remove(&account);
    }
}

#[async_trait]
impl MfaStore for MemoryStore {
    async fn mfa_state(&self, account: Id, now: i64) -> Result<MfaState, StoreError> {
        let mut g = self.lock();
        let Some(r) = g.feature::<MfaTable>().0.get(&account) else {
            return Ok(MfaState::default());
        };
        Ok(MfaState {
            totp: r.totp.clone(),
            pending: r.pending.clone().filter(|p| p.1 > now).map(|p| p.0),
            last_step: r.last_step,
            recovery_left: r.recovery.len() as u32,
        })
    }

    async fn begin_totp(
        &self,
        account: Id,
        salt: &str,
        until: i64,
        _now: i64,
    ) -> Result<Begun, StoreError> {
        let mut g = self.lock();
        if !g.accounts.contains_key(&account) {
            return Ok(Begun::NoAccount);
        }
        let r = g.feature::<MfaTable>().0.entry(account).or_default();
        if r.totp.is_some() {
            return Ok(Begun::Exists);
        }
        r.pending = Some((salt.to_string(), until));
        Ok(Begun::Pending)
    }

    async fn confirm_totp(
        &self,
        account: Id,
        salt: &str,
        step: i64,
        recovery_digests: &[String],
        entry: &Entry,
    ) -> Result<bool, StoreError> {
        let now = entry.at;
        let mut g = self.lock();
        if !g.accounts.contains_key(&account) {
            return Ok(false);
        }
        let Some(r) = g.feature::<MfaTable>().0.get_mut(&account) else {
            return Ok(false);
        };
        let pending = r
            .pending
            .as_ref()
            .is_some_and(|(s, until)| s == salt && *until > now);
        if !pending || r.totp.is_some() {
            return Ok(false);
        }
        r.pending = None;
        r.totp = Some((salt.to_string(), now));
        r.last_step = step;
        r.recovery = recovery_digests.to_vec();
        if let Some(a) = g.accounts.get_mut(&account) {
            a.second_factor = true;
        }
        g.record(account, entry);
        Ok(true)
    }

    async fn accept_totp_step(
        &self,
        account: Id,
        salt: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let Some(r) = g.feature::<MfaTable>().0.get_mut(&account) else {
            return Ok(false);
        };
        match &r.totp {
            Some((s, _)) if s == salt && step > r.last_step => {
                r.last_step = step;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn spend_recovery_code(
        &self,
        account: Id,
        digest: &str,
        entry: &Entry,
    ) -> Result<Option<u32>, StoreError> {
        let mut g = self.lock();
        let Some(r) = g.feature::<MfaTable>().0.get_mut(&account) else {
            return Ok(None);
        };
        let mut found = None;
        for (i, d) in r.recovery.iter().enumerate() {
            if bool::from(d.as_bytes().ct_eq(digest.as_bytes())) {
                found = Some(i);
            }
        }
        let left = found.map(|i| {
            r.recovery.remove(i);
            r.recovery.len() as u32
        });
        if left.is_some() {
            g.record(account, entry);
        }
        Ok(left)
    }

    async fn replace_recovery_codes(
        &self,
        account: Id,
        digests: &[String],
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        match g.feature::<MfaTable>().0.get_mut(&account) {
            Some(r) if r.totp.is_some() => {
                r.recovery = digests.to_vec();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn remove_totp(&self, account: Id, entry: &Entry) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let had = g
            .feature::<MfaTable>()
            .0
            .remove(&account)
            .is_some_and(|r| r.totp.is_some());
        if let Some(a) = g.accounts.get_mut(&account) {
            a.second_factor = false;
        }
        if had {
            g.record(account, entry);
        }
        Ok(had)
    }
}
