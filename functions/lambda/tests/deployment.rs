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

mod common;

use common::{root, template};
use passport::api::{AUTHORIZERS, Guard, ROUTES};

/// Function binaries: the packages under functions/ that build a binary.
fn binaries() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/main.rs").exists())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// One `HttpApi` event of a template function.
struct Wired {
    /// The function's `Binary`.
    binary: String,
    /// `"METHOD /path"`.
    key: String,
    /// `Auth: {Authorizer: …}`: `NONE` (no authorizer), `AppAuthorizer`, or absent (the
    /// default authorizer).
    authorizer: Option<String>,
}

/// The guard a template event's `Auth` gives a route: `NONE`, an authorizer of
/// `passport::api::AUTHORIZERS` by its template name, or (absent) the default authorizer.
fn guard_of(w: &Wired) -> Option<Guard> {
    let default = default_authorizer();
    let name = match w.authorizer.as_deref() {
        Some("NONE") => return Some(Guard::Open),
        Some(name) => name,
        None => default.as_str(),
    };
    AUTHORIZERS
        .iter()
        .find(|a| a.template_name == name)
        .map(|a| a.guard)
}

/// The `HttpApi`'s `DefaultAuthorizer`.
fn default_authorizer() -> String {
    template()["Resources"]["HttpApi"]["Properties"]["Auth"]["DefaultAuthorizer"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Template functions: Binary name → its HTTP API events.
fn template_functions() -> BTreeMap<String, Vec<Wired>> {
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
        let mut routes = Vec::new();
        if let Some(events) = res["Properties"]["Events"].as_mapping() {
            for (_, ev) in events {
                // The mailer's one event is its queue; every other event is a route.
                if ev["Type"].as_str() == Some("SQS") && binary == "mailer" {
                    continue;
                }
                assert_eq!(ev["Type"].as_str(), Some("HttpApi"));
                let p = &ev["Properties"];
                routes.push(Wired {
                    binary: binary.clone(),
                    key: format!(
                        "{} {}",
                        p["Method"].as_str().unwrap().to_uppercase(),
                        p["Path"].as_str().unwrap()
                    ),
                    authorizer: p["Auth"]["Authorizer"].as_str().map(str::to_string),
                });
            }
        }
        // The aal2 authorizer (Aal2Authorizer) runs the authorizer's binary again, with no
        // route of its own.
        if binary == "authorizer"
            && res["Properties"]["Environment"]["Variables"]["AUTHORIZER_REQUIRED_ACR"].as_str()
                == Some("aal2")
        {
            assert!(routes.is_empty());
            continue;
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
    for r in ROUTES {
        assert!(
            binaries().contains(r.function),
            "{}: the route table names function `{}`, which has no package under functions/",
            r.key(),
            r.function
        );
    }
}

/// Every row of the route table is wired once in `template.yaml`, to the function the table
/// names, behind the authorizer exactly when the table says so; and the template wires nothing
/// the table lacks.
#[test]
fn template_wires_exactly_the_route_table() {
    let wired: Vec<Wired> = template_functions().into_values().flatten().collect();
    for r in ROUTES {
        let found: Vec<&Wired> = wired.iter().filter(|w| w.key == r.key()).collect();
        match found.as_slice() {
            [] => panic!(
                "{}: in the route table, missing from template.yaml",
                r.key()
            ),
            [w] => {
                assert_eq!(
                    w.binary,
                    r.function,
                    "{}: template.yaml wires it to `{}`, the route table to `{}`",
                    r.key(),
                    w.binary,
                    r.function
                );
                assert_eq!(
                    guard_of(w),
                    Some(r.guard),
                    "{}: template.yaml's Auth disagrees with the route table's {:?}",
                    r.key(),
                    r.guard
                );
            }
            _ => panic!("{}: wired {} times in template.yaml", r.key(), found.len()),
        }
    }
    for w in &wired {
        assert!(
            ROUTES.iter().any(|r| r.key() == w.key),
            "{}: in template.yaml, missing from the route table",
            w.key
        );
    }
    let t = template();
    let auth = &t["Resources"]["HttpApi"]["Properties"]["Auth"];
    let account = Guard::Authorizer.authorizer().unwrap().template_name;
    assert_eq!(auth["DefaultAuthorizer"].as_str(), Some(account));
    let authorizer = &auth["Authorizers"][account];
    assert_eq!(
        authorizer["AuthorizerPayloadFormatVersion"].as_str(),
        Some("2.0")
    );
    assert_eq!(authorizer["EnableSimpleResponses"].as_bool(), Some(true));
    // The app authorizer: both headers are identity sources, so API Gateway answers 401
    // itself when either is missing (as local-api's gateway does), and caches per app.
    let service = &auth["Authorizers"][Guard::AppAuthorizer.authorizer().unwrap().template_name];
    assert_eq!(
        service["AuthorizerPayloadFormatVersion"].as_str(),
        Some("2.0")
    );
    assert_eq!(service["EnableSimpleResponses"].as_bool(), Some(true));
    let sources = serde_yaml::to_string(&service["Identity"]["Headers"]).unwrap();
    assert!(
        sources.contains("Authorization") && sources.contains("X-App-Code"),
        "{sources}"
    );
}

/// docs/api.md's route table has a row for every route of the table, and for nothing else.
#[test]
fn the_api_page_lists_exactly_the_route_table() {
    let api_page = std::fs::read_to_string(root().join("docs/api.md")).unwrap();
    let section = api_page
        .split("\n## Routes\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/api.md has a Routes section");
    let listed: BTreeSet<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    let table: BTreeSet<String> = ROUTES.iter().map(|r| r.key()).collect();
    if let Some(key) = table.difference(&listed).next() {
        panic!("{key}: in the route table, missing from docs/api.md's Routes table");
    }
    if let Some(key) = listed.difference(&table).next() {
        panic!("{key}: in docs/api.md's Routes table, missing from the route table");
    }
}

/// `openapi.yaml` documents every row under its path, method and operationId, with the bearer
/// scheme alone exactly on the routes behind the authorizer; and documents nothing else.
#[test]
fn openapi_documents_exactly_the_route_table() {
    let text = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let spec: Value = serde_yaml::from_str(&text).unwrap();
    let mut documented = BTreeMap::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, op) in item.as_mapping().unwrap() {
            let key = format!(
                "{} {}",
                method.as_str().unwrap().to_uppercase(),
                path.as_str().unwrap()
            );
            documented.insert(key, op.clone());
        }
    }
    for r in ROUTES {
        let op = documented.get(&r.key()).unwrap_or_else(|| {
            panic!("{}: in the route table, missing from openapi.yaml", r.key())
        });
        assert_eq!(
            op["operationId"].as_str(),
            Some(r.operation_id),
            "{}: operationId",
            r.key()
        );
        let security = op["security"].as_sequence();
        let bearer_only = security.is_some_and(|s| s.len() == 1 && s[0]["bearer"].is_sequence());
        let passport_and_code = security.is_some_and(|s| {
            s.len() == 1 && s[0]["passport"].is_sequence() && s[0]["appCode"].is_sequence()
        });
        assert_eq!(
            (bearer_only, passport_and_code),
            (
                r.guard == Guard::Authorizer,
                r.guard == Guard::AppAuthorizer
            ),
            "{}: openapi.yaml's security disagrees with the route table's {:?}",
            r.key(),
            r.guard
        );
    }
    for key in documented.keys() {
        assert!(
            ROUTES.iter().any(|r| &r.key() == key),
            "{key}: in openapi.yaml, missing from the route table"
        );
    }
}

fn events() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        // `cases.json` is the table of what each event answers, not an event.
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("cases.json"))
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
    let mut routes_with_events = BTreeSet::new();
    for (name, text) in events() {
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let authorizer = ["authorizer-", "app-authorizer-"]
            .into_iter()
            .find(|p| name.starts_with(p));
        if let Some(prefix) = authorizer {
            let parsed = if json["version"] == "2.0" {
                serde_json::from_value::<ApiGatewayV2CustomAuthorizerV2Request>(json).map(|_| ())
            } else if json["type"] == "TOKEN" {
                serde_json::from_value::<ApiGatewayCustomAuthorizerRequest>(json).map(|_| ())
            } else {
                serde_json::from_value::<ApiGatewayCustomAuthorizerRequestTypeRequest>(json)
                    .map(|_| ())
            };
            parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
            covered.insert(prefix.trim_end_matches('-').to_string());
        } else if name.starts_with("mailer-") {
            serde_json::from_value::<aws_lambda_events::event::sqs::SqsEvent>(json)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            covered.insert("mailer".to_string());
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
            let binary = &functions
                .values()
                .flatten()
                .find(|w| w.key == route)
                .unwrap_or_else(|| panic!("{name}: route {route} is not wired"))
                .binary;
            assert!(name.starts_with(binary.as_str()), "{name} is for {binary}");
            routes_with_events.insert(route);
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            covered.insert(binary.clone());
        }
    }
    assert_eq!(covered, binaries(), "a function has no sample event");
    for r in ROUTES {
        assert!(
            routes_with_events.contains(&r.key()),
            "{}: no sample event in events/ has this routeKey",
            r.key()
        );
    }
}

