//! The authorizer's event handling: which of the three event shapes arrived, where its token
//! is, and the answer in the shape that event expects. The decision itself is
//! `Service::authorize`, shared with `local-api`. Lives in this library (not the `authorizer`
//! binary) so the fuzz targets can reach the event parsing.
//!
//! The event is read into [`AuthorizerEvent`], the handful of fields the decision needs, straight
//! from its JSON text; everything else is skipped unread. Deserialising the whole
//! `aws_lambda_events` request (a `serde_json::Value` tree, then its header map and request
//! context) was most of the handler's own time (`make bench`, docs/performance.md).

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use passport::Service;
use passport::kernel::caller::Verdict;
use passport::kernel::service::Denied;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// The fields of an authorizer event that the decision reads, whichever of the three shapes
/// it is, as the API Gateway Developer Guide gives them: an HTTP API event, payload format 2.0
/// (`version: "2.0"`, `headers`, `identitySource`); a REST `TOKEN` event (`type`,
/// `authorizationToken`, `methodArn`); a REST `REQUEST` event (`type`, `headers`, `methodArn`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerEvent {
    version: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    headers: Option<Headers>,
    identity_source: Option<IdentitySource>,
    authorization_token: Option<String>,
    method_arn: Option<String>,
}

/// `identitySource`: a list in an HTTP API payload 2.0 event, one comma-joined string in a
/// payload 1.0 (REST-shaped) one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdentitySource {
    Many(Vec<String>),
    One(String),
}

/// The shapes of [`AuthorizerEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// HTTP API, payload format 2.0 (answered with a simple response).
    HttpV2,
    /// REST API `TOKEN` authorizer (answered with an IAM policy).
    RestToken,
    /// REST API `REQUEST` authorizer (answered with an IAM policy).
    RestRequest,
}

/// The `Authorization` and `X-App-Code` headers of an event's `headers`, found
/// case-insensitively (a REST API passes headers as the client sent them); every other header
/// is skipped unread.
#[derive(Debug, Default)]
struct Headers {
    authorization: Option<String>,
    app_code: Option<String>,
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Find;
        impl<'de> Visitor<'de> for Find {
            type Value = Headers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of header names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut found = Headers::default();
                while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if found.authorization.is_none() && name.eq_ignore_ascii_case("authorization") {
                        found.authorization = map.next_value::<Option<String>>()?;
                    } else if found.app_code.is_none() && name.eq_ignore_ascii_case("x-app-code") {
                        found.app_code = map.next_value::<Option<String>>()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(found)
            }
        }
        d.deserialize_map(Find)
    }
}

/// Reads an event from its JSON; `None` for anything that is not one of the three shapes.
pub fn parse(json: &str) -> Option<AuthorizerEvent> {
    let event: AuthorizerEvent = serde_json::from_str(json).ok()?;
    event.shape().map(|_| event)
}

impl AuthorizerEvent {
    /// Which shape the event is.
    pub fn shape(&self) -> Option<Shape> {
        if self.version.as_deref() == Some("2.0") {
            return Some(Shape::HttpV2);
        }
        match self.kind.as_deref() {
            Some("TOKEN") => Some(Shape::RestToken),
            Some("REQUEST") => Some(Shape::RestRequest),
            _ => None,
        }
    }

    /// The `Authorization` value (or the REST `TOKEN` authorizer's token) the event carries.
    pub fn authorization(&self) -> Option<&str> {
        let header = self
            .headers
            .as_ref()
            .and_then(|h| h.authorization.as_deref());
        match self.shape()? {
            Shape::HttpV2 => header.or_else(|| match self.identity_source.as_ref()? {
                IdentitySource::Many(all) => all.first().map(String::as_str),
                IdentitySource::One(one) => Some(one.as_str()),
            }),
            Shape::RestToken => self.authorization_token.as_deref(),
            Shape::RestRequest => header,
        }
    }

    /// The `X-App-Code` the event carries: from its headers (or, in a payload 2.0 event, the
    /// second identity source, as `template.yaml` lists them). A REST `TOKEN` event carries no
    /// headers, so it has none, and the app authorizer denies it: a shared app's API needs the
    /// `REQUEST` type (or an HTTP API).
    pub fn app_code(&self) -> Option<&str> {
        let header = self.headers.as_ref().and_then(|h| h.app_code.as_deref());
        match self.shape()? {
            Shape::HttpV2 => header.or_else(|| match self.identity_source.as_ref()? {
                IdentitySource::Many(all) => all.get(1).map(String::as_str),
                IdentitySource::One(_) => None,
            }),
            Shape::RestToken => None,
            Shape::RestRequest => header,
        }
    }
}

