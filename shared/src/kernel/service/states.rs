//! A two-step exchange's state between its steps (a WebAuthn ceremony, a DBSC challenge): kept
//! in the store under a new random id for a while, and taken from it once.

use super::{ClientInfo, Core};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::store::KernelStore;
use serde::Serialize;
use serde::de::DeserializeOwned;

impl<S: ?Sized + KernelStore> Core<S> {
    /// Keeps `state` for `ttl` seconds under a new id, which names it to the client.
    pub async fn keep_state<T: Serialize>(&self, state: &T, ttl: i64) -> Result<Id, ApiError> {
        let id = Id::random();
        let text = serde_json::to_string(state).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.store()
            .put_state(id, &text, ttl, self.clock().now())
            .await?;
        Ok(id)
    }

    /// Counts a ceremony `client` starts (its state kept for up to 10 minutes) toward its
    /// address's `CEREMONIES_MAX_PER_CLIENT`: 429 beyond it, so that no one address can fill
    /// the store with states. A client without a known address is not counted (API Gateway
    /// always gives one).
    pub async fn limit_ceremonies(&self, client: &ClientInfo) -> Result<(), ApiError> {
        let Some(key) = self.limit_key(client.kept_address().as_deref()) else {
            return Ok(());
        };
        let counter = self.store().count_start(&key, self.clock().now()).await?;
        if counter.count > self.config().ceremonies_max_per_client {
            return Err(ApiError::RateLimited {
                retry_after: counter.retry_after.max(1),
            });
        }
        Ok(())
    }

    /// Takes the state kept under `id`: once, while it lives (`None` after, or for a state of
    /// another shape).
    pub async fn take_state<T: DeserializeOwned>(&self, id: Id) -> Result<Option<T>, ApiError> {
        Ok(self
            .store()
            .take_state(id, self.clock().now())
            .await?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }
}
