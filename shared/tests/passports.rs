//! Web-app passports through the HTTP layer, on both stores (and, in `make test`'s cluster
//! stage, on a Redis Cluster): public and private apps, identity kept across expiry, revocation
//! by app and by logout, the app code, the rate limit, and passports and access tokens refused
//! in each other's place on every guarded route.
#![allow(clippy::unwrap_used)]

mod common;

use common::{pass, send, services, unique_code, unique_email, unique_ip};
use http::{Method, Response};
use passport::Service;
use passport::api::{Guard, ROUTES};
use passport::kernel::authentication::RecentAuth;
use passport::kernel::config::Config;
use passport::kernel::ids::Id;
use passport::kernel::keys::KeyRing;
use passport::kernel::service::{ClientInfo, TokenPair};
use passport::kernel::tokens::app_passport::{PassportIssuer, Visitor};
use passport::sessions::LoginInput;
use passport::testing::{TEST_SIGNING_KEY, create_account, create_app, test_config};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "a long enough password";

fn config() -> Config {
    Config {
        passport_retention: 3600,
        passport_ip_max_per_hour: 3,
        ..test_config()
    }
}

fn json_of(r: &Response<String>) -> Value {
    serde_json::from_str(r.body()).unwrap_or(Value::Null)
}

/// `POST /passport` for `code`, with optional account bearer and previous passport.
async fn ask(
    service: &Service,
    code: &str,
    bearer: Option<&str>,
    previous: Option<&str>,
    ip: &str,
) -> Response<String> {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("x-app-code", code), ("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    let body = previous.map_or(String::new(), |p| json!({ "passport": p }).to_string());
    send(service, Method::POST, "/passport", &headers, &body, ip)
        .await
        .unwrap()
}

async fn granted(
    service: &Service,
    code: &str,
    bearer: Option<&str>,
    previous: Option<&str>,
) -> Value {
    let r = ask(service, code, bearer, previous, &unique_ip()).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    json_of(&r)
}

/// `GET /apps/me` behind the app authorizer.
async fn app_me(service: &Service, code: &str, passport: &str) -> Result<Value, String> {
    let auth = format!("Bearer {passport}");
    let headers = [("authorization", auth.as_str()), ("x-app-code", code)];
    let r = send(service, Method::GET, "/apps/me", &headers, "", &unique_ip()).await?;
    assert_eq!(r.status(), 200, "{}", r.body());
    Ok(json_of(&r))
}

async fn sign_in(service: &Service) -> TokenPair {
    let email = unique_email();
    create_account(service, &email, PASSWORD).await;
    let input = LoginInput::new(email, PASSWORD);
    service.login(input, &ClientInfo::default()).await.unwrap()
}

fn ring() -> KeyRing {
    let secret = passport::kernel::config::SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec());
    KeyRing::from_literal(&secret).unwrap()
}

