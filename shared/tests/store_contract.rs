//! The store contract: every case runs unchanged against the in-memory store and a real
//! `redis-server`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{stores, unique_code, unique_email, unique_ip};
use passport::api::Store;
use passport::kernel::authentication::Authentication;
use passport::kernel::clock;
use passport::kernel::ids::Id;
use passport::kernel::store::{Account, AccountStatus, LoginAttempt, NewSession, SessionStart};
use passport::kernel::tokens::refresh::{RefreshToken, TokenDigest};
use passport::passkeys::store::{PasskeyAdded, PasskeyRemoved, StoredPasskey};
use passport::passports::store::{App, AppAccess, PassportOutcome, PassportStart};
use passport::sessions::store::{Rotate, Rotation, SessionsAfter};
use passport::testing::store::prelude::*;
use passport::testing::store::{create_session, rotate, session_live, token_matches};
use std::sync::Arc;

async fn account(store: &dyn Store) -> Account {
    let a = Account {
        id: Id::random(),
        email: unique_email(),
        password_hash: "$argon2id$stub-not-verified-here".into(),
        status: AccountStatus::Active,
        created_at: clock::now(),
        password_version: 0,
    };
    assert!(store.create_account(&a).await.unwrap());
    a
}

struct Started {
    session: Id,
    token: RefreshToken,
}

async fn start(store: &dyn Store, a: &Account, idle: i64, absolute: i64) -> Started {
    let session = Id::random();
    let token = RefreshToken::new(a.id, session);
    let now = clock::now();
    let new = NewSession {
        account: a.id,
        session,
        digest: token.digest(),
        family: token.family_digest(),
        device: Some("phone".into()),
        user_agent: Some("test-agent".into()),
        ip: Some("198.51.100.1".into()),
        now,
        expires_at: (now + idle).min(now + absolute),
        absolute_expires_at: now + absolute,
        password_version: store.account(a.id).await.unwrap().unwrap().password_version,
        max_sessions: 100,
    };
    assert_eq!(
        create_session(store, &new, &a.email).await,
        SessionStart::Started
    );
    Started { session, token }
}

fn rotate_req(
    a: &Account,
    s: &Started,
    presented: &RefreshToken,
    successor: &RefreshToken,
) -> Rotate {
    Rotate {
        account: a.id,
        session: s.session,
        presented: presented.digest(),
        successor: successor.digest(),
        family: presented.family_digest(),
        request_id: passport::kernel::ids::random_bytes(),
        now: clock::now(),
        idle_ttl: 1000,
        grace: 10,
    }
}

const KEY: [u8; 32] = [7; 32];

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
            s.set_password(a.id, "new-hash", keep).await.unwrap(),
            "{name}"
        );
        assert_eq!(
            s.account(a.id).await.unwrap().unwrap().password_hash,
            "new-hash"
        );
        assert!(
            !s.set_password(Id::random(), "x", keep).await.unwrap(),
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

#[tokio::test]
async fn rotation_slides_expiry_within_the_absolute_limit() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 100, 500).await;
        let next = st.token.successor(&KEY);
        let mut r = rotate_req(&a, &st, &st.token, &next);
        let now = r.now;
        match rotate(s, &r).await {
            Rotation::Rotated { expires_at } => {
                assert_eq!(expires_at, now + 500, "{name}: capped by absolute")
            }
            other => panic!("{name}: {other:?}"),
        }
        // With a short idle lifetime the expiry is now + idle.
        let third = next.successor(&KEY);
        r = rotate_req(&a, &st, &next, &third);
        r.idle_ttl = 50;
        match rotate(s, &r).await {
            Rotation::Rotated { expires_at } => assert_eq!(expires_at, r.now + 50, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        let listed = s.list_sessions(a.id, clock::now()).await.unwrap();
        assert_eq!(listed[0].expires_at, r.now + 50, "{name}");
        assert_eq!(listed[0].last_used_at, r.now, "{name}");
    }
}

