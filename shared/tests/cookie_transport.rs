//! The two transports of the refresh token through the HTTP layer, on both stores: the body
//! (as before) and the `HttpOnly` session cookie with its CSRF check — attributes exactly as
//! documented, refresh and logout by cookie, reuse detection and grace through the cookie, and
//! every CSRF refusal leaving the session as it was.
#![allow(clippy::unwrap_used)]

mod common;

use common::{services, unique_email, unique_ip};
use http::{Method, Response};
use passport::Service;
use passport::kernel::config::Config;
use passport::testing::{create_account, test_config};
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough password";
const APP_ORIGIN: &str = "https://app.example.com";
/// What Chromium sends on a same-origin `fetch`.
const SAME_ORIGIN: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("sec-fetch-site", "same-origin"),
];

fn config(grace: i64) -> Config {
    Config {
        refresh_reuse_grace: grace,
        allowed_origins: vec![APP_ORIGIN.into()],
        ..test_config()
    }
}

async fn send(
    service: &Service,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response<String> {
    common::send(service, method, path, headers, body, &unique_ip())
        .await
        .unwrap()
}

fn json_of(r: &Response<String>) -> Value {
    serde_json::from_str(r.body()).unwrap()
}

/// The `Set-Cookie` headers of an answer.
fn set_cookies(r: &Response<String>) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The `Cookie` request header a browser would send back for the `Set-Cookie`s of `r`: the
/// session cookie, and its pin when it has one (`COOKIE_PATH_PREFIX`).
fn cookie_of(r: &Response<String>) -> String {
    let set = set_cookies(r);
    assert!((1..=2).contains(&set.len()), "{set:?}");
    let pairs: Vec<&str> = set.iter().map(|c| c.split(';').next().unwrap()).collect();
    pairs.join("; ")
}

/// The session cookie alone of a `Cookie` header [`cookie_of`] made (what a sibling subdomain
/// can plant: never the `__Host-` pin).
fn refresh_cookie_of(cookie: &str) -> String {
    cookie
        .split("; ")
        .find(|c| !c.starts_with("__Host-passport_pin"))
        .unwrap()
        .to_string()
}

/// A cookie-transport login: the answer and the `Cookie` header to send back.
async fn cookie_login(service: &Service) -> (Response<String>, String) {
    let email = unique_email();
    create_account(service, &email, PASSWORD).await;
    let body = json!({"email": email, "password": PASSWORD, "transport": "cookie"}).to_string();
    let r = send(service, Method::POST, "/login", SAME_ORIGIN, &body).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let cookie = cookie_of(&r);
    (r, cookie)
}

async fn refresh_by_cookie(service: &Service, cookie: &str) -> Response<String> {
    let mut h = SAME_ORIGIN.to_vec();
    h.push(("cookie", cookie));
    send(service, Method::POST, "/refresh-token", &h, "{}").await
}

async fn live(service: &Service, access: &str) -> bool {
    service
        .authorize(Some(&format!("Bearer {access}")))
        .await
        .is_ok()
}

#[tokio::test]
async fn cookie_login_sets_exactly_the_documented_cookie_and_keeps_the_token_out_of_the_body() {
    for (name, service) in services(config(10)).await {
        let (r, cookie) = cookie_login(&service).await;
        let body = json_of(&r);
        assert!(body.get("refresh_token").is_none(), "{name}: {body}");
        assert!(!r.body().contains(cookie.split('=').nth(1).unwrap()));
        assert!(
            live(&service, body["access_token"].as_str().unwrap()).await,
            "{name}"
        );
        let set = &set_cookies(&r)[0];
        let mut parts: Vec<&str> = set.split("; ").collect();
        let first = parts.remove(0);
        assert!(
            first.starts_with("__Host-passport_refresh="),
            "{name}: {set}"
        );
        assert_eq!(first.len(), "__Host-passport_refresh=".len() + 86);
        parts.sort_unstable();
        let max_age = format!("Max-Age={}", body["refresh_token_expires_in"]);
        let mut want = vec!["HttpOnly", "Path=/", "SameSite=Strict", "Secure", &max_age];
        want.sort_unstable();
        assert_eq!(parts, want, "{name}: {set}");

        // The body transport is exactly as it was: the token in the body, no cookie.
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let plain = [("content-type", "application/json")];
        let login = json!({"email": email, "password": PASSWORD}).to_string();
        let r = send(&service, Method::POST, "/login", &plain, &login).await;
        assert_eq!(r.status(), 200);
        assert_eq!(json_of(&r)["refresh_token"].as_str().unwrap().len(), 86);
        assert!(set_cookies(&r).is_empty(), "{name}");
    }
}

#[tokio::test]
async fn refresh_and_logout_by_cookie() {
    for (name, service) in services(config(10)).await {
        let (_, first) = cookie_login(&service).await;
        let r = refresh_by_cookie(&service, &first).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let body = json_of(&r);
        assert!(body.get("refresh_token").is_none(), "{name}: {body}");
        let second = cookie_of(&r);
        assert_ne!(second, first, "{name}: the cookie rotates");
        // Within the grace window the spent cookie gets the same successor (two tabs racing).
        let again = refresh_by_cookie(&service, &first).await;
        assert_eq!(again.status(), 200, "{name}");
        assert_eq!(cookie_of(&again), second, "{name}");

        let access = body["access_token"].as_str().unwrap().to_string();
        let mut h = SAME_ORIGIN.to_vec();
        h.push(("cookie", &second));
        let out = send(&service, Method::POST, "/logout", &h, "").await;
        assert_eq!(out.status(), 204, "{name}: {}", out.body());
        let cleared = &set_cookies(&out)[0];
        assert!(
            cleared.starts_with("__Host-passport_refresh=;"),
            "{cleared}"
        );
        assert!(cleared.contains("Max-Age=0") && cleared.contains("Path=/"));
        assert!(
            cleared.contains("Secure"),
            "a __Host- deletion needs Secure"
        );
        assert!(
            !live(&service, &access).await,
            "{name}: logout by cookie ended it"
        );
        let after = refresh_by_cookie(&service, &second).await;
        assert_eq!(after.status(), 401, "{name}");
        assert!(
            set_cookies(&after)[0].contains("Max-Age=0"),
            "a dead cookie is deleted"
        );
    }
}

#[tokio::test]
async fn a_thief_replaying_an_old_cookie_after_grace_ends_the_session() {
    for (name, service) in services(config(1)).await {
        let (_, gen0) = cookie_login(&service).await;
        let gen1 = cookie_of(&refresh_by_cookie(&service, &gen0).await);
        let r2 = refresh_by_cookie(&service, &gen1).await;
        let gen2 = cookie_of(&r2);
        let access = json_of(&r2)["access_token"].as_str().unwrap().to_string();
        common::pass(&service, std::time::Duration::from_millis(2_100)).await;
        let stolen = refresh_by_cookie(&service, &gen0).await;
        assert_eq!(stolen.status(), 401, "{name}");
        assert_eq!(json_of(&stolen)["error"], "refresh_token_reused", "{name}");
        assert!(!live(&service, &access).await, "{name}: the session ended");
        let owner = refresh_by_cookie(&service, &gen2).await;
        assert_eq!(
            owner.status(),
            401,
            "{name}: the owner's cookie died with it"
        );
    }
}

/// The cross-site attempts of the CSRF defence, on the cookie routes.
fn forgeries() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let json = ("content-type", "application/json");
    vec![
        (
            "cross-site fetch",
            vec![
                json,
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.test"),
            ],
        ),
        (
            "foreign Origin, no Fetch Metadata",
            vec![json, ("origin", "https://evil.test")],
        ),
        ("no Origin, no Fetch Metadata", vec![json]),
        (
            "text/plain form post",
            vec![
                ("content-type", "text/plain"),
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.test"),
            ],
        ),
        (
            "text/plain, even same-origin",
            vec![
                ("content-type", "text/plain"),
                ("sec-fetch-site", "same-origin"),
            ],
        ),
        (
            "an unlisted sibling",
            vec![
                json,
                ("sec-fetch-site", "same-site"),
                ("origin", "https://x.example.com"),
            ],
        ),
    ]
}