/// The same passport as `passport` (same app, end user and session), re-signed with the test
/// key to have expired `ago` seconds before now: what a visitor's storage holds after a while.
fn expired_copy(passport: &str, ago: i64) -> String {
    let claims: Value = {
        use base64::Engine as _;
        let part = passport.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let now = passport::kernel::clock::now();
    let id = |k: &str| claims[k].as_str().unwrap().parse::<Id>().unwrap();
    let v = Visitor {
        app: id("app"),
        app_code: claims["app_code"].as_str().unwrap().to_string(),
        end_user: id("sub"),
        account: claims["acct"].as_str().map(|a| a.parse().unwrap()),
        account_session: claims["asid"].as_str().map(|a| a.parse().unwrap()),
        session: id("sid"),
        expires_at: now - ago,
    };
    PassportIssuer::new("passport")
        .issue(&ring(), &v, now - ago - 60)
        .unwrap()
}

#[tokio::test]
async fn a_public_app_gives_anonymous_visitors_a_passport_for_it_alone() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        let demo = create_app(&service, &code, "public").await;
        let r = ask(&service, &code, None, None, &unique_ip()).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        assert_eq!(r.headers()["cache-control"], "no-store", "{name}");
        let body = json_of(&r);
        assert_eq!(body["app_code"], code.as_str(), "{name}");
        assert_eq!(body["expires_in"], 86_400, "{name}");
        let passport = body["passport"].as_str().unwrap();
        let ctx = app_me(&service, &code, passport).await.unwrap();
        assert_eq!(
            ctx,
            json!({"app_id": demo.id.to_string(), "app_code": code, "end_user_id": body["end_user_id"]}),
            "{name}"
        );
        // Each new visitor is a new end user.
        let other = granted(&service, &code, None, None).await;
        assert_ne!(other["end_user_id"], body["end_user_id"], "{name}");

        // The wrong app code, or none, is refused by the app authorizer.
        let other_code = unique_code();
        create_app(&service, &other_code, "public").await;
        assert!(
            app_me(&service, &other_code, passport).await.is_err(),
            "{name}"
        );
        let auth = format!("Bearer {passport}");
        let no_code = [("authorization", auth.as_str())];
        assert!(
            send(&service, Method::GET, "/apps/me", &no_code, "", "192.0.2.1")
                .await
                .is_err(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn unknown_malformed_and_disabled_apps_get_the_same_404() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        let demo = create_app(&service, &code, "public").await;
        service
            .store()
            .set_app_enabled(demo.id, false)
            .await
            .unwrap();
        let answers: Vec<(u16, Value)> = {
            let mut v = Vec::new();
            for c in [code.as_str(), "no-such-app-anywhere", "x", &"y".repeat(200)] {
                let r = ask(&service, c, None, None, &unique_ip()).await;
                let mut body = json_of(&r);
                body["message"] = Value::Null;
                v.push((r.status().as_u16(), body));
            }
            v
        };
        for a in &answers {
            assert_eq!(a, &answers[0], "{name}");
        }
        assert_eq!(answers[0].0, 404, "{name}");
        assert_eq!(answers[0].1["error"], "app_not_found", "{name}");
        // No header at all is the same answer.
        let r = send(&service, Method::POST, "/passport", &[], "", &unique_ip())
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{name}");
    }
}

#[tokio::test]
async fn a_private_app_wants_a_live_account_and_keeps_one_end_user_per_account() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        create_app(&service, &code, "private").await;
        let r = ask(&service, &code, None, None, &unique_ip()).await;
        assert_eq!(r.status(), 401, "{name}");
        assert_eq!(json_of(&r)["error"], "sign_in_required", "{name}");
        assert_eq!(
            ask(&service, &code, Some("not-a-token"), None, &unique_ip())
                .await
                .status(),
            401,
            "{name}"
        );

        let pair = sign_in(&service).await;
        let caller = service
            .authorize(Some(&format!("Bearer {}", pair.access_token)))
            .await
            .unwrap();
        let first = granted(&service, &code, Some(&pair.access_token), None).await;
        let ctx = app_me(&service, &code, first["passport"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(ctx["account_id"], caller.account.to_string(), "{name}");
        // Again, from another device or after the storage was cleared: the same end user.
        let again = granted(&service, &code, Some(&pair.access_token), None).await;
        assert_eq!(again["end_user_id"], first["end_user_id"], "{name}");
        // Another account is another end user.
        let other = sign_in(&service).await;
        let theirs = granted(&service, &code, Some(&other.access_token), None).await;
        assert_ne!(theirs["end_user_id"], first["end_user_id"], "{name}");
        // A previous passport of another account does not carry its end user over.
        let stolen = granted(
            &service,
            &code,
            Some(&other.access_token),
            first["passport"].as_str(),
        )
        .await;
        assert_eq!(stolen["end_user_id"], theirs["end_user_id"], "{name}");

        // A logged-out account's token no longer gets a passport.
        service
            .logout(Some(&pair.access_token), None, false, RecentAuth::No)
            .await
            .unwrap();
        let r = ask(
            &service,
            &code,
            Some(&pair.access_token),
            None,
            &unique_ip(),
        )
        .await;
        assert_eq!(json_of(&r)["error"], "sign_in_required", "{name}");
    }
}

#[tokio::test]
async fn a_visitor_keeps_its_identity_across_expiry_within_the_retention_window() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let first = granted(&service, &code, None, None).await;
        let passport = first["passport"].as_str().unwrap();

        let expired = expired_copy(passport, 600);
        assert!(
            app_me(&service, &code, &expired).await.is_err(),
            "{name}: an expired passport is refused by the authorizer"
        );
        let renewed = granted(&service, &code, None, Some(&expired)).await;
        assert_eq!(renewed["end_user_id"], first["end_user_id"], "{name}");
        let ctx = app_me(&service, &code, renewed["passport"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(ctx["end_user_id"], first["end_user_id"], "{name}");

        // Past the retention window (3600 s here), or with a forged signature: a new end user.
        let too_old = expired_copy(passport, 3700);
        let fresh = granted(&service, &code, None, Some(&too_old)).await;
        assert_ne!(fresh["end_user_id"], first["end_user_id"], "{name}");
        let mut forged = passport.to_string();
        forged.pop();
        forged.push(if passport.ends_with('A') { 'B' } else { 'A' });
        let fresh = granted(&service, &code, None, Some(&forged)).await;
        assert_ne!(fresh["end_user_id"], first["end_user_id"], "{name}");
        // Another app's passport is not this app's visitor.
        let other_code = unique_code();
        create_app(&service, &other_code, "public").await;
        let elsewhere = granted(&service, &other_code, None, Some(passport)).await;
        assert_ne!(elsewhere["end_user_id"], first["end_user_id"], "{name}");
    }
}

#[tokio::test]
async fn disabling_or_deleting_an_app_ends_its_passports_at_once() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        let demo = create_app(&service, &code, "public").await;
        let first = granted(&service, &code, None, None).await;
        let passport = first["passport"].as_str().unwrap();
        assert!(app_me(&service, &code, passport).await.is_ok(), "{name}");

        service
            .store()
            .set_app_enabled(demo.id, false)
            .await
            .unwrap();
        assert!(app_me(&service, &code, passport).await.is_err(), "{name}");
        let r = ask(&service, &code, None, Some(passport), &unique_ip()).await;
        assert_eq!(r.status(), 404, "{name}: no renewal while disabled");
        service
            .store()
            .set_app_enabled(demo.id, true)
            .await
            .unwrap();
        assert!(app_me(&service, &code, passport).await.is_ok(), "{name}");

        service.store().delete_app(demo.id).await.unwrap();
        assert!(app_me(&service, &code, passport).await.is_err(), "{name}");
        // A new app with the same code is another app: the old passport means nothing to it.
        create_app(&service, &code, "public").await;
        assert!(app_me(&service, &code, passport).await.is_err(), "{name}");
        let again = granted(&service, &code, None, Some(passport)).await;
        assert_ne!(again["end_user_id"], first["end_user_id"], "{name}");
    }
}