#[tokio::test]
async fn previous_token_in_grace_gets_the_same_successor_and_after_grace_revokes() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 1000, 2000).await;
        let next = st.token.successor(&KEY);
        let first = rotate_req(&a, &st, &st.token, &next);
        assert!(
            matches!(rotate(s, &first).await, Rotation::Rotated { .. }),
            "{name}"
        );

        // Same old token again, inside the window: same successor, nothing changes.
        assert!(
            matches!(rotate(s, &first).await, Rotation::Replayed { .. }),
            "{name}"
        );
        // Inside the window but with a different successor (another key): refused, not revoked.
        let other = rotate_req(&a, &st, &st.token, &st.token.successor(&[9; 32]));
        assert_eq!(rotate(s, &other).await, Rotation::Invalid, "{name}");
        assert!(
            session_live(s, a.id, st.session, clock::now()).await,
            "{name}"
        );

        // An unknown token is invalid and harmless.
        let stranger = RefreshToken::new(a.id, st.session);
        let r = rotate_req(&a, &st, &stranger, &stranger.successor(&KEY));
        assert_eq!(rotate(s, &r).await, Rotation::Invalid, "{name}");
        assert!(
            session_live(s, a.id, st.session, clock::now()).await,
            "{name}"
        );

        // The window is at least `grace` whole seconds: still a replay at its last second.
        let last_second = Rotate {
            now: first.now + 10,
            request_id: passport::kernel::ids::random_bytes(),
            ..first.clone()
        };
        assert!(
            matches!(rotate(s, &last_second).await, Rotation::Replayed { .. }),
            "{name}"
        );

        // The old token after the window: theft. The session is gone.
        let late = Rotate {
            now: first.now + 11,
            request_id: passport::kernel::ids::random_bytes(),
            ..first.clone()
        };
        assert_eq!(rotate(s, &late).await, Rotation::Reused, "{name}");
        assert!(
            !session_live(s, a.id, st.session, clock::now()).await,
            "{name}"
        );
        let cur = rotate_req(&a, &st, &next, &next.successor(&KEY));
        assert_eq!(
            rotate(s, &cur).await,
            Rotation::Invalid,
            "{name}: successor survived reuse"
        );
    }
}

#[tokio::test]
async fn concurrent_rotations_of_one_token_rotate_once() {
    for (name, store) in stores().await {
        let a = account(&*store).await;
        let st = start(&*store, &a, 1000, 2000).await;
        let next = st.token.successor(&KEY);
        let req = rotate_req(&a, &st, &st.token, &next);
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (store, req) = (store.clone(), req.clone());
                tokio::spawn(async move { rotate(&*store, &req).await })
            })
            .collect();
        let mut rotated = 0;
        for t in tasks {
            match t.await.unwrap() {
                Rotation::Rotated { .. } => rotated += 1,
                Rotation::Replayed { .. } => {}
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(rotated, 1, "{name}");
    }
}

#[tokio::test]
async fn token_matches_current_and_previous_only() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 1000, 2000).await;
        let now = clock::now();
        assert!(
            token_matches(s, a.id, st.session, &st.token.digest(), now).await,
            "{name}"
        );
        let next = st.token.successor(&KEY);
        rotate(s, &rotate_req(&a, &st, &st.token, &next)).await;
        assert!(
            token_matches(s, a.id, st.session, &next.digest(), now).await,
            "{name}"
        );
        assert!(
            token_matches(s, a.id, st.session, &st.token.digest(), now).await,
            "{name}"
        );
        let other = RefreshToken::new(a.id, st.session);
        assert!(
            !token_matches(s, a.id, st.session, &other.digest(), now).await,
            "{name}"
        );
        assert!(
            !token_matches(s, a.id, Id::random(), &next.digest(), now).await,
            "{name}"
        );
    }
}

