//! Shared by the integration tests: the two stores under test, and the private Redis that
//! `make test` starts for them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use passport::store::{MemoryStore, RedisStore, Store};
use std::sync::Arc;
use std::time::Duration;

/// The private Redis started by `make test` (infra/test.sh).
pub fn redis_url() -> String {
    std::env::var("PASSPORT_TEST_REDIS_URL").expect(
        "PASSPORT_TEST_REDIS_URL is not set: run the tests with `make test`, which starts a \
         private redis-server and sets it",
    )
}

pub async fn redis_store() -> RedisStore {
    RedisStore::connect(&redis_url(), Duration::from_secs(2), Duration::from_secs(2))
        .await
        .expect("connect to the test redis-server")
}

/// Both implementations, named for failure messages.
pub async fn stores() -> Vec<(&'static str, Arc<dyn Store>)> {
    vec![
        ("memory", Arc::new(MemoryStore::new()) as Arc<dyn Store>),
        ("redis", Arc::new(redis_store().await) as Arc<dyn Store>),
    ]
}

/// A unique email per call, so tests sharing one Redis never meet.
pub fn unique_email() -> String {
    format!("user-{}@example.com", passport::ids::Id::random()).to_lowercase()
}
