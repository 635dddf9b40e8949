//! `local-api` answers what API Gateway answers in front of the functions (see
//! `src/gateway.rs` for the AWS behaviour followed): its own 401/403 bodies from the authorizer
//! step, a deny when the store is down (as the deployed authorizer answers), and CORS for the
//! listed origins only, preflights never reaching the authorizer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Http, redis_url, start};
use http::Method;
use serde_json::{Value, json};

const APP: &str = "http://127.0.0.1:5173";
const PASSWORD: &str = "a gateway test password";

fn unauthorized() -> Value {
    json!({"message": "Unauthorized"})
}

fn forbidden() -> Value {
    json!({"message": "Forbidden"})
}

#[tokio::test]
async fn guarded_routes_get_api_gateways_own_answers_and_cors() {
    let email = format!("gateway-{}@example.com", std::process::id());
    let account = format!("{email}:{PASSWORD}");
    let api = start(
        &["--account", &account],
        &[("REDIS_URL", &redis_url()), ("ALLOWED_ORIGINS", APP)],
    );
    let http = Http::new(&api.base);

    // No identity source: 401, and the authorizer never runs.
    let (status, _, body) = http.call(Method::GET, "/me", None, None).await;
    assert_eq!((status.as_u16(), body), (401, unauthorized()));
    let empty = [("authorization", "")];
    let (status, _, body) = http.call_with(Method::GET, "/sessions", &empty, None).await;
    assert_eq!((status.as_u16(), body), (401, unauthorized()));
    // The authorizer says no: 403.
    let (status, _, body) = http
        .call(Method::GET, "/me", Some("not-a-token"), None)
        .await;
    assert_eq!((status.as_u16(), body), (403, forbidden()));

    let creds = json!({"email": email, "password": PASSWORD});
    let (status, _, pair) = http.call(Method::POST, "/login", None, Some(creds)).await;
    assert_eq!(status, 200, "{pair}");
    let access = pair["access_token"].as_str().unwrap();
    let (status, _, _) = http.call(Method::GET, "/me", Some(access), None).await;
    assert_eq!(status, 200);
    let (status, _, _) = http.call(Method::POST, "/logout", Some(access), None).await;
    assert_eq!(status, 204);
    // A revoked session: the authorizer denies, 403.
    let (status, _, body) = http.call(Method::GET, "/me", Some(access), None).await;
    assert_eq!((status.as_u16(), body), (403, forbidden()));

    // CORS: a preflight is the gateway's, with no credential at all, for listed origins only.
    let preflight = |origin: &'static str| {
        [
            ("origin", origin),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ]
    };
    let (status, headers, _) = http
        .call_with(Method::OPTIONS, "/me", &preflight(APP), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], APP);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let (status, headers, _) = http
        .call_with(Method::OPTIONS, "/me", &preflight("http://evil.test"), None)
        .await;
    assert_eq!(status, 204);
    assert!(headers.get("access-control-allow-origin").is_none());
    // Answers to a listed origin carry the headers, a denial included; others do not.
    let (status, headers, _) = http
        .call_with(Method::GET, "/me", &[("origin", APP)], None)
        .await;
    assert_eq!(
        (status.as_u16(), &headers["access-control-allow-origin"]),
        (401, &APP.parse().unwrap())
    );
    let (_, headers, _) = http
        .call_with(Method::GET, "/me", &[("origin", "http://evil.test")], None)
        .await;
    assert!(headers.get("access-control-allow-origin").is_none());
}

