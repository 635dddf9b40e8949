//! Recent authentication, through the route table as API Gateway runs it: the dangerous routes
//! refuse an old sign-in with `reauthentication_required`, `POST /reauthenticate` (counted like
//! a login) makes it recent again without a new session, and `auth_time`/`amr` travel in
//! `GET /me`, `GET /sessions` and the access tokens, across refreshes. On memory (a manual
//! clock), Redis and the cluster (`make test`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{pass, send, services, unique_email, unique_ip};
use http::Method;
use passport::kernel::service::TokenPair;
use passport::sessions::LoginInput;
use passport::testing::{create_account, test_config};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "a password to prove again";
/// Short, so that Redis's run waits little: the wait below leaves a second of margin each way.
const MAX_AGE: i64 = 2;

fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn call(
    service: &passport::Service,
    method: Method,
    path: &str,
    pair: &TokenPair,
    body: Value,
    ip: &str,
) -> (u16, Value) {
    let bearer = format!("Bearer {}", pair.access_token);
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let resp = send(service, method, path, &headers, &body, ip)
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_str(resp.body()).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn dangerous_routes_need_a_recent_authentication_and_reauthenticate_gives_it() {
    let config = passport::Config {
        reauth_max_age: MAX_AGE,
        login_max_failures: 3,
        ..test_config()
    };
    for (name, service) in services(config).await {
        let service = &*service;
        let (email, ip) = (unique_email(), unique_ip());
        create_account(service, &email, PASSWORD).await;
        let client = passport::kernel::service::ClientInfo::default();
        let login = || service.login(LoginInput::new(&email, PASSWORD), &client);
        let (a, b) = (login().await.unwrap(), login().await.unwrap());

        let signed_in = claims(&a.access_token);
        assert_eq!(signed_in["amr"], json!(["pwd"]), "{name}");
        let (status, me) = call(service, Method::GET, "/me", &a, Value::Null, &ip).await;
        assert_eq!((status, &me["amr"]), (200, &json!(["pwd"])), "{name}: {me}");
        let (_, list) = call(service, Method::GET, "/sessions", &a, Value::Null, &ip).await;
        assert_eq!(list["sessions"][0]["amr"], json!(["pwd"]), "{name}: {list}");
        assert_eq!(list["sessions"][0]["auth_time"], me["auth_time"], "{name}");
        // Within the window: ending another session needs nothing more.
        let c = login().await.unwrap();
        let path = format!("/sessions/{}", c.session_id);
        let (status, _) = call(service, Method::DELETE, &path, &a, Value::Null, &ip).await;
        assert_eq!(status, 204, "{name}");

        pass(service, Duration::from_secs(MAX_AGE as u64 + 2)).await;

        // Every dangerous route refuses; the harmless ones do not.
        let other = format!("/sessions/{}", b.session_id);
        let change = json!({"current_password": PASSWORD, "new_password": "a new password here"});
        for (method, path, body) in [
            (Method::POST, "/password", change.clone()),
            (Method::DELETE, other.as_str(), Value::Null),
            (Method::POST, "/logout", json!({"all": true})),
            (Method::POST, "/passkeys/registration/options", Value::Null),
            (Method::DELETE, "/passkeys/abc", Value::Null),
        ] {
            let (status, body) = call(service, method.clone(), path, &a, body, &ip).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (403, Some("reauthentication_required")),
                "{name}: {method} {path}"
            );
        }
        let by_refresh = json!({"all": true, "refresh_token": a.refresh_token});
        let resp = send(
            service,
            Method::POST,
            "/logout",
            &[("content-type", "application/json")],
            &by_refresh.to_string(),
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 403, "{name}: logout-all by refresh token");
        // By the session cookie: refused the same way, and the cookie is kept for the retry.
        let cookie = format!(
            "{}={}",
            service.config().session_cookie.name(),
            a.refresh_token
        );
        let resp = send(
            service,
            Method::POST,
            "/logout",
            &[
                ("content-type", "application/json"),
                ("sec-fetch-site", "same-origin"),
                ("cookie", &cookie),
            ],
            r#"{"all": true}"#,
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 403, "{name}: logout-all by cookie");
        assert!(
            resp.headers().get("set-cookie").is_none(),
            "{name}: cookie kept"
        );
        let (status, _) = call(service, Method::GET, "/sessions", &a, Value::Null, &ip).await;
        assert_eq!(status, 200, "{name}");
        let (status, _) = call(service, Method::GET, "/passkeys", &a, Value::Null, &ip).await;
        assert_eq!(status, 200, "{name}");

        // Wrong passwords count toward the login lockout, as at /login.
        for _ in 0..3 {
            let wrong = json!({"password": "not the password"});
            let (status, body) =
                call(service, Method::POST, "/reauthenticate", &a, wrong, &ip).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_credentials"))
            );
        }
        let right = json!({"password": PASSWORD});
        let (status, body) = call(
            service,
            Method::POST,
            "/reauthenticate",
            &a,
            right.clone(),
            &ip,
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (429, Some("too_many_attempts")),
            "{name}"
        );

        // From another address the right password works: the session is recent again, with
        // no new session made, and the same access token now passes.
        let elsewhere = unique_ip();
        let (status, body) = call(
            service,
            Method::POST,
            "/reauthenticate",
            &a,
            right,
            &elsewhere,
        )
        .await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["amr"], json!(["pwd"]));
        assert_ne!(
            body["auth_time"], me["auth_time"],
            "{name}: auth_time moved on"
        );
        let (_, list) = call(service, Method::GET, "/sessions", &a, Value::Null, &ip).await;
        assert_eq!(
            list["sessions"].as_array().unwrap().len(),
            2,
            "{name}: {list}"
        );
        let (status, _) = call(service, Method::DELETE, &other, &a, Value::Null, &ip).await;
        assert_eq!(status, 204, "{name}");

        // A refresh keeps the session's authentication: the reauthentication's, not now's.
        pass(service, Duration::from_secs(1)).await;
        let refreshed = service.refresh(&a.refresh_token).await.unwrap();
        let c = claims(&refreshed.access_token);
        assert!(
            c["auth_time"].as_i64().unwrap() > signed_in["auth_time"].as_i64().unwrap(),
            "{name}"
        );
        assert!(
            c["auth_time"].as_i64().unwrap() < c["iat"].as_i64().unwrap(),
            "{name}"
        );
        assert_eq!(c["amr"], json!(["pwd"]));

        let (status, _) = call(
            service,
            Method::POST,
            "/logout",
            &refreshed,
            json!({"all": true}),
            &ip,
        )
        .await;
        assert_eq!(status, 204, "{name}");
    }
}

