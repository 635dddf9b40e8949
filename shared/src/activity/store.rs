//! The activity feature's slice of the store: reading an account's history.

use crate::kernel::activity::{Entry, MAX_ENTRIES};
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::{MemoryStore, RedisStore, keys};
use async_trait::async_trait;

/// Reads the security history.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// The account's history, newest first: every entry kept (at most [`MAX_ENTRIES`]),
    /// whatever its age (the caller pages, and leaves out what is too old).
    async fn activity(&self, account: Id) -> Result<Vec<Entry>, StoreError>;
}

#[async_trait]
impl ActivityStore for MemoryStore {
    async fn activity(&self, account: Id) -> Result<Vec<Entry>, StoreError> {
        let g = self.lock();
        Ok(g.activity
            .get(&account)
            .map(|log| log.entries().cloned().collect())
            .unwrap_or_default())
    }
}

#[async_trait]
impl ActivityStore for RedisStore {
    async fn activity(&self, account: Id) -> Result<Vec<Entry>, StoreError> {
        let mut cmd = redis::cmd("LRANGE");
        cmd.arg(keys::log(account)).arg(0).arg(MAX_ENTRIES - 1);
        let stored: Vec<String> = self.run_cmd(&cmd).await?;
        stored
            .iter()
            .map(|s| Entry::decode(s).ok_or_else(|| StoreError::Corrupt("history entry".into())))
            .collect()
    }
}
