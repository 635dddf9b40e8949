//! Session and account records stay in Redis's compact hash encoding (`listpack`) whatever the
//! input (issue 38): Redis converts a hash for good once one value exceeds
//! `hash-max-listpack-value` (64 bytes; https://redis.io/docs/latest/operate/oss_and_stack/management/optimization/memory-optimization/),
//! so every value that can be longer is bounded or kept in parts of 64 bytes, and read back
//! whole. On a real Redis and, in `make test`, the cluster.
#![allow(clippy::unwrap_used)]

mod common;

use common::{raw_redis, redis_cluster, redis_store};
use passport::Service;
use passport::api::Store;
use passport::dbsc::store::{BindOutcome, RenewOutcome};
use passport::kernel::accounts::hash_password;
use passport::kernel::clock;
use passport::kernel::service::ClientInfo;
use passport::kernel::store::{RedisConnection, RedisStore};
use passport::kernel::tokens::refresh::{RefreshToken, TokenDigest};
use passport::sessions::LoginInput;
use passport::sessions::store::{CheckToken, SessionsAfter, TokenCheck};
use passport::testing::store::prelude::*;
use passport::testing::{create_account, service_on, test_config};
use std::sync::Arc;

const PASSWORD: &str = "a compact record's password";

async fn encoding_and_size(redis: &mut RedisConnection, key: &str) -> (String, i64) {
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async(redis)
        .await
        .unwrap();
    let bytes = passport::testing::memory::memory_usage(redis, key).await;
    (encoding, bytes)
}

/// A service on the real Redis, and that store.
async fn on_redis() -> (Arc<RedisStore>, Service) {
    let store = Arc::new(redis_store().await);
    let service = service_on(Arc::clone(&store) as Arc<dyn Store>, test_config());
    (store, service)
}

fn unique_tag() -> String {
    passport::kernel::ids::Id::random()
        .to_string()
        .to_lowercase()
}

#[tokio::test]
async fn records_with_every_value_at_its_longest_stay_listpack_and_read_back_whole() {
    let (store, service) = on_redis().await;
    // A 249-byte address (the sign-up takes 254), past 64 bytes three times over.
    let tag = unique_tag();
    let local = format!("{tag}{}", "l".repeat(64 - tag.len()));
    let domain = format!(
        "{}.{}.{}.example.com",
        "d".repeat(60),
        "e".repeat(60),
        "f".repeat(50)
    );
    let email = format!("{local}@{domain}");
    assert_eq!(email.len(), 249);
    create_account(&service, &email, PASSWORD).await;
    let account = store.account_id(&email).await.unwrap().unwrap();

    // The longest user agent read, and a device name of 64 two-byte characters (128 bytes).
    let user_agent = format!(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/131.0.0.0 Safari/537.36 {}",
        "x".repeat(200)
    );
    let client = ClientInfo {
        ip: Some("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".into()),
        user_agent: Some(user_agent.clone()),
    };
    let device = "é".repeat(passport::kernel::accounts::MAX_DEVICE_CHARS);
    let pair = service
        .login(
            LoginInput::new(email.clone(), PASSWORD).on_device(device.clone()),
            &client,
        )
        .await
        .unwrap();
    let pair = service.refresh(&pair.refresh_token).await.unwrap();
    let session = RefreshToken::parse(&pair.refresh_token).unwrap().session();
    let now = clock::now();

    // Bound to a device key (a P-256 JWK, ~125 bytes), its bound cookie renewed once.
    let jwk = format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
        "x".repeat(43),
        "y".repeat(43)
    );
    let cookie = "c".repeat(64);
    assert_eq!(
        store
            .bind_session(account, session, &jwk, &cookie, now + 600, now)
            .await
            .unwrap(),
        BindOutcome::Bound
    );
    assert_eq!(
        store
            .renew_bound_cookie(account, session, &"n".repeat(64), now + 1200, &cookie, now)
            .await
            .unwrap(),
        RenewOutcome::Renewed
    );
    // A password change that keeps the sessions: the old hash is kept beside the new one.
    let old_hash = store.account(account).await.unwrap().unwrap().password_hash;
    let new_hash = hash_password("a compact record's new password").unwrap();
    assert!(
        store
            .set_password(
                account,
                &new_hash,
                SessionsAfter::KeepAll,
                &passport::testing::entry(passport::kernel::activity::Activity::PasswordChanged)
            )
            .await
            .unwrap()
    );

    let mut redis = raw_redis().await;
    let account_key = format!("pp:{{{account}}}:acct");
    let session_key = format!("pp:{{{account}}}:s:{session}");
    let mut sizes = Vec::new();
    for key in [&account_key, &session_key] {
        let (encoding, bytes) = encoding_and_size(&mut redis, key).await;
        assert_eq!(encoding, "listpack", "{key}: {bytes} bytes");
        sizes.push(bytes);
    }
    println!(
        "compact records ({}): account {} bytes, session {} bytes (249-byte address, 128-byte \
         device name, {}-byte user agent, a DBSC binding, a kept previous password)",
        if redis_cluster() {
            "cluster"
        } else {
            "single node"
        },
        sizes[0],
        sizes[1],
        user_agent.len()
    );

    // Every long value reads back whole; the browser is kept by the name parsed from all of
    // its user agent.
    let stored = store.account(account).await.unwrap().unwrap();
    assert_eq!(stored.email, email);
    assert_eq!(stored.password_hash, new_hash);
    assert_eq!(
        store
            .previous_password_hash(account, clock::now())
            .await
            .unwrap(),
        Some(old_hash)
    );
    let live = store
        .live_session(account, session, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.email.as_deref(), Some(email.as_str()));
    let binding = store
        .session_binding(account, session, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(binding.key.as_deref(), Some(jwk.as_str()));
    let listed = store.list_sessions(account, now).await.unwrap();
    let listed = listed.iter().find(|s| s.id == session).unwrap();
    assert_eq!(listed.device.as_deref(), Some(device.as_str()));
    assert_eq!(listed.agent.as_deref(), Some("Chrome 131 on Mac OSX"));
    assert_eq!(
        listed.user_agent, None,
        "a named browser is kept by its name alone"
    );
    // The new password signs in.
    service
        .login(
            LoginInput::new(email.clone(), "a compact record's new password"),
            &client,
        )
        .await
        .unwrap();
}