#[tokio::test]
async fn passport_logout_ends_the_session_for_every_passport_of_it() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let first = granted(&service, &code, None, None).await;
        let p1 = first["passport"].as_str().unwrap().to_string();
        let p2 = granted(&service, &code, None, Some(&p1)).await["passport"]
            .as_str()
            .unwrap()
            .to_string();
        let logout = |p: String, c: String| {
            let service = &service;
            async move {
                let auth = format!("Bearer {p}");
                let h = [("authorization", auth.as_str()), ("x-app-code", c.as_str())];
                send(
                    service,
                    Method::POST,
                    "/passport/logout",
                    &h,
                    "",
                    "192.0.2.9",
                )
                .await
                .unwrap()
                .status()
                .as_u16()
            }
        };
        assert_eq!(logout(p1.clone(), unique_code()).await, 401, "{name}");
        assert_eq!(logout("garbage".into(), code.clone()).await, 401, "{name}");
        assert!(app_me(&service, &code, &p2).await.is_ok(), "{name}");
        assert_eq!(logout(p2.clone(), code.clone()).await, 204, "{name}");
        assert!(app_me(&service, &code, &p1).await.is_err(), "{name}");
        assert!(app_me(&service, &code, &p2).await.is_err(), "{name}");
        assert_eq!(
            logout(p1.clone(), code.clone()).await,
            204,
            "{name}: idempotent"
        );
        // The ended session does not renew: a new end user.
        let after = granted(&service, &code, None, Some(&p1)).await;
        assert_ne!(after["end_user_id"], first["end_user_id"], "{name}");
    }
}