#[tokio::test]
async fn every_forgery_is_refused_and_leaves_the_session_untouched() {
    // Grace 0: had any refused request rotated the cookie, the last refresh would be a reuse.
    for (name, service) in services(config(0)).await {
        let (login, cookie) = cookie_login(&service).await;
        let access = json_of(&login)["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        for (what, headers) in forgeries() {
            for path in ["/refresh-token", "/logout"] {
                let mut h = headers.clone();
                h.push(("cookie", &cookie));
                let r = send(&service, Method::POST, path, &h, "{}").await;
                assert_eq!(r.status(), 403, "{name} {path} {what}: {}", r.body());
                assert_eq!(
                    json_of(&r)["error"],
                    "csrf_rejected",
                    "{name} {path} {what}"
                );
                assert!(set_cookies(&r).is_empty(), "{name} {path} {what}");
            }
            assert!(live(&service, &access).await, "{name} {what}");
        }
        // A cookie-transport login from another site sets nothing.
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let body = json!({"email": email, "password": PASSWORD, "transport": "cookie"}).to_string();
        let h = [
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
        ];
        let r = send(&service, Method::POST, "/login", &h, &body).await;
        assert_eq!(r.status(), 403, "{name}");
        assert!(set_cookies(&r).is_empty());

        let r = refresh_by_cookie(&service, &cookie).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
    }
}

