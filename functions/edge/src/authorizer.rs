//! The authorizer's event handling: which of the three event shapes arrived, where its token
//! is, and the answer in the shape that event expects. The decision itself is
//! `Passport::authorize`, shared with `local-api`. Lives in this library (not the `authorizer`
//! binary) so the fuzz targets can reach the event parsing.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequest,
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use passport::Passport;
use passport::service::{Caller, Denied};
use serde_json::{Value, json};

/// The events an authorizer receives.
#[derive(Debug)]
pub enum AuthorizerEvent {
    /// HTTP API, payload format 2.0 (answered with a simple response).
    HttpV2(Box<ApiGatewayV2CustomAuthorizerV2Request>),
    /// REST API `TOKEN` authorizer (answered with an IAM policy).
    RestToken(ApiGatewayCustomAuthorizerRequest),
    /// REST API `REQUEST` authorizer (answered with an IAM policy).
    RestRequest(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
}

/// Recognises the event's shape; `None` for anything else.
pub fn parse(event: Value) -> Option<AuthorizerEvent> {
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        return serde_json::from_value(event)
            .ok()
            .map(|e| AuthorizerEvent::HttpV2(Box::new(e)));
    }
    match event.get("type").and_then(Value::as_str) {
        Some("TOKEN") => serde_json::from_value(event)
            .ok()
            .map(AuthorizerEvent::RestToken),
        Some("REQUEST") => serde_json::from_value(event)
            .ok()
            .map(|e| AuthorizerEvent::RestRequest(Box::new(e))),
        _ => None,
    }
}

impl AuthorizerEvent {
    /// The `Authorization` value (or the REST `TOKEN` authorizer's token) the event carries.
    pub fn authorization(&self) -> Option<&str> {
        match self {
            AuthorizerEvent::HttpV2(e) => e
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .or_else(|| e.identity_source.as_ref()?.first().map(String::as_str)),
            AuthorizerEvent::RestToken(e) => e.authorization_token.as_deref(),
            AuthorizerEvent::RestRequest(e) => {
                e.headers.get("authorization").and_then(|v| v.to_str().ok())
            }
        }
    }

    fn method_arn(&self) -> Option<&str> {
        match self {
            AuthorizerEvent::HttpV2(_) => None,
            AuthorizerEvent::RestToken(e) => e.method_arn.as_deref(),
            AuthorizerEvent::RestRequest(e) => e.method_arn.as_deref(),
        }
    }
}

/// Decides on one event. Never fails: whatever goes wrong is a deny.
pub async fn decide(app: &Passport, event: Value) -> Value {
    let Some(event) = parse(event) else {
        tracing::warn!("authorizer event of unknown shape; denied");
        return simple(None);
    };
    let caller = verdict(app, event.authorization()).await;
    match event {
        AuthorizerEvent::HttpV2(_) => simple(caller),
        _ => policy(caller, event.method_arn()),
    }
}

async fn verdict(app: &Passport, authorization: Option<&str>) -> Option<Caller> {
    match app.authorize(authorization).await {
        Ok(caller) => Some(caller),
        Err(Denied::Store(e)) => {
            tracing::error!(error = %e, "store unavailable; denied");
            None
        }
        Err(reason) => {
            tracing::info!(%reason, "denied");
            None
        }
    }
}

fn context(caller: &Caller) -> Value {
    json!({"user_id": caller.account.to_string(), "session_id": caller.session.to_string()})
}

fn simple(caller: Option<Caller>) -> Value {
    let mut r = ApiGatewayV2CustomAuthorizerSimpleResponse::<Value>::default();
    r.is_authorized = caller.is_some();
    r.context = caller.as_ref().map_or_else(|| json!({}), context);
    serde_json::to_value(r).unwrap_or_else(|_| json!({"isAuthorized": false}))
}

