//! Two-step exchanges' state between their steps (a WebAuthn ceremony, a DBSC challenge): kept
//! under a random id for a while, and taken once.

use super::Counter;
use super::keys;
use super::memory::MemoryStore;
use super::redis::RedisStore;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use async_trait::async_trait;

/// The window in which a client's ceremony starts are counted ([`States::count_start`]): as
/// long as the longest state a start keeps (a WebAuthn ceremony, an OpenID flow: 10 minutes).
pub const START_WINDOW: i64 = 600;

/// Single-use states with a lifetime.
#[async_trait]
pub trait States: Send + Sync {
    /// Counts a ceremony started by the client whose limit key is `client`, in a window of
    /// [`START_WINDOW`] seconds: what bounds the states one address can make the store keep.
    async fn count_start(&self, client: &str, now: i64) -> Result<Counter, StoreError>;
    /// Keeps `state` under `id` for `ttl` seconds.
    async fn put_state(&self, id: Id, state: &str, ttl: i64, now: i64) -> Result<(), StoreError>;
    /// Takes the state under `id`: it answers once, then never again (single use).
    async fn take_state(&self, id: Id, now: i64) -> Result<Option<String>, StoreError>;
}

#[async_trait]
impl States for MemoryStore {
    async fn count_start(&self, client: &str, now: i64) -> Result<Counter, StoreError> {
        let key = format!("starts:ip:{client}");
        Ok(self.lock().count(key, START_WINDOW, now))
    }

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
    async fn count_start(&self, client: &str, _now: i64) -> Result<Counter, StoreError> {
        self.count(keys::client_start_count(client), START_WINDOW)
            .await
    }

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
