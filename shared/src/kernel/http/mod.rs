//! The HTTP wire every feature's routes share: JSON bodies and their limits, the fields in
//! them, answers built from the error table, where a request came from, the session cookie's
//! reading (with the CSRF check) and clearing, and the answer to a sign-in in either transport.
//! Takes and returns the `http` crate's types, so a Lambda function (whose
//! `lambda_http::Request` is an `http::Request`) and `local-api` run the same code.

pub mod client_address;
pub mod csrf;

use crate::kernel::authentication::RecentAuth;
use crate::kernel::caller::{AppCaller, Caller, Verdict};
use crate::kernel::error::{ApiError, table};
use crate::kernel::service::{ClientInfo, Core, TokenPair};
use crate::kernel::store::KernelStore;
use crate::kernel::tokens::refresh::RefreshToken;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER, SET_COOKIE};
use http::{HeaderMap, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A request as a feature's handler gets it: the request, where it came from, what the
/// authorizer in front established (checked against the route's guard already), the path's
/// `{id}`, and the route's rule for recent authentication.
pub struct Call<'a, B> {
    /// The request.
    pub req: &'a Request<B>,
    /// The client's address as API Gateway saw it.
    pub source_ip: Option<String>,
    /// The authorizer's verdict.
    pub verdict: Verdict,
    /// The value of the path's `{name}` segment, for a path that has one.
    pub param: Option<String>,
    /// The route's rule for recent authentication.
    pub recent: RecentAuth,
}

impl<B> Call<'_, B> {
    /// The account's caller of a route behind the account authorizer.
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        match &self.verdict {
            Verdict::Account(c) => Ok(c),
            _ => Err(ApiError::Unauthorized),
        }
    }

    /// The end user of a route behind the app authorizer.
    pub fn visitor(&self) -> Result<&AppCaller, ApiError> {
        match &self.verdict {
            Verdict::Visitor(v) => Ok(v),
            _ => Err(ApiError::Unauthorized),
        }
    }

    /// The path's `{id}` (empty when the path has none).
    pub fn param(&self) -> &str {
        self.param.as_deref().unwrap_or_default()
    }

    /// Where the request came from: the client's address (`client_address`), and its
    /// `User-Agent`.
    pub fn client<S: ?Sized>(&self, service: &Core<S>) -> ClientInfo {
        let trusted = service.config().trusted_origin_secret.as_ref();
        ClientInfo {
            ip: client_address::client_address(self.req.headers(), self.source_ip.clone(), trusted),
            user_agent: header_str(self.req.headers(), "user-agent").map(str::to_string),
        }
    }
}

/// How an answer carries the refresh token: in the JSON body (mobile and server clients), or in
/// the `HttpOnly` session cookie (browsers; see [`crate::kernel::cookie`]). The access token is always in the
/// body and always sent back as a bearer header, never in a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `"transport": "body"`, the default.
    Body,
    /// `"transport": "cookie"`.
    Cookie,
}

/// The optional `transport` field: `"body"` or `"cookie"`.
pub fn transport_field(body: &Map<String, Value>) -> Result<Option<Transport>, ApiError> {
    match string_field(body, "transport")?.as_deref() {
        None => Ok(None),
        Some("body") => Ok(Some(Transport::Body)),
        Some("cookie") => Ok(Some(Transport::Cookie)),
        Some(_) => Err(wrong_type("transport", "\"body\" or \"cookie\"")),
    }
}

/// A sign-in's answer, whatever the proof: the pair as the transport carries it, and in the
/// cookie transport the offer of device binding (DBSC).
pub async fn answer_sign_in<S: ?Sized + KernelStore>(
    service: &Core<S>,
    pair: &TokenPair,
    transport: Transport,
) -> Response<String> {
    let mut resp = token_response(service, pair, transport);
    if transport == Transport::Cookie {
        match service.offer_binding(pair).await {
            Ok(Some(offer)) => {
                if let Ok(v) = HeaderValue::from_str(&offer) {
                    resp.headers_mut()
                        .insert(crate::kernel::binding::REGISTRATION_HEADER, v);
                }
            }
            Ok(None) => {}
            // Binding is the browser's extra, not the session's condition.
            Err(e) => tracing::warn!(error = %e, "device binding not offered"),
        }
    }
    resp
}

/// The answer to a sign-in or refresh. In the cookie transport the refresh token goes only into
/// the session cookie, living as long as the session, and the body does not carry it.
pub fn token_response<S: ?Sized>(
    service: &Core<S>,
    pair: &TokenPair,
    transport: Transport,
) -> Response<String> {
    let mut body = json!({
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token_expires_in": pair.refresh_token_expires_in,
        "session_id": pair.session_id.to_string(),
    });
    match transport {
        Transport::Body => {
            body["refresh_token"] = Value::String(pair.refresh_token.clone());
            json_response(StatusCode::OK, &body)
        }
        Transport::Cookie => {
            let mut r = json_response(StatusCode::OK, &body);
            let cookie = &service.config().session_cookie;
            let max_age = pair.refresh_token_expires_in;
            r.headers_mut()
                .append(SET_COOKIE, cookie.set(&pair.refresh_token, max_age));
            if let Some(pin) = cookie.set_pin(&pair.session_id.to_string(), max_age) {
                r.headers_mut().append(SET_COOKIE, pin);
            }
            r
        }
    }
}

