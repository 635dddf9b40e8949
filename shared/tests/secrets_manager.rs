//! The Secrets Manager key source through the real AWS SDK, against the local `moto_server`
//! that `make test` starts (AWS_ENDPOINT_URL, dummy credentials, a region).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_secretsmanager::Client;
use passport::Service;
use passport::kernel::config::Config;
use passport::kernel::ids::Id;
use passport::kernel::keys::{KeyError, KeyProvider};
use passport::kernel::store::MemoryStore;
use passport::kernel::tokens::{TokenError, TokenIssuer};
use std::sync::Arc;
use std::time::Duration;

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the tests with `make test`, which starts moto_server",
    )
}

fn client_at(endpoint: &str) -> Client {
    passport::testing::secrets_manager_at(endpoint)
}

#[tokio::test]
async fn the_functions_https_client_reaches_secrets_manager_over_tls() {
    // The client every function uses (rustls on ring, roots from the system store; `make test`
    // points SSL_CERT_FILE at its throwaway CA) against a Secrets Manager served over HTTPS.
    let endpoint = std::env::var("PASSPORT_TEST_AWS_TLS_ENDPOINT").expect(
        "PASSPORT_TEST_AWS_TLS_ENDPOINT is not set: run the tests with `make test`, which starts \
         moto_server over TLS",
    );
    let over_tls = client_at(&endpoint);
    let name = format!("passport-test-tls-{}", Id::random());
    let created = over_tls
        .create_secret()
        .name(&name)
        .secret_string(key(7))
        .send()
        .await
        .unwrap();
    let read = over_tls
        .get_secret_value()
        .secret_id(created.arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(read.secret_string(), Some(key(7).as_str()));
}

fn client() -> Client {
    client_at(&endpoint())
}

fn key(n: u8) -> String {
    format!("{}", (b'a' + n) as char).repeat(64)
}

/// Creates a secret with a first version; returns its ARN.
async fn create_secret(value: &str) -> String {
    let name = format!("passport-test-{}", Id::random());
    let out = client()
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    out.arn().unwrap().to_string()
}

/// The version id of the secret's AWSCURRENT version.
async fn current_version(arn: &str) -> String {
    let out = client()
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap();
    out.version_id().unwrap().to_string()
}

/// Puts a new AWSCURRENT version; returns its version id.
async fn rotate(arn: &str, value: &str) -> String {
    let out = client()
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    out.version_id().unwrap().to_string()
}

fn service_with(keys: KeyProvider) -> Service {
    Service::with_keys(Config::default(), keys, Arc::new(MemoryStore::new()))
}

fn issue(keys: &KeyProvider) -> String {
    let now = passport::kernel::clock::now();
    TokenIssuer::new("passport", None, 900)
        .issue(&keys.current(), Id::random(), Id::random(), now)
        .unwrap()
}

async fn provider(arn: &str) -> KeyProvider {
    KeyProvider::secrets_manager(client(), arn, Duration::from_secs(300))
        .await
        .unwrap()
}

#[tokio::test]
async fn loads_current_version_and_signs_with_its_version_id() {
    let arn = create_secret(&key(0)).await;
    let keys = provider(&arn).await;
    let current_version = current_version(&arn).await;
    assert_eq!(keys.current().signing().kid(), current_version);
    let token = issue(&keys);
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(current_version.as_str()));
    let now = passport::kernel::clock::now();
    assert!(
        service_with(keys)
            .verify_access_token(&token, now)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn json_wrapped_key_is_accepted() {
    let arn = create_secret(&format!(r#"{{"key": "{}"}}"#, key(1))).await;
    let keys = provider(&arn).await;
    let token = issue(&keys);
    // The token is signed with the wrapped key itself, not with the JSON text.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let raw = jsonwebtoken::DecodingKey::from_secret(key(1).as_bytes());
    assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &raw, &validation).is_ok());
}

#[tokio::test]
async fn rotation_keeps_the_previous_key_and_drops_the_one_before() {
    let arn = create_secret(&key(0)).await;
    let v1 = provider(&arn).await;
    let t1 = issue(&v1);

    let id2 = rotate(&arn, &key(1)).await;
    let v2 = provider(&arn).await;
    assert_eq!(
        v2.current().signing().kid(),
        id2,
        "new tokens carry the new kid"
    );
    let t2 = issue(&v2);
    let now = passport::kernel::clock::now();
    let service = service_with(v2.clone());
    assert!(
        service.verify_access_token(&t1, now).await.is_ok(),
        "token of the previous key denied"
    );
    assert!(service.verify_access_token(&t2, now).await.is_ok());

    rotate(&arn, &key(2)).await;
    let v3 = service_with(provider(&arn).await);
    assert_eq!(
        v3.verify_access_token(&t1, now).await,
        Err(TokenError::UnknownKey),
        "a token two rotations old still verifies"
    );
    assert!(v3.verify_access_token(&t2, now).await.is_ok());
}

#[tokio::test]
async fn unknown_kid_reloads_once_per_interval() {
    let arn = create_secret(&key(0)).await;
    let old = provider(&arn).await;
    let service = service_with(old.clone());
    rotate(&arn, &key(1)).await;
    let fresh = provider(&arn).await;
    let token = issue(&fresh);
    let now = passport::kernel::clock::now();
    assert_eq!(old.loads(), 1);
    assert!(
        service.verify_access_token(&token, now).await.is_ok(),
        "unknown kid did not reload"
    );
    assert_eq!(old.loads(), 2);
    assert_eq!(
        old.current().signing().kid(),
        fresh.current().signing().kid()
    );

    // Another unknown kid within the minute: no reload, denied.
    rotate(&arn, &key(2)).await;
    let newer = issue(&provider(&arn).await);
    assert_eq!(
        service.verify_access_token(&newer, now).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(old.loads(), 2, "reloaded again within the interval");
}

#[tokio::test]
async fn stale_cache_is_refreshed_in_the_background() {
    let arn = create_secret(&key(0)).await;
    let keys = KeyProvider::secrets_manager(client(), &arn, Duration::from_millis(500))
        .await
        .unwrap();
    let first = keys.current().signing().kid().to_string();
    let id2 = rotate(&arn, &key(1)).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The stale call answers at once with the cached ring and starts a reload.
    assert_eq!(keys.current().signing().kid(), first);
    for _ in 0..50 {
        if keys.current().signing().kid() == id2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the background reload never happened");
}

#[tokio::test]
async fn failed_reload_keeps_the_cached_keys() {
    let arn = create_secret(&key(0)).await;
    let keys = KeyProvider::secrets_manager_with_interval(
        client(),
        &arn,
        Duration::from_secs(300),
        Duration::ZERO,
    )
    .await
    .unwrap();
    let token = issue(&keys);
    client()
        .delete_secret()
        .secret_id(&arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert!(
        keys.reload_for_unknown_kid().await.is_none(),
        "reload of a deleted secret succeeded"
    );
    assert!(
        service_with(keys)
            .verify_access_token(&token, passport::kernel::clock::now())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn missing_secret_and_short_key_are_named_errors() {
    let missing = format!("passport-missing-{}", Id::random());
    let err = KeyProvider::secrets_manager(client(), &missing, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, KeyError::Secret { .. }), "{err:?}");
    assert!(err.to_string().contains(&missing), "{err}");

    let short = "too-short-key-value";
    let arn = create_secret(short).await;
    let err = KeyProvider::secrets_manager(client(), &arn, Duration::from_secs(1))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, KeyError::TooShort { .. }), "{err:?}");
    assert!(msg.contains(&arn) && msg.contains("32"), "{msg}");
    assert!(!msg.contains(short), "the key leaked into the error: {msg}");
}

#[tokio::test]
async fn unreachable_secrets_manager_fails_the_cold_start() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = KeyProvider::secrets_manager(
        client_at(&format!("http://127.0.0.1:{port}")),
        "any",
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("signing key from secret any"),
        "{err}"
    );
}

#[tokio::test]
async fn from_config_loads_keys_through_the_default_aws_chain() {
    let arn = create_secret(&key(3)).await;
    let config = Config {
        signing_secret_arn: Some(arn.clone()),
        ..Config::default()
    };
    let service = Service::from_config(config)
        .await
        .expect("cold start from SIGNING_SECRET_ARN");
    let current_version = current_version(&arn).await;
    assert_eq!(service.keys().current().signing().kid(), current_version);
}

/// The second factor's key comes from `MFA_SECRET_ARN` in the functions that serve its routes,
/// whichever way they build their service; a secret too short is a named start-up error, and
/// without one the routes are `not_configured`.
#[tokio::test]
async fn the_second_factor_key_is_read_from_its_secret() {
    let arn = create_secret(&key(5)).await;
    let with = |mfa: Option<String>| Config {
        mfa_secret_arn: mfa,
        signing_secret: Some(passport::kernel::config::SecretBytes::new(
            key(3).into_bytes(),
        )),
        ..Config::default()
    };
    let signing = Service::from_config(with(Some(arn.clone()))).await.unwrap();
    let plain = Service::from_config_without_keys(with(Some(arn)))
        .await
        .unwrap();
    for service in [&signing, &plain] {
        let loaded = service.extension::<passport::mfa::MfaKey>().unwrap();
        assert_eq!(loaded.0.expose(), key(5).as_bytes());
    }
    let short = create_secret("too short").await;
    let err = Service::from_config(with(Some(short.clone())))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains(&format!("MFA_SECRET_ARN {short}")),
        "{err}"
    );
    assert!(
        !err.to_string().contains("too short"),
        "the value is never shown: {err}"
    );
    let none = Service::from_config(with(None)).await.unwrap();
    assert!(none.extension::<passport::mfa::MfaKey>().is_none());
}

/// The identity providers' client secrets come from `OIDC_CLIENT_SECRETS_ARN` (JSON), read at
/// the start of the function that serves `/oauth/*` (it signs); a provider without one is a
/// named start-up error that shows no value.
#[tokio::test]
async fn the_identity_providers_client_secrets_are_read_from_their_secret() {
    let arn = create_secret(r#"{"corp": "client-secret-of-corp"}"#).await;
    let with = |arn: String| Config {
        oidc_providers: Some(
            r#"[{"name": "corp", "issuer": "https://idp.example.com", "client_id": "c"}]"#.into(),
        ),
        oidc_client_secrets_arn: Some(arn),
        signing_secret: Some(passport::kernel::config::SecretBytes::new(
            key(3).into_bytes(),
        )),
        ..Config::default()
    };
    let service = Service::from_config(with(arn)).await.unwrap();
    let providers = service
        .extension::<passport::federation::Providers>()
        .unwrap();
    assert_eq!(providers.list[0].client_secret, "client-secret-of-corp");
    let other = create_secret(r#"{"someone": "not-corps-secret"}"#).await;
    let err = Service::from_config(with(other)).await.err().unwrap();
    assert!(err.to_string().contains("corp"), "{err}");
    assert!(!err.to_string().contains("not-corps-secret"), "{err}");
}

/// The deployed cache has access control: the functions connect as the user whose password
/// Secrets Manager keeps (`REDIS_AUTH_SECRET_ARN`), never one from a plaintext variable.
#[tokio::test]
async fn the_store_is_reached_as_the_cache_user_kept_in_secrets_manager() {
    let (mut redis, port) = passport::testing::private_redis_server();
    let password = format!("cache-{}", Id::random());
    let acl = |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string(), "ACL", "SETUSER"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    acl(&[
        "passport",
        "on",
        &format!(">{password}"),
        "~*",
        "&*",
        "+@all",
    ]);
    acl(&["default", "off"]);
    let config = |auth: Option<String>| Config {
        redis_url: Some(format!("redis://127.0.0.1:{port}")),
        redis_auth_secret_arn: auth,
        signing_secret: Some(passport::kernel::config::SecretBytes::new(
            key(3).into_bytes(),
        )),
        redis_connect_timeout: Duration::from_secs(2),
        redis_response_timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let secret = create_secret(&format!(
        r#"{{"username":"passport","password":"{password}"}}"#
    ))
    .await;
    let service = Service::from_config(config(Some(secret))).await.unwrap();
    passport::testing::create_account(&service, "cache-user@example.com", "a long enough password")
        .await;

    // Without the credentials the cache refuses the connection or its first command.
    match Service::from_config(config(None)).await {
        Err(_) => {}
        Ok(anonymous) => assert!(anonymous.store().account_id("x@example.com").await.is_err()),
    }
    // A secret that is not the expected JSON is named, and its value is not echoed.
    let bad = create_secret("just-a-password-value").await;
    let err = Service::from_config(config(Some(bad)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("REDIS_AUTH_SECRET_ARN"), "{err}");
    assert!(!err.contains("just-a-password-value"), "{err}");
    redis.kill().unwrap();
    redis.wait().unwrap();
}