#[tokio::test]
async fn revoke_one_and_all_and_list() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let one = start(s, &a, 1000, 2000).await;
        let two = start(s, &a, 1000, 2000).await;
        let three = start(s, &a, 1000, 2000).await;
        let now = clock::now();
        let listed = s.list_sessions(a.id, now).await.unwrap();
        assert_eq!(listed.len(), 3, "{name}");
        assert_eq!(listed[0].device.as_deref(), Some("phone"), "{name}");
        assert_eq!(
            listed[0].user_agent.as_deref(),
            Some("test-agent"),
            "{name}"
        );
        assert_eq!(listed[0].ip.as_deref(), Some("198.51.100.1"), "{name}");

        assert!(
            s.revoke_session(a.id, one.session, clock::now())
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !s.revoke_session(a.id, one.session, clock::now())
                .await
                .unwrap(),
            "{name}: revoked twice"
        );
        // Another account's session id is not found under this account.
        let b = account(s).await;
        assert!(
            !s.revoke_session(b.id, two.session, clock::now())
                .await
                .unwrap(),
            "{name}"
        );
        assert!(session_live(s, a.id, two.session, now).await, "{name}");
        assert!(!session_live(s, a.id, one.session, now).await, "{name}");

        assert_eq!(s.revoke_all(a.id).await.unwrap(), 2, "{name}");
        for st in [&two, &three] {
            assert!(!session_live(s, a.id, st.session, now).await, "{name}");
        }
        assert!(
            s.list_sessions(a.id, now).await.unwrap().is_empty(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn expired_sessions_are_dead_and_unlisted() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let short = start(s, &a, 1, 1).await;
        let long = start(s, &a, 1000, 2000).await;
        // The in-memory store keeps time by the `now` it is given; Redis's TTLs run on its own
        // clock, which only waiting moves.
        let now = if name == "memory" {
            clock::now() + 3
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
            clock::now()
        };
        assert!(!session_live(s, a.id, short.session, now).await, "{name}");
        let listed: Vec<Id> = s
            .list_sessions(a.id, now)
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect();
        assert_eq!(listed, vec![long.session], "{name}");
        let next = short.token.successor(&KEY);
        assert_eq!(
            rotate(s, &rotate_req(&a, &short, &short.token, &next)).await,
            Rotation::Invalid,
            "{name}: expired session rotated"
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

/// A login attempt at the gate, in a window of 60 s, `ip_max` failures allowed to the address.
fn attempt<'a>(email: &'a str, ip: Option<&'a str>, ip_max: u64, now: i64) -> LoginAttempt<'a> {
    LoginAttempt {
        email,
        ip,
        window: 60,
        ip_max_failures: ip_max,
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
            ..new_session(&a, Id::random(), now)
        };
        assert_eq!(
            create_session(s, &new, &a.email).await,
            SessionStart::Started
        );
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
            s.set_password(a.id, "hash-2", only).await.unwrap(),
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
        assert_eq!(
            create_session(s, &early, &a.email).await,
            SessionStart::Started
        );
        assert!(
            s.set_password(a.id, "hash-3", SessionsAfter::EndAll)
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

/// Redis Cluster's hash slot of a key (CRC16/XMODEM of the hash tag, mod 16384).
fn key_slot(key: &str) -> u16 {
    let tagged = match key.find('{') {
        Some(open) => match key[open + 1..].find('}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for &b in tagged.as_bytes() {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
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
async fn digests_one_byte_off_are_refused() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 1000, 2000).await;
        let next = st.token.successor(&KEY);
        for at in [0, 31] {
            let mut wrong = st.token.digest();
            wrong.0[at] ^= 1;
            let now = clock::now();
            let matches = token_matches(s, a.id, st.session, &wrong, now).await;
            assert!(!matches, "{name}: byte {at}");
            let mut r = rotate_req(&a, &st, &st.token, &next);
            r.presented = wrong;
            // A family one byte off too: nothing of this token is the session's.
            r.family.0[at] ^= 1;
            assert_eq!(rotate(s, &r).await, Rotation::Invalid, "{name}: byte {at}");
        }
        let now = clock::now();
        let matches = token_matches(s, a.id, st.session, &st.token.digest(), now).await;
        assert!(matches, "{name}: the session is still usable");
    }
}

#[tokio::test]
async fn grace_zero_turns_replays_off() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 1000, 2000).await;
        let first = Rotate {
            grace: 0,
            ..rotate_req(&a, &st, &st.token, &st.token.successor(&KEY))
        };
        assert!(
            matches!(rotate(s, &first).await, Rotation::Rotated { .. }),
            "{name}"
        );
        // The store retrying the same request (a dropped connection after the rotation ran):
        // not reuse, even with no grace.
        assert!(
            matches!(rotate(s, &first).await, Rotation::Replayed { .. }),
            "{name}: a retry judged as reuse"
        );
        // Anyone else presenting the spent token: reuse.
        let replay = Rotate {
            request_id: passport::kernel::ids::random_bytes(),
            ..first.clone()
        };
        assert_eq!(rotate(s, &replay).await, Rotation::Reused, "{name}");
    }
}

/// Rotates `generations` times from the session's first token; returns every token, first to
/// current, and the time of the last rotation.
async fn chain(s: &dyn Store, a: &Account, st: &Started, generations: usize) -> Vec<RefreshToken> {
    let mut tokens = vec![st.token.clone()];
    for _ in 0..generations {
        let last = tokens.last().unwrap().clone();
        let next = last.successor(&KEY);
        let r = rotate_req(a, st, &last, &next);
        assert!(matches!(rotate(s, &r).await, Rotation::Rotated { .. }));
        tokens.push(next);
    }
    tokens
}

/// RFC 9700 §4.14.2: any spent token of the chain, however old, revokes the session.
#[tokio::test]
async fn a_spent_ancestor_of_any_generation_revokes_the_session() {
    for (name, store) in stores().await {
        let s = &*store;
        for (generations, presented) in [(2, 0), (10, 0), (10, 7)] {
            let a = account(s).await;
            let st = start(s, &a, 1000, 2000).await;
            let tokens = chain(s, &a, &st, generations).await;
            // Well inside the grace window of the last rotation: an older generation is reuse
            // all the same (only the just-rotated token has a window).
            let old = &tokens[presented];
            let r = rotate_req(&a, &st, old, &old.successor(&KEY));
            assert_eq!(
                rotate(s, &r).await,
                Rotation::Reused,
                "{name}: generation {presented} of {generations}"
            );
            let now = clock::now();
            assert!(!session_live(s, a.id, st.session, now).await, "{name}");
            let current = tokens.last().unwrap();
            let r = rotate_req(&a, &st, current, &current.successor(&KEY));
            assert_eq!(
                rotate(s, &r).await,
                Rotation::Invalid,
                "{name}: the thief's token lives on"
            );
        }
    }
}

/// Session ids are not secret: a token that names a real session but was never issued (its
/// family secret forged) is refused and ends nothing.
#[tokio::test]
async fn a_forged_token_for_a_real_session_revokes_nothing() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 1000, 2000).await;
        let tokens = chain(s, &a, &st, 3).await;
        let forged = st.token.forged();
        let r = Rotate {
            now: clock::now() + 100,
            ..rotate_req(&a, &st, &forged, &forged.successor(&KEY))
        };
        assert_eq!(rotate(s, &r).await, Rotation::Invalid, "{name}");
        let current = tokens.last().unwrap();
        let now = clock::now();
        assert!(
            token_matches(s, a.id, st.session, &current.digest(), now).await,
            "{name}: the session lives on"
        );
        // Whoever knows the family (a holder of any generation) is treated as reuse.
        let same_family = current.with_generation_secret([5; 16]);
        let r = rotate_req(&a, &st, &same_family, &same_family.successor(&KEY));
        assert_eq!(rotate(s, &r).await, Rotation::Reused, "{name}");
    }
}

