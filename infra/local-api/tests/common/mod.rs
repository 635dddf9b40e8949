//! Shared by the tests that drive the real `local-api` binary over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `local-api`, killed on drop.
pub struct LocalApi {
    pub child: Child,
    pub base: String,
    pub output: Vec<String>,
    /// What it printed after the banner, as it comes.
    pub later: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for LocalApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The private Redis of `make test`: one node, or with `PASSPORT_TEST_REDIS_CLUSTER=true` the
/// seed nodes of its local cluster (passed on to local-api as `REDIS_CLUSTER`).
pub fn redis_url() -> String {
    std::env::var("PASSPORT_TEST_REDIS_URL")
        .expect("PASSPORT_TEST_REDIS_URL is not set: run the tests with `make test`")
}

/// Starts the binary and reads its banner up to the `curl` line.
pub fn start(args: &[&str], env: &[(&str, &str)]) -> LocalApi {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_local-api"));
    cmd.args(["--port", "0"])
        .args(args)
        .env_remove("SIGNING_SECRET")
        .env_remove("REDIS_URL")
        .env(
            "REDIS_CLUSTER",
            std::env::var("PASSPORT_TEST_REDIS_CLUSTER").unwrap_or_default(),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start local-api");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut output = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.trim_start().starts_with("curl ");
        output.push(line);
        if done {
            break;
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe (kept for the tests that
    // read what it prints later, such as mail).
    let later = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = later.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            keep.lock().unwrap().push(line);
        }
    });
    let base = output
        .first()
        .and_then(|l| l.strip_prefix("Passport local API listening on "))
        .unwrap_or_else(|| panic!("unexpected banner: {output:?}"))
        .to_string();
    LocalApi {
        child,
        base,
        output,
        later,
    }
}

pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    pub fn new(base: &str) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.to_string(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, http::HeaderMap, Value) {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.call_with(method, path, &headers, body).await
    }

    /// A request with these headers (and `content-type: application/json` with a body).
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, http::HeaderMap, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Full::new(Bytes::from(b.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = tokio::time::timeout(
            Duration::from_secs(20),
            self.client.request(req.body(body).unwrap()),
        )
        .await
        .expect("request timed out")
        .expect("request failed");
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, parts.headers, json)
    }
}
