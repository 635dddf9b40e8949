//! Web-app passports through the HTTP layer, on both stores (and, in `make test`'s cluster
//! stage, on a Redis Cluster): public apps, identity kept across expiry, revocation by app and
//! by logout, the app code, the new-visitor limits, and passports and access tokens refused in
//! each other's place on every guarded route. Private apps: `private_passports.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use common::apps::{app_me, ask, config, expired_copy, granted, json_of, ring, sign_in};
use common::{pass, send, services, unique_code, unique_ip};
use http::Method;
use passport::api::{Guard, ROUTES};
use passport::kernel::config::Config;
use passport::kernel::ids::Id;
use passport::testing::{TEST_SIGNING_KEY, create_app};
use serde_json::{Value, json};
use std::time::Duration;

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

/// Issue #34, 7: one attacker's /48 holds 65,536 /64s, each with its own per-address budget;
/// the network has a budget too. And however many networks, an app's new visitors have an
/// hourly bound (what visitors can make the store keep), while renewals go on.
#[tokio::test]
async fn new_visitors_are_limited_per_network_and_per_app() {
    let config = Config {
        ipv6_limit_prefix: 64,
        passport_ip_max_per_hour: 3,
        passport_network_max_per_hour: 4,
        passport_app_max_per_hour: 6,
        ..config()
    };
    for (name, service) in services(config).await {
        // One /48, a new /64 of it each time.
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let net = unique_ip().rsplitn(6, ':').last().unwrap().to_string();
        for i in 0..4 {
            let r = ask(&service, &code, None, None, &format!("{net}:{i:x}::1")).await;
            assert_eq!(r.status(), 200, "{name}: {}", r.body());
        }
        let r = ask(&service, &code, None, None, &format!("{net}:ff::1")).await;
        assert_eq!(r.status(), 429, "{name}: the /48's budget");

        // Many networks, one app.
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let mut first = None;
        for _ in 0..6 {
            let r = ask(&service, &code, None, None, &unique_ip()).await;
            assert_eq!(r.status(), 200, "{name}: {}", r.body());
            first.get_or_insert(json_of(&r)["passport"].as_str().unwrap().to_string());
        }
        let r = ask(&service, &code, None, None, &unique_ip()).await;
        assert_eq!(
            (r.status().as_u16(), json_of(&r)["error"].as_str()),
            (429, Some("rate_limited")),
            "{name}: the app's budget"
        );
        let renewal = ask(&service, &code, None, first.as_deref(), &unique_ip()).await;
        assert_eq!(renewal.status(), 200, "{name}: a renewal is no new visitor");
        let elsewhere = unique_code();
        create_app(&service, &elsewhere, "public").await;
        let r = ask(&service, &elsewhere, None, None, &unique_ip()).await;
        assert_eq!(r.status(), 200, "{name}: another app's budget");
    }
}

/// Issue #34, 7: a new anonymous visitor's record is kept an hour past its passport's expiry,
/// not the month of `PASSPORT_RETENTION_SECONDS`, until its first renewal; a visitor who came
/// back once is kept for the whole window.
#[tokio::test]
async fn a_new_visitors_record_is_kept_briefly_until_its_first_renewal() {
    use passport::passports::store::NEW_VISITOR_KEEP_SECONDS;
    let config = Config {
        passport_retention: 30 * 86_400,
        ..config()
    };
    let claim = |passport: &str, name: &str| -> String {
        use base64::Engine as _;
        let part = passport.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        let claims: Value = serde_json::from_slice(&bytes).unwrap();
        claims[name].as_str().unwrap().to_string()
    };
    for (name, service) in services(config).await {
        let code = unique_code();
        create_app(&service, &code, "public").await;
        let once = granted(&service, &code, None, None).await;
        let once = once["passport"].as_str().unwrap().to_string();
        let twice = granted(&service, &code, None, None).await;
        let twice = granted(&service, &code, None, twice["passport"].as_str()).await;
        let twice = twice["passport"].as_str().unwrap().to_string();
        let ttl = 86_400; // the app's passport lifetime (`create_app`'s default)
        if name == "memory" {
            // Two hours past their expiry, within the retention window.
            pass(&service, Duration::from_secs(ttl + 7200)).await;
            let back = granted(&service, &code, None, Some(&once)).await;
            assert_ne!(
                back["end_user_id"],
                claim(&once, "sub"),
                "{name}: kept too long"
            );
            let back = granted(&service, &code, None, Some(&twice)).await;
            assert_eq!(
                back["end_user_id"],
                claim(&twice, "sub"),
                "{name}: kept too briefly"
            );
        } else {
            // Redis: the records' own lifetimes (waiting a day is not a test).
            let mut c = common::raw_redis().await;
            let mut left = async |p: &str| -> i64 {
                let key = format!("pp:{{app:{}}}:p:{}", claim(p, "app"), claim(p, "sid"));
                redis::cmd("TTL")
                    .arg(key)
                    .query_async(&mut c)
                    .await
                    .unwrap()
            };
            let brief = ttl as i64 + NEW_VISITOR_KEEP_SECONDS;
            assert!((brief - 5..=brief).contains(&left(&once).await), "{name}");
            let kept = ttl as i64 + 30 * 86_400;
            assert!((kept - 5..=kept).contains(&left(&twice).await), "{name}");
        }
    }
}