/// Records written whole before (an account and a session from an earlier release, their long
/// values in one field each) keep working: read whole, and changed in parts.
#[tokio::test]
async fn records_written_whole_before_still_read_and_change() {
    let (store, service) = on_redis().await;
    let tag = unique_tag();
    let email = format!("{tag}@{}.example.com", "o".repeat(60));
    create_account(&service, &email, PASSWORD).await;
    let account = store.account_id(&email).await.unwrap().unwrap();
    let before = store.account(account).await.unwrap().unwrap();
    let mut redis = raw_redis().await;
    let key = format!("pp:{{{account}}}:acct");
    // The earlier form: each value whole, under its one field.
    let _: () = redis::pipe()
        .cmd("DEL")
        .arg(&key)
        .cmd("HSET")
        .arg(&key)
        .arg("email")
        .arg(&email)
        .arg("pw")
        .arg(&before.password_hash)
        .arg("status")
        .arg("active")
        .arg("created")
        .arg(before.created_at)
        .arg("ev")
        .arg("1")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(store.account(account).await.unwrap().unwrap(), before);
    let client = ClientInfo::default();
    let pair = service
        .login(LoginInput::new(email.clone(), PASSWORD), &client)
        .await
        .unwrap();
    let session = RefreshToken::parse(&pair.refresh_token).unwrap().session();
    let live = store
        .live_session(account, session, clock::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.email.as_deref(), Some(email.as_str()));
    // Changed in parts over the whole value: read back as written.
    let new_hash = hash_password("an old record's new password").unwrap();
    assert!(
        store
            .set_password(
                account,
                &new_hash,
                SessionsAfter::KeepAll,
                &passport::testing::entry(passport::kernel::activity::Activity::PasswordChanged)
            )
            .await
            .unwrap()
    );
    let after = store.account(account).await.unwrap().unwrap();
    assert_eq!(after.password_hash, new_hash);
    assert_eq!(
        store
            .previous_password_hash(account, clock::now())
            .await
            .unwrap(),
        Some(before.password_hash)
    );
    service
        .login(
            LoginInput::new(email, "an old record's new password"),
            &client,
        )
        .await
        .unwrap();
}