#[tokio::test]
async fn listed_origins_pass_and_a_cookie_refresh_never_answers_in_the_body() {
    for (name, service) in services(config(10)).await {
        let (_, cookie) = cookie_login(&service).await;
        // An older browser (no Fetch Metadata) on a listed origin; a listed sibling subdomain.
        let old_browser = [
            ("content-type", "application/json"),
            ("origin", APP_ORIGIN),
            ("cookie", &cookie),
        ];
        let r = send(&service, Method::POST, "/refresh-token", &old_browser, "").await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let cookie = cookie_of(&r);
        let sibling = [
            ("content-type", "application/json"),
            ("sec-fetch-site", "same-site"),
            ("origin", APP_ORIGIN),
            ("cookie", &cookie),
        ];
        let body = json!({"transport": "body"}).to_string();
        let r = send(&service, Method::POST, "/refresh-token", &sibling, &body).await;
        assert_eq!(
            r.status(),
            400,
            "{name}: an XSS must not get the token this way"
        );
        assert!(set_cookies(&r).is_empty());
        let r = send(&service, Method::POST, "/refresh-token", &sibling, "{}").await;
        assert_eq!(r.status(), 200, "{name}");
        assert!(json_of(&r).get("refresh_token").is_none());
    }
}

#[tokio::test]
async fn a_body_session_moves_to_the_cookie_with_one_refresh() {
    for (name, service) in services(config(0)).await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let plain = [("content-type", "application/json")];
        let login = json!({"email": email, "password": PASSWORD}).to_string();
        let r = send(&service, Method::POST, "/login", &plain, &login).await;
        let token = json_of(&r)["refresh_token"].as_str().unwrap().to_string();
        // Moving sets the cookie, so it passes the CSRF check like a cookie login.
        let moving = json!({"refresh_token": token, "transport": "cookie"}).to_string();
        let r = send(&service, Method::POST, "/refresh-token", &plain, &moving).await;
        assert_eq!(r.status(), 403, "{name}");
        let r = send(
            &service,
            Method::POST,
            "/refresh-token",
            SAME_ORIGIN,
            &moving,
        )
        .await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        assert!(json_of(&r).get("refresh_token").is_none());
        let cookie = cookie_of(&r);
        assert_eq!(
            refresh_by_cookie(&service, &cookie).await.status(),
            200,
            "{name}"
        );
        let old = json!({"refresh_token": token}).to_string();
        let r = send(&service, Method::POST, "/refresh-token", &plain, &old).await;
        assert_eq!(r.status(), 401, "{name}: the body token was spent");
    }
}