/// Which authorizer runs: the same event handling, two decisions, two binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `authorizer`: account access tokens (`Service::authorize`).
    Account,
    /// `app-authorizer`: web-app passports for the app of `X-App-Code`
    /// (`Service::authorize_visitor`).
    App,
}

/// What the authorizer puts in the request context for the routes behind it: the caller it
/// established (`passport::kernel::caller`), the same type the function behind reads back.
pub type Context = Verdict;

/// The answer, in the shape the event expects.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AuthorizerAnswer {
    /// HTTP API simple response.
    Simple(ApiGatewayV2CustomAuthorizerSimpleResponse<Context>),
    /// REST API policy.
    Policy(Box<ApiGatewayCustomAuthorizerResponse<Context>>),
}

/// Runs the authorizer function `function` (its package name) of `kind`: init, then one
/// decision per event. The event is taken as JSON text (checked, not parsed into a tree): the
/// decision reads only the fields it needs, and any event at all gets an answer (a deny), never
/// an invocation error.
pub async fn run(kind: Kind, function: &str) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{LambdaEvent, service_fn};
    use serde_json::value::RawValue;
    use std::sync::Arc;
    let service = crate::init(function).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let service = Arc::clone(&service);
        async move {
            Ok::<_, lambda_runtime::Error>(decide_as(kind, &service, event.payload.get()).await)
        }
    }))
    .await
}

/// The account authorizer's decision on one event, given as its JSON text. Never fails:
/// whatever goes wrong is a deny.
pub async fn decide(service: &Service, json: &str) -> AuthorizerAnswer {
    decide_as(Kind::Account, service, json).await
}

/// `kind`'s decision on one event, given as its JSON text. Never fails: whatever goes wrong is a
/// deny.
pub async fn decide_as(kind: Kind, service: &Service, json: &str) -> AuthorizerAnswer {
    let Some(event) = parse(json) else {
        tracing::warn!("authorizer event of unknown shape; denied");
        return simple(None);
    };
    let allowed = match kind {
        Kind::Account => service
            .authorize(event.authorization())
            .await
            .map(|c| Allowed {
                principal: c.account.to_string(),
                context: Verdict::Account(c),
            }),
        Kind::App => service
            .authorize_visitor(event.authorization(), event.app_code())
            .await
            .map(|v| Allowed {
                principal: v.end_user.to_string(),
                context: Verdict::Visitor(v),
            }),
    };
    let allowed = match allowed {
        Ok(a) => Some(a),
        Err(Denied::Store(e)) => {
            tracing::error!(error = %e, "store unavailable; denied");
            None
        }
        Err(reason) => {
            tracing::info!(%reason, "denied");
            None
        }
    };
    match event.shape() {
        Some(Shape::RestToken | Shape::RestRequest) => policy(allowed, event.method_arn.as_deref()),
        Some(Shape::HttpV2) | None => simple(allowed),
    }
}

/// An allow: the principal and the context for the routes behind.
struct Allowed {
    principal: String,
    context: Context,
}

fn simple(allowed: Option<Allowed>) -> AuthorizerAnswer {
    let mut r = ApiGatewayV2CustomAuthorizerSimpleResponse::<Context>::default();
    r.is_authorized = allowed.is_some();
    r.context = allowed.map(|a| a.context).unwrap_or_default();
    AuthorizerAnswer::Simple(r)
}

/// The resource a policy covers: every method and path of the stage the request was for, so a
/// cached answer serves the caller's other routes too.
fn resource(method_arn: Option<&str>) -> String {
    match method_arn.map(|arn| arn.splitn(3, '/').collect::<Vec<_>>()) {
        Some(parts) if parts.len() == 3 => format!("{}/{}/*/*", parts[0], parts[1]),
        _ => method_arn.unwrap_or("*").to_string(),
    }
}