/// With the store down, the deployed authorizer denies (it never fails): 403 on guarded routes,
/// while the functions answer 503 themselves.
#[tokio::test]
async fn with_the_store_down_guarded_routes_are_denied_and_refresh_is_503() {
    let (mut redis, port) = passport::testing::private_redis_server();
    let email = format!("gateway-down-{}@example.com", std::process::id());
    let account = format!("{email}:{PASSWORD}");
    let url = format!("redis://127.0.0.1:{port}");
    let api = start(
        &["--account", &account],
        &[("REDIS_URL", &url), ("REDIS_RESPONSE_TIMEOUT_MS", "500")],
    );
    let http = Http::new(&api.base);
    let creds = json!({"email": email, "password": PASSWORD});
    let (status, _, pair) = http.call(Method::POST, "/login", None, Some(creds)).await;
    assert_eq!(status, 200, "{pair}");
    redis.kill().unwrap();
    redis.wait().unwrap();
    let access = pair["access_token"].as_str().unwrap();
    let (status, _, body) = http.call(Method::GET, "/me", Some(access), None).await;
    assert_eq!((status.as_u16(), body), (403, forbidden()));
    let refresh = json!({"refresh_token": pair["refresh_token"]});
    let (status, headers, body) = http
        .call(Method::POST, "/refresh-token", None, Some(refresh))
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (503, Some("unavailable"))
    );
    assert!(headers.contains_key("retry-after"));
}

/// The app authorizer as API Gateway runs it in front of `GET /apps/me`: both identity sources
/// (`Authorization`, `X-App-Code`) or 401 without invoking it; a deny is 403; a passport for the
/// app is let through with its context. `--app` makes the apps at start.
#[tokio::test]
async fn the_app_authorizer_gets_api_gateways_own_answers() {
    let email = format!("app-gateway-{}@example.com", std::process::id());
    let account = format!("{email}:{PASSWORD}");
    let code = format!("gateway-app-{}", std::process::id());
    let service = format!("{code}:public");
    let api = start(
        &["--account", &account, "--app", &service],
        &[("REDIS_URL", &redis_url())],
    );
    let banner = api.output.join("\n");
    assert!(
        banner.contains(&format!("App (public): X-App-Code: {code}")),
        "{banner}"
    );
    let http = Http::new(&api.base);
    let with_code = [("x-app-code", code.as_str())];
    let (status, _, grant) = http
        .call_with(Method::POST, "/passport", &with_code, None)
        .await;
    assert_eq!(status, 200, "{grant}");
    let passport = grant["passport"].as_str().unwrap();
    let bearer = format!("Bearer {passport}");

    let only_token = [("authorization", bearer.as_str())];
    let (status, _, body) = http
        .call_with(Method::GET, "/apps/me", &only_token, None)
        .await;
    assert_eq!((status.as_u16(), body), (401, unauthorized()));
    let (status, _, body) = http
        .call_with(Method::GET, "/apps/me", &with_code, None)
        .await;
    assert_eq!((status.as_u16(), body), (401, unauthorized()));
    let both = [
        ("authorization", bearer.as_str()),
        ("x-app-code", code.as_str()),
    ];
    let (status, _, body) = http.call_with(Method::GET, "/apps/me", &both, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["end_user_id"], grant["end_user_id"]);
    let other = [
        ("authorization", bearer.as_str()),
        ("x-app-code", "demo-public"),
    ];
    let (status, _, body) = http.call_with(Method::GET, "/apps/me", &other, None).await;
    assert_eq!((status.as_u16(), body), (403, forbidden()));

    // An account's access token is refused by the app authorizer, a passport by the account one.
    let creds = json!({"email": email, "password": PASSWORD});
    let (_, _, pair) = http.call(Method::POST, "/login", None, Some(creds)).await;
    let access = format!("Bearer {}", pair["access_token"].as_str().unwrap());
    let account_token = [
        ("authorization", access.as_str()),
        ("x-app-code", code.as_str()),
    ];
    let (status, _, body) = http
        .call_with(Method::GET, "/apps/me", &account_token, None)
        .await;
    assert_eq!((status.as_u16(), body), (403, forbidden()));
    let (status, _, body) = http.call(Method::GET, "/me", Some(passport), None).await;
    assert_eq!((status.as_u16(), body), (403, forbidden()));
}
