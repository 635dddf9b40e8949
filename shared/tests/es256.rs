//! ES256: signers publish public keys through the store, functions that only verify read them
//! there and hold no secret; each key set takes its one algorithm and nothing else; a rotation
//! reaches the verifiers and a dropped key stops verifying; a flood of unknown `kid`s reads the
//! store once per interval. On the memory store and on a private `redis-server`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passport::Service;
use passport::api::Store;
use passport::kernel::config::{Config, SecretBytes, SigningAlgorithm};
use passport::kernel::keys::{Key, KeyProvider, KeyRing};
use passport::kernel::store::{MemoryStore, RedisStore};
use passport::testing::{
    EVENT_EMAIL, EVENT_PASSWORD, TEST_SIGNING_KEY, anonymous_passport, create_account, create_app,
    private_redis_server, test_config,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn config() -> Config {
    Config {
        signing_algorithm: SigningAlgorithm::Es256,
        ..test_config()
    }
}

fn es256_key(kid: &str, secret: &str) -> Key {
    Key::for_algorithm(
        SigningAlgorithm::Es256,
        kid.into(),
        &SecretBytes::new(secret.as_bytes().to_vec()),
        "test",
    )
    .unwrap()
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The memory store, and a store on a `redis-server` of its own (the key document is one key
/// per deployment: other tests' signers must not replace it under this one).
async fn stores() -> (Vec<(&'static str, Arc<dyn Store>)>, Server) {
    let (child, port) = private_redis_server();
    let conn = passport::testing::redis_at(&format!("redis://127.0.0.1:{port}"), false).await;
    let stores = vec![
        ("memory", Arc::new(MemoryStore::new()) as Arc<dyn Store>),
        (
            "redis",
            Arc::new(RedisStore::from_connection(conn)) as Arc<dyn Store>,
        ),
    ];
    (stores, Server(child))
}

async fn login(service: &Service) -> passport::kernel::service::TokenPair {
    let input = passport::sessions::LoginInput::new(EVENT_EMAIL, EVENT_PASSWORD);
    service.login(input, &Default::default()).await.unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Whether `app`'s authorizer takes `token`.
async fn takes(service: &Service, token: &str) -> bool {
    service.authorize(Some(&bearer(token))).await.is_ok()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// `header.claims` signed with HMAC-SHA256 under `key`, by hand (no library would sign this).
fn hmac_token(header: &Value, claims: &Value, key: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let input = format!("{}.{}", b64(header), b64(claims));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// A token's claims, unverified (copied into forgeries that must be refused).
fn claims_of(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode_claims(token).unwrap()
}

#[tokio::test]
async fn verifiers_take_the_signers_tokens_from_published_public_keys_only() {
    let (stores, _server) = stores().await;
    for (name, store) in stores {
        let signer = passport::testing::service_on(Arc::clone(&store), config());
        create_account(&signer, EVENT_EMAIL, EVENT_PASSWORD).await;
        let pair = login(&signer).await;
        let header = jsonwebtoken::decode_header(&pair.access_token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256, "{name}");

        // The verifier is built as the authorizer is: the store, no secret.
        let verifier = Service::with_published_keys(config(), Arc::clone(&store)).await;
        let caller = verifier
            .authorize(Some(&bearer(&pair.access_token)))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(caller.session, pair.session_id, "{name}");

        // Passports too, at the app authorizer, and never as access tokens.
        let code = format!(
            "es{}",
            &passport::kernel::ids::Id::random().to_string()[..10]
        );
        create_app(&signer, &code, "public").await;
        let passport = anonymous_passport(&signer, &code, "2001:db8::1")
            .await
            .passport;
        verifier
            .authorize_visitor(Some(&bearer(&passport)), Some(&code))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(
            !takes(&verifier, &passport).await,
            "{name}: a passport taken as an access token"
        );

        // The public JWK Set lists the access-token key, without a private part, and no
        // passport key.
        let jwks = serde_json::to_value(verifier.public_key_set().await.unwrap()).unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{name}: {jwks}");
        assert_eq!(
            keys[0]["kid"],
            header.kid.clone().unwrap().as_str(),
            "{name}"
        );
        assert!(keys[0].get("d").is_none(), "{name}: {jwks}");
        assert!(!jwks.to_string().contains("\"p-"), "{name}: {jwks}");
    }
}

#[tokio::test]
async fn each_key_set_takes_its_one_algorithm() {
    let (stores, _server) = stores().await;
    for (name, store) in stores {
        let signer = passport::testing::service_on(Arc::clone(&store), config());
        create_account(&signer, EVENT_EMAIL, EVENT_PASSWORD).await;
        let pair = login(&signer).await;
        let verifier = Service::with_published_keys(config(), Arc::clone(&store)).await;
        let claims = claims_of(&pair.access_token);
        let kid = jsonwebtoken::decode_header(&pair.access_token)
            .unwrap()
            .kid
            .unwrap();
        let jwk = serde_json::to_value(verifier.public_key_set().await.unwrap()).unwrap()["keys"]
            [0]
        .clone();
        let hs = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
        // Key confusion: HS256 keyed with what a verifier knows (the public key, as JWK text
        // or its coordinates), or with the secret the ES256 keys come from.
        let point = format!(
            "{}{}",
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        for key in [jwk.to_string(), point, TEST_SIGNING_KEY.to_string()] {
            let forged = hmac_token(&hs, &claims, key.as_bytes());
            for (who, service) in [("signer", &signer), ("verifier", &verifier)] {
                assert!(
                    !takes(service, &forged).await,
                    "{name}: the {who} took an HS256 token"
                );
            }
        }
        // Other algorithms, and none.
        let (h, c, s) = {
            let mut p = pair.access_token.split('.');
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        };
        let _ = h;
        for alg in ["none", "ES384", "RS256", "PS256", "EdDSA", "es256"] {
            let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
            let token = format!("{}.{c}.{s}", b64(&header));
            assert!(!takes(&verifier, &token).await, "{name}: alg {alg}");
        }
        // A key of another secret under the same kid: a bad signature.
        let impostor = KeyRing::new(
            es256_key(&kid, "an impostor's secret, long enough!!"),
            vec![],
        );
        let forged = passport::kernel::tokens::TokenIssuer::new("passport", None, 900)
            .issue(
                &impostor,
                passport::kernel::ids::Id::random(),
                pair.session_id,
                passport::kernel::clock::now(),
            )
            .unwrap();
        assert!(!takes(&verifier, &forged).await, "{name}");

        // An HS256 deployment's token with the same secret is refused by ES256 keys, and the
        // reverse: the algorithm is the deployment's, not the token's.
        let hs_app = passport::testing::service_on(
            Arc::new(MemoryStore::new()),
            Config {
                signing_algorithm: SigningAlgorithm::Hs256,
                ..test_config()
            },
        );
        create_account(&hs_app, EVENT_EMAIL, EVENT_PASSWORD).await;
        let hs_pair = login(&hs_app).await;
        assert!(!takes(&signer, &hs_pair.access_token).await);
        assert!(!takes(&hs_app, &pair.access_token).await);
    }
}

#[tokio::test]
async fn a_rotation_reaches_the_verifiers_and_a_dropped_key_stops_verifying() {
    let (stores, _server) = stores().await;
    for (name, store) in stores {
        let secret = |v: &str| format!("rotation test secret {v}, long enough to sign");
        let ring = |cur: &str, prev: Option<&str>, created: i64| {
            KeyRing::new(
                es256_key(cur, &secret(cur)),
                prev.map(|p| es256_key(p, &secret(p))).into_iter().collect(),
            )
            .created_at(created)
        };
        let signer_at =
            |r: KeyRing| Service::with_keys(config(), KeyProvider::fixed(r), Arc::clone(&store));
        let v1 = signer_at(ring("v1", None, 1));
        create_account(&v1, EVENT_EMAIL, EVENT_PASSWORD).await;
        let old = login(&v1).await;
        // Verifiers re-read the keys on every request here (a TTL of zero).
        let verifier = Service::with_published_keys(
            Config {
                signing_key_cache: Duration::ZERO,
                ..config()
            },
            Arc::clone(&store),
        )
        .await;
        assert!(takes(&verifier, &old.access_token).await, "{name}");

        let v2 = signer_at(ring("v2", Some("v1"), 2));
        let new = login(&v2).await;
        assert!(takes(&verifier, &new.access_token).await, "{name}");
        assert!(
            takes(&verifier, &old.access_token).await,
            "{name}: the previous version verifies"
        );
        // A signer still on v1 cannot put it back: the store keeps the newer version's keys.
        v1.publish_keys().await.unwrap();
        let v1_again = signer_at(ring("v1", None, 1));
        v1_again.publish_keys().await.unwrap();
        assert!(takes(&verifier, &new.access_token).await, "{name}");

        let v3 = signer_at(ring("v3", Some("v2"), 3));
        v3.publish_keys().await.unwrap();
        assert!(
            !takes(&verifier, &old.access_token).await,
            "{name}: a key dropped from the published set still verifies"
        );
        assert!(takes(&verifier, &new.access_token).await, "{name}");
    }
}

#[tokio::test]
async fn a_flood_of_unknown_kids_reads_the_store_once_per_interval() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let signer = passport::testing::service_on(Arc::clone(&store), config());
    create_account(&signer, EVENT_EMAIL, EVENT_PASSWORD).await;
    let pair = login(&signer).await;
    let verifier = Service::with_published_keys(config(), Arc::clone(&store)).await;
    let at_start = verifier.published_key_reads().unwrap();
    let (_, rest) = pair.access_token.split_once('.').unwrap();
    for i in 0..200 {
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": format!("garbage-{i}")});
        let token = format!("{}.{rest}", b64(&header));
        assert!(!takes(&verifier, &token).await);
    }
    let reads = verifier.published_key_reads().unwrap() - at_start;
    assert_eq!(reads, 1, "200 unknown kids read the store {reads} times");
    // The good token still verifies without another read.
    assert!(takes(&verifier, &pair.access_token).await);
    assert_eq!(verifier.published_key_reads().unwrap() - at_start, 1);
}