/// Deletes the session cookie, the device-bound one beside it, and its pin.
pub fn clear_cookies<S: ?Sized>(service: &Core<S>, resp: &mut Response<String>) {
    let cookie = &service.config().session_cookie;
    resp.headers_mut().append(SET_COOKIE, cookie.clear());
    resp.headers_mut()
        .append(SET_COOKIE, cookie.bound().clear());
    if let Some(pin) = cookie.clear_pin() {
        resp.headers_mut().append(SET_COOKIE, pin);
    }
}

/// The session cookie a request carries, if any, once [`csrf::check`] has passed it; `Err` is
/// the answer instead: several cookies ([`tossed`]) or a CSRF refusal.
pub fn checked_cookie<'r, B, S: ?Sized>(
    service: &Core<S>,
    req: &'r Request<B>,
) -> Result<Option<&'r str>, Box<Response<String>>> {
    let session_cookie = &service.config().session_cookie;
    let Ok(cookie) = session_cookie.read_one(req.headers()) else {
        return Err(Box::new(tossed(service, req)));
    };
    // A `__Secure-` session cookie counts only beside the `__Host-` pin of its own session: one
    // planted by a sibling subdomain in a browser with no session has none.
    if let Some(value) = cookie.filter(|_| session_cookie.pin().is_some()) {
        let session = RefreshToken::parse(value).map(|t| t.session().to_string());
        if !session.is_some_and(|s| session_cookie.pinned(req.headers(), &s)) {
            let mut resp = error_response(&ApiError::CsrfRejected(
                "the session cookie is not pinned to this site (a planted cookie?)",
            ));
            clear_cookies(service, &mut resp);
            return Err(Box::new(resp));
        }
    }
    if cookie.is_some() {
        csrf::check(req.headers(), &service.config().allowed_origins)
            .map_err(|e| Box::new(error_response(&e)))?;
    }
    Ok(cookie)
}

/// The answer to a request carrying several session cookies (`crate::kernel::cookie::Tossed`): refused as a
/// cross-site attempt, and every copy this deployment can name deleted.
fn tossed<B, S: ?Sized>(service: &Core<S>, req: &Request<B>) -> Response<String> {
    let mut resp = error_response(&ApiError::CsrfRejected(
        "more than one session cookie (a planted copy shadows this site's)",
    ));
    for clear in service
        .config()
        .session_cookie
        .clear_tossed(req.uri().path())
    {
        resp.headers_mut().append(SET_COOKIE, clear);
    }
    resp
}

