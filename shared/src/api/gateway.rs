//! The one model of what API Gateway does in front of the functions, which `local-api` serves
//! and the tests send their requests through: an HTTP API with a Lambda authorizer (payload
//! 2.0, simple responses, identity source `Authorization`) and a `CorsConfiguration`, as AWS
//! documents them ("Control access to HTTP APIs with AWS Lambda authorizers" and "Configure
//! CORS for HTTP APIs", API Gateway Developer Guide):
//!
//! - the identity source missing or empty: 401 `{"message":"Unauthorized"}`, the authorizer
//!   is not invoked;
//! - the authorizer answers `isAuthorized: false`: 403 `{"message":"Forbidden"}` — which is also
//!   what the deployed authorizer answers when the store is down (it denies);
//! - the authorizer fails or times out: 500 `{"message":"Internal Server Error"}`;
//! - a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered
//!   by the gateway itself, never reaching the authorizer or a function; responses to a listed
//!   origin carry `Access-Control-Allow-Origin` (that origin) and `-Allow-Credentials: true`; an
//!   unlisted origin gets no CORS header (so the browser refuses it).

use super::{Guard, Service, cors};
use crate::kernel::caller::{AppCaller, Caller, Verdict};
use crate::kernel::service::Denied;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    CONTENT_TYPE, HeaderMap, HeaderValue, ORIGIN, VARY,
};
use http::{Method, Response, StatusCode};
use std::time::Duration;

/// Every request header a function reads, besides `Authorization` and `Cookie`: what a CDN in
/// front of the API must forward to the origin (the template's CloudFront origin request policy
/// lists exactly these). CloudFront forwards only the headers a policy names ("Control origin
/// requests with a policy", CloudFront Developer Guide); one left out reaches no function, and
/// the feature that reads it fails closed — DBSC's two headers missing, no session ever binds.
pub const FORWARDED_HEADERS: &[&str] = &[
    crate::kernel::http::client_address::VIEWER_ADDRESS,
    "content-type",
    "origin",
    "sec-fetch-site",
    "user-agent",
    crate::passports::http::APP_CODE_HEADER,
    crate::dbsc::protocol::RESPONSE_HEADER,
    crate::dbsc::protocol::SESSION_ID_HEADER,
];

/// How long API Gateway waits for the authorizer: the function's timeout in `template.yaml`.
pub const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// API Gateway refused a request before any function ran: its status, and why (for logs and
/// tests; the client sees only API Gateway's own body, [`Refusal::answer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 401 (no identity source), 403 (the authorizer denied) or 500 (it failed).
    pub status: StatusCode,
    /// Why, as the authorizer or the gateway saw it.
    pub reason: String,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }

    /// API Gateway's answer: its status and `{"message": ...}` body.
    pub fn answer(&self) -> Response<String> {
        gateway_answer(self.status)
    }
}

/// One of API Gateway's own answers: its status and `{"message": ...}` body.
pub fn gateway_answer(status: StatusCode) -> Response<String> {
    let message = match status {
        StatusCode::UNAUTHORIZED => "Unauthorized",
        StatusCode::FORBIDDEN => "Forbidden",
        _ => "Internal Server Error",
    };
    let mut r = Response::new(serde_json::json!({ "message": message }).to_string());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// An identity source's value: the header, present and not blank.
fn identity<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
}

/// What API Gateway does before a route's function runs: the route's authorizer, if any, whose
/// context reaches the function as JSON (`requestContext.authorizer.lambda`) and is read back
/// there; or API Gateway's own answer when it refuses.
pub async fn guard(
    service: &Service,
    guard: Guard,
    headers: &HeaderMap,
) -> Result<Verdict, Refusal> {
    let verdict = match guard {
        Guard::Open => return Ok(Verdict::None),
        Guard::Authorizer => Verdict::Account(authorize(service, headers).await?),
        Guard::AppAuthorizer => Verdict::Visitor(authorize_app(service, headers).await?),
    };
    let context = serde_json::to_value(&verdict).unwrap_or_default();
    Ok(context
        .as_object()
        .map_or(Verdict::None, Verdict::from_context))
}

/// The authorizer in front of a guarded route, as API Gateway runs it.
pub async fn authorize(service: &Service, headers: &HeaderMap) -> Result<Caller, Refusal> {
    let Some(header) = identity(headers, "authorization") else {
        return Err(Refusal::new(StatusCode::UNAUTHORIZED, "no Authorization"));
    };
    refused_as_gateway(service.authorize(Some(header))).await
}

