//! The signers' public key document (ES256): published by whoever signs, read by whoever only
//! verifies (`service::public_keys`).

use super::keys;
use super::memory::MemoryStore;
use super::redis::RedisStore;
use super::scripts::PUBLISH_KEYS;
use crate::kernel::error::StoreError;
use async_trait::async_trait;
use redis::AsyncCommands;

/// The published public key document.
#[async_trait]
pub trait KeyDocument: Send + Sync {
    /// Publishes the signers' public key document (`keys::published`), made from the key
    /// version created at `created_ms`, unless one from a newer version is there (`false`).
    async fn publish_keys(&self, document: &str, created_ms: i64) -> Result<bool, StoreError>;
    /// The published public key document, if a signer has published one.
    async fn published_keys(&self) -> Result<Option<String>, StoreError>;
}

#[async_trait]
impl KeyDocument for MemoryStore {
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
}

#[async_trait]
impl KeyDocument for RedisStore {
    async fn publish_keys(&self, document: &str, created_ms: i64) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&PUBLISH_KEYS.invocation(
                &[("keys", keys::PUBLIC_KEYS.to_string())],
                &[
                    ("created", created_ms.to_string()),
                    ("document", document.to_string()),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn published_keys(&self) -> Result<Option<String>, StoreError> {
        super::connection::retry_once(&self.conn, move |mut c| async move {
            c.hget(keys::PUBLIC_KEYS, "document").await
        })
        .await
        .map_err(Into::into)
    }
}