/// A session started before keeps its refresh-token digests in an earlier form — hex (64
/// characters, before issue 38) or the whole digest as base64 (43, before the stored form was
/// cut to 192 bits: 32, `TokenDigest::to_stored`): it still refreshes, rotates into the stored
/// form, and its family still gives a stolen token away.
#[tokio::test]
async fn sessions_with_earlier_digest_forms_still_rotate_and_detect_theft() {
    let (store, service) = on_redis().await;
    for (form, name) in [(1, "whole"), (2, "hex")] {
        let earlier = |d: TokenDigest| d.stored_forms()[form].clone();
        let email = format!("{}@example.com", unique_tag());
        create_account(&service, &email, PASSWORD).await;
        let client = ClientInfo::default();
        let pair = service
            .login(LoginInput::new(email.clone(), PASSWORD), &client)
            .await
            .unwrap();
        let t0 = RefreshToken::parse(&pair.refresh_token).unwrap();
        let account = store.account_id(&email).await.unwrap().unwrap();
        let key = format!("pp:{{{account}}}:s:{}", t0.session());
        let mut redis = raw_redis().await;
        let field = async |redis: &mut RedisConnection, field: &str| -> String {
            redis::cmd("HGET")
                .arg(&key)
                .arg(field)
                .query_async(redis)
                .await
                .unwrap()
        };
        assert_eq!(field(&mut redis, "cur").await, t0.digest().to_stored());
        assert_eq!(
            field(&mut redis, "fam").await,
            t0.family_digest().to_stored()
        );
        // The earlier form.
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg("cur")
            .arg(earlier(t0.digest()))
            .arg("fam")
            .arg(earlier(t0.family_digest()))
            .query_async(&mut redis)
            .await
            .unwrap();
        // Logout's check knows it as the current token.
        let check = CheckToken {
            account,
            session: t0.session(),
            presented: t0.digest(),
            family: t0.family_digest(),
            now: clock::now(),
            grace: 10,
        };
        assert_eq!(
            store.check_token(&check).await.unwrap(),
            TokenCheck::Current,
            "{name}"
        );
        let next = service.refresh(&pair.refresh_token).await.unwrap();
        let t1 = RefreshToken::parse(&next.refresh_token).unwrap();
        assert_eq!(
            field(&mut redis, "cur").await,
            t1.digest().to_stored(),
            "{name}"
        );
        assert_eq!(
            field(&mut redis, "prev").await,
            t0.digest().to_stored(),
            "{name}"
        );
        assert_eq!(
            field(&mut redis, "fam").await,
            earlier(t0.family_digest()),
            "{name}"
        );
        // A token of the session's family that is neither its current nor its previous one.
        let stolen = t1.successor(&[9; 32]);
        let err = service.refresh(&stolen.encode()).await.unwrap_err();
        assert!(
            matches!(err, passport::ApiError::RefreshTokenReused),
            "{name}: {err:?}"
        );
        let ended: bool = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(!ended, "{name}: the session ended as stolen");
    }
}

/// A rotation that ran while the stored form was the whole digest (43 characters), replayed
/// within the grace window after the stored form was cut (a second tab across a deploy): the
/// same successor, not a refusal.
#[tokio::test]
async fn a_replay_across_the_digest_form_change_gets_the_same_successor() {
    let (store, service) = on_redis().await;
    let email = format!("{}@example.com", unique_tag());
    create_account(&service, &email, PASSWORD).await;
    let pair = service
        .login(
            LoginInput::new(email.clone(), PASSWORD),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    let t0 = RefreshToken::parse(&pair.refresh_token).unwrap();
    let next = service.refresh(&pair.refresh_token).await.unwrap();
    let t1 = RefreshToken::parse(&next.refresh_token).unwrap();
    let account = store.account_id(&email).await.unwrap().unwrap();
    let key = format!("pp:{{{account}}}:s:{}", t0.session());
    // What the rotation wrote before: its digests whole.
    let whole = |d: TokenDigest| d.stored_forms()[1].clone();
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("cur")
        .arg(whole(t1.digest()))
        .arg("prev")
        .arg(whole(t0.digest()))
        .query_async(&mut raw_redis().await)
        .await
        .unwrap();
    let again = service.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(again.refresh_token, next.refresh_token);
}