#[tokio::test]
async fn passports_and_access_tokens_are_refused_in_each_others_place_on_every_guarded_route() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let pair = sign_in(&service).await;
        let passport = granted(&service, &code, None, None).await["passport"]
            .as_str()
            .unwrap()
            .to_string();
        for r in ROUTES {
            // Another session's id: what is checked is the authorizer, not the handler.
            let path = r.path.replace("{id}", &Id::random().to_string());
            let (wrong, right) = match r.guard {
                Guard::Open => continue,
                Guard::Authorizer => (&passport, &pair.access_token),
                Guard::AppAuthorizer => (&pair.access_token, &passport),
            };
            let call = |token: &String| {
                let auth = format!("Bearer {token}");
                let (service, path, code) = (&service, path.clone(), code.clone());
                async move {
                    let h = [
                        ("authorization", auth.as_str()),
                        ("x-app-code", code.as_str()),
                        ("content-type", "application/json"),
                    ];
                    send(service, r.method.clone(), &path, &h, "{}", "192.0.2.2")
                        .await
                        .is_ok()
                }
            };
            assert!(
                !call(wrong).await,
                "{name}: {} took the wrong token",
                r.key()
            );
            assert!(
                call(right).await,
                "{name}: {} refused its own token",
                r.key()
            );
        }
        // The open routes that take a bearer token refuse the other kind too.
        let auth = format!("Bearer {passport}");
        let h = [("authorization", auth.as_str())];
        let r = send(&service, Method::POST, "/logout", &h, "", "192.0.2.3")
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{name}: /logout took a passport");
        let private = unique_code();
        create_app(&service, &private, "private").await;
        let r = ask(&service, &private, Some(&passport), None, "192.0.2.4").await;
        assert_eq!(json_of(&r)["error"], "sign_in_required", "{name}");
        let auth = format!("Bearer {}", pair.access_token);
        let h = [
            ("authorization", auth.as_str()),
            ("x-app-code", code.as_str()),
        ];
        let r = send(
            &service,
            Method::POST,
            "/passport/logout",
            &h,
            "",
            "192.0.2.5",
        )
        .await
        .unwrap();
        assert_eq!(
            r.status(),
            401,
            "{name}: /passport/logout took an access token"
        );
    }
}

#[tokio::test]
async fn new_anonymous_visitors_are_rate_limited_per_address_and_renewals_are_not() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let ip = unique_ip();
        let mut kept = Vec::new();
        for _ in 0..3 {
            let r = ask(&service, &code, None, None, &ip).await;
            assert_eq!(r.status(), 200, "{name}: {}", r.body());
            kept.push(json_of(&r)["passport"].as_str().unwrap().to_string());
        }
        let r = ask(&service, &code, None, None, &ip).await;
        assert_eq!(r.status(), 429, "{name}");
        assert_eq!(json_of(&r)["error"], "rate_limited", "{name}");
        let wait: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&wait), "{name}: {wait}");
        // A renewal keeps an identity: not counted, not refused.
        assert_eq!(
            ask(&service, &code, None, Some(&kept[0]), &ip)
                .await
                .status(),
            200,
            "{name}"
        );
        // A passport whose session ended makes a new end user: counted like any other.
        let auth = format!("Bearer {}", kept[1]);
        let h = [
            ("authorization", auth.as_str()),
            ("x-app-code", code.as_str()),
        ];
        send(&service, Method::POST, "/passport/logout", &h, "", &ip)
            .await
            .unwrap();
        assert_eq!(
            ask(&service, &code, None, Some(&kept[1]), &ip)
                .await
                .status(),
            429,
            "{name}"
        );
        // Another address is not held back.
        assert_eq!(
            ask(&service, &code, None, None, &unique_ip())
                .await
                .status(),
            200,
            "{name}"
        );
    }
}

