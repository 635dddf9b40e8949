//! The HTTP layer: requests in, responses out — routing (the table in [`routes`]), JSON bodies
//! and their limits, and answers built from the error table. Takes and returns the `http`
//! crate's types, so a Lambda function (whose `lambda_http::Request` is an `http::Request`) and
//! `local-api` run the same code.

pub mod client_address;
pub mod cors;
pub mod csrf;
mod dbsc;
pub mod discovery;
pub mod functions;
mod passkeys;
pub mod passports;
pub mod recent;
pub mod routes;

pub use crate::kernel::caller::Verdict;
pub use functions::{Function, Login, Logout, Passports, Refresh, Sessions};
pub use passports::{APP_CODE_HEADER, visitor_context};
pub use routes::{
    AUTHORIZERS, AccountHandler, AppHandler, AuthorizerSpec, Guard, Handler, KeyUse, NoRoute,
    OpenHandler, ROUTES, RecentAuth, Route, RouteSpec, key_use_of, route,
};

use crate::kernel::error::ApiError;
use crate::kernel::error::table;
use crate::service::{Caller, ClientInfo, LoginInput, PasswordChange, Service, TokenPair};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER, SET_COOKIE};
use http::{HeaderMap, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use std::future::Future;
use std::pin::Pin;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The answer to a request that matched no route.
pub fn no_route(no: NoRoute) -> Response<String> {
    match no {
        NoRoute::NotFound => error_response(&ApiError::NotFound),
        NoRoute::MethodNotAllowed(allow) => {
            let value = HeaderValue::from_str(&allow).ok();
            let mut r = error_response(&ApiError::MethodNotAllowed { allow });
            if let Some(v) = value {
                r.headers_mut().insert(http::header::ALLOW, v);
            }
            r
        }
    }
}

/// Runs the handler of `route`, whichever function the table gives it to (`local-api` and the
/// tests; a Lambda function runs only its own [`Function::serve`]). `verdict` is the
/// authorizer's, for routes behind one: it is checked against the route's guard once, and each
/// handler gets the caller its guard establishes (an account route never a visitor, and the
/// reverse).
///
/// Boxed: the future of a dispatch that can reach every handler is deep, and whoever awaits it
/// (a test, the bench harness) would otherwise carry all of it in its own future's type, past
/// the compiler's query depth limit.
pub fn handle<'a, B: AsRef<[u8]> + Sync>(
    app: &'a Service,
    route: Route,
    req: &'a Request<B>,
    source_ip: Option<String>,
    verdict: Verdict,
) -> Pin<Box<dyn Future<Output = Response<String>> + Send + 'a>> {
    Box::pin(async move {
        let answer = match route.spec.function {
            Login::NAME => Login::serve(app, route, req, source_ip, verdict).await,
            Refresh::NAME => Refresh::serve(app, route, req, source_ip, verdict).await,
            Logout::NAME => Logout::serve(app, route, req, source_ip, verdict).await,
            Passports::NAME => Passports::serve(app, route, req, source_ip, verdict).await,
            Sessions::NAME => Sessions::serve(app, route, req, source_ip, verdict).await,
            _ => None,
        };
        // `None`: the table gives the route to a function whose dispatch does not serve it,
        // which `functions`' tests rule out.
        answer.unwrap_or_else(|| no_route(NoRoute::NotFound))
    })
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

/// What a `POST /login` request asks (no `Debug`: it holds the password).
pub struct LoginRequest {
    /// The credentials and device name.
    pub input: LoginInput,
    /// How the refresh token goes back.
    pub transport: Transport,
}

/// The fields of a `POST /login` request.
pub fn parse_login<B: AsRef<[u8]>>(req: &Request<B>) -> Result<LoginRequest, ApiError> {
    let body = json_body(req)?;
    Ok(LoginRequest {
        input: LoginInput {
            email: string_field(&body, "email")?.ok_or_else(|| missing("email"))?,
            password: string_field(&body, "password")?.ok_or_else(|| missing("password"))?,
            device: string_field(&body, "device")?,
        },
        transport: transport_field(&body)?.unwrap_or(Transport::Body),
    })
}