/// The app authorizer in front of a shared app's route. Its identity sources are
/// `Authorization` and `X-App-Code` (`template.yaml`): with either missing, API Gateway answers
/// 401 without invoking it ("if any of the identity sources is missing, null or empty").
pub async fn authorize_app(service: &Service, headers: &HeaderMap) -> Result<AppCaller, Refusal> {
    let (Some(header), Some(code)) = (
        identity(headers, "authorization"),
        identity(headers, "x-app-code"),
    ) else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "no Authorization or X-App-Code",
        ));
    };
    refused_as_gateway(service.authorize_visitor(Some(header), Some(code))).await
}

/// An authorizer's decision as API Gateway turns it into an answer: a deny is 403, a timeout 500.
async fn refused_as_gateway<T>(
    decision: impl std::future::Future<Output = Result<T, Denied>>,
) -> Result<T, Refusal> {
    match tokio::time::timeout(AUTHORIZER_TIMEOUT, decision).await {
        Ok(Ok(caller)) => Ok(caller),
        Ok(Err(Denied::Store(e))) => {
            tracing::error!(error = %e, "store unavailable; denied");
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                Denied::Store(e).to_string(),
            ))
        }
        Ok(Err(reason)) => {
            tracing::info!(%reason, "denied by the authorizer");
            Err(Refusal::new(StatusCode::FORBIDDEN, reason.to_string()))
        }
        Err(_) => Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the authorizer timed out",
        )),
    }
}

/// The CORS side of the gateway, for the origins of `ALLOWED_ORIGINS`.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// CORS for exactly these origins.
    pub fn new(origins: Vec<String>) -> Self {
        Self { origins }
    }

    /// The request's `Origin` when it is a listed one.
    pub fn allowed(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|o| o == text)
            .then(|| origin.clone())
    }

    /// The gateway's own answer to a preflight, or `None` when the request is not one (it then
    /// goes to the routes like any other). The preflight of an unlisted origin gets no CORS
    /// header, and the browser refuses the request it was for.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response<String>> {
        if method != Method::OPTIONS
            || !headers.contains_key(ORIGIN)
            || !headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let mut r = Response::new(String::new());
        *r.status_mut() = StatusCode::NO_CONTENT;
        if let Some(origin) = self.allowed(headers) {
            let h = r.headers_mut();
            allow_origin(h, origin);
            let methods = cors::allow_methods().join(",");
            let headers_allowed = cors::ALLOW_HEADERS.join(",");
            if let (Ok(m), Ok(a)) = (
                HeaderValue::from_str(&methods),
                HeaderValue::from_str(&headers_allowed),
            ) {
                h.insert(ACCESS_CONTROL_ALLOW_METHODS, m);
                h.insert(ACCESS_CONTROL_ALLOW_HEADERS, a);
            }
            h.insert(
                ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(cors::MAX_AGE_SECONDS),
            );
        }
        Some(r)
    }

    /// Adds the CORS headers to an answer for `origin`, the request's listed origin (see
    /// [`Cors::allowed`]).
    pub fn decorate(origin: Option<HeaderValue>, response: &mut Response<String>) {
        if let Some(origin) = origin {
            let h = response.headers_mut();
            allow_origin(h, origin);
            h.append(VARY, HeaderValue::from_static("origin"));
        }
    }
}

/// The headers that let `origin` read an answer, credentials included.
fn allow_origin(h: &mut HeaderMap, origin: HeaderValue) {
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn gateway_answers_are_api_gateways_own() {
        for (status, message) in [
            (StatusCode::UNAUTHORIZED, "Unauthorized"),
            (StatusCode::FORBIDDEN, "Forbidden"),
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        ] {
            let r = gateway_answer(status);
            assert_eq!(r.status(), status);
            assert_eq!(r.body(), &format!("{{\"message\":\"{message}\"}}"));
        }
    }

    #[test]
    fn preflights_are_answered_for_listed_origins_only() {
        let cors = Cors::new(vec!["http://127.0.0.1:5173".into()]);
        let ok = headers(&[
            ("origin", "http://127.0.0.1:5173"),
            ("access-control-request-method", "POST"),
        ]);
        let r = cors.preflight(&Method::OPTIONS, &ok).unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "http://127.0.0.1:5173"
        );
        assert_eq!(r.headers()["access-control-allow-credentials"], "true");
        assert_eq!(
            r.headers()["access-control-allow-methods"],
            "POST,GET,DELETE"
        );
        let other = headers(&[
            ("origin", "http://127.0.0.1:9999"),
            ("access-control-request-method", "POST"),
        ]);
        let r = cors.preflight(&Method::OPTIONS, &other).unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
        assert!(cors.preflight(&Method::OPTIONS, &headers(&[])).is_none());
        assert!(cors.preflight(&Method::GET, &ok).is_none());
    }
}
