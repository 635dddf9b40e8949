//! The store contract, the sessions feature's slice: rotation, the grace window, reuse
//! detection, revocation and the session list, on the in-memory store and a real Redis.
#![allow(clippy::unwrap_used)]

mod common;

use common::contract::{KEY, Started, account, rotate_req, start};
use common::stores;
use passport::api::Store;
use passport::kernel::clock;
use passport::kernel::ids::Id;
use passport::kernel::store::Account;
use passport::kernel::tokens::refresh::RefreshToken;
use passport::sessions::store::{Rotate, Rotation};
use passport::testing::store::{rotate, session_live, token_matches};

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

        assert_eq!(
            s.revoke_all(
                a.id,
                &passport::testing::entry(
                    passport::kernel::activity::Activity::SignedOutEverywhere
                )
            )
            .await
            .unwrap(),
            2,
            "{name}"
        );
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

#[tokio::test]
async fn digests_one_byte_off_are_refused() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 1000, 2000).await;
        let next = st.token.successor(&KEY);
        // The first byte and the last the Redis store keeps (it keeps 192 bits of a digest).
        for at in [0, passport::kernel::tokens::refresh::STORED_BYTES - 1] {
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

/// Issue #34, 1: with binding required, a session bound to a device key rotates, and replays
/// within the grace, only for a cookie refresh showing its live bound cookie; refused, nothing
/// is spent. A spent ancestor is reuse only from the device.
#[tokio::test]
async fn a_bound_session_rotates_only_for_its_device() {
    use passport::dbsc::store::BindOutcome;
    use passport::sessions::store::DeviceProof;
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 1000, 2000).await;
        let now = clock::now();
        let bound = s
            .bind_session(a.id, st.session, "{\"kty\":\"EC\"}", "c1", now + 600, now)
            .await
            .unwrap();
        assert_eq!(bound, BindOutcome::Bound, "{name}");
        let shown = |by_cookie: bool, cookie: Option<&str>| DeviceProof {
            by_cookie,
            bound_cookie: cookie.map(str::to_string),
        };
        let next = st.token.successor(&KEY);
        let as_asked = |device: DeviceProof| Rotate {
            device: Some(device),
            ..rotate_req(&a, &st, &st.token, &next)
        };
        for refused in [
            shown(false, None),
            shown(true, None),
            shown(false, Some("c1")),
            shown(true, Some("c2")),
        ] {
            let r = as_asked(refused.clone());
            assert_eq!(
                rotate(s, &r).await,
                Rotation::Unbound,
                "{name}: {refused:?}"
            );
        }
        assert!(
            token_matches(s, a.id, st.session, &st.token.digest(), clock::now()).await,
            "{name}: a refusal spent nothing"
        );
        // Binding not required (no proof asked): the value alone rotates, as before.
        let unasked = rotate_req(&a, &st, &st.token, &next);
        assert!(
            matches!(rotate(s, &unasked).await, Rotation::Rotated { .. }),
            "{name}"
        );
        // The grace replay of the spent token hands out the successor: the same rule.
        let replay = |device: DeviceProof| Rotate {
            request_id: passport::kernel::ids::random_bytes(),
            ..as_asked(device)
        };
        let r = replay(shown(false, None));
        assert_eq!(rotate(s, &r).await, Rotation::Unbound, "{name}: replay");
        let r = replay(shown(true, Some("c1")));
        assert!(
            matches!(rotate(s, &r).await, Rotation::Replayed { .. }),
            "{name}"
        );
        // A spent ancestor after the window, without the device: refused, and nothing ends
        // (the copy cannot end the session it cannot use); with it, reuse: the session ends.
        let late = |device| Rotate {
            now: now + 100,
            ..replay(device)
        };
        let r = late(shown(false, None));
        assert_eq!(rotate(s, &r).await, Rotation::Unbound, "{name}");
        assert!(
            session_live(s, a.id, st.session, clock::now()).await,
            "{name}"
        );
        let r = late(shown(true, Some("c1")));
        assert_eq!(rotate(s, &r).await, Rotation::Reused, "{name}");
        assert!(
            !session_live(s, a.id, st.session, clock::now()).await,
            "{name}"
        );
    }
}

/// With binding required, an unbound session asks nothing of its device.
#[tokio::test]
async fn an_unbound_session_rotates_without_a_device() {
    use passport::sessions::store::DeviceProof;
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let st = start(s, &a, 1000, 2000).await;
        let r = Rotate {
            device: Some(DeviceProof::default()),
            ..rotate_req(&a, &st, &st.token, &st.token.successor(&KEY))
        };
        assert!(
            matches!(rotate(s, &r).await, Rotation::Rotated { .. }),
            "{name}"
        );
    }
}
