//! The security history on memory, Redis and (`make test`) a cluster: every change records
//! itself exactly once, in the same store step — nothing for a change refused or already applied
//! (a retry) — bounded in count and age; refused sign-ins coalesce; `GET /activity` pages it;
//! the owner is mailed a sign-in from a new device and a session ended as stolen.
#![allow(clippy::unwrap_used)]

mod common;

use common::contract::{KEY, account, rotate_req, start};
use common::sign_in::{PASSWORD, client, input};
use common::{send, stores, unique_email, unique_ip};
use http::Method;
use passport::api::Store;
use passport::email::store::EmailMove;
use passport::kernel::activity::{Activity, By, Entry, MAX_AGE_SECONDS, MAX_ENTRIES};
use passport::kernel::clock;
use passport::kernel::error::ApiError;
use passport::kernel::ids::Id;
use passport::kernel::mail::Message;
use passport::kernel::service::ClientInfo;
use passport::kernel::store::lua::COMMON;
use passport::kernel::store::{NewSession, SessionStart};
use passport::kernel::tokens::refresh::RefreshToken;
use passport::passkeys::store::{AddedBy, Grant, PasskeyAdded, PasskeyRemoved, StoredPasskey};
use passport::sessions::store::{Rotation, SessionsAfter};
use passport::testing::create_account;
use passport::testing::store::{create_session, rotate};

/// The kinds in `account`'s history, newest first.
async fn kinds(store: &dyn Store, account: Id) -> Vec<Activity> {
    history(store, account)
        .await
        .iter()
        .map(|e| e.kind)
        .collect()
}

async fn history(store: &dyn Store, account: Id) -> Vec<Entry> {
    store.activity(account).await.unwrap()
}

fn at(kind: Activity) -> Entry {
    passport::testing::entry(kind)
}