/// The template's CorsConfiguration says what `passport::api::cors` says (and `local-api`
/// answers): methods of the route table, headers, max age, credentials, origins from the
/// parameter — never a wildcard.
#[test]
fn template_cors_is_the_cors_policy() {
    let t = template();
    let cors = &t["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    // `!If [HasOrigins, {...}, !Ref AWS::NoValue]`: none without origins.
    assert_eq!(cors[0].as_str(), Some("HasOrigins"));
    let c = &cors[1];
    let strings = |v: &Value| -> Vec<String> {
        v.as_sequence()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        strings(&c["AllowMethods"]),
        passport::api::cors::allow_methods()
    );
    assert_eq!(
        strings(&c["AllowHeaders"]),
        passport::api::cors::ALLOW_HEADERS
    );
    assert_eq!(
        c["MaxAge"].as_u64(),
        Some(u64::from(passport::api::cors::MAX_AGE_SECONDS))
    );
    assert_eq!(c["AllowCredentials"].as_bool(), Some(true));
    let origins = serde_yaml::to_string(&c["AllowOrigins"]).unwrap();
    assert!(
        origins.contains("AllowedOrigins") && !origins.contains('*'),
        "{origins}"
    );
}

/// Least privilege: every reader of the signing secret can mint tokens, so only the functions
/// that sign or verify may read it — and with ES256 only those that sign: the verifiers' access
/// stands under `SignsWithHs256`, so an ES256 stack gives them none. Every function may read
/// the cache user's secret (when the stack creates the cache), and nothing else.
#[test]
fn only_functions_that_sign_or_verify_read_the_signing_secret() {
    use passport::api::{KeyUse, key_use_of};
    let t = template();
    for (_, res) in t["Resources"].as_mapping().unwrap() {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = res["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let policies = serde_yaml::to_string(&res["Properties"]["Policies"]).unwrap();
        let reads = policies.contains("SigningSecret");
        assert_eq!(
            reads,
            passport_lambda::needs_signing_key(binary),
            "{binary}: reads the signing secret: {reads}"
        );
        // The statements that name the signing secret, and whether they stand under HS256.
        let unconditional = res["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| {
                serde_yaml::to_string(&p["Statement"])
                    .unwrap()
                    .contains("SigningSecret")
            });
        let under_hs256 = res["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| {
                // `!If [SignsWithHs256, {Statement: …}, !Ref AWS::NoValue]`, tags read away.
                p[0].as_str() == Some("SignsWithHs256")
                    && serde_yaml::to_string(&p[1])
                        .unwrap()
                        .contains("SigningSecret")
            });
        match key_use_of(binary) {
            KeyUse::Sign => assert!(unconditional && !under_hs256, "{binary}: {policies}"),
            KeyUse::Verify => assert!(!unconditional && under_hs256, "{binary}: {policies}"),
            KeyUse::None => assert!(!reads, "{binary}: {policies}"),
        }
        let actions: Vec<&str> = policies
            .lines()
            .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix("Action: "))
            .collect();
        // The mailer sends as the stack's SES identity, and does nothing else.
        if passport::api::acl::STORELESS.contains(&binary) {
            assert_eq!(actions, ["ses:SendEmail"], "{binary}");
            assert!(policies.contains(":identity/${MailIdentity}"), "{policies}");
            continue;
        }
        assert!(policies.contains("CacheUserSecret"), "{binary}: {policies}");
        // Functions with a route that mails may queue to the mail queue, and no other may.
        let mails = ROUTES
            .iter()
            .any(|r| r.function == binary && matches!(r.handler, passport::api::Handler::Email(_)));
        assert_eq!(
            actions.contains(&"sqs:SendMessage"),
            mails,
            "{binary}: {actions:?}"
        );
        if mails {
            assert!(policies.contains("MailQueue.Arn"), "{binary}: {policies}");
        }
        assert!(
            actions.contains(&"secretsmanager:GetSecretValue")
                && actions
                    .iter()
                    .all(|a| *a == "secretsmanager:GetSecretValue" || *a == "sqs:SendMessage"),
            "{binary}: {actions:?}"
        );
    }
}

