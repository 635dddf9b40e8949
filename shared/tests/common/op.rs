//! The real OpenID Provider `make test` starts (`infra/test/oidc-provider.mjs`, panva's
//! `oidc-provider`): a client registered per test (RFC 7591), and a person signing in there as
//! a browser would, following its redirects with its cookies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::{send, unique_email, unique_ip};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use passport::Service;
use passport::kernel::config::SecretBytes;
use serde_json::{Value, json};

/// Where this deployment is, in the tests: the provider sends the browser back under it.
pub const BASE: &str = "https://auth.example.com";

/// The provider's issuer.
pub fn issuer() -> String {
    std::env::var("PASSPORT_TEST_OIDC_ISSUER").expect(
        "PASSPORT_TEST_OIDC_ISSUER is not set: run the tests with `make test`, which starts the \
         local OpenID Provider (infra/test/oidc-provider.mjs) and sets it",
    )
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// One request; its status, headers and body.
async fn fetch(
    method: Method,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = client()
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

/// Registers a client whose redirect URI is `provider`'s callback under [`BASE`]: its id and
/// secret.
pub async fn register(provider: &str) -> (String, String) {
    let body = json!({
        "redirect_uris": [format!("{BASE}/oauth/{provider}/callback")],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
    });
    let (status, _, bytes) = fetch(
        Method::POST,
        &format!("{}/reg", issuer()),
        &[("content-type", "application/json".into())],
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().unwrap().to_string(),
    )
}

/// A configuration with the provider `test` at the local OP (a client of its own) and the
/// deployment at [`BASE`].
pub async fn config() -> passport::Config {
    config_with(passport::testing::test_config()).await
}

/// `base` with the provider `test` at the local OP.
pub async fn config_with(base: passport::Config) -> passport::Config {
    let (id, secret) = register("test").await;
    passport::Config {
        public_base_url: Some(BASE.into()),
        oidc_providers: Some(
            json!([{"name": "test", "issuer": issuer(), "client_id": id, "label": "Test"}])
                .to_string(),
        ),
        oidc_client_secrets: Some(SecretBytes::new(
            json!({ "test": secret }).to_string().into_bytes(),
        )),
        ..base
    }
}

/// Signs in at the provider as `login` from the authorization URL `authorize`, as a browser
/// does (its cookies, its redirects): the URL the provider sends the browser back to.
pub async fn sign_in(authorize: &str, login: &str) -> String {
    let mut cookies: Vec<String> = Vec::new();
    let mut url = authorize.to_string();
    let mut first_interaction = true;
    for _ in 0..10 {
        if url.starts_with(BASE) {
            return url;
        }
        let cookie = cookies.join("; ");
        let (status, headers, body) =
            fetch(Method::GET, &url, &[("cookie", cookie)], Vec::new()).await;
        for c in headers.get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            cookies.retain(|k| !k.starts_with(&format!("{name}=")));
            cookies.push(pair);
        }
        assert!(
            status.is_redirection(),
            "{url}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        let location = headers["location"].to_str().unwrap().to_string();
        url = if location.starts_with("http") {
            location
        } else {
            format!("{}{location}", issuer())
        };
        if url.contains("/interaction/") && first_interaction {
            first_interaction = false;
            url = format!("{url}?login={login}");
        }
    }
    panic!("the provider never sent the browser back: {url}");
}

// The flow through the route table, as a browser and the provider drive it.

pub fn location(r: &Response<String>) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

/// The flow cookie a start set, as a `Cookie` header's pair.
pub fn flow_cookie(r: &Response<String>) -> String {
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("__Host-passport_oauth="))
        .unwrap();
    assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Lax"));
    set.split(';').next().unwrap().to_string()
}

/// The value of `name` in a redirect's fragment.
pub fn fragment(r: &Response<String>, name: &str) -> Option<String> {
    let loc = location(r);
    let (_, frag) = loc.split_once('#')?;
    frag.strip_prefix(&format!("{name}=")).map(str::to_string)
}

pub async fn get(service: &Service, path: &str, headers: &[(&str, &str)]) -> Response<String> {
    send(service, Method::GET, path, headers, "", "198.51.100.7")
        .await
        .unwrap()
}

/// `GET /oauth/test/start` with `query`, from an address of its own: starts count toward
/// their address's `CEREMONIES_MAX_PER_CLIENT`, and runs share one Redis.
pub async fn start(service: &Service, query: &str) -> Response<String> {
    start_from(service, query, &unique_ip()).await
}

/// `GET /oauth/test/start` with `query` from the client address `ip`.
pub async fn start_from(service: &Service, query: &str, ip: &str) -> Response<String> {
    let path = format!("/oauth/test/start{query}");
    send(service, Method::GET, &path, &[], "", ip)
        .await
        .unwrap()
}

/// The provider's redirect back (`back`, under [`BASE`]) delivered with `cookie`.
pub async fn callback(service: &Service, back: &str, cookie: Option<&str>) -> Response<String> {
    let path = back.strip_prefix(BASE).unwrap();
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
    get(service, path, &headers).await
}

/// A started flow signed in at the provider as `login`: the callback's URL and the cookie.
pub async fn at_provider(service: &Service, query: &str, login: &str) -> (String, String) {
    let started = start(service, query).await;
    assert_eq!(started.status(), StatusCode::FOUND, "{}", started.body());
    let cookie = flow_cookie(&started);
    let back = sign_in(&location(&started), login).await;
    (back, cookie)
}

/// A whole flow for `login`: the callback's answer.
pub async fn flow(service: &Service, login: &str) -> Response<String> {
    let (back, cookie) = at_provider(service, "", login).await;
    callback(service, &back, Some(&cookie)).await
}

pub async fn trade(service: &Service, code: &str) -> Response<String> {
    send(
        service,
        Method::POST,
        "/oauth/token",
        &[("content-type", "application/json")],
        &json!({ "code": code }).to_string(),
        "198.51.100.7",
    )
    .await
    .unwrap()
}

pub fn body(r: &Response<String>) -> Value {
    serde_json::from_str(r.body()).unwrap()
}

/// The page a flow returns to by default (`PUBLIC_BASE_URL` + `/app/`).
pub const PAGE: &str = "https://auth.example.com/app/";

/// A signed-in session of `login` through the provider: its token answer.
pub async fn federated(service: &Service, login: &str) -> Value {
    let back = flow(service, login).await;
    assert_eq!(back.status(), StatusCode::FOUND);
    let code = fragment(&back, "oauth").unwrap_or_else(|| panic!("{}", location(&back)));
    let r = trade(service, &code).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.body());
    body(&r)
}

pub fn bearer(token: &Value) -> String {
    format!("Bearer {}", token["access_token"].as_str().unwrap())
}

pub fn login_name(tag: &str) -> String {
    format!(
        "{tag}@{}",
        unique_email()
            .split('@')
            .next()
            .unwrap()
            .replace("user-", "u")
    )
    .replace('@', "-")
        + "@example.com"
}

/// `DELETE /oauth/links/test` with the bearer `auth`.
pub async fn unlink(service: &Service, auth: &str) -> Response<String> {
    send(
        service,
        Method::DELETE,
        "/oauth/links/test",
        &[("authorization", auth)],
        "",
        "198.51.100.7",
    )
    .await
    .unwrap()
}

/// Gives `email`'s account a password, as an operator does (`set_password`), its sessions kept.
pub async fn give_password(service: &Service, email: &str, password: &str) {
    let set = passport::admin::Command::SetPassword {
        email: email.into(),
        password: password.into(),
        keep_sessions: true,
    };
    passport::admin::execute(service, set).await.unwrap();
}