#[tokio::test]
async fn two_session_cookies_in_one_request_are_refused_and_cleared() {
    // Cookie tossing: a sibling subdomain plants its own session cookie (the attacker's
    // account) with a longer path, which the browser sends before the victim's.
    let config = Config {
        session_cookie: passport::kernel::cookie::SessionCookie::new(None, Some("/auth")).unwrap(),
        ..config(30)
    };
    for (name, service) in services(config).await {
        let (victim_login, victim) = cookie_login(&service).await;
        let (_, attacker_jar) = cookie_login(&service).await;
        let attacker = refresh_cookie_of(&attacker_jar);
        let both = format!("{attacker}; {victim}");
        assert!(both.starts_with("__Secure-passport_refresh="), "{both}");
        for path in ["/refresh-token", "/logout"] {
            let mut h = SAME_ORIGIN.to_vec();
            h.push(("cookie", &both));
            let r = send(&service, Method::POST, path, &h, "{}").await;
            assert_eq!(r.status(), 403, "{name} {path}: {}", r.body());
            assert_eq!(json_of(&r)["error"], "csrf_rejected", "{name} {path}");
            let cleared = set_cookies(&r);
            assert!(
                cleared.iter().any(|c| c.contains("Path=/auth;"))
                    && cleared.iter().any(|c| c.contains(&format!("Path={path};")))
                    && cleared.iter().all(|c| c.contains("Max-Age=0")),
                "{name} {path}: {cleared:?}"
            );
        }
        // Neither session was touched: each cookie alone still refreshes.
        let access = json_of(&victim_login)["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(live(&service, &access).await, "{name}");
        assert_eq!(
            refresh_by_cookie(&service, &victim).await.status(),
            200,
            "{name}"
        );
        assert_eq!(
            refresh_by_cookie(&service, &attacker_jar).await.status(),
            200,
            "{name}"
        );
    }
}

/// Issue #34, 8: under `COOKIE_PATH_PREFIX` the session cookie is `__Secure-`, which a sibling
/// subdomain can plant with `Domain=`. Planted alone in a browser with no session (no second
/// cookie for the tossing defence to see), it is refused: it lacks the `__Host-` pin of its
/// session, which no sibling can set. The planter's own session is untouched.
#[tokio::test]
async fn a_planted_session_cookie_without_its_pin_is_refused() {
    let config = Config {
        session_cookie: passport::kernel::cookie::SessionCookie::new(None, Some("/auth")).unwrap(),
        ..config(30)
    };
    for (name, service) in services(config).await {
        let (login, jar) = cookie_login(&service).await;
        assert!(
            set_cookies(&login)
                .iter()
                .any(|c| c.starts_with("__Host-passport_pin=") && c.contains("Path=/;")),
            "{name}: {:?}",
            set_cookies(&login)
        );
        let planted = refresh_cookie_of(&jar);
        for path in ["/refresh-token", "/logout"] {
            let mut h = SAME_ORIGIN.to_vec();
            h.push(("cookie", &planted));
            let r = send(&service, Method::POST, path, &h, "{}").await;
            assert_eq!(
                (r.status().as_u16(), json_of(&r)["error"].as_str()),
                (403, Some("csrf_rejected")),
                "{name} {path}: {}",
                r.body()
            );
        }
        // Another session's pin does not do either.
        let (_, other) = cookie_login(&service).await;
        let other_pin = other
            .split("; ")
            .find(|c| c.starts_with("__Host-"))
            .unwrap();
        let mixed = format!("{planted}; {other_pin}");
        assert_eq!(
            refresh_by_cookie(&service, &mixed).await.status(),
            403,
            "{name}"
        );
        // With its own pin it is its session's, as before: the refresh answers a new pin too.
        let r = refresh_by_cookie(&service, &jar).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        assert_eq!(
            cookie_of(&r).matches("__Host-passport_pin=").count(),
            1,
            "{name}"
        );
    }
}