/// API Gateway's JWT authorizer, when enabled: the issuer and audience Passport's access tokens
/// carry, the bearer header, ES256 and an audience required by the stack's rules, and its one
/// example route behind it.
#[test]
fn the_jwt_authorizer_checks_what_passport_signs() {
    let t = template();
    let r = &t["Resources"];
    let authorizer = &r["JwtAuthorizer"];
    assert_eq!(authorizer["Condition"].as_str(), Some("UseJwtAuthorizer"));
    let p = &authorizer["Properties"];
    assert_eq!(p["AuthorizerType"].as_str(), Some("JWT"));
    assert_eq!(
        p["JwtConfiguration"]["Issuer"].as_str(),
        Some("TokenIssuer")
    );
    assert_eq!(
        p["JwtConfiguration"]["Audience"][0].as_str(),
        Some("TokenAudience")
    );
    assert_eq!(
        p["IdentitySource"][0].as_str(),
        Some("$request.header.Authorization")
    );
    let route = &r["JwtExampleRoute"]["Properties"];
    assert_eq!(route["AuthorizationType"].as_str(), Some("JWT"));
    assert_eq!(route["AuthorizerId"].as_str(), Some("JwtAuthorizer"));
    let rules = serde_yaml::to_string(&t["Rules"]).unwrap();
    assert!(
        rules.contains("ES256") && rules.contains("TokenAudience"),
        "{rules}"
    );
    assert_eq!(
        t["Parameters"]["SigningAlgorithm"]["Default"].as_str(),
        Some("ES256")
    );
}

