//! End to end: the real `local-api` binary on the private Redis of `make test`, driven over
//! HTTP through login → /me → refresh → grace reuse → late reuse → logout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Http, redis_url, start};
use http::Method;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
#[tokio::test]
async fn full_session_lifecycle_on_redis() {
    let email = format!("e2e-{}@example.com", std::process::id());
    let account = format!("{email}:an end-to-end password");
    let api = start(
        &["--account", &account],
        &[
            ("REDIS_URL", &redis_url()),
            ("SIGNING_SECRET", "end-to-end-test-signing-key-0123456789"),
            ("REFRESH_REUSE_GRACE_SECONDS", "2"),
        ],
    );
    let http = Http::new(&api.base);
    assert!(
        api.output.iter().any(|l| l.contains("Redis")),
        "{:?}",
        api.output
    );

    let (status, _, body) = http.call(Method::GET, "/", None, None).await;
    assert_eq!(status, 200, "{body}");

    // Login.
    let creds = json!({"email": email.to_uppercase(), "password": "an end-to-end password", "device": "e2e"});
    let (status, headers, a) = http
        .call(Method::POST, "/login", None, Some(creds.clone()))
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(headers["cache-control"], "no-store");
    let access = a["access_token"].as_str().unwrap().to_string();
    let refresh = a["refresh_token"].as_str().unwrap().to_string();

    // /me with the access token.
    let (status, _, me) = http.call(Method::GET, "/me", Some(&access), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], email.as_str());
    assert_eq!(me["session_id"], a["session_id"]);
    let (status, _, list) = http
        .call(Method::GET, "/sessions", Some(&access), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["sessions"][0]["current"], true, "{list}");
    assert_eq!(list["sessions"][0]["device"], "e2e", "{list}");

    // Refresh, then the same old token within the grace window: the same successor.
    let (status, _, b) = http
        .call(
            Method::POST,
            "/refresh-token",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    let (status, _, b2) = http
        .call(
            Method::POST,
            "/refresh-token",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, 200, "{b2}");
    assert_eq!(b2["refresh_token"], b["refresh_token"]);
    let access_b = b["access_token"].as_str().unwrap().to_string();
    let (status, _, _) = http.call(Method::GET, "/me", Some(&access_b), None).await;
    assert_eq!(status, 200);

    // The old token after the window: reuse, the whole session is revoked.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, _, err) = http
        .call(
            Method::POST,
            "/refresh-token",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), err["error"].as_str()),
        (401, Some("refresh_token_reused")),
        "{err}"
    );
    let (status, _, _) = http.call(Method::GET, "/me", Some(&access_b), None).await;
    assert_eq!(status, 403, "revoked session still served");
    let (status, _, err) = http
        .call(
            Method::POST,
            "/refresh-token",
            None,
            Some(json!({"refresh_token": b["refresh_token"]})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), err["error"].as_str()),
        (401, Some("invalid_refresh_token"))
    );

    // A new login, then logout: the token stops working at once.
    let (status, _, c) = http.call(Method::POST, "/login", None, Some(creds)).await;
    assert_eq!(status, 200, "{c}");
    let access_c = c["access_token"].as_str().unwrap().to_string();
    let (status, _, _) = http.call(Method::GET, "/me", Some(&access_c), None).await;
    assert_eq!(status, 200);
    let (status, _, _) = http
        .call(Method::POST, "/logout", Some(&access_c), None)
        .await;
    assert_eq!(status, 204);
    let (status, _, err) = http.call(Method::GET, "/me", Some(&access_c), None).await;
    assert_eq!(
        (status.as_u16(), err["message"].as_str()),
        (403, Some("Forbidden"))
    );
    let (status, _, _) = http
        .call(Method::POST, "/logout", Some(&access_c), None)
        .await;
    assert_eq!(status, 204, "logout is idempotent");
}

