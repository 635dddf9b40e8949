//! Every sample event of `events/`, in the order and with the answers `events/cases.json` gives,
//! through the entry points the binaries run: `passport_lambda::serve::<F>` for the HTTP
//! functions, `authorizer::decide_as` for the two authorizers, `accounts::handle` for the
//! operators' function, `mailer::handle` for the mailer (SES on `moto_server`, as `make test`
//! starts it). `infra/emulators/lambda_invoke.py` runs the same table on the real
//! binaries, under `cargo lambda` and AWS's Runtime Interface Emulator.
//!
//! A case is `{event, function, vars?, expect, save?, note?}`:
//! - `vars`: a placeholder's value for this event (`"$NAME"`: a value saved earlier); the
//!   others come from what earlier cases saved;
//! - `expect`, for the HTTP functions: `status`, `error` (the body's code), `body` (dotted paths
//!   and their values, `"$NAME"` a saved one), `present` and `absent` (paths), `contains` (a
//!   path's text contains), `differs` (a path's value is not the saved one), `count` (an array's
//!   length), `headers` (a header starts with), `cookie` (the first `Set-Cookie` starts with the
//!   first string and contains the others), `no_cookie`; for the authorizers, `authorized` (HTTP
//!   API) or `effect` (REST), and `body` paths over the whole answer; for `accounts`, `ok`,
//!   `or_error` (an error code that is as good, on a store not fresh) and `error`;
//! - `save`: names for values of the answer (`"cookie"`: the first `Set-Cookie`'s value).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::root;
use lambda_http::Response;
use passport::Service;
use passport::api::{Function, Login, Logout, Passports, Refresh, Sessions, Signup};
use passport_lambda::authorizer::{Kind, decide_as};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The API's public URL the table's runs configure (`PUBLIC_BASE_URL`).
const PUBLIC_BASE_URL: &str = "https://auth.example.com";
/// The mailer's sender (`MAIL_FROM`), an SES identity on moto_server.
const MAIL_FROM: &str = "no-reply@auth.example.com";

/// What a function answered, in the terms of the table.
struct Answer {
    status: Option<u16>,
    body: Value,
    headers: BTreeMap<String, String>,
    cookies: Vec<String>,
}

async fn http<F: Function>(service: &Service, text: &str) -> Response<String> {
    let req = lambda_http::request::from_str(text).expect("an API Gateway HTTP event");
    // Boxed: five of these futures inline in `invoke` overflow the compiler's layout depth.
    Box::pin(passport_lambda::serve::<F>(service, req)).await
}

/// `function`'s answer to the event `text`, through the entry point its binary runs.
async fn invoke(service: &Service, function: &str, text: &str) -> Answer {
    let resp = match function {
        "login" => http::<Login>(service, text).await,
        "refresh" => http::<Refresh>(service, text).await,
        "logout" => http::<Logout>(service, text).await,
        "passports" => http::<Passports>(service, text).await,
        "sessions" => http::<Sessions>(service, text).await,
        "signup" => http::<Signup>(service, text).await,
        "mailer" => {
            let event = serde_json::from_str(text).unwrap();
            let ses = mailer::ses_client().await;
            ses.create_email_identity()
                .email_identity(MAIL_FROM)
                .send()
                .await
                .unwrap();
            let answer = mailer::handle(&mailer::SesSender(ses), MAIL_FROM, event).await;
            return Answer {
                status: None,
                body: serde_json::to_value(answer).unwrap(),
                headers: BTreeMap::new(),
                cookies: Vec::new(),
            };
        }
        "authorizer" | "app-authorizer" => {
            let kind = if function == "authorizer" {
                Kind::Account
            } else {
                Kind::App
            };
            let answer = decide_as(kind, service, text).await;
            return Answer {
                status: None,
                body: serde_json::to_value(answer).unwrap(),
                headers: BTreeMap::new(),
                cookies: Vec::new(),
            };
        }
        "accounts" => {
            let event = serde_json::from_str(text).unwrap();
            let body = passport_lambda::accounts::handle(service, event)
                .await
                .unwrap();
            return Answer {
                status: None,
                body,
                headers: BTreeMap::new(),
                cookies: Vec::new(),
            };
        }
        other => panic!("no function {other}"),
    };
    let header = |name: &lambda_http::http::HeaderName| {
        resp.headers().get(name).and_then(|v| v.to_str().ok())
    };
    Answer {
        status: Some(resp.status().as_u16()),
        body: serde_json::from_str(resp.body()).unwrap_or(Value::Null),
        headers: resp
            .headers()
            .keys()
            .filter_map(|k| Some((k.to_string(), header(k)?.to_string())))
            .collect(),
        cookies: resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect(),
    }
}

/// The value at a dotted path (`a.b.0.c`).
fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => a.get(key.parse::<usize>().ok()?),
        _ => None,
    })
}

/// A table value, a `"$NAME"` replaced by what was saved under that name.
fn resolved(v: &Value, saved: &BTreeMap<String, String>) -> Value {
    match v.as_str().and_then(|s| s.strip_prefix('$')) {
        Some(name) => Value::String(saved.get(name).cloned().unwrap_or_default()),
        None => v.clone(),
    }
}

