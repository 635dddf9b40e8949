//! The sessions feature's routes: `POST /login`, `POST /refresh-token`, `POST /logout`,
//! `GET /sessions`, `DELETE /sessions/{id}`, `GET /me`, `POST /password` — their bodies in,
//! their answers out.

use super::Through;
use super::login::LoginInput;
use super::password::PasswordChange;
use super::store::SessionStore;
use crate::kernel::error::ApiError;
use crate::kernel::http::{
    Call, Transport, answer_sign_in, checked_cookie, clear_cookies, csrf, error_response,
    header_str, json_body, json_response, missing, no_content, optional_json_body, string_field,
    token_response, transport_field, wrong_type,
};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};

/// The sessions feature's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// Email and password for a token pair.
    Login,
    /// Refresh token for a new pair (rotation).
    Refresh,
    /// End this session or every session of the account.
    Logout,
    /// The caller's live sessions.
    ListSessions,
    /// End one of the caller's sessions (path parameter: its id).
    RevokeSession,
    /// The caller's identity.
    Me,
    /// The caller changes its password; its other sessions end.
    ChangePassword,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + SessionStore,
    B: AsRef<[u8]> + Sync,
{
    match route {
        Route::Login => login(service, call).await,
        Route::Refresh => refresh(service, call.req).await,
        Route::Logout => logout(service, call).await,
        Route::ListSessions => list_sessions(service, call).await,
        Route::RevokeSession => {
            let caller = call.caller()?;
            // Ends another session: the one request whose need depends on what it asks.
            let ends_others =
                call.param().parse::<crate::kernel::ids::Id>().ok() != Some(caller.session);
            service
                .check_recent(call.recent, caller.account, caller.session, ends_others)
                .await?;
            service.revoke(caller, call.param()).await?;
            Ok(no_content())
        }
        Route::Me => me(service, call).await,
        Route::ChangePassword => change_password(service, call).await,
    }
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
        bearer: header_str(req.headers(), "authorization")
            .and_then(crate::kernel::service::bearer_token),
        refresh_token: string_field(&body, "refresh_token")?,
        all,
    })
}

async fn login<S, B>(service: &Core<S>, call: Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + SessionStore,
    B: AsRef<[u8]>,
{
    let LoginRequest { input, transport } = parse_login(call.req)?;
    if transport == Transport::Cookie {
        csrf::check(call.req.headers(), &service.config().allowed_origins)?;
    }
    let pair = service.login(input, &call.client(service)).await?;
    Ok(answer_sign_in(service, &pair, transport).await)
}

/// Every request that reads or sets the session cookie passes [`csrf::check`] first.
async fn refresh<S, B>(service: &Core<S>, req: &Request<B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + SessionStore,
    B: AsRef<[u8]>,
{
    let cookie = match checked_cookie(service, req) {
        Ok(cookie) => cookie,
        Err(answer) => return Ok(*answer),
    };
    let r = parse_refresh(req, cookie)?;
    if r.transport == Transport::Cookie && cookie.is_none() {
        csrf::check(req.headers(), &service.config().allowed_origins)?;
    }
    let bound = service.config().session_cookie.bound();
    let through = Through {
        cookie: r.transport == Transport::Cookie,
        bound_cookie: bound.read_one(req.headers()).ok().flatten(),
    };
    match service.refresh_through(&r.token, through).await {
        Ok(pair) => Ok(token_response(service, &pair, r.transport)),
        // A cookie that will never refresh again is deleted, so the browser stops sending it.
        Err(e @ (ApiError::InvalidRefreshToken | ApiError::RefreshTokenReused))
            if r.from_cookie =>
        {
            let mut resp = error_response(&e);
            clear_cookies(service, &mut resp);
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

async fn logout<S, B>(service: &Core<S>, call: Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + SessionStore,
    B: AsRef<[u8]>,
{
    let req = call.req;
    let cookie = match checked_cookie(service, req) {
        Ok(cookie) => cookie,
        Err(answer) => return Ok(*answer),
    };
    let r = parse_logout(req)?;
    let refresh = r.refresh_token.as_deref().or(cookie);
    let result = service.logout(r.bearer, refresh, r.all, call.recent).await;
    // Asked to prove itself first, nothing ended: the session (and its cookie) stays for the
    // retry after `POST /reauthenticate`.
    let asked_again = matches!(result, Err(ApiError::ReauthenticationRequired));
    let mut resp = result.map_or_else(|e| error_response(&e), |()| no_content());
    if cookie.is_some() && !asked_again {
        // The user asked to leave: the browser forgets the cookie whatever the store said,
        // as the body-transport client forgets its tokens.
        clear_cookies(service, &mut resp);
    }
    Ok(resp)
}

async fn change_password<S, B>(
    service: &Core<S>,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + SessionStore,
    B: AsRef<[u8]>,
{
    let change = parse_password(call.req)?;
    let client = call.client(service);
    service
        .change_password(call.caller()?, change, &client)
        .await?;
    Ok(no_content())
}

async fn list_sessions<S, B>(
    service: &Core<S>,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + SessionStore,
{
    let caller = call.caller()?;
    let current = caller.session;
    let sessions: Vec<Value> = service
        .sessions(caller)
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

async fn me<S, B>(service: &Core<S>, call: Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + SessionStore,
{
    let me = service.me(call.caller()?).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    fn req(body: &str) -> Request<Vec<u8>> {
        let mut r = Request::new(body.as_bytes().to_vec());
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        r
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
}
