//! Nothing sensitive in logs: a full login → refresh → logout run, through the HTTP edge and on
//! both stores, with every `tracing` event down to TRACE captured; no password, token, signing
//! key or Authorization header value may appear in it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{stores, unique_email};
use http::{Method, Request};
use passport::testing::{TEST_SIGNING_KEY, create_account, service_on, test_config};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn request(
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Request<Vec<u8>> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("user-agent", "log-test");
    if let Some(t) = bearer {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(body.map(|v| v.to_string().into_bytes()).unwrap_or_default())
        .unwrap()
}

#[tokio::test]
async fn a_full_session_logs_no_secret() {
    let capture = Capture::default();
    let sink = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();

    let password = "a password that must never be logged";
    let mut secrets = vec![password.to_string(), TEST_SIGNING_KEY.to_string()];
    for (name, store) in stores().await {
        let service = service_on(store, test_config());
        let email = unique_email();
        create_account(&service, &email, password).await;
        // A refusal by the authorizer is API Gateway's 403.
        let call = |req: Request<Vec<u8>>| {
            let service = &service;
            async move {
                match common::through_gateway(service, req, "192.0.2.55").await {
                    Ok(resp) => (
                        resp.status().as_u16(),
                        serde_json::from_str::<Value>(resp.body()).unwrap_or(Value::Null),
                    ),
                    Err(_) => (403, Value::Null),
                }
            }
        };
        let login = json!({"email": email, "password": password});
        let (status, bad) = call(request(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": email, "password": "wrong password, also secret"})),
        ))
        .await;
        assert_eq!(status, 401, "{name}");
        secrets.push("wrong password, also secret".into());
        let _ = bad;
        let (status, a) = call(request(Method::POST, "/login", None, Some(login))).await;
        assert_eq!(status, 200, "{name}: {a}");
        let access = a["access_token"].as_str().unwrap().to_string();
        let refresh = a["refresh_token"].as_str().unwrap().to_string();
        let (status, _) = call(request(Method::GET, "/me", Some(&access), None)).await;
        assert_eq!(status, 200, "{name}");
        let (status, b) = call(request(
            Method::POST,
            "/refresh-token",
            None,
            Some(json!({"refresh_token": refresh})),
        ))
        .await;
        assert_eq!(status, 200, "{name}");
        let (status, _) = call(request(
            Method::POST,
            "/logout",
            Some(b["access_token"].as_str().unwrap()),
            None,
        ))
        .await;
        assert_eq!(status, 204, "{name}");
        // A failing refresh and a denied token are logged too: still nothing secret.
        let (status, _) = call(request(
            Method::POST,
            "/refresh-token",
            None,
            Some(json!({"refresh_token": refresh})),
        ))
        .await;
        assert_eq!(status, 401, "{name}");
        let (status, _) = call(request(Method::GET, "/me", Some(&access), None)).await;
        assert_eq!(status, 403, "{name}");
        for t in [&access, &refresh] {
            secrets.push(t.clone());
        }
        secrets.push(b["access_token"].as_str().unwrap().to_string());
        secrets.push(b["refresh_token"].as_str().unwrap().to_string());
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture works: the run's own events are in it.
    assert!(
        logs.contains("login") && logs.contains("logout"),
        "nothing captured:\n{logs}"
    );
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "not at trace level:\n{logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret is in the logs:\n{logs}"
        );
        // Token halves too: a JWT's signature or a refresh token's tail alone is still secret.
        if secret.len() > 40 {
            let tail = &secret[secret.len() - 24..];
            assert!(!logs.contains(tail), "part of a secret is in the logs");
        }
    }
    assert!(
        !logs.to_ascii_lowercase().contains("bearer "),
        "an Authorization value is in the logs"
    );
}