#[tokio::test]
async fn edge_errors_over_the_wire() {
    let api = start(&[], &[]);
    let http = Http::new(&api.base);
    let cases = [
        (
            Method::POST,
            "/login",
            Some(json!({"email": "x@example.com"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/login",
            Some(json!({"email": 1, "password": "p"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/login",
            Some(json!({"email": "x@example.com", "password": "x".repeat(17_000)})),
            413,
            "payload_too_large",
        ),
        (
            Method::POST,
            "/refresh-token",
            Some(json!({})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/refresh-token",
            Some(json!({"refresh_token": "nope"})),
            401,
            "invalid_refresh_token",
        ),
        (Method::POST, "/logout", None, 401, "unauthorized"),
        (Method::GET, "/nowhere", None, 404, "not_found"),
        (Method::GET, "/login", None, 405, "method_not_allowed"),
    ];
    for (method, path, body, status, code) in cases {
        let (got, headers, json) = http.call(method.clone(), path, None, body).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {json}");
        assert_eq!(json["error"], code, "{method} {path}: {json}");
        assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(headers["content-type"], "application/json");
    }
    let (status, headers, _) = http.call(Method::GET, "/login", None, None).await;
    assert_eq!(
        (status.as_u16(), &headers["allow"]),
        (405, &http::HeaderValue::from_static("POST"))
    );
}

#[tokio::test]
async fn demo_account_and_printed_curl_line_work() {
    let api = start(&[], &[]);
    assert!(
        api.output
            .iter()
            .any(|l| l.contains("Signing key: generated")),
        "{:?}",
        api.output
    );
    assert!(
        api.output.iter().any(|l| l.contains("embedded")),
        "{:?}",
        api.output
    );
    let curl = api.output.last().unwrap().trim();
    // curl -s -X POST <base>/login -H 'content-type: application/json' -d '<body>'
    let url = curl.split_whitespace().nth(4).unwrap();
    assert_eq!(url, format!("{}/login", api.base));
    let body = curl.split("-d '").nth(1).unwrap().trim_end_matches('\'');
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["email"], "demo@passport.local");
    let http = Http::new(&api.base);
    let (status, _, pair) = http.call(Method::POST, "/login", None, Some(body)).await;
    assert_eq!(status, 200, "{pair}");
    let (status, _, me) = http
        .call(Method::GET, "/me", pair["access_token"].as_str(), None)
        .await;
    assert_eq!(
        (status.as_u16(), me["email"].as_str()),
        (200, Some("demo@passport.local"))
    );
}

#[tokio::test]
async fn tls_store_is_used_and_its_certificate_checked() {
    let url = std::env::var("PASSPORT_TEST_REDIS_TLS_URL")
        .expect("PASSPORT_TEST_REDIS_TLS_URL is not set: run the tests with `make test`");
    let ca = std::env::var("PASSPORT_TEST_REDIS_CA").expect("PASSPORT_TEST_REDIS_CA");
    // Trusting the test CA: the API works over rediss://.
    let api = start(
        &["--account", "tls@example.com:a password over TLS"],
        &[("REDIS_URL", &url), ("SSL_CERT_FILE", &ca)],
    );
    let http = Http::new(&api.base);
    let creds = json!({"email": "tls@example.com", "password": "a password over TLS"});
    let (status, _, pair) = http.call(Method::POST, "/login", None, Some(creds)).await;
    assert_eq!(status, 200, "{pair}");
    let (status, _, _) = http
        .call(Method::GET, "/me", pair["access_token"].as_str(), None)
        .await;
    assert_eq!(status, 200);

    // With only the system's CA store, which does not know the test CA: the start fails,
    // naming the certificate problem.
    let out = Command::new(env!("CARGO_BIN_EXE_local-api"))
        .args(["--port", "0"])
        .env("REDIS_URL", &url)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
}

#[tokio::test]
async fn two_local_apis_on_one_host_never_share_a_session_cookie() {
    // Cookies do not isolate by port: each local-api names its cookie after its own.
    let (one, two) = (start(&[], &[]), start(&[], &[]));
    let mut names = Vec::new();
    for api in [&one, &two] {
        let port = api.base.rsplit(':').next().unwrap();
        let demo = api.output.last().unwrap().split("-d '").nth(1).unwrap();
        let mut body: Value = serde_json::from_str(demo.trim_end_matches('\'')).unwrap();
        body["transport"] = "cookie".into();
        let same_origin = [("sec-fetch-site", "same-origin")];
        let (status, headers, pair) = Http::new(&api.base)
            .call_with(Method::POST, "/login", &same_origin, Some(body))
            .await;
        assert_eq!(status, 200, "{pair}");
        assert!(pair.get("refresh_token").is_none());
        let set = headers["set-cookie"].to_str().unwrap();
        let name = set.split('=').next().unwrap().to_string();
        assert_eq!(name, format!("__Host-passport_refresh_{port}"), "{set}");
        assert!(
            api.output.iter().any(|l| l.ends_with(&name)),
            "the banner names the cookie: {:?}",
            api.output
        );
        names.push(name);
    }
    assert_ne!(names[0], names[1]);
    let fixed = start(&[], &[("COOKIE_NAME_SUFFIX", "-mine")]);
    assert!(
        fixed
            .output
            .iter()
            .any(|l| l.ends_with("__Host-passport_refresh-mine")),
        "{:?}",
        fixed.output
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_local-api"))
        .args(["--port", "0"])
        .env("ALLOWED_ORIGINS", "http://192.168.1.20:3000")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("ALLOWED_ORIGINS"), "{err}");
}

#[test]
fn es256_runs_on_ring_from_the_process_start() {
    // The line is written before the configuration is read (which fails here, at once).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_local-api"))
        .args(["--port", "0"])
        .env("RUST_LOG", "info")
        .env("ALLOWED_ORIGINS", "http://192.168.1.20:3000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("es256_backend=ring"), "{err}");
}
