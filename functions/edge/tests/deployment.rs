//! The deployment and the code agree: every function binary has its function in
//! `template.yaml`, every route of the contract is wired to the function that serves it, and
//! every file in `events/` parses as the event its function expects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// CloudFormation tags (`!Ref`, `!Sub`, …) are read as their inner value.
fn untag(v: Value) -> Value {
    match v {
        Value::Tagged(t) => untag(t.value),
        Value::Mapping(m) => Value::Mapping(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(untag).collect()),
        other => other,
    }
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    untag(serde_yaml::from_str(&text).unwrap())
}

/// Function binaries: the packages under functions/ that build a binary.
fn binaries() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/main.rs").exists())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Template functions: Binary name → ("METHOD /path" routes).
fn template_functions() -> BTreeMap<String, BTreeSet<String>> {
    let t = template();
    let mut out = BTreeMap::new();
    for (_, res) in t["Resources"].as_mapping().unwrap() {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        assert_eq!(
            res["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
        let binary = res["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("every function names its Binary")
            .to_string();
        let mut routes = BTreeSet::new();
        if let Some(events) = res["Properties"]["Events"].as_mapping() {
            for (_, ev) in events {
                assert_eq!(ev["Type"].as_str(), Some("HttpApi"));
                let p = &ev["Properties"];
                routes.insert(format!(
                    "{} {}",
                    p["Method"].as_str().unwrap().to_uppercase(),
                    p["Path"].as_str().unwrap()
                ));
            }
        }
        assert!(
            out.insert(binary.clone(), routes).is_none(),
            "{binary} twice"
        );
    }
    out
}

#[test]
fn every_binary_has_its_function_and_no_more() {
    let template: BTreeSet<String> = template_functions().into_keys().collect();
    assert_eq!(template, binaries());
}

#[test]
fn every_route_of_the_contract_is_wired_once() {
    let functions = template_functions();
    let wired: Vec<String> = functions.values().flatten().cloned().collect();
    let contract: BTreeSet<String> = passport::http::ROUTES
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert_eq!(
        wired.len(),
        contract.len(),
        "a route is wired twice: {wired:?}"
    );
    assert_eq!(wired.into_iter().collect::<BTreeSet<_>>(), contract);
    // And each to the function whose binary serves it.
    let expect = [
        ("login", vec!["POST /login"]),
        ("refresh", vec!["POST /refresh-token"]),
        ("logout", vec!["POST /logout"]),
        (
            "sessions",
            vec!["GET /sessions", "DELETE /sessions/{id}", "GET /me"],
        ),
        ("authorizer", vec![]),
        ("accounts", vec![]),
    ];
    for (binary, routes) in expect {
        let want: BTreeSet<String> = routes.into_iter().map(str::to_string).collect();
        assert_eq!(functions[binary], want, "{binary}");
    }
}

#[test]
fn openapi_template_and_local_api_serve_the_same_routes() {
    let text = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let spec: Value = serde_yaml::from_str(&text).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap().to_uppercase();
            documented.insert(format!("{method} {}", path.as_str().unwrap()));
        }
    }
    // local-api and the functions route with passport::http::route, which serves ROUTES
    // (checked in shared/src/http.rs).
    let served: BTreeSet<String> = passport::http::ROUTES
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let wired: BTreeSet<String> = template_functions().into_values().flatten().collect();
    assert_eq!(documented, served, "openapi.yaml vs local-api");
    assert_eq!(wired, served, "template.yaml vs local-api");
}

#[test]
fn only_login_refresh_and_logout_skip_the_authorizer() {
    let t = template();
    let mut open = BTreeSet::new();
    for (_, res) in t["Resources"].as_mapping().unwrap() {
        for (_, ev) in res["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if ev["Properties"]["Auth"]["Authorizer"].as_str() == Some("NONE") {
                open.insert(ev["Properties"]["Path"].as_str().unwrap().to_string());
            }
        }
    }
    let want: BTreeSet<String> = ["/login", "/refresh-token", "/logout"]
        .map(String::from)
        .into();
    assert_eq!(open, want);
    let auth = &t["Resources"]["HttpApi"]["Properties"]["Auth"];
    assert_eq!(
        auth["DefaultAuthorizer"].as_str(),
        Some("PassportAuthorizer")
    );
    let authorizer = &auth["Authorizers"]["PassportAuthorizer"];
    assert_eq!(
        authorizer["AuthorizerPayloadFormatVersion"].as_str(),
        Some("2.0")
    );
    assert_eq!(authorizer["EnableSimpleResponses"].as_bool(), Some(true));
}

fn events() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_event_parses_as_its_functions_event_type() {
    let functions = template_functions();
    let mut covered = BTreeSet::new();
    for (name, text) in events() {
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.starts_with("authorizer-") {
            let parsed = if json["version"] == "2.0" {
                serde_json::from_value::<ApiGatewayV2CustomAuthorizerV2Request>(json).map(|_| ())
            } else if json["type"] == "TOKEN" {
                serde_json::from_value::<ApiGatewayCustomAuthorizerRequest>(json).map(|_| ())
            } else {
                serde_json::from_value::<ApiGatewayCustomAuthorizerRequestTypeRequest>(json)
                    .map(|_| ())
            };
            parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
            covered.insert("authorizer".to_string());
        } else if name.starts_with("accounts-") {
            assert!(
                json["command"].is_string(),
                "{name}: an accounts command names its command"
            );
            covered.insert("accounts".to_string());
        } else {
            let event: ApiGatewayV2httpRequest =
                serde_json::from_value(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            let route = event.route_key.unwrap_or_default();
            let (binary, _) = functions
                .iter()
                .find(|(_, routes)| routes.contains(&route))
                .unwrap_or_else(|| panic!("{name}: route {route} is not wired"));
            assert!(
                name.starts_with(binary.as_str()) || (binary == "sessions" && name == "me"),
                "{name} is for {binary}"
            );
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            covered.insert(binary.clone());
        }
    }
    assert_eq!(covered, binaries(), "a function has no sample event");
}
