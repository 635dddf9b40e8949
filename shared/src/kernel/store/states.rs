//! Two-step exchanges' state between their steps (a WebAuthn ceremony, a DBSC challenge): kept
//! under a random id for a while, and taken once.

use super::keys;
use super::memory::MemoryStore;
use super::redis::RedisStore;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use async_trait::async_trait;

/// Single-use states with a lifetime.
#[async_trait]
pub trait States: Send + Sync {
    /// Keeps `state` under `id` for `ttl` seconds.
    async fn put_state(&self, id: Id, state: &str, ttl: i64, now: i64) -> Result<(), StoreError>;
    /// Takes the state under `id`: it answers once, then never again (single use).
    async fn take_state(&self, id: Id, now: i64) -> Result<Option<String>, StoreError>;
}

#[async_trait]
impl States for MemoryStore {
    async fn put_state(&self, id: Id, state: &str, ttl: i64, now: i64) -> Result<(), StoreError> {
        let mut g = self.lock();
        g.states.retain(|_, (_, until)| *until > now);
        g.states.insert(id, (state.to_string(), now + ttl));
        Ok(())
    }

    async fn take_state(&self, id: Id, now: i64) -> Result<Option<String>, StoreError> {
        Ok(match self.lock().states.remove(&id) {
            Some((state, until)) if until > now => Some(state),
            _ => None,
        })
    }
}

#[async_trait]
impl States for RedisStore {
    async fn put_state(&self, id: Id, state: &str, ttl: i64, _now: i64) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(keys::state(id))
            .arg(state)
            .arg("EX")
            .arg(ttl.max(1));
        self.write_cmd::<()>(cmd).await
    }

    async fn take_state(&self, id: Id, _now: i64) -> Result<Option<String>, StoreError> {
        // A write: the deletion must survive a failover, or the state could be taken twice.
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(keys::state(id));
        self.write_cmd(cmd).await
    }
}
