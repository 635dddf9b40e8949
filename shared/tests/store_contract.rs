//! The store contract, the kernel's slices: the account directory, the login gate, session
//! records, two-step states, and what a session keeps. Every case runs unchanged against the
//! in-memory store and a real `redis-server` (and, in `make test`, a cluster).
#![allow(clippy::unwrap_used)]

mod common;

use common::contract::{KEY, account, key_slot, rotate_req, start};
use common::{stores, unique_email, unique_ip};
use passport::kernel::authentication::Authentication;
use passport::kernel::clock;
use passport::kernel::ids::Id;
use passport::kernel::store::{Account, AccountStatus, LoginAttempt, NewSession, SessionStart};
use passport::kernel::tokens::refresh::{RefreshToken, TokenDigest};
use passport::sessions::store::{Rotate, Rotation, SessionsAfter};
use passport::testing::store::prelude::*;
use passport::testing::store::{create_session, rotate, session_live};

#[tokio::test]
async fn accounts_create_find_update_delete() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let dup = Account {
            id: Id::random(),
            ..a.clone()
        };
        assert!(
            !s.create_account(&dup).await.unwrap(),
            "{name}: duplicate email accepted"
        );
        assert_eq!(s.account_id(&a.email).await.unwrap(), Some(a.id), "{name}");
        assert_eq!(s.account(a.id).await.unwrap().as_ref(), Some(&a), "{name}");
        assert_eq!(
            s.account_id("nobody@example.com").await.unwrap(),
            None,
            "{name}"
        );
        assert!(s.account(Id::random()).await.unwrap().is_none(), "{name}");

        let keep = SessionsAfter::KeepAll;
        assert!(
            s.set_password(
                a.id,
                "new-hash",
                keep,
                &passport::testing::entry(passport::kernel::activity::Activity::PasswordChanged)
            )
            .await
            .unwrap(),
            "{name}"
        );
        assert_eq!(
            s.account(a.id).await.unwrap().unwrap().password_hash,
            "new-hash"
        );
        assert!(
            !s.set_password(
                Id::random(),
                "x",
                keep,
                &passport::testing::entry(passport::kernel::activity::Activity::PasswordChanged)
            )
            .await
            .unwrap(),
            "{name}"
        );

        let st = start(s, &a, 1000, 2000).await;
        assert!(
            s.set_status(a.id, AccountStatus::Disabled).await.unwrap(),
            "{name}"
        );
        assert!(
            !session_live(s, a.id, st.session, clock::now()).await,
            "{name}: disable kept a session"
        );
        assert_eq!(
            s.account(a.id).await.unwrap().unwrap().status,
            AccountStatus::Disabled
        );
        assert!(
            s.set_status(a.id, AccountStatus::Active).await.unwrap(),
            "{name}"
        );

        let st = start(s, &a, 1000, 2000).await;
        assert!(s.delete_account(a.id).await.unwrap(), "{name}");
        assert!(
            !session_live(s, a.id, st.session, clock::now()).await,
            "{name}: delete kept a session"
        );
        assert_eq!(
            s.account_id(&a.email).await.unwrap(),
            None,
            "{name}: email index survived"
        );
        assert!(!s.delete_account(a.id).await.unwrap(), "{name}");
        // The email is free again.
        let again = Account {
            id: Id::random(),
            ..a.clone()
        };
        assert!(s.create_account(&again).await.unwrap(), "{name}");
    }
}

/// Sixteen concurrent creates of one email: exactly one account, the one the email names, and
/// no orphaned record of the others.
#[tokio::test]
async fn concurrent_creates_of_one_email_make_one_account() {
    for (name, store) in stores().await {
        let email = unique_email();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                let a = Account {
                    id: Id::random(),
                    email: email.clone(),
                    password_hash: "$argon2id$stub".into(),
                    status: AccountStatus::Active,
                    created_at: clock::now(),
                    password_version: 0,
                    email_verified: true,
                    second_factor: false,
                };
                tokio::spawn(async move { (a.id, store.create_account(&a).await.unwrap()) })
            })
            .collect();
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for t in tasks {
            let (id, created) = t.await.unwrap();
            if created {
                winners.push(id)
            } else {
                losers.push(id)
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "{name}: {} accounts for one email",
            winners.len()
        );
        assert_eq!(
            store.account_id(&email).await.unwrap(),
            Some(winners[0]),
            "{name}"
        );
        assert!(store.account(winners[0]).await.unwrap().is_some(), "{name}");
        for id in losers {
            assert!(
                store.account(id).await.unwrap().is_none(),
                "{name}: orphaned record"
            );
        }
    }
}

