//! Shared by the integration tests: the two stores under test, and the private Redis that
//! `make test` starts for them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod apps;
pub mod contract;
pub mod op;
pub mod recorded;
pub mod sign_in;

use http::{Method, Request, Response};
use passport::api::Store;
use passport::api::{handle, route};
use passport::kernel::store::{MemoryStore, RedisConnection, RedisStore};
use std::sync::Arc;
use std::time::Duration;

/// The private Redis started by `make test` (infra/test/test.sh).
pub fn redis_url() -> String {
    std::env::var("PASSPORT_TEST_REDIS_URL").expect(
        "PASSPORT_TEST_REDIS_URL is not set: run the tests with `make test`, which starts a \
         private redis-server and sets it",
    )
}

/// Whether `make test` pointed the tests at its local Redis Cluster (`redis_url` then lists
/// the cluster's nodes).
pub fn redis_cluster() -> bool {
    std::env::var("PASSPORT_TEST_REDIS_CLUSTER").is_ok_and(|v| v == "true")
}

pub async fn redis_store() -> RedisStore {
    RedisStore::from_connection(raw_redis().await)
}

/// A raw connection to the test Redis (a cluster client on the cluster), for checks the
/// store's API does not offer.
pub async fn raw_redis() -> RedisConnection {
    passport::testing::redis_at(&redis_url(), redis_cluster()).await
}

/// Both implementations, named for failure messages.
pub async fn stores() -> Vec<(&'static str, Arc<dyn Store>)> {
    vec![
        ("memory", Arc::new(MemoryStore::new()) as Arc<dyn Store>),
        ("redis", Arc::new(redis_store().await) as Arc<dyn Store>),
    ]
}

/// A service with `config` on each store, named for failure messages. The in-memory store's
/// service reads a manual clock, which [`pass`] moves; Redis's reads the system clock, as its
/// TTLs do.
pub async fn services(config: passport::Config) -> Vec<(&'static str, Arc<passport::Service>)> {
    stores()
        .await
        .into_iter()
        .map(|(name, store)| (name, Arc::new(service_for(name, store, config.clone()))))
        .collect()
}

/// `passport::testing::app_on`, with a manual clock on the in-memory store (named `memory`).
pub fn service_for(
    name: &str,
    store: Arc<dyn Store>,
    config: passport::Config,
) -> passport::Service {
    let service = passport::testing::service_on(store, config);
    if name == "memory" {
        service.with_clock(passport::kernel::clock::Clock::manual())
    } else {
        service
    }
}

/// Lets `time` pass for `app`: its manual clock moves (rounded up to whole seconds, the
/// store's unit), or, on the system clock (Redis, whose TTLs run on it), the test waits.
pub async fn pass(service: &passport::Service, time: Duration) {
    if !service.clock().advance(time.as_secs_f64().ceil() as i64) {
        tokio::time::sleep(time).await;
    }
}

/// A unique email per call, so tests sharing one Redis never meet.
pub fn unique_email() -> String {
    format!("user-{}@example.com", passport::kernel::ids::Id::random()).to_lowercase()
}

/// A source address no other test (or earlier run on the same Redis) uses: IPv6, a random
/// unique-local /48 (RFC 4193: `fd` and 40 random bits) and 80 random bits below it, so that no
/// counter — per address, per /64, per /48 — carries over or is shared between two clients.
pub fn unique_ip() -> String {
    let b = passport::kernel::ids::random_bytes::<15>();
    let group = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    format!(
        "fd{:02x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
        b[14],
        group(0),
        group(2),
        group(4),
        group(6),
        group(8),
        group(10),
        group(12)
    )
}

/// A shared app's code no other test (or earlier run on the same Redis) uses.
pub fn unique_code() -> String {
    format!("t-{}", passport::kernel::ids::Id::random())
        .chars()
        .take(24)
        .collect()
}

/// Sends a request from `ip` through the route table as API Gateway would: each guarded route
/// behind its own authorizer, whose refusal is `Err` with its reason.
pub async fn send(
    service: &passport::Service,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    ip: &str,
) -> Result<Response<String>, String> {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    through_gateway(service, req.body(body.as_bytes().to_vec()).unwrap(), ip).await
}

/// `req` from `ip` through the route table as API Gateway runs it (`passport::api::gateway`, the
/// model `local-api` serves too): a guarded route behind its own authorizer, whose refusal is
/// `Err` with its reason, then the handler with the verdict.
pub async fn through_gateway(
    service: &passport::Service,
    req: Request<Vec<u8>>,
    ip: &str,
) -> Result<Response<String>, String> {
    let found = route(req.method(), req.uri().path()).unwrap();
    let verdict = passport::api::gateway::guard(service, found.guard(), req.headers())
        .await
        .map_err(|refused| refused.reason)?;
    Ok(handle(service, found, &req, Some(ip.to_string()), verdict).await)
}

/// The claims of a JWT (not verified: the tests read what a service signed).
pub fn claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A service on each store whose mail the test reads, with links to the page at
/// `https://auth.example.com/app/`.
pub async fn mailing_services() -> Vec<(
    &'static str,
    passport::Service,
    passport::testing::mail::Outgoing,
)> {
    let mut out = Vec::new();
    for (name, store) in stores().await {
        let outgoing = passport::testing::mail::Outgoing::default();
        let config = passport::Config {
            public_base_url: Some("https://auth.example.com".into()),
            ..passport::testing::test_config()
        };
        let service = service_for(name, store, config).with_mail(outgoing.outbox());
        out.push((name, service, outgoing));
    }
    out
}