/// The fields of a `POST /password` request.
pub fn parse_password<B: AsRef<[u8]>>(req: &Request<B>) -> Result<PasswordChange, ApiError> {
    let body = json_body(req)?;
    Ok(PasswordChange {
        current_password: string_field(&body, "current_password")?
            .ok_or_else(|| missing("current_password"))?,
        new_password: string_field(&body, "new_password")?
            .ok_or_else(|| missing("new_password"))?,
    })
}

/// What a `POST /refresh-token` request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRequest {
    /// The refresh token presented.
    pub token: String,
    /// How the new one goes back.
    pub transport: Transport,
    /// The token came from the session cookie (not the body).
    pub from_cookie: bool,
}

/// The refresh token of a `POST /refresh-token` request: the body's `refresh_token`, else
/// `cookie` (the session cookie's value). A refresh by cookie always answers by cookie: asking
/// for the body would hand an `HttpOnly` token to any script. `"transport": "cookie"` with a
/// body token moves a body-transport session to the cookie.
pub fn parse_refresh<B: AsRef<[u8]>>(
    req: &Request<B>,
    cookie: Option<&str>,
) -> Result<RefreshRequest, ApiError> {
    let body = if cookie.is_some() {
        optional_json_body(req)?
    } else {
        json_body(req)?
    };
    let asked = transport_field(&body)?;
    match (string_field(&body, "refresh_token")?, cookie) {
        (Some(token), _) => Ok(RefreshRequest {
            token,
            transport: asked.unwrap_or(Transport::Body),
            from_cookie: false,
        }),
        (None, Some(_)) if asked == Some(Transport::Body) => Err(ApiError::InvalidRequest(
            "a refresh by the session cookie answers by cookie: `transport` cannot be `body`"
                .into(),
        )),
        (None, Some(token)) => Ok(RefreshRequest {
            token: token.to_string(),
            transport: Transport::Cookie,
            from_cookie: true,
        }),
        (None, None) => Err(ApiError::InvalidRequest(
            "field `refresh_token` is required (or the session cookie)".into(),
        )),
    }
}

/// What a `POST /logout` request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest<'a> {
    /// The bearer token of the `Authorization` header, if any.
    pub bearer: Option<&'a str>,
    /// The refresh token of the body, if any.
    pub refresh_token: Option<String>,
    /// End every session of the account.
    pub all: bool,
}

/// The credentials and options of a `POST /logout` request. The body is optional: a bearer
/// token alone is a complete logout request.
pub fn parse_logout<B: AsRef<[u8]>>(req: &Request<B>) -> Result<LogoutRequest<'_>, ApiError> {
    // No body at all is a complete request; a body that is there must be JSON (white space
    // alone is not: Schemathesis's negative_data_rejection found it accepted).
    let body = optional_json_body(req)?;
    let all = match body.get("all") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(wrong_type("all", "a boolean")),
    };
    Ok(LogoutRequest {
        bearer: header_str(req.headers(), "authorization").and_then(crate::service::bearer_token),
        refresh_token: string_field(&body, "refresh_token")?,
        all,
    })
}

async fn login<B: AsRef<[u8]>>(
    app: &Service,
    req: &Request<B>,
    source_ip: Option<String>,
) -> Result<Response<String>, ApiError> {
    let LoginRequest { input, transport } = parse_login(req)?;
    if transport == Transport::Cookie {
        csrf::check(req.headers(), &app.config().allowed_origins)?;
    }
    let client = client_info(app, req, source_ip);
    let pair = app.login(input, &client).await?;
    Ok(answer_pair(app, &pair, transport).await)
}

/// A login's answer: the pair as the transport carries it, and in the cookie transport the
/// offer of device binding (DBSC).
async fn answer_pair(app: &Service, pair: &TokenPair, transport: Transport) -> Response<String> {
    let mut resp = token_response(app, pair, transport);
    if transport == Transport::Cookie {
        dbsc::offer(app, pair, &mut resp).await;
    }
    resp
}