/// The rest of the deployed edge as the template states it: no security group lets anything
/// out to the whole internet but the identity providers' (HTTPS only, made only when providers
/// are configured, on the signup function alone: the one that talks to them); the login and
/// refresh routes have their own throttling; the created cache has access control and daily
/// snapshots.
#[test]
fn template_egress_throttling_and_cache_protection() {
    let t = template();
    let mut resources = t["Resources"].clone();
    let providers = resources
        .as_mapping_mut()
        .unwrap()
        .remove("ProviderEgressSecurityGroup")
        .unwrap();
    assert_eq!(
        providers["Condition"].as_str(),
        Some("HasIdentityProviders")
    );
    let egress = &providers["Properties"]["SecurityGroupEgress"];
    assert_eq!(egress.as_sequence().unwrap().len(), 1);
    assert_eq!(egress[0]["FromPort"].as_i64(), Some(443));
    assert_eq!(egress[0]["ToPort"].as_i64(), Some(443));
    let text = serde_yaml::to_string(&resources).unwrap();
    assert!(
        !text.contains("0.0.0.0/0") && !text.contains("::/0"),
        "an egress or ingress open to the internet"
    );
    let users: Vec<&str> = t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| {
            serde_yaml::to_string(r)
                .unwrap()
                .contains("ProviderEgressSecurityGroup")
        })
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        ["SignupFunction"],
        "who reaches the identity providers"
    );
    let routes = &t["Resources"]["HttpApi"]["Properties"]["RouteSettings"];
    for key in ["POST /login", "POST /refresh-token"] {
        assert!(ROUTES.iter().any(|r| r.key() == key), "{key}");
        let r = &routes[key];
        assert_eq!(
            r["ThrottlingBurstLimit"].as_str(),
            Some("AuthThrottlingBurstLimit"),
            "{key}"
        );
        assert_eq!(
            r["ThrottlingRateLimit"].as_str(),
            Some("AuthThrottlingRateLimit"),
            "{key}"
        );
    }
    for (key, _) in routes.as_mapping().unwrap() {
        let key = key.as_str().unwrap();
        assert!(
            ROUTES.iter().any(|r| r.key() == key),
            "{key}: not a route of the table"
        );
    }
    let cache = &t["Resources"]["Cache"]["Properties"];
    assert_eq!(cache["UserGroupId"].as_str(), Some("CacheUserGroup"));
    assert!(cache["DailySnapshotTime"].is_string());
    assert_eq!(
        cache["SnapshotRetentionLimit"].as_str(),
        Some("CacheSnapshotRetentionDays")
    );
    // Issue #34, 7: the cache has a ceiling (docs/scale.md says what fits under it).
    let limits = &cache["CacheUsageLimits"];
    assert_eq!(
        limits["DataStorage"]["Maximum"].as_str(),
        Some("CacheMaxDataStorageGb")
    );
    assert_eq!(limits["DataStorage"]["Unit"].as_str(), Some("GB"));
    assert_eq!(
        limits["ECPUPerSecond"]["Maximum"].as_str(),
        Some("CacheMaxEcpuPerSecond")
    );
    let user = &t["Resources"]["CacheUser"]["Properties"];
    assert_eq!(
        user["AuthenticationMode"]["Type"].as_str(),
        Some("password")
    );
    let default = &t["Resources"]["CacheDefaultUser"]["Properties"];
    assert!(default["AccessString"].as_str().unwrap().starts_with("off"));
}