/// The resource a policy covers: every method and path of the stage the request was for, so a
/// cached answer serves the caller's other routes too.
fn resource(method_arn: Option<&str>) -> String {
    match method_arn.map(|arn| arn.splitn(3, '/').collect::<Vec<_>>()) {
        Some(parts) if parts.len() == 3 => format!("{}/{}/*/*", parts[0], parts[1]),
        _ => method_arn.unwrap_or("*").to_string(),
    }
}

fn policy(caller: Option<Caller>, method_arn: Option<&str>) -> Value {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".into()];
    statement.effect = if caller.is_some() {
        IamPolicyEffect::Allow
    } else {
        IamPolicyEffect::Deny
    };
    statement.resource = vec![resource(method_arn)];
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".into());
    document.statement = vec![statement];
    let mut r = ApiGatewayCustomAuthorizerResponse::<Value>::default();
    r.principal_id = Some(caller.map_or_else(|| "anonymous".into(), |c| c.account.to_string()));
    r.policy_document = document;
    r.context = caller.as_ref().map_or_else(|| json!({}), context);
    serde_json::to_value(r).unwrap_or_else(|_| json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::service::TokenPair;
    use passport::testing::{event, logged_in_memory_app, memory_app};

    async fn logged_in() -> (Passport, TokenPair) {
        let (app, pair) = logged_in_memory_app(None).await;
        (app, pair)
    }

    async fn decide_file(app: &Passport, name: &str, token: &str) -> Value {
        let text = event(name, &[("ACCESS_TOKEN", token)]);
        decide(app, serde_json::from_str(&text).unwrap()).await
    }

    #[tokio::test]
    async fn http_api_event_allows_a_live_session_with_context() {
        let (app, pair) = logged_in().await;
        let r = decide_file(&app, "authorizer-v2-allow", &pair.access_token).await;
        assert_eq!(r["isAuthorized"], true, "{r}");
        assert_eq!(r["context"]["session_id"], pair.session_id.to_string());
        assert!(
            r["context"]["user_id"]
                .as_str()
                .is_some_and(|s| s.len() == 22)
        );
    }

    #[tokio::test]
    async fn http_api_event_without_a_valid_token_is_denied() {
        let (app, _) = logged_in().await;
        let r = decide_file(&app, "authorizer-v2-deny", "").await;
        assert_eq!(r["isAuthorized"], false, "{r}");
        assert_eq!(r["context"], json!({}));
    }

    #[tokio::test]
    async fn rest_token_event_gets_an_allow_policy_then_a_deny_after_logout() {
        let (app, pair) = logged_in().await;
        let r = decide_file(&app, "authorizer-rest-token", &pair.access_token).await;
        let statement = &r["policyDocument"]["Statement"][0];
        assert_eq!(statement["Effect"], "Allow", "{r}");
        assert_eq!(
            statement["Resource"][0],
            "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
        );
        assert_eq!(r["principalId"], r["context"]["user_id"]);
        app.logout(Some(&pair.access_token), None, false)
            .await
            .unwrap();
        let r = decide_file(&app, "authorizer-rest-token", &pair.access_token).await;
        assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Deny", "{r}");
        assert_eq!(r["principalId"], "anonymous");
    }

    #[tokio::test]
    async fn rest_request_events_allow_and_deny() {
        let (app, pair) = logged_in().await;
        let r = decide_file(&app, "authorizer-rest-request", &pair.access_token).await;
        assert_eq!(
            r["policyDocument"]["Statement"][0]["Effect"], "Allow",
            "{r}"
        );
        let r = decide_file(&app, "authorizer-rest-request-deny", &pair.access_token).await;
        assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Deny", "{r}");
    }

    #[tokio::test]
    async fn garbage_events_are_denied_not_crashed() {
        let app = memory_app();
        for v in [
            json!(null),
            json!([]),
            json!({"type": "TOKEN", "authorizationToken": 5}),
            json!({"version": "2.0"}),
            json!({"type": "WEIRD"}),
        ] {
            let r = decide(&app, v.clone()).await;
            assert_eq!(r["isAuthorized"], false, "{v} -> {r}");
        }
    }
}