/// Every request that reads or sets the session cookie passes [`csrf::check`] first.
async fn refresh<B: AsRef<[u8]>>(
    app: &Service,
    req: &Request<B>,
) -> Result<Response<String>, ApiError> {
    let cookie = match checked_cookie(app, req) {
        Ok(cookie) => cookie,
        Err(answer) => return Ok(*answer),
    };
    let r = parse_refresh(req, cookie)?;
    if r.transport == Transport::Cookie && cookie.is_none() {
        csrf::check(req.headers(), &app.config().allowed_origins)?;
    }
    if r.from_cookie {
        let bound = app.config().session_cookie.bound();
        let presented = bound.read_one(req.headers()).ok().flatten();
        app.check_binding(&r.token, presented).await?;
    }
    match app.refresh(&r.token).await {
        Ok(pair) => Ok(token_response(app, &pair, r.transport)),
        // A cookie that will never refresh again is deleted, so the browser stops sending it.
        Err(e @ (ApiError::InvalidRefreshToken | ApiError::RefreshTokenReused))
            if r.from_cookie =>
        {
            let mut resp = error_response(&e);
            clear_cookies(app, &mut resp);
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

async fn logout<B: AsRef<[u8]>>(
    app: &Service,
    spec: &RouteSpec,
    req: &Request<B>,
) -> Result<Response<String>, ApiError> {
    let cookie = match checked_cookie(app, req) {
        Ok(cookie) => cookie,
        Err(answer) => return Ok(*answer),
    };
    let r = parse_logout(req)?;
    let refresh = r.refresh_token.as_deref().or(cookie);
    let recent = recent::needed(spec, r.all);
    let result = app.logout_checked(r.bearer, refresh, r.all, recent).await;
    // Asked to prove itself first, nothing ended: the session (and its cookie) stays for the
    // retry after `POST /reauthenticate`.
    let asked_again = matches!(result, Err(ApiError::ReauthenticationRequired));
    let mut resp = result.map_or_else(|e| error_response(&e), |()| no_content());
    if cookie.is_some() && !asked_again {
        // The user asked to leave: the browser forgets the cookie whatever the store said,
        // as the body-transport client forgets its tokens.
        clear_cookies(app, &mut resp);
    }
    Ok(resp)
}

/// Deletes the session cookie and the device-bound one beside it.
fn clear_cookies(app: &Service, resp: &mut Response<String>) {
    let cookie = &app.config().session_cookie;
    resp.headers_mut().append(SET_COOKIE, cookie.clear());
    resp.headers_mut()
        .append(SET_COOKIE, cookie.bound().clear());
}

/// The session cookie a request carries, if any, once [`csrf::check`] has passed it; `Err` is
/// the answer instead: several cookies ([`tossed`]) or a CSRF refusal.
fn checked_cookie<'r, B>(
    app: &Service,
    req: &'r Request<B>,
) -> Result<Option<&'r str>, Box<Response<String>>> {
    let Ok(cookie) = app.config().session_cookie.read_one(req.headers()) else {
        return Err(Box::new(tossed(app, req)));
    };
    if cookie.is_some() {
        csrf::check(req.headers(), &app.config().allowed_origins)
            .map_err(|e| Box::new(error_response(&e)))?;
    }
    Ok(cookie)
}

/// The answer to a request carrying several session cookies (`cookie::Tossed`): refused as a
/// cross-site attempt, and every copy this deployment can name deleted.
fn tossed<B>(app: &Service, req: &Request<B>) -> Response<String> {
    let mut resp = error_response(&ApiError::CsrfRejected(
        "more than one session cookie (a planted copy shadows this site's)",
    ));
    for clear in app.config().session_cookie.clear_tossed(req.uri().path()) {
        resp.headers_mut().append(SET_COOKIE, clear);
    }
    resp
}

async fn change_password<B: AsRef<[u8]>>(
    app: &Service,
    caller: Caller,
    req: &Request<B>,
    source_ip: Option<String>,
) -> Result<Response<String>, ApiError> {
    let change = parse_password(req)?;
    let client = client_info(app, req, source_ip);
    app.change_password(&caller, change, &client).await?;
    Ok(no_content())
}

async fn list_sessions(app: &Service, caller: Caller) -> Result<Response<String>, ApiError> {
    let current = caller.session;
    let sessions: Vec<Value> = app
        .sessions(&caller)
        .await?
        .into_iter()
        .map(|s| {
            let mut item = s.to_json();
            item["current"] = Value::Bool(s.id == current);
            item
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "sessions": sessions }),
    ))
}