/// Redis only: the winning record is durable (no TTL left from its provisional write).
#[tokio::test]
async fn a_created_account_record_is_durable() {
    let store = common::redis_store().await;
    let a = account(&store).await;
    let mut c = common::raw_redis().await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("pp:{{{}}}:acct", a.id))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(ttl, -1);
}

#[tokio::test]
async fn sessions_start_only_for_active_accounts() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        s.set_status(a.id, AccountStatus::Disabled).await.unwrap();
        let now = clock::now();
        let mut new = NewSession {
            account: a.id,
            session: Id::random(),
            digest: TokenDigest([1; 32]),
            family: TokenDigest([2; 32]),
            device: None,
            user_agent: None,
            ip: None,
            now,
            expires_at: now + 100,
            absolute_expires_at: now + 100,
            password_version: 0,
            max_sessions: 100,
            via: None,
        };
        assert_eq!(
            create_session(s, &new, &a.email).await,
            SessionStart::AccountDisabled,
            "{name}"
        );
        new.account = Id::random();
        assert_eq!(
            create_session(s, &new, &a.email).await,
            SessionStart::AccountMissing,
            "{name}"
        );
        assert!(
            !session_live(s, new.account, new.session, now).await,
            "{name}"
        );
    }
}

/// Revoking a session that has expired but whose record is still there (not yet pruned, or
/// not yet expired by Redis's own clock) answers "no such session" on both stores alike.
#[tokio::test]
async fn a_live_session_tells_its_email_in_the_same_read() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 100, 100).await;
        let live = s
            .live_session(a.id, st.session, clock::now())
            .await
            .unwrap();
        assert_eq!(live.map(|l| l.email), Some(Some(a.email.clone())), "{name}");
        assert!(
            s.revoke_session(a.id, st.session, clock::now())
                .await
                .unwrap()
        );
        assert_eq!(
            s.live_session(a.id, st.session, clock::now())
                .await
                .unwrap(),
            None,
            "{name}"
        );
        assert_eq!(
            s.live_session(a.id, Id::random(), clock::now())
                .await
                .unwrap(),
            None,
            "{name}"
        );
    }
}

#[tokio::test]
async fn revoking_an_expired_unpruned_session_finds_nothing() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 100, 100).await;
        let later = clock::now() + 200;
        assert!(
            !s.revoke_session(a.id, st.session, later).await.unwrap(),
            "{name}"
        );
        let live = start(s, &a, 100, 100).await;
        assert!(
            s.revoke_session(a.id, live.session, clock::now())
                .await
                .unwrap(),
            "{name}"
        );
    }
}

/// A login attempt at the gate, in a window of 60 s, `ip_max` failures allowed to the address
/// (and as many to an email from one network).
fn attempt<'a>(email: &'a str, ip: Option<&'a str>, ip_max: u64, now: i64) -> LoginAttempt<'a> {
    LoginAttempt {
        email,
        ip,
        window: 60,
        ip_max_failures: ip_max,
        pair_max_failures: ip_max,
        now,
    }
}

