//! Shared web apps as the tests use them: asking for a passport, calling the demo route behind
//! the app authorizer, and a passport re-signed to look old.

use super::{send, unique_email, unique_ip};
use http::{Method, Response};
use passport::Service;
use passport::kernel::config::Config;
use passport::kernel::ids::Id;
use passport::kernel::keys::KeyRing;
use passport::kernel::service::{ClientInfo, TokenPair};
use passport::kernel::tokens::app_passport::{PassportIssuer, Visitor};
use passport::sessions::LoginInput;
use passport::testing::{TEST_SIGNING_KEY, create_account, test_config};
use serde_json::{Value, json};

/// Every test account's password.
pub const PASSWORD: &str = "a long enough password";

/// The passports tests' configuration: an hour's retention, three new visitors per address.
pub fn config() -> Config {
    Config {
        passport_retention: 3600,
        passport_ip_max_per_hour: 3,
        ..test_config()
    }
}

/// The answer's body as JSON (`null` when it is not).
pub fn json_of(r: &Response<String>) -> Value {
    serde_json::from_str(r.body()).unwrap_or(Value::Null)
}

/// `POST /passport` for `code`, with optional account bearer and previous passport.
pub async fn ask(
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

/// [`ask`] from a new address, which must answer 200: its body.
pub async fn granted(
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
pub async fn app_me(service: &Service, code: &str, passport: &str) -> Result<Value, String> {
    let auth = format!("Bearer {passport}");
    let headers = [("authorization", auth.as_str()), ("x-app-code", code)];
    let r = send(service, Method::GET, "/apps/me", &headers, "", &unique_ip()).await?;
    assert_eq!(r.status(), 200, "{}", r.body());
    Ok(json_of(&r))
}

/// A new account, signed in.
pub async fn sign_in(service: &Service) -> TokenPair {
    let email = unique_email();
    create_account(service, &email, PASSWORD).await;
    let input = LoginInput::new(email, PASSWORD);
    service.login(input, &ClientInfo::default()).await.unwrap()
}

/// The test signing key's ring.
pub fn ring() -> KeyRing {
    let secret = passport::kernel::config::SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec());
    KeyRing::from_literal(&secret).unwrap()
}

/// The same passport as `passport` (same app, end user and session), re-signed with the test
/// key to have expired `ago` seconds before now: what a visitor's storage holds after a while.
pub fn expired_copy(passport: &str, ago: i64) -> String {
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