async fn me(app: &Service, caller: Caller) -> Result<Response<String>, ApiError> {
    let me = app.me(&caller).await?;
    let mut body = json!({
        "user_id": me.user_id.to_string(),
        "email": me.email,
        "session_id": me.session_id.to_string(),
    });
    if let Some(a) = &me.authentication {
        body["auth_time"] = json!(crate::kernel::clock::rfc3339(a.time));
        body["amr"] = json!(a.methods);
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// The JSON error response for `err`, as the error table says, logged at its level.
pub fn error_response(err: &ApiError) -> Response<String> {
    table::log(err);
    let spec = table::api_error(err);
    let mut r = json_response(
        spec.status,
        &json!({"error": spec.code, "message": err.to_string()}),
    );
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

fn no_content() -> Response<String> {
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

/// The answer to a login or refresh. In the cookie transport the refresh token goes only into
/// the session cookie, living as long as the session, and the body does not carry it.
fn token_response(app: &Service, pair: &TokenPair, transport: Transport) -> Response<String> {
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
            r.headers_mut().append(
                SET_COOKIE,
                app.config()
                    .session_cookie
                    .set(&pair.refresh_token, pair.refresh_token_expires_in),
            );
            r
        }
    }
}

/// The optional `transport` field: `"body"` or `"cookie"`.
fn transport_field(body: &Map<String, Value>) -> Result<Option<Transport>, ApiError> {
    match string_field(body, "transport")?.as_deref() {
        None => Ok(None),
        Some("body") => Ok(Some(Transport::Body)),
        Some("cookie") => Ok(Some(Transport::Cookie)),
        Some(_) => Err(wrong_type("transport", "\"body\" or \"cookie\"")),
    }
}

/// Where a request came from: the client's address (`client_address`), and its `User-Agent`.
fn client_info<B>(app: &Service, req: &Request<B>, source_ip: Option<String>) -> ClientInfo {
    let trusted = app.config().trusted_origin_secret.as_ref();
    ClientInfo {
        ip: client_address::client_address(req.headers(), source_ip, trusted),
        user_agent: header_str(req.headers(), "user-agent").map(str::to_string),
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a `Content-Type` value names JSON (`application/json`, or `application/*+json`,
/// with any parameters).
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.split_once('/').is_some_and(|(t, sub)| {
            t.eq_ignore_ascii_case("application") && sub.to_ascii_lowercase().ends_with("+json")
        })
}

/// Parses the body as a JSON object, within [`MAX_BODY_BYTES`].
fn json_body<B: AsRef<[u8]>>(req: &Request<B>) -> Result<Map<String, Value>, ApiError> {
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
fn optional_json_body<B: AsRef<[u8]>>(req: &Request<B>) -> Result<Map<String, Value>, ApiError> {
    if req.body().as_ref().is_empty() {
        Ok(Map::new())
    } else {
        json_body(req)
    }
}

fn missing(field: &str) -> ApiError {
    ApiError::InvalidRequest(format!("field `{field}` is required"))
}

fn wrong_type(field: &str, expected: &str) -> ApiError {
    ApiError::InvalidRequest(format!("field `{field}` must be {expected}"))
}

/// An optional string field; `null` counts as absent.
fn string_field(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
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
    fn logout_takes_no_body_or_a_json_one_never_white_space() {
        let mut empty = req("");
        empty
            .headers_mut()
            .insert("authorization", HeaderValue::from_static("Bearer t"));
        assert_eq!(parse_logout(&empty).unwrap().bearer, Some("t"));
        assert!(matches!(
            parse_logout(&req(" ")),
            Err(ApiError::InvalidRequest(_))
        ));
        assert!(parse_logout(&req(r#"{"all": true}"#)).unwrap().all);
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
            ("not_found", 404),
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
    }
}
