//! The store contract, the other features' slices: apps and their passport sessions, and
//! passkeys, on the in-memory store and a real Redis.
#![allow(clippy::unwrap_used)]

mod common;

use common::contract::{account, key_slot, start};
use common::{stores, unique_code};
use passport::kernel::authentication::{Authentication, REAUTH_GRANT_SECONDS};
use passport::kernel::clock;
use passport::kernel::ids::Id;
use passport::passkeys::store::{AddedBy, Grant, PasskeyAdded, PasskeyRemoved, StoredPasskey};
use passport::passports::store::{App, AppAccess, PassportOutcome, PassportStart};
use passport::sessions::store::SessionsAfter;
use passport::testing::store::prelude::*;
use std::sync::Arc;

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
        let session = start(&*store, &a, 1000, 2000).await.session;
        let key = |id: &str, at: i64| StoredPasskey {
            id: id.into(),
            name: format!("key {id}"),
            created_at: at,
            last_used_at: 0,
            credential: "{\"cred\": 1}".into(),
            added_by: Some(AddedBy {
                session,
                agent: Some("Chrome 156 on Linux".into()),
            }),
        };
        let now = clock::now();
        let grant = Grant { session, now };
        // A reauthentication of the session, `ago` seconds before now.
        let reauthenticate = |ago: i64| {
            let store = Arc::clone(&store);
            async move {
                let at = Authentication::password(now - ago);
                assert!(store.reauthenticate(a.id, session, &at, now).await.unwrap());
            }
        };
        let add = |k: StoredPasskey| {
            let store = Arc::clone(&store);
            async move {
                store
                    .add_passkey(
                        a.id,
                        &k,
                        2,
                        grant,
                        &passport::testing::entry(
                            passport::kernel::activity::Activity::PasskeyAdded,
                        ),
                    )
                    .await
                    .unwrap()
            }
        };
        // Issue #34, 4: only a reauthentication of this session within the grant's window, and
        // each adds one passkey.
        let refused = PasskeyAdded::NotReauthenticated;
        assert_eq!(add(key("b", 20)).await, refused, "{name}: a sign-in alone");
        reauthenticate(REAUTH_GRANT_SECONDS + 1).await;
        assert_eq!(add(key("b", 20)).await, refused, "{name}: too old");
        reauthenticate(REAUTH_GRANT_SECONDS).await;
        assert_eq!(add(key("b", 20)).await, PasskeyAdded::Added, "{name}");
        assert_eq!(add(key("a", 10)).await, refused, "{name}: spent");
        let other = Grant {
            session: Id::random(),
            now,
        };
        let elsewhere = store
            .add_passkey(
                a.id,
                &key("a", 10),
                2,
                other,
                &passport::testing::entry(passport::kernel::activity::Activity::PasskeyAdded),
            )
            .await;
        assert_eq!(elsewhere.unwrap(), refused, "{name}: another session's");
        reauthenticate(0).await;
        assert_eq!(add(key("a", 10)).await, PasskeyAdded::Added, "{name}");
        reauthenticate(0).await;
        assert_eq!(add(key("a", 30)).await, PasskeyAdded::Exists, "{name}");
        assert_eq!(add(key("c", 40)).await, PasskeyAdded::Full, "{name}");
        let nobody = store
            .add_passkey(
                Id::random(),
                &key("x", 1),
                2,
                grant,
                &passport::testing::entry(passport::kernel::activity::Activity::PasskeyAdded),
            )
            .await;
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
                .set_password(
                    a.id,
                    "",
                    SessionsAfter::KeepAll,
                    &passport::testing::entry(
                        passport::kernel::activity::Activity::PasswordChanged
                    )
                )
                .await
                .unwrap()
        );
        let remove = |id: &'static str| {
            let store = Arc::clone(&store);
            async move {
                store
                    .remove_passkey(
                        a.id,
                        id,
                        &passport::testing::entry(
                            passport::kernel::activity::Activity::PasskeyRemoved,
                        ),
                    )
                    .await
                    .unwrap()
            }
        };
        assert_eq!(remove("a").await, PasskeyRemoved::Removed, "{name}");
        assert_eq!(remove("a").await, PasskeyRemoved::Missing, "{name}");
        assert_eq!(remove("b").await, PasskeyRemoved::Last, "{name}");
        assert!(
            store
                .set_password(
                    a.id,
                    "x",
                    SessionsAfter::KeepAll,
                    &passport::testing::entry(
                        passport::kernel::activity::Activity::PasswordChanged
                    )
                )
                .await
                .unwrap()
        );
        assert_eq!(remove("b").await, PasskeyRemoved::Removed, "{name}");

        // Deleting the account deletes its passkeys.
        assert_eq!(
            add(key("d", 50)).await,
            PasskeyAdded::Added,
            "{name}: unspent"
        );
        assert!(store.delete_account(a.id).await.unwrap());
        assert!(store.passkeys(a.id).await.unwrap().is_empty(), "{name}");
    }
}
