//! The discovery document (`GET /.well-known/openid-configuration`) takes its URLs from
//! configuration only: a request's `Host` or `X-Forwarded-*` never reaches a document that
//! shared caches keep.
#![allow(clippy::unwrap_used)]

mod common;

use common::{send, unique_ip};
use http::Method;
use passport::kernel::config::Config;
use passport::testing::{memory_service, service_on, test_config};
use serde_json::Value;
use std::sync::Arc;

const PATH: &str = "/.well-known/openid-configuration";
/// What an attacker sends, hoping a cache keeps the answer for everyone.
const FORGED: &[(&str, &str)] = &[("host", "evil.example"), ("x-forwarded-proto", "http")];

async fn discovery(config: Config) -> (u16, Option<String>, Value) {
    let service = service_on(
        Arc::new(passport::kernel::store::MemoryStore::new()),
        config,
    );
    let r = send(&service, Method::GET, PATH, FORGED, "", &unique_ip())
        .await
        .unwrap();
    let cache = r
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string());
    (
        r.status().as_u16(),
        cache,
        serde_json::from_str(r.body()).unwrap(),
    )
}

/// Issue #34, 6: with `PUBLIC_BASE_URL` the `jwks_uri` is there, whatever `Host` said.
#[tokio::test]
async fn the_jwks_uri_comes_from_the_public_base_url() {
    let config = Config {
        public_base_url: Some("https://auth.example.com".into()),
        ..test_config()
    };
    let (status, cache, doc) = discovery(config).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(
        doc["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );
    assert!(cache.unwrap().starts_with("public"));
    // An issuer that is a URL is where the keys are, as OpenID Connect Discovery says.
    let config = Config {
        token_issuer: "https://issuer.example.com/".into(),
        ..test_config()
    };
    let (_, _, doc) = discovery(config).await;
    assert_eq!(
        doc["jwks_uri"],
        "https://issuer.example.com/.well-known/jwks.json"
    );
}

/// Issue #34, 6: with neither configured the document is not served, let alone cached.
#[tokio::test]
async fn unconfigured_the_document_is_not_served() {
    let (status, cache, doc) = discovery(test_config()).await;
    assert_eq!(
        (status, doc["error"].as_str()),
        (404, Some("not_configured")),
        "{doc}"
    );
    assert!(!doc.to_string().contains("evil.example"), "{doc}");
    assert!(!cache.unwrap_or_default().contains("public"));
    // The key set itself needs no URL: it is served either way.
    let service = memory_service();
    let ip = unique_ip();
    let r = send(
        &service,
        Method::GET,
        "/.well-known/jwks.json",
        FORGED,
        "",
        &ip,
    );
    assert_eq!(r.await.unwrap().status(), 200);
}