#[tokio::test]
async fn login_attempts_are_counted_per_email_and_address_and_per_email() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let ip = unique_ip();
        let now = clock::now();
        // Each attempt is counted before its password is checked, the address's failures
        // included (a reservation a success gives back).
        for n in 1..=3u64 {
            let st = s
                .reserve_login(&attempt(&a.email, Some(&ip), 50, now))
                .await
                .unwrap();
            assert_eq!(st.account, Some(a.id), "{name}");
            assert_eq!(st.pair_attempts.count, n, "{name}");
            assert_eq!(st.account_attempts.count, n, "{name}");
            assert_eq!(st.ip_failures.count, n, "{name}");
            assert!((1..=60).contains(&st.pair_attempts.retry_after), "{name}");
            assert!(
                (1..=60).contains(&st.account_attempts.retry_after),
                "{name}"
            );
        }
        // A success gives its reservation back: never below zero, the window unchanged.
        s.release_ip_attempt(&ip, now).await.unwrap();
        let st = s
            .reserve_login(&attempt(&a.email, Some(&ip), 50, now))
            .await
            .unwrap();
        assert_eq!(st.ip_failures.count, 3, "{name}");
        assert_eq!(
            (st.pair_attempts.count, st.account_attempts.count),
            (4, 4),
            "{name}"
        );
        // Another email from the same address is counted apart; the address's failures are
        // the same ones.
        let other = s
            .reserve_login(&attempt(&unique_email(), Some(&ip), 50, now))
            .await
            .unwrap();
        assert_eq!(other.account, None, "{name}");
        assert_eq!(
            (other.pair_attempts.count, other.account_attempts.count),
            (1, 1),
            "{name}"
        );
        assert_eq!(other.ip_failures.count, 4, "{name}");
        // The same email from another address: a pair of its own, the same account-wide count.
        let elsewhere = s
            .reserve_login(&attempt(&a.email, Some(&unique_ip()), 50, now))
            .await
            .unwrap();
        assert_eq!(
            (
                elsewhere.pair_attempts.count,
                elsewhere.account_attempts.count
            ),
            (1, 5),
            "{name}"
        );
        assert_eq!(elsewhere.ip_failures.count, 1, "{name}");
        // An address at its failure limit is refused and counted nowhere.
        let blocked = s
            .reserve_login(&attempt(&a.email, Some(&ip), 4, now))
            .await
            .unwrap();
        assert!(blocked.ip_blocked, "{name}");
        let st = s
            .reserve_login(&attempt(&a.email, Some(&ip), 50, now))
            .await
            .unwrap();
        assert!(!st.ip_blocked, "{name}");
        assert_eq!(
            (
                st.pair_attempts.count,
                st.account_attempts.count,
                st.ip_failures.count
            ),
            (5, 6, 5),
            "{name}: the refused attempt was counted"
        );
        // A success clears both of the email's counts, not the address's failures.
        s.clear_attempts(&a.email, Some(&ip)).await.unwrap();
        let st = s
            .reserve_login(&attempt(&a.email, Some(&ip), 50, now))
            .await
            .unwrap();
        assert_eq!(
            (st.pair_attempts.count, st.account_attempts.count),
            (1, 1),
            "{name}"
        );
        assert_eq!(st.ip_failures.count, 6, "{name}");
        for _ in 0..10 {
            s.release_ip_attempt(&ip, now).await.unwrap();
        }
        let st = s
            .reserve_login(&attempt(&a.email, None, 50, now))
            .await
            .unwrap();
        assert_eq!(
            st.ip_failures.count, 0,
            "{name}: never below zero; no address, none counted"
        );
    }
}

/// Beyond the cap, a new session ends the least recently used ones (the first to expire), in
/// the same atomic step; the new one always lives.
#[tokio::test]
async fn the_session_cap_ends_the_least_recently_used() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let mut started = Vec::new();
        for _ in 0..3 {
            started.push(start(s, &a, 1000, 2000).await);
        }
        // The first session is used now: its expiry moves past the others'.
        let first = &started[0];
        let mut r = rotate_req(&a, first, &first.token, &first.token.successor(&KEY));
        r.idle_ttl = 1500;
        assert!(
            matches!(rotate(s, &r).await, Rotation::Rotated { .. }),
            "{name}"
        );
        let now = clock::now();
        let new = NewSession {
            max_sessions: 2,
            via: None,
            ..new_session(&a, Id::random(), now)
        };
        assert!(matches!(
            create_session(s, &new, &a.email).await,
            SessionStart::Started { .. }
        ));
        let mut live: Vec<Id> = s
            .list_sessions(a.id, now)
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect();
        live.sort();
        let mut want = vec![first.session, new.session];
        want.sort();
        assert_eq!(live, want, "{name}: the two least recently used ended");
        // A burst of logins at the cap keeps each new one.
        for _ in 0..3 {
            let burst = NewSession {
                max_sessions: 2,
                via: None,
                ..new_session(&a, Id::random(), now)
            };
            create_session(s, &burst, &a.email).await;
            assert!(session_live(s, a.id, burst.session, now).await, "{name}");
            assert_eq!(s.list_sessions(a.id, now).await.unwrap().len(), 2, "{name}");
        }
    }
}