/// The JSON error response for `err`, as the error table says, logged at its level.
pub fn error_response(err: &ApiError) -> Response<String> {
    table::log(err);
    let spec = table::api_error(err);
    let mut body = json!({"error": spec.code, "message": err.to_string()});
    if let ApiError::SecondFactorRequired {
        challenge,
        expires_in,
    } = err
    {
        body["challenge"] = json!(challenge);
        body["expires_in"] = json!(expires_in);
        body["methods"] = json!(["totp", "recovery_code"]);
    }
    let mut r = json_response(spec.status, &body);
    if let Some(secs) = spec.retry_after {
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// A JSON response with the headers every answer carries.
pub fn json_response(status: StatusCode, body: &Value) -> Response<String> {
    let mut r = Response::new(body.to_string());
    *r.status_mut() = status;
    set_common_headers(r.headers_mut());
    r
}

fn set_common_headers(h: &mut HeaderMap) {
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Nothing Passport answers is worth caching, and token responses must not be.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
}

/// 204 with the headers every answer carries.
pub fn no_content() -> Response<String> {
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// A header's value as text, if it is there and is text.
pub fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a `Content-Type` value names JSON (`application/json`, or `application/*+json`,
/// with any parameters).
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.split_once('/').is_some_and(|(t, sub)| {
            t.eq_ignore_ascii_case("application") && sub.to_ascii_lowercase().ends_with("+json")
        })
}

/// Parses the body as a JSON object, within [`MAX_BODY_BYTES`].
pub fn json_body<B: AsRef<[u8]>>(req: &Request<B>) -> Result<Map<String, Value>, ApiError> {
    let bytes = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidRequest(
            "request body is required: a JSON object".into(),
        ));
    }
    if !header_str(req.headers(), "content-type").is_some_and(is_json) {
        return Err(ApiError::UnsupportedMediaType);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::InvalidRequest(
            "request body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::InvalidRequest(format!(
            "request body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))),
    }
}

/// The body as a JSON object, or an empty one when there is no body at all (a body that is
/// there must be JSON, as [`json_body`] reads it).
pub fn optional_json_body<B: AsRef<[u8]>>(
    req: &Request<B>,
) -> Result<Map<String, Value>, ApiError> {
    if req.body().as_ref().is_empty() {
        Ok(Map::new())
    } else {
        json_body(req)
    }
}

/// The error for a required field that is absent.
pub fn missing(field: &str) -> ApiError {
    ApiError::InvalidRequest(format!("field `{field}` is required"))
}

/// The error for a field of the wrong type.
pub fn wrong_type(field: &str, expected: &str) -> ApiError {
    ApiError::InvalidRequest(format!("field `{field}` must be {expected}"))
}

/// An optional string field; `null` counts as absent.
pub fn string_field(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(field, "a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> Request<Vec<u8>> {
        let mut r = Request::new(body.as_bytes().to_vec());
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        r
    }

    #[test]
    fn bodies_must_be_json() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "json",
            "",
            "application/jsonx",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
        let mut r = req("{}");
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("text/plain"));
        assert!(matches!(json_body(&r), Err(ApiError::UnsupportedMediaType)));
        r.headers_mut().remove("content-type");
        assert!(matches!(json_body(&r), Err(ApiError::UnsupportedMediaType)));
    }

    #[test]
    fn body_errors_are_client_errors_that_name_the_problem() {
        let too_big = "x".repeat(MAX_BODY_BYTES + 1);
        assert!(matches!(
            json_body(&req(&too_big)),
            Err(ApiError::PayloadTooLarge { .. })
        ));
        for (body, needle) in [
            ("", "required"),
            ("  ", "required"),
            ("{", "not valid JSON"),
            ("[1]", "JSON object"),
            ("\"x\"", "JSON object"),
        ] {
            match json_body(&req(body)) {
                Err(ApiError::InvalidRequest(m)) => assert!(m.contains(needle), "{body}: {m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        let map = json_body(&req(r#"{"email": 5, "device": null}"#)).unwrap();
        match string_field(&map, "email") {
            Err(ApiError::InvalidRequest(m)) => assert!(m.contains("`email`"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(string_field(&map, "device").unwrap(), None);
        assert!(missing("password").to_string().contains("`password`"));
    }

    #[test]
    fn every_error_maps_to_its_contract_status() {
        // The contract, spelled here apart from the table: each code's status.
        let contract: std::collections::BTreeMap<&str, u16> = [
            ("invalid_request", 400),
            ("payload_too_large", 413),
            ("invalid_credentials", 401),
            ("account_disabled", 403),
            ("too_many_attempts", 429),
            ("invalid_refresh_token", 401),
            ("refresh_token_reused", 401),
            ("csrf_rejected", 403),
            ("app_not_found", 404),
            ("sign_in_required", 401),
            ("rate_limited", 429),
            ("unauthorized", 401),
            ("reauthentication_required", 403),
            ("passkeys_disabled", 404),
            ("passkey_not_verified", 401),
            ("passkey_exists", 409),
            ("too_many_passkeys", 409),
            ("last_sign_in_method", 409),
            ("invalid_session_proof", 401),
            ("session_proof_required", 403),
            ("bound_cookie_required", 403),
            ("weak_password", 400),
            ("email_not_verified", 403),
            ("signup_closed", 403),
            ("invalid_token", 400),
            ("email_taken", 409),
            ("mail_unavailable", 503),
            ("mfa_required", 403),
            ("invalid_code", 400),
            ("mfa_exists", 409),
            ("aal2_required", 403),
            ("mfa_enrolment_required", 403),
            ("unknown_provider", 404),
            ("invalid_return_to", 400),
            ("invalid_oauth_state", 400),
            ("invalid_oauth_code", 400),
            ("identity_in_use", 409),
            ("provider_already_linked", 409),
            ("provider_unavailable", 502),
            ("not_found", 404),
            ("not_configured", 404),
            ("method_not_allowed", 405),
            ("unsupported_media_type", 415),
            ("unavailable", 503),
            ("internal_error", 500),
        ]
        .into();
        let every = table::one_of_each();
        assert_eq!(every.len(), contract.len(), "one contract row per error");
        for err in every {
            let r = error_response(&err);
            let body: Value = serde_json::from_str(r.body()).unwrap();
            let code = body["error"].as_str().unwrap();
            assert_eq!(contract.get(code), Some(&r.status().as_u16()), "{code}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        }
        let r = error_response(&ApiError::TooManyAttempts { retry_after: 7 });
        assert_eq!(r.headers()[RETRY_AFTER], "7");
        let r = error_response(&ApiError::TooManyAttempts { retry_after: 0 });
        assert_eq!(r.headers()[RETRY_AFTER], "1", "never Retry-After: 0");
        let r = error_response(&ApiError::Unavailable(
            crate::kernel::error::StoreError::Corrupt("x".into()),
        ));
        assert_eq!(r.headers()[RETRY_AFTER], "1");
        let r = error_response(&ApiError::Unauthorized);
        assert!(r.headers().get(RETRY_AFTER).is_none());
        // The second step's challenge rides in the refusal's body.
        let r = error_response(&ApiError::SecondFactorRequired {
            challenge: "abc".into(),
            expires_in: 300,
        });
        let body: Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(
            (body["challenge"].as_str(), body["expires_in"].as_i64()),
            (Some("abc"), Some(300))
        );
    }
}