fn new_app(code: &str) -> App {
    App {
        id: Id::random(),
        code: code.to_string(),
        name: "contract".into(),
        access: AppAccess::Public,
        passport_ttl: 600,
        enabled: true,
        created_at: clock::now(),
    }
}

fn passport_start(app: Id, account: Option<Id>, renew: Option<Id>, create: bool) -> PassportStart {
    let now = clock::now();
    PassportStart {
        app,
        renew,
        session: Id::random(),
        end_user: Id::random(),
        account,
        create,
        expires_at: now + 600,
        keep_until: now + 1200,
    }
}

#[tokio::test]
async fn apps_are_one_per_code_and_their_passport_sessions_follow_them() {
    for (name, store) in stores().await {
        let s = &*store;
        let now = clock::now();
        let code = unique_code();
        let app = new_app(&code);
        assert!(s.create_app(&app).await.unwrap(), "{name}");
        let same_code = App {
            id: Id::random(),
            ..app.clone()
        };
        assert!(!s.create_app(&same_code).await.unwrap(), "{name}");
        assert_eq!(
            s.app_by_code(&code).await.unwrap(),
            Some(app.clone()),
            "{name}"
        );
        assert!(s.list_apps().await.unwrap().contains(&app), "{name}");
        assert!(
            !s.set_app_enabled(Id::random(), false).await.unwrap(),
            "{name}"
        );

        // A new anonymous session, renewed for the same end user; an unknown one is gone.
        let first = passport_start(app.id, None, None, true);
        let PassportOutcome::Started { end_user } = s.start_passport(&first, now).await.unwrap()
        else {
            panic!("{name}: not started");
        };
        assert_eq!(end_user, first.end_user, "{name}");
        assert!(
            s.passport_live(app.id, first.session, now).await.unwrap(),
            "{name}"
        );
        let renew = passport_start(app.id, None, Some(first.session), false);
        assert_eq!(
            s.start_passport(&renew, now).await.unwrap(),
            PassportOutcome::Renewed { end_user },
            "{name}"
        );
        let unknown = passport_start(app.id, None, Some(Id::random()), false);
        assert_eq!(
            s.start_passport(&unknown, now).await.unwrap(),
            PassportOutcome::Gone
        );
        // Another account's passport session is not renewed for this one.
        let account = Id::random();
        let theirs = passport_start(app.id, Some(account), Some(first.session), false);
        assert_eq!(
            s.start_passport(&theirs, now).await.unwrap(),
            PassportOutcome::Gone
        );
        // An account has one end user per app.
        let a1 = passport_start(app.id, Some(account), None, true);
        let a2 = passport_start(app.id, Some(account), None, true);
        let (PassportOutcome::Started { end_user: e1 }, PassportOutcome::Started { end_user: e2 }) = (
            s.start_passport(&a1, now).await.unwrap(),
            s.start_passport(&a2, now).await.unwrap(),
        ) else {
            panic!("{name}: not started");
        };
        assert_eq!((e1, e2), (a1.end_user, a1.end_user), "{name}");

        // Disabling refuses every session of the app and any start; enabling brings them back.
        assert!(s.set_app_enabled(app.id, false).await.unwrap(), "{name}");
        assert!(
            !s.passport_live(app.id, first.session, now).await.unwrap(),
            "{name}"
        );
        assert_eq!(
            s.start_passport(&first, now).await.unwrap(),
            PassportOutcome::AppOff
        );
        assert!(
            !s.app_by_code(&code).await.unwrap().unwrap().enabled,
            "{name}"
        );
        assert!(s.set_app_enabled(app.id, true).await.unwrap(), "{name}");
        assert!(
            s.passport_live(app.id, first.session, now).await.unwrap(),
            "{name}"
        );

        assert!(
            s.end_passport(app.id, first.session, now).await.unwrap(),
            "{name}"
        );
        assert!(
            !s.end_passport(app.id, first.session, now).await.unwrap(),
            "{name}"
        );
        assert!(
            !s.passport_live(app.id, first.session, now).await.unwrap(),
            "{name}"
        );

        assert!(s.delete_app(app.id).await.unwrap(), "{name}");
        assert!(!s.delete_app(app.id).await.unwrap(), "{name}");
        assert_eq!(s.app_by_code(&code).await.unwrap(), None, "{name}");
        assert!(
            !s.passport_live(app.id, a1.session, now).await.unwrap(),
            "{name}"
        );
        assert!(!s.list_apps().await.unwrap().contains(&app), "{name}");
        // The code is free again: a new app takes it.
        assert!(s.create_app(&new_app(&code)).await.unwrap(), "{name}");
    }
}