fn new_session(a: &Account, session: Id, now: i64) -> NewSession {
    passport::testing::new_session(a.id, session, now).0
}

/// A password change moves the version on and ends sessions in one step; a login that checked
/// the old password cannot start a session afterwards (either order of the race).
#[tokio::test]
async fn a_password_change_ends_sessions_and_stale_logins() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let keep = start(s, &a, 1000, 2000).await;
        let other = start(s, &a, 1000, 2000).await;
        // Order 1: a login read version 0 and checked the password; the change commits first.
        let checked = s.account(a.id).await.unwrap().unwrap().password_version;
        let only = SessionsAfter::KeepOnly(keep.session);
        assert!(
            s.set_password(
                a.id,
                "hash-2",
                only,
                &passport::testing::entry(passport::kernel::activity::Activity::PasswordChanged)
            )
            .await
            .unwrap(),
            "{name}"
        );
        let now = clock::now();
        assert!(session_live(s, a.id, keep.session, now).await, "{name}");
        assert!(!session_live(s, a.id, other.session, now).await, "{name}");
        let stale = NewSession {
            password_version: checked,
            ..new_session(&a, Id::random(), now)
        };
        assert_eq!(
            create_session(s, &stale, &a.email).await,
            SessionStart::PasswordChanged,
            "{name}"
        );
        assert!(!session_live(s, a.id, stale.session, now).await, "{name}");
        // Order 2: the login's session commits first; the change then ends it.
        let version = s.account(a.id).await.unwrap().unwrap().password_version;
        assert_eq!(version, checked + 1, "{name}");
        let early = NewSession {
            password_version: version,
            ..new_session(&a, Id::random(), now)
        };
        assert!(matches!(
            create_session(s, &early, &a.email).await,
            SessionStart::Started { .. }
        ));
        assert!(
            s.set_password(
                a.id,
                "hash-3",
                SessionsAfter::EndAll,
                &passport::testing::entry(passport::kernel::activity::Activity::PasswordChanged)
            )
            .await
            .unwrap()
        );
        assert!(!session_live(s, a.id, early.session, now).await, "{name}");
        assert!(!session_live(s, a.id, keep.session, now).await, "{name}");
        assert!(
            s.list_sessions(a.id, now).await.unwrap().is_empty(),
            "{name}"
        );
    }
}

#[test]
fn key_slot_matches_redis_reference_values() {
    // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
    assert_eq!(key_slot("123456789"), 0x31C3);
    assert_eq!(key_slot("foo"), 12182);
    assert_eq!(
        key_slot("{user1000}.following"),
        key_slot("{user1000}.followers")
    );
    // The specification's examples: an empty `{}` tags nothing, so the whole key is hashed;
    // the tag ends at the first `}`; only the first `{` counts.
    assert_ne!(key_slot("foo{}{bar}"), key_slot("bar"));
    assert_eq!(key_slot("foo{{bar}}zap"), key_slot("{bar"));
    assert_eq!(key_slot("foo{bar}{zap}"), key_slot("bar"));
    assert_ne!(key_slot("{a}x"), key_slot("{b}x"));
}

