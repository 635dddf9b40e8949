//! Device Bound Session Credentials, spoken by a protocol-level client with its own P-256 key
//! (as a browser's key service would hold it), through the route table as API Gateway runs it:
//! a cookie login offers binding, the client registers, the bound cookie is renewed with proofs,
//! and what must be refused is — a bad signature, a stale or reused challenge, a proof for
//! another session, a spent refresh generation, an ended session, and, with binding required, a
//! refresh without the live bound cookie (a copied refresh cookie cannot downgrade the session).
//! On memory (a manual clock), Redis and the cluster (`make test`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{pass, send, services, unique_email, unique_ip};
use http::{Method, Response};
use passport::Service;
use passport::kernel::config::DbscBinding;
use passport::testing::device::{device, proof};
use passport::testing::{create_account, test_config};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "a device-bound password";
const SAME_ORIGIN: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("sec-fetch-site", "same-origin"),
];
/// The bound cookie's lifetime here: short, so that Redis's run waits little; each check keeps
/// a second from it.
const BOUND_SECONDS: i64 = 2;

fn header(r: &Response<String>, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The quoted parameter `name="…"` of a structured header.
fn param(value: &str, name: &str) -> String {
    let start = value.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    value[start..].split('"').next().unwrap().to_string()
}

/// The `name=value` of a `Set-Cookie` for `cookie`.
fn cookie(r: &Response<String>, name_prefix: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(name_prefix) && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

fn body(r: &Response<String>) -> Value {
    serde_json::from_str(r.body()).unwrap_or(Value::Null)
}

async fn post(service: &Service, path: &str, headers: &[(&str, &str)]) -> Response<String> {
    let mut h = SAME_ORIGIN.to_vec();
    h.extend_from_slice(headers);
    send(service, Method::POST, path, &h, "{}", &unique_ip())
        .await
        .unwrap()
}

/// A cookie login of a new account: the answer.
async fn cookie_login(service: &Service) -> Response<String> {
    let email = unique_email();
    create_account(service, &email, PASSWORD).await;
    let creds = json!({"email": email, "password": PASSWORD, "transport": "cookie"});
    let body = creds.to_string();
    let r = send(
        service,
        Method::POST,
        "/login",
        SAME_ORIGIN,
        &body,
        &unique_ip(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.body());
    r
}

/// A cookie login: the refresh cookie, and the registration challenge offered with it.
async fn login(service: &Service) -> (String, String) {
    let r = cookie_login(service).await;
    let offer = header(&r, "secure-session-registration");
    assert!(
        offer.starts_with("(ES256);path=\"/dbsc/register\""),
        "{offer}"
    );
    (
        cookie(&r, "__Host-passport_refresh").unwrap(),
        param(&offer, "challenge"),
    )
}

/// Registers `d` for the session a login offered `challenge` to: the instructions and the
/// bound cookie.
async fn register(
    service: &Service,
    d: &passport::testing::device::Device,
    challenge: &str,
) -> (Value, String) {
    let p = proof(d, challenge, Some(d));
    let r = post(
        service,
        "/dbsc/register",
        &[("secure-session-response", &p)],
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    (body(&r), cookie(&r, "__Host-passport_bound").unwrap())
}

/// A refresh at the refresh URL: the challenge it answers without a proof.
async fn challenge(service: &Service, id: &str) -> String {
    let r = post(service, "/dbsc/refresh", &[("sec-secure-session-id", id)]).await;
    assert_eq!(r.status(), 403, "{}", r.body());
    assert_eq!(body(&r)["error"], "session_proof_required");
    let c = header(&r, "secure-session-challenge");
    assert_eq!(param(&c, "id"), id, "{c}");
    c.trim_start_matches('"')
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

async fn renew(service: &Service, id: &str, p: &str) -> Response<String> {
    post(
        service,
        "/dbsc/refresh",
        &[
            ("sec-secure-session-id", id),
            ("secure-session-response", p),
        ],
    )
    .await
}

async fn refresh_by_cookie(service: &Service, cookies: &str) -> Response<String> {
    post(service, "/refresh-token", &[("cookie", cookies)]).await
}

fn required() -> passport::Config {
    passport::Config {
        dbsc_binding: DbscBinding::Required,
        dbsc_cookie_seconds: BOUND_SECONDS,
        // No grace: a spent generation is reuse at once.
        refresh_reuse_grace: 0,
        ..test_config()
    }
}

#[tokio::test]
async fn a_bound_session_renews_only_with_its_device_key() {
    for (name, service) in services(required()).await {
        let service = &*service;
        let laptop = device();
        let (refresh, offered) = login(service).await;
        let (instructions, bound) = register(service, &laptop, &offered).await;
        let id = instructions["session_identifier"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(instructions["refresh_url"], "/dbsc/refresh", "{name}");
        let credential = &instructions["credentials"][0];
        assert_eq!(credential["name"], "__Host-passport_bound", "{name}");
        assert!(
            credential["attributes"]
                .as_str()
                .unwrap()
                .contains("HttpOnly")
        );

        // The registration's challenge is spent; a session binds to one key only.
        let again = proof(&laptop, &offered, Some(&laptop));
        let r = post(
            service,
            "/dbsc/register",
            &[("secure-session-response", &again)],
        )
        .await;
        assert_eq!(
            body(&r)["error"],
            "invalid_session_proof",
            "{name}: reused challenge"
        );

        // A renewal: a bad signature (another key) refused, the challenge kept for the right one.
        let c = challenge(service, &id).await;
        let thief = device();
        let r = renew(service, &id, &proof(&thief, &c, None)).await;
        assert_eq!(
            (r.status().as_u16(), body(&r)["error"].as_str()),
            (401, Some("invalid_session_proof")),
            "{name}: bad signature"
        );
        let r = renew(service, &id, &proof(&laptop, &c, None)).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let bound = cookie(&r, "__Host-passport_bound").unwrap_or(bound);
        let r = renew(service, &id, &proof(&laptop, &c, None)).await;
        assert_eq!(r.status(), 401, "{name}: a used challenge");

        // Binding required: the refresh cookie alone (a copy) no longer refreshes; with the
        // live bound cookie it does.
        let r = refresh_by_cookie(service, &refresh).await;
        assert_eq!(
            (r.status().as_u16(), body(&r)["error"].as_str()),
            (403, Some("bound_cookie_required")),
            "{name}"
        );
        let r = refresh_by_cookie(service, &format!("{refresh}; {bound}")).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let rotated = cookie(&r, "__Host-passport_refresh").unwrap();

        // The bound cookie outlives its lifetime on a copy: refused; the device renews it.
        pass(service, Duration::from_secs(BOUND_SECONDS as u64 + 1)).await;
        let r = refresh_by_cookie(service, &format!("{rotated}; {bound}")).await;
        assert_eq!(r.status(), 403, "{name}: an expired bound cookie");
        let c = challenge(service, &id).await;
        let r = renew(service, &id, &proof(&laptop, &c, None)).await;
        let fresh = cookie(&r, "__Host-passport_bound").unwrap();
        let r = refresh_by_cookie(service, &format!("{rotated}; {fresh}")).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());

        // A spent generation with a live bound cookie is still reuse: the session ends, and
        // the browser is told to stop.
        let r = refresh_by_cookie(service, &format!("{rotated}; {fresh}")).await;
        assert_eq!(body(&r)["error"], "refresh_token_reused", "{name}");
        let r = post(service, "/dbsc/refresh", &[("sec-secure-session-id", &id)]).await;
        assert_eq!(
            (r.status().as_u16(), &body(&r)["continue"]),
            (200, &json!(false))
        );
    }
}

/// A POST /refresh-token with `body` (JSON) and the `cookies`, if any.
async fn refresh_with(service: &Service, body: &Value, cookies: Option<&str>) -> Response<String> {
    let mut h = SAME_ORIGIN.to_vec();
    if let Some(c) = cookies {
        h.push(("cookie", c));
    }
    send(
        service,
        Method::POST,
        "/refresh-token",
        &h,
        &body.to_string(),
        &unique_ip(),
    )
    .await
    .unwrap()
}

/// Issue #34, 1: a stolen cookie jar's refresh token sent in a body is no way around the
/// binding. With `DBSC_BINDING=required` a bound session refreshes only through the cookie
/// transport with its live bound cookie, however the token arrives.
#[tokio::test]
async fn a_bound_sessions_token_in_a_body_refreshes_only_as_the_cookie_would() {
    for (name, service) in services(required()).await {
        let service = &*service;
        let laptop = device();
        let (refresh, offered) = login(service).await;
        let (_, bound) = register(service, &laptop, &offered).await;
        let token = refresh.split_once('=').unwrap().1.to_string();
        let refused = |r: &Response<String>| {
            (
                r.status().as_u16(),
                body(r)["error"].as_str().map(str::to_string),
            )
        };
        let want = (403, Some("bound_cookie_required".to_string()));
        // The copied value alone, in the body, answered by body or by cookie.
        for asked in [
            json!({"refresh_token": token}),
            json!({"refresh_token": token, "transport": "cookie"}),
        ] {
            let r = refresh_with(service, &asked, None).await;
            assert_eq!(refused(&r), want, "{name}: {asked}");
        }
        // With the live bound cookie, but answered in the body: a bound session stays a
        // cookie session.
        let asked = json!({"refresh_token": token, "transport": "body"});
        let r = refresh_with(service, &asked, Some(&bound)).await;
        assert_eq!(refused(&r), want, "{name}: answered in the body");
        // Nothing was spent: the owner's browser refreshes as before.
        let r = refresh_by_cookie(service, &format!("{refresh}; {bound}")).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        // An unbound body session is untouched by the rule.
        let email = unique_email();
        create_account(service, &email, PASSWORD).await;
        let creds = json!({"email": email, "password": PASSWORD});
        let r = send(
            service,
            Method::POST,
            "/login",
            SAME_ORIGIN,
            &creds.to_string(),
            &unique_ip(),
        )
        .await
        .unwrap();
        let plain = body(&r)["refresh_token"].as_str().unwrap().to_string();
        let r = refresh_with(service, &json!({"refresh_token": plain}), None).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
    }
}

#[tokio::test]
async fn a_proof_for_another_session_or_an_unbound_session_is_refused() {
    for (name, service) in services(required()).await {
        let service = &*service;
        let (a_key, b_key) = (device(), device());
        let (_, offer_a) = login(service).await;
        let (a, _) = register(service, &a_key, &offer_a).await;
        let (refresh_b, offer_b) = login(service).await;
        let (b, _) = register(service, &b_key, &offer_b).await;
        let (a, b) = (
            a["session_identifier"].as_str().unwrap().to_string(),
            b["session_identifier"].as_str().unwrap().to_string(),
        );
        // B's device answers A's challenge, at B's id: signed by B's key, for the wrong session.
        let for_a = challenge(service, &a).await;
        let r = renew(service, &b, &proof(&b_key, &for_a, None)).await;
        assert_eq!(r.status(), 401, "{name}: another session's challenge");
        // Registering A's challenge again with another key: refused.
        let (_, offer_c) = login(service).await;
        register(service, &a_key, &offer_c).await; // one key may bind several sessions
        let r = post(
            service,
            "/dbsc/register",
            &[(
                "secure-session-response",
                &proof(&b_key, &offer_c, Some(&b_key)),
            )],
        )
        .await;
        assert_eq!(r.status(), 401, "{name}: a spent registration challenge");
        // A session never bound refreshes with its cookie alone, required or not.
        let (unbound, _) = login(service).await;
        assert_eq!(
            refresh_by_cookie(service, &unbound).await.status(),
            200,
            "{name}"
        );
        // Logout ends a bound session; its browser is told to stop; the bound cookie goes too.
        let r = post(service, "/logout", &[("cookie", &refresh_b)]).await;
        assert_eq!(r.status(), 204, "{name}");
        let cleared: Vec<&str> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with("__Host-passport_bound=;")),
            "{cleared:?}"
        );
        let r = post(service, "/dbsc/refresh", &[("sec-secure-session-id", &b)]).await;
        assert_eq!(body(&r)["continue"], false, "{name}");
        // Garbage is a client error, never a 500.
        for (k, v) in [
            ("sec-secure-session-id", "not an id"),
            ("secure-session-response", "a.b.c"),
        ] {
            let path = if k == "sec-secure-session-id" {
                "/dbsc/refresh"
            } else {
                "/dbsc/register"
            };
            let r = post(service, path, &[(k, v)]).await;
            assert!(
                r.status().is_client_error(),
                "{name} {path}: {}",
                r.status()
            );
        }
    }
}

#[tokio::test]
async fn offered_binding_is_not_enforced_and_off_is_not_offered() {
    let offered = passport::Config {
        dbsc_cookie_seconds: BOUND_SECONDS,
        ..test_config()
    };
    for (name, service) in services(offered).await {
        let d = device();
        let (refresh, offer) = login(&service).await;
        register(&service, &d, &offer).await;
        assert_eq!(
            refresh_by_cookie(&service, &refresh).await.status(),
            200,
            "{name}"
        );
    }
    let off = passport::Config {
        dbsc_binding: DbscBinding::Off,
        ..test_config()
    };
    for (name, service) in services(off).await {
        let r = cookie_login(&service).await;
        assert_eq!(header(&r, "secure-session-registration"), "", "{name}");
        let r = post(
            &service,
            "/dbsc/refresh",
            &[("sec-secure-session-id", "x.y")],
        )
        .await;
        assert_eq!(r.status(), 404, "{name}");
    }
}

/// Anyone who has seen an access token's `sub` and `sid` can ask for a bound session's refresh
/// challenge: asking makes the store keep nothing (the challenge carries its own MAC), and
/// every challenge asked for is still good, once — the holder of the identifier cannot crowd
/// out the browser's.
#[tokio::test]
async fn asking_for_refresh_challenges_makes_the_store_keep_nothing() {
    const ASKS: usize = 200;
    let store = std::sync::Arc::new(passport::kernel::store::MemoryStore::new());
    let memory = common::service_for("memory", store.clone(), required());
    let redis = common::service_for(
        "redis",
        std::sync::Arc::new(common::redis_store().await),
        required(),
    );
    let mut raw = common::raw_redis().await;
    // Every master's challenge states (a cluster connection asks each master and joins the
    // answers). Other tests of this file keep one per cookie login meanwhile: far fewer than
    // ASKS / 2.
    let mut kept_on_redis = async || -> usize {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("pp:{cer:*}:c")
            .query_async(&mut raw)
            .await
            .unwrap();
        keys.len()
    };
    for (name, service) in [("memory", &memory), ("redis", &redis)] {
        let laptop = device();
        let (_, offered) = login(service).await;
        let (instructions, _) = register(service, &laptop, &offered).await;
        let id = instructions["session_identifier"].as_str().unwrap();
        let before = (store.kept_states(), kept_on_redis().await);
        let mut asked = Vec::new();
        for _ in 0..ASKS {
            asked.push(challenge(service, id).await);
        }
        let after = (store.kept_states(), kept_on_redis().await);
        assert_eq!(after.0, before.0, "{name}: the memory store kept states");
        assert!(
            after.1 < before.1 + ASKS / 2,
            "{name}: Redis kept {} more challenge states",
            after.1 - before.1
        );
        // The browser's challenge, asked for first, still renews; then none of them does.
        let r = renew(service, id, &proof(&laptop, &asked[0], None)).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let r = renew(service, id, &proof(&laptop, &asked[ASKS - 1], None)).await;
        assert_eq!(
            r.status(),
            401,
            "{name}: a challenge for the replaced cookie"
        );
    }
}

/// A renewal takes effect only while the bound cookie its challenge was made for is in force:
/// of two renewals racing with one challenge, one wins; the store refuses the other whole.
#[tokio::test]
async fn a_renewal_for_a_replaced_cookie_changes_nothing() {
    use passport::dbsc::store::{BindOutcome, RenewOutcome};
    for (name, store) in common::stores().await {
        let s = &*store;
        let a = common::contract::account(s).await;
        let st = common::contract::start(s, &a, 1000, 2000).await;
        let now = passport::kernel::clock::now();
        let bound = s
            .bind_session(a.id, st.session, "{\"kty\":\"EC\"}", "c1", now + 600, now)
            .await
            .unwrap();
        assert_eq!(bound, BindOutcome::Bound, "{name}");
        let renew = |cookie: &'static str, expected: &'static str| {
            s.renew_bound_cookie(a.id, st.session, cookie, now + 600, expected, now)
        };
        assert_eq!(
            renew("c2", "c1").await.unwrap(),
            RenewOutcome::Renewed,
            "{name}"
        );
        assert_eq!(
            renew("c3", "c1").await.unwrap(),
            RenewOutcome::Stale,
            "{name}"
        );
        let binding = s
            .session_binding(a.id, st.session, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (binding.cookie.as_deref(), binding.previous.as_deref()),
            (Some("c2"), Some("c1")),
            "{name}: the stale renewal changed the binding"
        );
        assert_eq!(
            renew("c3", "c2").await.unwrap(),
            RenewOutcome::Renewed,
            "{name}"
        );
        assert!(
            s.revoke_session(a.id, st.session, now).await.unwrap(),
            "{name}"
        );
        assert_eq!(
            renew("c4", "c3").await.unwrap(),
            RenewOutcome::Gone,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_stale_challenge_is_refused() {
    // On the in-memory store, whose clock the test moves past the challenge's lifetime (on
    // Redis the service reads the system clock, and waiting it out would take five minutes).
    let store = std::sync::Arc::new(passport::kernel::store::MemoryStore::new());
    let service = common::service_for("memory", store, required());
    let laptop = device();
    let (_, offered) = login(&service).await;
    let (instructions, _) = register(&service, &laptop, &offered).await;
    let id = instructions["session_identifier"]
        .as_str()
        .unwrap()
        .to_string();
    let c = challenge(&service, &id).await;
    pass(
        &service,
        Duration::from_secs(passport::dbsc::protocol::CHALLENGE_SECONDS as u64 + 1),
    )
    .await;
    let r = renew(&service, &id, &proof(&laptop, &c, None)).await;
    assert_eq!(
        (r.status().as_u16(), body(&r)["error"].as_str()),
        (401, Some("invalid_session_proof"))
    );
    // A fresh challenge still renews: the key and the session are as they were.
    let c = challenge(&service, &id).await;
    assert_eq!(
        renew(&service, &id, &proof(&laptop, &c, None))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_renewal_leaves_the_cookie_it_replaced_live_until_its_expiry() {
    for (name, service) in services(required()).await {
        let service = &*service;
        let laptop = device();
        let (refresh, offered) = login(service).await;
        let (instructions, first) = register(service, &laptop, &offered).await;
        let id = instructions["session_identifier"].as_str().unwrap();
        let renewed = |r: Response<String>| cookie(&r, "__Host-passport_bound").unwrap();

        // A request the browser sent during a renewal (Chromium renews ahead of expiry) still
        // carries the cookie the renewal replaced: it passes until that cookie's own expiry.
        let c = challenge(service, id).await;
        let second = renewed(renew(service, id, &proof(&laptop, &c, None)).await);
        let r = refresh_by_cookie(service, &format!("{refresh}; {first}")).await;
        assert_eq!(r.status(), 200, "{name}: the replaced cookie, {}", r.body());
        let refresh = cookie(&r, "__Host-passport_refresh").unwrap();

        // Two renewals back, it no longer counts; the one in between does.
        let c = challenge(service, id).await;
        let third = renewed(renew(service, id, &proof(&laptop, &c, None)).await);
        let r = refresh_by_cookie(service, &format!("{refresh}; {first}")).await;
        assert_eq!(
            body(&r)["error"],
            "bound_cookie_required",
            "{name}: two back"
        );
        let r = refresh_by_cookie(service, &format!("{refresh}; {second}")).await;
        assert_eq!(r.status(), 200, "{name}: one back, {}", r.body());
        let refresh = cookie(&r, "__Host-passport_refresh").unwrap();

        // Past its expiry, the replaced cookie is refused like any other.
        pass(service, Duration::from_secs(BOUND_SECONDS as u64 + 1)).await;
        let c = challenge(service, id).await;
        let fourth = renewed(renew(service, id, &proof(&laptop, &c, None)).await);
        let r = refresh_by_cookie(service, &format!("{refresh}; {third}")).await;
        assert_eq!(
            body(&r)["error"],
            "bound_cookie_required",
            "{name}: expired"
        );
        let r = refresh_by_cookie(service, &format!("{refresh}; {fourth}")).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
    }
}