/// Each function connects to the created cache as its own user (`store::acl`): the template's
/// users have exactly the access strings the ACL test checks on a real `redis-server`, and each
/// function reads only its own user's secret.
#[test]
fn each_function_has_its_own_cache_user() {
    use passport::api::acl::{CACHE_USERS, STORELESS, user_of};
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let users: BTreeMap<String, String> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::ElastiCache::User"))
        .filter(|r| r["Properties"]["UserName"].as_str() != Some("default"))
        .map(|r| {
            (
                r["Properties"]["UserName"].as_str().unwrap().to_string(),
                r["Properties"]["AccessString"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = CACHE_USERS
        .iter()
        .map(|u| (u.name.to_string(), u.access_string()))
        .collect();
    assert_eq!(users, expected, "template.yaml's cache users");
    for (id, res) in resources {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = res["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        if STORELESS.contains(&binary) {
            // Never connects to the cache: no user, no secret, and outside the VPC.
            assert!(user_of(binary).is_none(), "{binary}");
            let text = serde_yaml::to_string(&res["Properties"]).unwrap();
            assert!(!text.contains("REDIS_AUTH_SECRET_ARN"), "{binary}");
            assert!(!text.contains("CacheUser"), "{binary}");
            assert!(res["Properties"]["VpcConfig"].is_null(), "{binary}");
            continue;
        }
        let user = user_of(binary).unwrap_or_else(|| panic!("{binary} has no cache user"));
        // `!If [CreateCache, !Ref <secret>, !Ref AWS::NoValue]`
        let secret = res["Properties"]["Environment"]["Variables"]["REDIS_AUTH_SECRET_ARN"][1]
            .as_str()
            .unwrap_or_else(|| panic!("{id:?}: no REDIS_AUTH_SECRET_ARN of its own"))
            .to_string();
        assert_eq!(
            t["Resources"][secret.as_str()]["Properties"]["GenerateSecretString"]
                ["SecretStringTemplate"]
                .as_str()
                .unwrap(),
            format!("{{\"username\": \"{}\"}}", user.name),
            "{id:?}: its secret is another user's"
        );
        let readable = serde_yaml::to_string(&res["Properties"]["Policies"]).unwrap();
        for other in resources.keys().filter_map(|k| k.as_str()) {
            if other.starts_with("CacheUser") && other.ends_with("Secret") && other != secret {
                assert!(
                    !readable.contains(&format!("Resource: {other}\n")),
                    "{id:?} may read {other}"
                );
            }
        }
    }
}

/// With `TrustedOriginSecret`, the template's CloudFront distribution sets the origin secret
/// the functions check (`TRUSTED_ORIGIN_SECRET`) and forwards the viewer's address.
#[test]
fn the_distribution_proves_its_origin_and_forwards_the_viewer_address() {
    let t = template();
    let r = &t["Resources"];
    let origin = &r["ApiDistribution"]["Properties"]["DistributionConfig"]["Origins"][0];
    let header = &origin["OriginCustomHeaders"][0];
    assert_eq!(
        header["HeaderName"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some(passport::kernel::http::client_address::ORIGIN_SECRET)
    );
    assert_eq!(header["HeaderValue"].as_str(), Some("TrustedOriginSecret"));
    assert_eq!(
        t["Globals"]["Function"]["Environment"]["Variables"]["TRUSTED_ORIGIN_SECRET"].as_str(),
        Some("TrustedOriginSecret")
    );
    // Issue #34, 2: every header a function reads reaches it — DBSC's two included, without
    // which no session behind the distribution ever binds — and the cookies, whole.
    let policy = &r["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"];
    let forwarded: BTreeSet<String> = policy["HeadersConfig"]["Headers"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_ascii_lowercase())
        .collect();
    let read: BTreeSet<String> = passport::api::gateway::FORWARDED_HEADERS
        .iter()
        .map(|h| h.to_string())
        .collect();
    assert_eq!(forwarded, read, "the origin request policy's headers");
    assert_eq!(
        policy["HeadersConfig"]["HeaderBehavior"].as_str(),
        Some("whitelist")
    );
    assert_eq!(
        policy["CookiesConfig"]["CookieBehavior"].as_str(),
        Some("all")
    );
}

/// ARCHITECTURE.md's "How to add a route", checked: every row of the route table is in each
/// place the recipe names. On failure it lists, per route, every place still missing, so one run
/// says all that is left to do.
#[test]
fn every_route_is_in_every_place_the_recipe_names() {
    let wired: Vec<Wired> = template_functions().into_values().flatten().collect();
    let openapi = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let api_page = std::fs::read_to_string(root().join("docs/api.md")).unwrap();
    let cases = std::fs::read_to_string(root().join("events/cases.json")).unwrap();
    let events: Vec<(String, serde_json::Value)> = events()
        .into_iter()
        .map(|(name, text)| (name, serde_json::from_str(&text).unwrap()))
        .collect();
    let mut missing = Vec::new();
    for r in ROUTES {
        let key = r.key();
        let mut places = Vec::new();
        if !wired.iter().any(|w| w.key == key && w.binary == r.function) {
            places.push(format!(
                "template.yaml: an HttpApi event on `{}`",
                r.function
            ));
        }
        if !openapi.contains(&format!("operationId: {}\n", r.operation_id)) {
            places.push(format!("openapi.yaml: an operation `{}`", r.operation_id));
        }
        if !api_page.contains(&format!("| `{key}")) {
            places.push("docs/api.md: a row in the Routes table".into());
        }
        let samples: Vec<&str> = events
            .iter()
            .filter(|(name, json)| {
                json["routeKey"] == key.as_str() && name.starts_with(&format!("{}-", r.function))
            })
            .map(|(name, _)| name.as_str())
            .collect();
        if samples.is_empty() {
            places.push(format!(
                "events/{}-<name>.json: a sample event with routeKey `{key}`",
                r.function
            ));
        }
        if !samples
            .iter()
            .any(|s| cases.contains(&format!("\"event\": \"{s}\"")))
        {
            places.push("events/cases.json: a case invoking its sample event".into());
        }
        if !places.is_empty() {
            missing.push(format!("{key}:\n  - {}", places.join("\n  - ")));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from places the recipe names:\n{}",
        missing.join("\n")
    );
}

/// `openapi.yaml`'s error codes are exactly the error table's.
#[test]
fn openapi_error_codes_are_the_error_table() {
    use passport::kernel::error::table;
    let text = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let spec: Value = serde_yaml::from_str(&text).unwrap();
    let documented: BTreeSet<String> =
        spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
            .as_sequence()
            .expect("openapi.yaml's Error lists its codes")
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
    let table: BTreeSet<String> = table::one_of_each()
        .iter()
        .map(|e| table::api_error(e).code.to_string())
        .collect();
    assert_eq!(
        documented, table,
        "openapi.yaml's Error codes (left) against the error table (right)"
    );
}