/// Redis only: a passport session shares its app's slot and expires with its record's end; the
/// app's record and code index are durable (the directory).
#[tokio::test]
async fn redis_passport_sessions_expire_and_share_the_apps_slot() {
    let store = common::redis_store().await;
    let app = new_app(&unique_code());
    assert!(store.create_app(&app).await.unwrap());
    let start = passport_start(app.id, Some(Id::random()), None, true);
    store.start_passport(&start, clock::now()).await.unwrap();
    let mut c = common::raw_redis().await;
    let tag = format!("{{app:{}}}", app.id);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("pp:{tag}:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let mut slots = std::collections::HashSet::new();
    for key in &keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap();
        if key.contains(":p:") {
            assert!((1100..=1200).contains(&ttl), "{key}: {ttl}");
        } else {
            assert_eq!(ttl, -1, "{key}: the directory is durable");
        }
        slots.insert(key_slot(key));
    }
    assert_eq!(slots.len(), 1, "{keys:?}");
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("pp:{{ac:{}}}:app", app.code))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(ttl, -1);
}

#[tokio::test]
async fn passkeys_are_kept_per_account_within_their_rules() {
    for (name, store) in stores().await {
        let a = account(&*store).await;
        let key = |id: &str, at: i64| StoredPasskey {
            id: id.into(),
            name: format!("key {id}"),
            created_at: at,
            last_used_at: 0,
            credential: "{\"cred\": 1}".into(),
        };
        let add = |k: StoredPasskey| {
            let store = Arc::clone(&store);
            async move { store.add_passkey(a.id, &k, 2).await.unwrap() }
        };
        assert_eq!(add(key("b", 20)).await, PasskeyAdded::Added, "{name}");
        assert_eq!(add(key("a", 10)).await, PasskeyAdded::Added, "{name}");
        assert_eq!(add(key("a", 30)).await, PasskeyAdded::Exists, "{name}");
        assert_eq!(add(key("c", 40)).await, PasskeyAdded::Full, "{name}");
        let nobody = store.add_passkey(Id::random(), &key("x", 1), 2).await;
        assert_eq!(nobody.unwrap(), PasskeyAdded::NoAccount, "{name}");
        let listed = store.passkeys(a.id).await.unwrap();
        assert_eq!(
            listed,
            vec![key("a", 10), key("b", 20)],
            "{name}: oldest first"
        );

        let used = StoredPasskey {
            last_used_at: 99,
            ..key("a", 10)
        };
        assert!(store.update_passkey(a.id, &used).await.unwrap(), "{name}");
        assert!(
            !store.update_passkey(a.id, &key("z", 1)).await.unwrap(),
            "{name}"
        );
        assert_eq!(store.passkeys(a.id).await.unwrap()[0], used, "{name}");

        // Without a password, the last passkey stays; with one, it may go.
        assert!(
            store
                .set_password(a.id, "", SessionsAfter::KeepAll)
                .await
                .unwrap()
        );
        let remove = |id: &'static str| {
            let store = Arc::clone(&store);
            async move { store.remove_passkey(a.id, id).await.unwrap() }
        };
        assert_eq!(remove("a").await, PasskeyRemoved::Removed, "{name}");
        assert_eq!(remove("a").await, PasskeyRemoved::Missing, "{name}");
        assert_eq!(remove("b").await, PasskeyRemoved::Last, "{name}");
        assert!(
            store
                .set_password(a.id, "x", SessionsAfter::KeepAll)
                .await
                .unwrap()
        );
        assert_eq!(remove("b").await, PasskeyRemoved::Removed, "{name}");

        // Deleting the account deletes its passkeys.
        assert_eq!(add(key("d", 50)).await, PasskeyAdded::Added, "{name}");
        assert!(store.delete_account(a.id).await.unwrap());
        assert!(store.passkeys(a.id).await.unwrap().is_empty(), "{name}");
    }
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
        };
        let by_passkey = Authentication::passkey(now - 5, false);
        let started = store
            .start_session(&new, &a.email, &by_passkey, Some("Chrome 156 on Linux"))
            .await
            .unwrap();
        assert_eq!(started, SessionStart::Started, "{name}");
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
            })
            .await
            .unwrap();
        assert!(matches!(rotation, Rotation::Rotated { .. }), "{name}");
        assert_eq!(carried, Some(by_passkey), "{name}");

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
