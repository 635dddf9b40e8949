//! The federation routes: their queries and bodies in, their answers (and redirects) out.

use super::service::{CallbackQuery, FLOW_COOKIE, FLOW_SECONDS};
use super::store::FederationStore;
use crate::kernel::error::ApiError;
use crate::kernel::http::{
    Call, Transport, answer_sign_in, csrf, json_body, json_response, missing, no_content,
    string_field, transport_field,
};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use http::header::{CACHE_CONTROL, COOKIE, LOCATION, REFERRER_POLICY, SET_COOKIE};
use http::{HeaderValue, Response, StatusCode};
use openidconnect::url::form_urlencoded;

/// The federation feature's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The configured providers, for the page's buttons.
    Providers,
    /// Starts a flow at a provider (path parameter: its name): a redirect.
    Start,
    /// The provider's redirect back (path parameter: its name): a redirect to the page.
    Callback,
    /// A finished flow's one-time code for a token pair.
    Token,
    /// A ticket to connect a provider to the caller's account (path parameter: its name).
    LinkTicket,
    /// The caller's connected identities.
    Links,
    /// Disconnects one of the caller's providers (path parameter: its name).
    Unlink,
}

/// Longest query read (a callback's `code` and `state` are far shorter).
const MAX_QUERY_BYTES: usize = 4096;

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + FederationStore,
    B: AsRef<[u8]> + Sync,
{
    match route {
        Route::Providers => Ok(json_response(StatusCode::OK, &service.oauth_providers())),
        Route::Start => start(service, &call).await,
        Route::Callback => callback(service, &call).await,
        Route::Token => token(service, &call).await,
        Route::LinkTicket => Ok(json_response(
            StatusCode::OK,
            &service
                .oauth_link_ticket(call.caller()?, call.param())
                .await?,
        )),
        Route::Links => Ok(json_response(
            StatusCode::OK,
            &service.oauth_links(call.caller()?).await?,
        )),
        Route::Unlink => {
            service.oauth_unlink(call.caller()?, call.param()).await?;
            Ok(no_content())
        }
    }
}

/// The query's parameters (the last of each name wins); `InvalidRequest` when it is too long.
fn query<B>(call: &Call<'_, B>, names: &[&str]) -> Result<Vec<Option<String>>, ApiError> {
    let q = call.req.uri().query().unwrap_or("");
    if q.len() > MAX_QUERY_BYTES {
        return Err(ApiError::InvalidRequest("the query is too long".into()));
    }
    let mut out = vec![None; names.len()];
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if let Some(i) = names.iter().position(|n| *n == k) {
            out[i] = Some(v.into_owned());
        }
    }
    Ok(out)
}

/// The flow cookie's name: `__Host-` (only this host sets it, on `/`) and the deployment's
/// suffix, as the session cookie's.
fn cookie_name<S: ?Sized>(service: &Core<S>) -> String {
    let session = service.config().session_cookie.name();
    let suffix = session
        .split_once(crate::kernel::cookie::BASE_NAME)
        .map_or("", |(_, s)| s);
    format!("__Host-{FLOW_COOKIE}{suffix}")
}

/// `Set-Cookie` for the flow cookie: `SameSite=Lax`, since the callback is a top-level
/// navigation from the provider's site (a `Strict` cookie would not come with it), which is all
/// `Lax` lets through.
fn flow_cookie(name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    ))
    .ok()
}

/// The flow cookie's value: exactly one cookie of its name.
fn read_flow_cookie<B>(call: &Call<'_, B>, name: &str) -> Option<String> {
    let mut found = call
        .req
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name)
        .map(|c| c.value().to_string());
    let first = found.next();
    if found.next().is_some() {
        return None;
    }
    first
}

fn redirect(location: &str) -> Result<Response<String>, ApiError> {
    let location = HeaderValue::from_str(location)
        .map_err(|_| ApiError::Internal("a redirect that is no header value".into()))?;
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::FOUND;
    let h = r.headers_mut();
    h.insert(LOCATION, location);
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // The provider's URL carries the state; the page's fragment, a code: neither leaves in a
    // `Referer`.
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(r)
}

async fn start<S, B>(service: &Core<S>, call: &Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + FederationStore,
{
    let [return_to, link] = <[Option<String>; 2]>::try_from(query(call, &["return_to", "link"])?)
        .map_err(|_| ApiError::Internal("query".into()))?;
    let started = service
        .oauth_start(
            call.param(),
            return_to.as_deref(),
            link.as_deref(),
            &call.client(service),
        )
        .await?;
    let mut r = redirect(&started.location)?;
    if let Some(c) = flow_cookie(&cookie_name(service), &started.cookie, FLOW_SECONDS) {
        r.headers_mut().append(SET_COOKIE, c);
    }
    Ok(r)
}

async fn callback<S, B>(service: &Core<S>, call: &Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + FederationStore,
{
    let [state, code, error, iss] =
        <[Option<String>; 4]>::try_from(query(call, &["state", "code", "error", "iss"])?)
            .map_err(|_| ApiError::Internal("query".into()))?;
    let name = cookie_name(service);
    let cookie = read_flow_cookie(call, &name);
    let q = CallbackQuery {
        state,
        code,
        error,
        iss,
    };
    let answer = service
        .oauth_callback(call.param(), q, cookie.as_deref(), &call.client(service))
        .await;
    // The flow is over whatever the outcome: its cookie goes.
    let mut r = match answer {
        Ok(back) => redirect(&back.location)?,
        Err(e) => return Err(e),
    };
    if let Some(c) = flow_cookie(&name, "", 0) {
        r.headers_mut().append(SET_COOKIE, c);
    }
    Ok(r)
}

async fn token<S, B>(service: &Core<S>, call: &Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + FederationStore,
    B: AsRef<[u8]>,
{
    let req = call.req;
    let body = json_body(req)?;
    let transport = transport_field(&body)?.unwrap_or(Transport::Body);
    let code = string_field(&body, "code")?.ok_or_else(|| missing("code"))?;
    let device = string_field(&body, "device")?;
    if transport == Transport::Cookie {
        csrf::check(req.headers(), &service.config().allowed_origins)?;
    }
    let pair = service
        .oauth_trade(&code, device, &call.client(service))
        .await?;
    Ok(answer_sign_in(service, &pair, transport).await)
}