/// Redis only: every key the session side writes carries a TTL, and one account's keys share a
/// hash slot. The directory (account hash, email index) is durable by design.
#[tokio::test]
async fn redis_keys_have_ttls_and_share_the_account_slot() {
    let store = common::redis_store().await;
    let a = account(&store).await;
    let st = start(&store, &a, 1000, 2000).await;
    let ip = unique_ip();
    rotate(
        &store,
        &rotate_req(&a, &st, &st.token, &st.token.successor(&KEY)),
    )
    .await;
    store
        .reserve_login(&attempt(&a.email, Some(&ip), 50, clock::now()))
        .await
        .unwrap();
    start(&store, &a, 1000, 2000).await;
    store
        .reserve_login(&attempt(&a.email, None, 50, clock::now()))
        .await
        .unwrap();

    let mut c = common::raw_redis().await;
    let account_tag = format!("{{{}}}", a.id);
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("pp:{account_tag}:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    keys.extend(
        redis::cmd("KEYS")
            .arg(format!("pp:{{ip:{ip}}}:*"))
            .query_async::<Vec<String>>(&mut c)
            .await
            .unwrap(),
    );
    assert!(keys.len() >= 5, "{keys:?}");
    let mut slots = std::collections::HashSet::new();
    for key in &keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap();
        if key.ends_with(":acct") {
            assert_eq!(ttl, -1, "{key}: the directory is durable");
        } else {
            assert!(ttl > 0, "{key} has no TTL ({ttl})");
        }
        if key.contains(&account_tag) {
            slots.insert(key_slot(key));
        }
    }
    assert_eq!(slots.len(), 1, "account keys span slots: {keys:?}");
}

#[tokio::test]
async fn a_ceremony_is_taken_once() {
    for (name, store) in stores().await {
        let id = Id::random();
        let now = clock::now();
        store.put_state(id, "state", 60, now).await.unwrap();
        assert_eq!(
            store.take_state(id, now).await.unwrap().as_deref(),
            Some("state"),
            "{name}"
        );
        assert_eq!(store.take_state(id, now).await.unwrap(), None, "{name}");
        assert_eq!(store.take_state(Id::random(), now).await.unwrap(), None);
    }
}

#[tokio::test]
async fn a_session_keeps_its_authentication_and_agent_until_reauthenticated() {
    for (name, store) in stores().await {
        let a = account(&*store).await;
        let now = clock::now();
        let token = RefreshToken::new(a.id, Id::random());
        let new = NewSession {
            account: a.id,
            session: token.session(),
            digest: token.digest(),
            family: token.family_digest(),
            device: None,
            user_agent: Some("Mozilla/5.0".into()),
            ip: None,
            now,
            expires_at: now + 60,
            absolute_expires_at: now + 600,
            password_version: 0,
            max_sessions: 10,
            via: None,
        };
        let by_passkey = Authentication::passkey(now - 5);
        let started = store
            .start_session(&new, &a.email, &by_passkey, Some("Chrome 156 on Linux"))
            .await
            .unwrap();
        assert_eq!(
            started,
            SessionStart::Started { new_device: false },
            "{name}"
        );
        let s = token.session();
        let read = store.session_authentication(a.id, s, now).await.unwrap();
        assert_eq!(read, Some(by_passkey.clone()), "{name}");
        let listed = store.list_sessions(a.id, now).await.unwrap();
        assert_eq!(
            listed[0].agent.as_deref(),
            Some("Chrome 156 on Linux"),
            "{name}"
        );
        assert_eq!(listed[0].authentication, by_passkey, "{name}");

        // A rotation hands the authentication on, unchanged.
        let successor = token.successor(&[7; 32]);
        let (rotation, carried) = store
            .rotate(&Rotate {
                account: a.id,
                session: s,
                presented: token.digest(),
                successor: successor.digest(),
                family: token.family_digest(),
                request_id: [1; 16],
                now,
                idle_ttl: 60,
                grace: 5,
                device: None,
            })
            .await
            .unwrap();
        assert!(matches!(rotation, Rotation::Rotated { .. }), "{name}");
        let carried = carried.unwrap();
        assert_eq!(carried.authentication, by_passkey, "{name}");
        assert!(
            carried.email_verified,
            "{name}: an operator's account is verified"
        );

        let again = Authentication::password(now);
        assert!(store.reauthenticate(a.id, s, &again, now).await.unwrap());
        let read = store.session_authentication(a.id, s, now).await.unwrap();
        assert_eq!(read, Some(again.clone()), "{name}");
        assert!(store.revoke_session(a.id, s, now).await.unwrap());
        assert!(
            !store.reauthenticate(a.id, s, &again, now).await.unwrap(),
            "{name}"
        );
        assert_eq!(
            store.session_authentication(a.id, s, now).await.unwrap(),
            None
        );
    }
}