fn object(v: &Value, key: &str) -> Map<String, Value> {
    v[key].as_object().cloned().unwrap_or_default()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// What is wrong with `a` against `expect`; empty when nothing is.
fn check(expect: &Value, a: &Answer, saved: &BTreeMap<String, String>) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut want = |ok: bool, what: String| {
        if !ok {
            wrong.push(what);
        }
    };
    if let Some(s) = expect["status"].as_u64() {
        want(a.status == Some(s as u16), format!("status {s}"));
    }
    if let Some(code) = expect["error"].as_str() {
        want(a.body["error"] == code, format!("error {code}"));
    }
    if let Some(ok) = expect["ok"].as_bool() {
        let alt = expect["or_error"].as_str();
        let good = a.body["ok"] == ok || alt.is_some_and(|e| a.body["error"] == e);
        want(good, format!("ok {ok}"));
    }
    if let Some(yes) = expect["authorized"].as_bool() {
        want(a.body["isAuthorized"] == yes, format!("authorized {yes}"));
    }
    if let Some(effect) = expect["effect"].as_str() {
        let got = &a.body["policyDocument"]["Statement"][0]["Effect"];
        want(got == effect, format!("effect {effect}"));
    }
    for (path, value) in object(expect, "body") {
        let value = resolved(&value, saved);
        want(
            at(&a.body, &path) == Some(&value),
            format!("{path} = {value}"),
        );
    }
    for path in strings(expect, "present") {
        want(at(&a.body, &path).is_some(), format!("{path} present"));
    }
    for path in strings(expect, "absent") {
        want(at(&a.body, &path).is_none(), format!("{path} absent"));
    }
    for (path, part) in object(expect, "contains") {
        let text = at(&a.body, &path).and_then(Value::as_str).unwrap_or("");
        want(
            text.contains(part.as_str().unwrap_or("")),
            format!("{path} contains {part}"),
        );
    }
    for (path, value) in object(expect, "differs") {
        let value = resolved(&value, saved);
        let got = at(&a.body, &path);
        want(
            got.is_some() && got != Some(&value),
            format!("{path} differs from {value}"),
        );
    }
    for (path, n) in object(expect, "count") {
        let len = at(&a.body, &path).and_then(Value::as_array).map(Vec::len);
        want(
            len == n.as_u64().map(|n| n as usize),
            format!("{path} has {n}"),
        );
    }
    for (name, start) in object(expect, "headers") {
        let got = a.headers.get(&name).map(String::as_str).unwrap_or("");
        want(
            got.starts_with(start.as_str().unwrap_or("")),
            format!("header {name}: {start}"),
        );
    }
    let parts = strings(expect, "cookie");
    if let Some((first, rest)) = parts.split_first() {
        let cookie = a.cookies.first().map(String::as_str).unwrap_or("");
        let ok = cookie.starts_with(first.as_str()) || cookie.contains(first.as_str());
        want(
            ok && rest.iter().all(|p| cookie.contains(p.as_str())),
            format!("cookie {parts:?}"),
        );
    }
    if expect["no_cookie"] == true {
        want(a.cookies.is_empty(), "no cookie".into());
    }
    wrong
}

/// The value `path` names in `a`, to save: a body path, or `cookie`.
fn value_of(a: &Answer, path: &str) -> Option<String> {
    if path == "cookie" {
        let cookie = a.cookies.first()?;
        let pair = cookie.split(';').next()?;
        return pair.split_once('=').map(|(_, v)| v.to_string());
    }
    match at(&a.body, path)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[tokio::test]
async fn every_event_answers_as_the_table_says() {
    let table: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/cases.json")).unwrap())
            .unwrap();
    // As the emulators' runs configure the functions (infra/test/test.sh, `lambda.env`).
    let mut config = passport::testing::test_config();
    config.public_base_url = Some(PUBLIC_BASE_URL.into());
    let store = Arc::new(passport::kernel::store::MemoryStore::new());
    let service = passport::testing::service_on(store, config)
        .with_mail(passport::testing::mail::Outgoing::default().outbox());
    let mut saved: BTreeMap<String, String> = BTreeMap::new();
    let mut used = BTreeSet::new();
    let mut failures = Vec::new();
    for (i, case) in table["cases"].as_array().unwrap().iter().enumerate() {
        let (event, function) = (
            case["event"].as_str().unwrap(),
            case["function"].as_str().unwrap(),
        );
        used.insert(event.to_string());
        let mut vars = saved.clone();
        for (k, v) in object(case, "vars") {
            if let Value::String(s) = resolved(&v, &saved) {
                vars.insert(k, s);
            }
        }
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let text = passport::testing::event(event, &pairs);
        let answer = invoke(&service, function, &text).await;
        let wrong = check(&case["expect"], &answer, &saved);
        if !wrong.is_empty() {
            failures.push(format!(
                "case {i} ({event} on {function}): wanted {wrong:?}; got {:?} {}",
                answer.status, answer.body
            ));
        }
        for (name, path) in object(case, "save") {
            if let Some(v) = value_of(&answer, path.as_str().unwrap_or("")) {
                saved.insert(name, v);
            }
        }
    }
    let files: BTreeSet<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let stem = p.file_stem()?.to_string_lossy().to_string();
            (p.extension().is_some_and(|x| x == "json") && stem != "cases").then_some(stem)
        })
        .collect();
    let unused: Vec<&String> = files.difference(&used).collect();
    if !unused.is_empty() {
        failures.push(format!("events/cases.json never invokes {unused:?}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