/// Issue #34, 4: adding a passkey needs a `POST /reauthenticate` made for it, within
/// `REAUTH_GRANT_SECONDS`: a fresh sign-in's access token alone — what a thief copies in the
/// minutes after one — is refused. (That each grant adds one passkey: `store_features.rs`.)
#[tokio::test]
async fn adding_a_passkey_needs_a_reauthentication_made_for_it() {
    use passport::kernel::authentication::REAUTH_GRANT_SECONDS;
    for (name, service) in services(test_config()).await {
        let service = &*service;
        let (email, ip) = (unique_email(), unique_ip());
        create_account(service, &email, PASSWORD).await;
        let client = passport::kernel::service::ClientInfo::default();
        let a = service
            .login(LoginInput::new(&email, PASSWORD), &client)
            .await
            .unwrap();
        let options = || {
            let path = "/passkeys/registration/options";
            call(service, Method::POST, path, &a, Value::Null, &ip)
        };
        let refused = (403, Some("reauthentication_required".to_string()));
        let answer =
            |(status, body): (u16, Value)| (status, body["error"].as_str().map(str::to_string));
        assert_eq!(answer(options().await), refused, "{name}: a fresh sign-in");
        let right = json!({"password": PASSWORD});
        let (status, _) = call(service, Method::POST, "/reauthenticate", &a, right, &ip).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(options().await.0, 200, "{name}: reauthenticated");
        // Asking for options spends nothing: the addition does.
        assert_eq!(options().await.0, 200, "{name}: again");
        if name == "memory" {
            // On the manual clock (Redis's window is the store contract's).
            pass(
                service,
                Duration::from_secs(REAUTH_GRANT_SECONDS as u64 + 1),
            )
            .await;
            assert_eq!(
                answer(options().await),
                refused,
                "{name}: the grant's window"
            );
        }
    }
}