#[tokio::test]
async fn bad_passport_requests_are_client_errors() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let ip = unique_ip();
        for (ct, body, status) in [
            ("application/json", r#"{"passport": 5}"#, 400),
            ("application/json", "[1]", 400),
            ("application/json", "{", 400),
            ("text/plain", r#"{"passport": "x"}"#, 415),
        ] {
            let h = [("x-app-code", code.as_str()), ("content-type", ct)];
            let r = send(&service, Method::POST, "/passport", &h, body, &ip)
                .await
                .unwrap();
            assert_eq!(r.status(), status, "{name}: {body}: {}", r.body());
        }
        let big = format!(r#"{{"passport": "{}"}}"#, "a".repeat(20_000));
        let h = [
            ("x-app-code", code.as_str()),
            ("content-type", "application/json"),
        ];
        let r = send(&service, Method::POST, "/passport", &h, &big, &ip)
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{name}");
    }
}

/// A private app's passport lives only while the session that asked for it does — whichever
/// way that one ends: logout, its revocation from another session, reuse detection, expiry
/// (issue 34) — and while its account's sessions do: logout-all, a password change, disable and
/// delete end it at once (issue 22). Another session's passport lives on where only one ended.
#[tokio::test]
async fn a_private_passport_ends_with_its_session() {
    use passport::sessions::PasswordChange;
    let config = Config {
        refresh_token_ttl: 1800,
        private_passport_max_ttl: 3600,
        ..config()
    };
    for (name, service) in services(config).await {
        let code = unique_code();
        create_app(&service, &code, "private").await;
        let mut ways = vec!["logout", "revoke", "reuse"];
        if name == "memory" {
            ways.push("expiry"); // On the manual clock; Redis expires the record by its TTL.
        }
        ways.extend(["logout_all", "password", "disable", "delete"]);
        for how in ways {
            let pair = sign_in(&service).await;
            let caller = service
                .authorize(Some(&format!("Bearer {}", pair.access_token)))
                .await
                .unwrap();
            let mine = granted(&service, &code, Some(&pair.access_token), None).await;
            let passport = mine["passport"].as_str().unwrap();
            assert!(
                app_me(&service, &code, passport).await.is_ok(),
                "{name} {how}"
            );
            // The same account signed in elsewhere, with a passport of its own.
            let email = service
                .store()
                .account(caller.account)
                .await
                .unwrap()
                .unwrap()
                .email;
            let elsewhere = service
                .login(LoginInput::new(email, PASSWORD), &ClientInfo::default())
                .await
                .unwrap();
            let other = granted(&service, &code, Some(&elsewhere.access_token), None).await;
            let other = other["passport"].as_str().unwrap();
            assert!(
                app_me(&service, &code, other).await.is_ok(),
                "{name} {how}: other"
            );
            assert!(
                app_me(&service, &code, passport).await.is_ok(),
                "{name} {how}: first"
            );
            let mut one_session = true;
            match how {
                "logout" => service
                    .logout(
                        Some(&pair.access_token),
                        Some(&pair.refresh_token),
                        false,
                        RecentAuth::No,
                    )
                    .await
                    .unwrap(),
                "revoke" => {
                    let by = service
                        .authorize(Some(&format!("Bearer {}", elsewhere.access_token)))
                        .await
                        .unwrap();
                    service
                        .revoke(&by, &caller.session.to_string())
                        .await
                        .unwrap();
                }
                "reuse" => {
                    let next = service.refresh(&pair.refresh_token).await.unwrap();
                    service.refresh(&next.refresh_token).await.unwrap();
                    assert!(matches!(
                        service.refresh(&pair.refresh_token).await,
                        Err(passport::ApiError::RefreshTokenReused)
                    ));
                }
                "expiry" => {
                    // Past the first session's idle lifetime, the other kept alive.
                    pass(&service, Duration::from_secs(1000)).await;
                    let kept = service.refresh(&elsewhere.refresh_token).await.unwrap();
                    pass(&service, Duration::from_secs(1000)).await;
                    service.refresh(&kept.refresh_token).await.unwrap();
                }
                _ => one_session = false,
            }
            match how {
                "logout_all" => service
                    .logout(Some(&pair.access_token), None, true, RecentAuth::No)
                    .await
                    .unwrap(),
                "password" => service
                    .change_password(
                        &caller,
                        PasswordChange {
                            current_password: PASSWORD.into(),
                            new_password: "another long enough password".into(),
                        },
                        &ClientInfo::default(),
                    )
                    .await
                    .unwrap(),
                "disable" => {
                    service
                        .store()
                        .set_status(
                            caller.account,
                            passport::kernel::store::AccountStatus::Disabled,
                        )
                        .await
                        .unwrap();
                }
                "delete" => {
                    service
                        .store()
                        .delete_account(caller.account)
                        .await
                        .unwrap();
                }
                _ => {}
            }
            assert!(
                app_me(&service, &code, passport).await.is_err(),
                "{name}: the private passport outlived {how}"
            );
            assert_eq!(
                app_me(&service, &code, other).await.is_ok(),
                one_session,
                "{name}: {how}, the other session's passport"
            );
        }
    }
}

/// One account keeps at most `PRIVATE_PASSPORTS_PER_APP` passport sessions in a private app:
/// the oldest end when a new one starts, and a renewal keeps its session.
#[tokio::test]
async fn private_passports_are_capped_per_account_and_app() {
    let config = Config {
        private_passports_per_app: 3,
        private_passport_max_ttl: 600,
        ..config()
    };
    for (name, service) in services(config).await {
        let code = unique_code();
        create_app(&service, &code, "private").await;
        let pair = sign_in(&service).await;
        let mut passports = Vec::new();
        for _ in 0..5 {
            let g = granted(&service, &code, Some(&pair.access_token), None).await;
            assert_eq!(g["expires_in"], 600, "{name}: the private bound");
            passports.push(g["passport"].as_str().unwrap().to_string());
        }
        let live: Vec<bool> = {
            let mut live = Vec::new();
            for p in &passports {
                live.push(app_me(&service, &code, p).await.is_ok());
            }
            live
        };
        assert_eq!(live, [false, false, true, true, true], "{name}");
        // Renewing the newest keeps its session: still three live, the renewed one included.
        let renewed = granted(
            &service,
            &code,
            Some(&pair.access_token),
            passports.last().map(String::as_str),
        )
        .await;
        let renewed = renewed["passport"].as_str().unwrap();
        assert!(app_me(&service, &code, renewed).await.is_ok(), "{name}");
        assert!(
            app_me(&service, &code, &passports[2]).await.is_ok(),
            "{name}: a renewal ended another"
        );
    }
}

/// A passport is signed under its own key (derived, `kid` `p-<kid>`) and names its app as
/// `aud`: even a verifier that checks only the signature with the access-token key refuses it.
/// One signed the old way (the access-token key itself) still renews for its end user, and is
/// refused by the app authorizer.
#[tokio::test]
async fn a_passport_has_its_own_key_and_audience() {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    for (name, service) in services(config()).await {
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let first = granted(&service, &code, None, None).await;
        let passport = first["passport"].as_str().unwrap();
        let header = jsonwebtoken::decode_header(passport).unwrap();
        let kid = ring().signing().kid().to_string();
        assert_eq!(header.kid, Some(format!("p-{kid}")), "{name}");
        // A careless verifier: the access-token key, no typ, no audience, no issuer.
        let mut careless = Validation::new(Algorithm::HS256);
        careless.validate_aud = false;
        careless.required_spec_claims.clear();
        let as_access = jsonwebtoken::decode::<Value>(
            passport,
            &DecodingKey::from_secret(TEST_SIGNING_KEY.as_bytes()),
            &careless,
        );
        assert!(
            as_access.is_err(),
            "{name}: verified under the access-token key"
        );
        let claims: Value = {
            use base64::Engine as _;
            let part = passport.split('.').nth(1).unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(part)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(claims["aud"], format!("passport:{code}"), "{name}");

        // The old way: the access-token key, its own kid, no aud.
        let mut old_claims = claims.clone();
        old_claims.as_object_mut().unwrap().remove("aud");
        let mut old_header = Header::new(Algorithm::HS256);
        old_header.typ = Some("passport+jwt".into());
        old_header.kid = Some(kid);
        let old = jsonwebtoken::encode(
            &old_header,
            &old_claims,
            &EncodingKey::from_secret(TEST_SIGNING_KEY.as_bytes()),
        )
        .unwrap();
        assert!(
            app_me(&service, &code, &old).await.is_err(),
            "{name}: old passport accepted live"
        );
        let renewed = granted(&service, &code, None, Some(&old)).await;
        assert_eq!(
            renewed["end_user_id"], first["end_user_id"],
            "{name}: identity lost"
        );
    }
}