#[test]
fn the_lua_keeps_the_rust_bounds_and_forms() {
    assert!(COMMON.contains(&format!("local LOG_MAX = {MAX_ENTRIES}\n")));
    assert!(COMMON.contains(&format!("local LOG_AGE = {MAX_AGE_SECONDS}\n")));
    // The rotation builds its entry in Lua (a refresh passes nothing for it): as Rust would.
    assert!(COMMON.contains(r#"'{"t":' .. now .. ',"e":"session_ended_as_stolen"}'"#));
    assert_eq!(
        Entry::new(Activity::SessionEndedAsStolen, 5).encode(),
        r#"{"t":5,"e":"session_ended_as_stolen"}"#
    );
}

#[tokio::test]
async fn each_change_records_itself_once_and_a_refused_one_nothing() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let first = start(s, &a, 1000, 2000).await;
        assert_eq!(kinds(s, a.id).await, [Activity::SignIn], "{name}");
        let signed = &history(s, a.id).await[0];
        assert_eq!(signed.methods.as_deref(), Some("pwd"), "{name}");
        assert_eq!(signed.ip.as_deref(), Some("198.51.100.1"), "{name}");
        assert_eq!(signed.seq, 1, "{name}");

        // A sign-in the store retries (its first run applied, its answer lost) is one sign-in.
        let session = Id::random();
        let token = RefreshToken::new(a.id, session);
        let retried = NewSession {
            account: a.id,
            session,
            digest: token.digest(),
            family: token.family_digest(),
            device: None,
            user_agent: None,
            ip: None,
            now: clock::now(),
            expires_at: clock::now() + 1000,
            absolute_expires_at: clock::now() + 2000,
            password_version: 0,
            max_sessions: 100,
            via: None,
        };
        for _ in 0..2 {
            assert!(matches!(
                create_session(s, &retried, &a.email).await,
                SessionStart::Started { .. }
            ));
        }
        // A sign-in that checked a password changed since: refused, and not recorded.
        let stale = NewSession {
            session: Id::random(),
            password_version: 7,
            ..retried.clone()
        };
        assert_eq!(
            create_session(s, &stale, &a.email).await,
            SessionStart::PasswordChanged,
            "{name}"
        );
        assert_eq!(
            kinds(s, a.id).await,
            [Activity::SignIn, Activity::SignIn],
            "{name}"
        );

        // Passkeys: added (after a reauthentication), refused (spent grant), removed, refused
        // (missing).
        let now = clock::now();
        let key = StoredPasskey {
            id: "k1".into(),
            name: "Work laptop".into(),
            created_at: now,
            last_used_at: 0,
            credential: "{}".into(),
            added_by: Some(AddedBy {
                session: first.session,
                agent: None,
            }),
        };
        let grant = Grant {
            session: first.session,
            now,
        };
        let auth = passport::kernel::authentication::Authentication::password(now);
        assert!(
            s.reauthenticate(a.id, first.session, &auth, now)
                .await
                .unwrap()
        );
        let added = at(Activity::PasskeyAdded).with_detail("Work laptop");
        assert_eq!(
            s.add_passkey(a.id, &key, 5, grant, &added).await.unwrap(),
            PasskeyAdded::Added
        );
        assert_eq!(
            s.add_passkey(a.id, &key, 5, grant, &added).await.unwrap(),
            PasskeyAdded::NotReauthenticated
        );
        let removed = at(Activity::PasskeyRemoved);
        assert_eq!(
            s.remove_passkey(a.id, "k1", &removed).await.unwrap(),
            PasskeyRemoved::Removed
        );
        assert_eq!(
            s.remove_passkey(a.id, "k1", &removed).await.unwrap(),
            PasskeyRemoved::Missing
        );
        let newest = history(s, a.id).await;
        assert_eq!(
            newest[0].detail.as_deref(),
            Some("Work laptop"),
            "{name}: a removed passkey's name"
        );

        // The second factor: confirmed, a recovery code spent (an unknown one: nothing),
        // removed (again: nothing).
        let salt = "c2FsdA";
        s.begin_totp(a.id, salt, now + 600, now).await.unwrap();
        let codes = vec!["ab".repeat(32)];
        assert!(
            s.confirm_totp(a.id, salt, 1, &codes, &at(Activity::SecondFactorAdded))
                .await
                .unwrap()
        );
        assert!(
            !s.confirm_totp(a.id, salt, 1, &codes, &at(Activity::SecondFactorAdded))
                .await
                .unwrap(),
            "{name}: confirmed twice"
        );
        let used = at(Activity::RecoveryCodeUsed);
        assert_eq!(
            s.spend_recovery_code(a.id, &"cd".repeat(32), &used)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            s.spend_recovery_code(a.id, &codes[0], &used).await.unwrap(),
            Some(0)
        );
        assert_eq!(
            s.spend_recovery_code(a.id, &codes[0], &used).await.unwrap(),
            None
        );
        let off = at(Activity::SecondFactorRemoved).by(Some(By::Operator));
        assert!(s.remove_totp(a.id, &off).await.unwrap());
        assert!(!s.remove_totp(a.id, &off).await.unwrap());

        // The password: changed; the same hash again (the retry of an applied change) records
        // nothing more; no such account, nothing.
        let changed = at(Activity::PasswordChanged);
        let keep = SessionsAfter::KeepAll;
        assert!(s.set_password(a.id, "h2", keep, &changed).await.unwrap());
        assert!(s.set_password(a.id, "h2", keep, &changed).await.unwrap());
        assert!(
            !s.set_password(Id::random(), "h3", keep, &changed)
                .await
                .unwrap()
        );

        // The address: moved, and recorded once when the same move runs again (the store's
        // retry after a lost answer), which leaves the account reachable by its new address.
        let moved = at(Activity::EmailChanged);
        let new_email = unique_email();
        for _ in 0..2 {
            assert_eq!(
                s.move_email(a.id, &a.email, &new_email, &moved)
                    .await
                    .unwrap(),
                EmailMove::Moved,
                "{name}"
            );
        }
        assert_eq!(
            s.account_id(&new_email).await.unwrap(),
            Some(a.id),
            "{name}"
        );
        assert_eq!(s.account_id(&a.email).await.unwrap(), None, "{name}");
        // Another move from the old address, now gone: stale.
        assert_eq!(
            s.move_email(a.id, &a.email, &unique_email(), &moved)
                .await
                .unwrap(),
            EmailMove::Stale,
            "{name}"
        );

        // A spent refresh token: the session ends as stolen, once.
        let next = first.token.successor(&KEY);
        let r = rotate_req(&a, &first, &first.token, &next);
        assert!(matches!(rotate(s, &r).await, Rotation::Rotated { .. }));
        let mut late = rotate_req(&a, &first, &first.token, &next.successor(&KEY));
        late.now += 60;
        assert_eq!(rotate(s, &late).await, Rotation::Reused, "{name}");
        assert_eq!(rotate(s, &late).await, Rotation::Invalid, "{name}");

        // Logout everywhere; again with no session left: nothing.
        let everywhere = at(Activity::SignedOutEverywhere);
        assert!(s.revoke_all(a.id, &everywhere).await.unwrap() > 0);
        assert_eq!(s.revoke_all(a.id, &everywhere).await.unwrap(), 0);

        assert_eq!(
            kinds(s, a.id).await,
            [
                Activity::SignedOutEverywhere,
                Activity::SessionEndedAsStolen,
                Activity::EmailChanged,
                Activity::PasswordChanged,
                Activity::SecondFactorRemoved,
                Activity::RecoveryCodeUsed,
                Activity::SecondFactorAdded,
                Activity::PasskeyRemoved,
                Activity::PasskeyAdded,
                Activity::SignIn,
                Activity::SignIn,
            ],
            "{name}"
        );
        let all = history(s, a.id).await;
        assert_eq!(all[4].by, Some(By::Operator), "{name}");
        let numbers: Vec<u64> = all.iter().map(|e| e.seq).collect();
        assert_eq!(numbers, (1..=11).rev().collect::<Vec<_>>(), "{name}");

        // Gone with the account.
        assert!(s.delete_account(a.id).await.unwrap());
        assert!(kinds(s, a.id).await.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn the_history_is_bounded_and_refusals_coalesce() {
    for (name, store) in stores().await {
        let s = &*store;
        let a = account(s).await;
        let now = clock::now();
        // Refusals in a row are one entry, counted; its time and address the latest.
        for i in 0..30 {
            let ip = format!("192.0.2.{i}");
            let e = Entry::refused(Activity::SignInRefused, now, Some("pwd"), Some(&ip));
            s.record_refusal(a.id, &e).await.unwrap();
        }
        let h = history(s, a.id).await;
        assert_eq!(h.len(), 1, "{name}");
        assert_eq!(h[0].count, Some(30), "{name}");
        assert_eq!(h[0].ip.as_deref(), Some("192.0.2.29"), "{name}");
        // No account, no history (an unknown email's refusal).
        let nobody = Id::random();
        let e = Entry::refused(Activity::SignInLocked, now, None, None);
        s.record_refusal(nobody, &e).await.unwrap();
        assert!(kinds(s, nobody).await.is_empty(), "{name}");

        // At most MAX_ENTRIES, the oldest pushed out, numbering going on.
        for _ in 0..MAX_ENTRIES + 5 {
            s.set_password(
                a.id,
                &Id::random().to_string(),
                SessionsAfter::KeepAll,
                &at(Activity::PasswordChanged),
            )
            .await
            .unwrap();
        }
        let h = history(s, a.id).await;
        assert_eq!(h.len(), MAX_ENTRIES, "{name}");
        assert_eq!(h[0].seq, MAX_ENTRIES as u64 + 6, "{name}");
        assert!(h.iter().all(|e| e.kind == Activity::PasswordChanged));

        // An entry MAX_AGE_SECONDS after the newest pushes out everything older.
        let later = Entry::new(Activity::PasswordChanged, now + MAX_AGE_SECONDS + 1);
        s.set_password(a.id, "later", SessionsAfter::KeepAll, &later)
            .await
            .unwrap();
        let h = store.activity(a.id).await.unwrap();
        assert_eq!(h.len(), 1, "{name}: {h:?}");
    }
}

fn browser(ip: &str, agent: &str) -> ClientInfo {
    ClientInfo {
        ip: Some(ip.into()),
        user_agent: Some(agent.into()),
    }
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";

#[tokio::test]
async fn the_owner_reads_the_history_and_is_mailed_a_new_device_and_a_stolen_session() {
    for (name, service, outgoing) in common::mailing_services().await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let ip = unique_ip();
        // The first sign-in is not "new": nothing to compare it with.
        let pair = service
            .login(input(&email, PASSWORD), &browser(&ip, FIREFOX))
            .await
            .unwrap();
        assert!(outgoing.to(&email).is_empty(), "{name}");
        // The same browser again: not new either.
        service
            .login(input(&email, PASSWORD), &browser(&ip, FIREFOX))
            .await
            .unwrap();
        assert!(outgoing.to(&email).is_empty(), "{name}");
        // Another browser: mailed, with what it is and where from.
        service
            .login(input(&email, PASSWORD), &browser("198.51.100.9", SAFARI))
            .await
            .unwrap();
        match outgoing.last(&email) {
            Message::NewDeviceSignIn { device, ip, link } => {
                assert!(device.unwrap().contains("Safari"), "{name}");
                assert_eq!(ip.as_deref(), Some("198.51.100.9"), "{name}");
                assert_eq!(link, "https://auth.example.com/app/");
            }
            other => panic!("{name}: {other:?}"),
        }

        // A wrong password is recorded (pwd, the address); an unknown email records nothing.
        let wrong = service
            .login(input(&email, "not the password"), &client(&ip))
            .await;
        assert!(matches!(wrong, Err(ApiError::InvalidCredentials)));

        // The stolen session: a refresh token of two generations ago comes back.
        let next = service.refresh(&pair.refresh_token).await.unwrap();
        service.refresh(&next.refresh_token).await.unwrap();
        assert!(matches!(
            service.refresh(&pair.refresh_token).await,
            Err(ApiError::RefreshTokenReused)
        ));
        assert_eq!(
            outgoing.last(&email),
            Message::SessionEndedAsStolen {
                link: "https://auth.example.com/app/".into()
            },
            "{name}"
        );

        // Each notice carries a one-click "this wasn't me"; its token, POSTed from the page,
        // ends every session of the account (the one signed in from Safari too) and says so.
        let notices = outgoing.mails(&email);
        assert!(notices.iter().all(|m| m.not_me.is_some()), "{name}");
        let not_me = notices.last().unwrap().not_me.clone().unwrap();
        let (page, token) = not_me.split_once("#not-me=").unwrap();
        assert_eq!(page, "https://auth.example.com/app/", "{name}");
        let body = serde_json::json!({ "token": token }).to_string();
        let json = [("content-type", "application/json")];
        let r = send(&service, Method::POST, "/email/not-me", &json, &body, &ip)
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let ended: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert!(
            ended["sessions_ended"].as_u64().unwrap() >= 2,
            "{name}: {ended}"
        );
        let r = send(&service, Method::POST, "/email/not-me", &json, &body, &ip)
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{name}: a token works once");
        assert!(r.body().contains("invalid_token"), "{name}");

        // The owner's page of it, through the route, newest first, two at a time.
        let mine = service
            .login(input(&email, PASSWORD), &browser(&ip, FIREFOX))
            .await
            .unwrap();
        let bearer = format!("Bearer {}", mine.access_token);
        let get = |path: String| {
            let (service, bearer, ip) = (&service, &bearer, &ip);
            async move {
                let r = send(
                    service,
                    Method::GET,
                    &path,
                    &[("authorization", bearer)],
                    "",
                    ip,
                )
                .await
                .unwrap();
                let status = r.status();
                let body: serde_json::Value = serde_json::from_str(r.body()).unwrap_or_default();
                (status, body)
            }
        };
        let (status, body) = get("/activity?limit=2".into()).await;
        assert_eq!(status, 200, "{name}: {body}");
        let events = body["events"].as_array().unwrap();
        let names: Vec<&str> = events
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["sign_in", "signed_out_everywhere"], "{name}");
        assert_eq!(events[1]["detail"], "from a mailed link", "{name}");
        assert_eq!(events[0]["amr"], serde_json::json!(["pwd"]));
        let next_page = body["next"].as_u64().unwrap();
        let (_, body) = get(format!("/activity?before={next_page}&limit=10")).await;
        let rest: Vec<&str> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(
            rest,
            [
                "session_ended_as_stolen",
                "sign_in_refused",
                "sign_in",
                "sign_in",
                "sign_in"
            ],
            "{name}"
        );
        assert!(body["next"].is_null(), "{name}");
        let (status, _) = get("/activity?limit=0".into()).await;
        assert_eq!(status, 400, "{name}");

        // Operators read the same.
        let command = serde_json::from_value(
            serde_json::json!({"command": "activity", "email": email, "limit": 1}),
        )
        .unwrap();
        let admin = passport::admin::execute(&service, command).await.unwrap();
        assert_eq!(admin["events"][0], events[0], "{name}");
        assert_eq!(
            admin["next"].as_u64(),
            events[0]["id"].as_u64(),
            "{name}: the page after the newest starts below it"
        );
    }
}

#[tokio::test]
async fn a_lockout_is_recorded_once_for_a_run_of_locked_attempts() {
    for (name, service, _) in common::mailing_services().await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let ip = unique_ip();
        let max = service.config().login_max_failures;
        for _ in 0..max + 3 {
            let _ = service
                .login(input(&email, "wrong password"), &client(&ip))
                .await;
        }
        let pair = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        let id: Id = common::claims(&pair.access_token)["sub"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let h = service.store().activity(id).await.unwrap();
        let h = &h[1..];
        let kinds: Vec<Activity> = h.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [Activity::SignInLocked, Activity::SignInRefused],
            "{name}"
        );
        assert_eq!(h[1].count, Some(max as u32), "{name}");
        assert_eq!(h[0].count, Some(3), "{name}");
    }
}

#[tokio::test]
async fn an_account_gets_at_most_its_hour_of_notices() {
    use passport::email::not_me::NOTICES_PER_HOUR;
    for (name, service, outgoing) in common::mailing_services().await {
        let account = Id::random();
        let to = unique_email();
        for _ in 0..NOTICES_PER_HOUR + 3 {
            service
                .notify(account, &to, |link| Message::PasskeyRemoved { link })
                .await;
        }
        let sent = outgoing.mails(&to);
        assert_eq!(sent.len() as u64, NOTICES_PER_HOUR, "{name}");
        assert!(sent.iter().all(|m| m.not_me.is_some()), "{name}");
    }
}