fn policy(allowed: Option<Allowed>, method_arn: Option<&str>) -> AuthorizerAnswer {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".into()];
    statement.effect = if allowed.is_some() {
        IamPolicyEffect::Allow
    } else {
        IamPolicyEffect::Deny
    };
    statement.resource = vec![resource(method_arn)];
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".into());
    document.statement = vec![statement];
    let mut r = ApiGatewayCustomAuthorizerResponse::<Context>::default();
    let (principal, context) = match allowed {
        Some(a) => (a.principal, a.context),
        None => ("anonymous".into(), Context::default()),
    };
    r.principal_id = Some(principal);
    r.policy_document = document;
    r.context = context;
    AuthorizerAnswer::Policy(Box::new(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::kernel::service::TokenPair;
    use passport::testing::{event, logged_in_memory_service, memory_service};
    use serde_json::{Value, json};

    async fn logged_in() -> (Service, TokenPair) {
        let (service, pair) = logged_in_memory_service(None).await;
        (service, pair)
    }

    async fn decide_file(service: &Service, name: &str, token: &str) -> Value {
        let text = event(name, &[("ACCESS_TOKEN", token)]);
        serde_json::to_value(decide(service, &text).await).unwrap()
    }

    #[tokio::test]
    async fn http_api_event_allows_a_live_session_with_context() {
        let (service, pair) = logged_in().await;
        let r = decide_file(&service, "authorizer-v2-allow", &pair.access_token).await;
        assert_eq!(r["isAuthorized"], true, "{r}");
        assert_eq!(r["context"]["session_id"], pair.session_id.to_string());
        assert_eq!(r["context"]["email"], passport::testing::EVENT_EMAIL);
        assert!(
            r["context"]["user_id"]
                .as_str()
                .is_some_and(|s| s.len() == 22)
        );
    }

    #[tokio::test]
    async fn http_api_event_without_a_valid_token_is_denied() {
        let (service, _) = logged_in().await;
        let r = decide_file(&service, "authorizer-v2-deny", "").await;
        assert_eq!(r["isAuthorized"], false, "{r}");
        assert_eq!(r["context"], json!({}));
    }

    #[tokio::test]
    async fn rest_token_event_gets_an_allow_policy_then_a_deny_after_logout() {
        let (service, pair) = logged_in().await;
        let r = decide_file(&service, "authorizer-rest-token", &pair.access_token).await;
        let statement = &r["policyDocument"]["Statement"][0];
        assert_eq!(statement["Effect"], "Allow", "{r}");
        assert_eq!(
            statement["Resource"][0],
            "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
        );
        assert_eq!(r["principalId"], r["context"]["user_id"]);
        service
            .logout(
                Some(&pair.access_token),
                None,
                false,
                passport::kernel::authentication::RecentAuth::No,
            )
            .await
            .unwrap();
        let r = decide_file(&service, "authorizer-rest-token", &pair.access_token).await;
        assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Deny", "{r}");
        assert_eq!(r["principalId"], "anonymous");
    }

    #[tokio::test]
    async fn rest_request_events_allow_and_deny() {
        let (service, pair) = logged_in().await;
        let r = decide_file(&service, "authorizer-rest-request", &pair.access_token).await;
        assert_eq!(
            r["policyDocument"]["Statement"][0]["Effect"], "Allow",
            "{r}"
        );
        let r = decide_file(&service, "authorizer-rest-request-deny", &pair.access_token).await;
        assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Deny", "{r}");
    }

    #[tokio::test]
    async fn garbage_events_are_denied_not_crashed() {
        let service = memory_service();
        for v in [
            json!(null),
            json!([]),
            json!({"type": "TOKEN", "authorizationToken": 5}),
            json!({"version": "2.0"}),
            json!({"type": "WEIRD"}),
            json!({"version": "2.0", "headers": {"authorization": 5}}),
            json!({"version": "2.0", "headers": null, "identitySource": null}),
        ] {
            let r = serde_json::to_value(decide(&service, &v.to_string()).await).unwrap();
            assert_eq!(r["isAuthorized"], false, "{v} -> {r}");
        }
    }

    #[tokio::test]
    async fn the_authorization_header_is_found_in_any_case_and_nothing_else_is_read() {
        let (service, pair) = logged_in().await;
        for name in ["Authorization", "AUTHORIZATION", "authorization"] {
            let e = json!({
                "type": "REQUEST",
                "methodArn": "arn:aws:execute-api:us-east-1:1:api/prod/GET/x",
                "headers": {"x-other": {"deep": [1, 2]}, name: format!("Bearer {}", pair.access_token)},
                "requestContext": {"anything": ["at", "all"]},
            });
            let r = serde_json::to_value(decide(&service, &e.to_string()).await).unwrap();
            assert_eq!(
                r["policyDocument"]["Statement"][0]["Effect"], "Allow",
                "{name}: {r}"
            );
        }
    }

    #[tokio::test]
    async fn a_payload_1_0_event_with_a_string_identity_source_is_read() {
        // HTTP API authorizers on payload format 1.0 send a REST-shaped REQUEST event whose
        // identitySource is one string (API Gateway Developer Guide, "Lambda authorizer payload
        // format"); it must not make the event unreadable.
        let (service, pair) = logged_in().await;
        let bearer = format!("Bearer {}", pair.access_token);
        let e = json!({
            "version": "1.0",
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:1:api/$default/GET/me",
            "identitySource": bearer,
            "authorizationToken": bearer,
            "headers": {"Authorization": bearer},
        });
        let r = serde_json::to_value(decide(&service, &e.to_string()).await).unwrap();
        assert_eq!(
            r["policyDocument"]["Statement"][0]["Effect"], "Allow",
            "{r}"
        );
    }
}
