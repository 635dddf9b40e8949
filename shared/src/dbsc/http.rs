//! The Device Bound Session Credentials routes (`protocol`): the browser's registration of a
//! session's device key, and its renewals of the bound cookie.

use super::protocol::{CHALLENGE_HEADER, RESPONSE_HEADER, SESSION_ID_HEADER};
use super::service::Renewal;
use super::store::DbscStore;
use crate::kernel::error::ApiError;
use crate::kernel::http::{Call, error_response, header_str, json_response};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use http::header::{HeaderValue, SET_COOKIE};
use http::{Request, Response, StatusCode};

/// DBSC's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The browser registers its session's device key.
    Register,
    /// The browser renews the bound cookie with a proof.
    Refresh,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + DbscStore,
{
    match route {
        Route::Register => register(service, call.req).await,
        Route::Refresh => refresh(service, call.req).await,
    }
}

/// `Set-Cookie` of the bound cookie with `value`, living `DBSC_COOKIE_SECONDS`.
fn bound_cookie<S: ?Sized>(service: &Core<S>, value: &str) -> HeaderValue {
    let c = service.config();
    c.session_cookie.bound().set(value, c.dbsc_cookie_seconds)
}

async fn register<S, B>(service: &Core<S>, req: &Request<B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + DbscStore,
{
    let proof = header_str(req.headers(), RESPONSE_HEADER);
    let (instructions, cookie) = service.register_binding(proof).await?;
    let mut r = json_response(StatusCode::OK, &instructions);
    r.headers_mut()
        .append(SET_COOKIE, bound_cookie(service, &cookie));
    Ok(r)
}

async fn refresh<S, B>(service: &Core<S>, req: &Request<B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + DbscStore,
{
    let named = header_str(req.headers(), SESSION_ID_HEADER);
    let proof = header_str(req.headers(), RESPONSE_HEADER);
    Ok(match service.renew_binding(named, proof).await? {
        Renewal::Challenge(challenge) => {
            let mut r = error_response(&ApiError::SessionChallenged);
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                r.headers_mut().insert(CHALLENGE_HEADER, v);
            }
            r
        }
        Renewal::Renewed {
            instructions,
            cookie,
        } => {
            let mut r = json_response(StatusCode::OK, &instructions);
            r.headers_mut()
                .append(SET_COOKIE, bound_cookie(service, &cookie));
            r
        }
        Renewal::Ended(body) => {
            let mut r = json_response(StatusCode::OK, &body);
            r.headers_mut()
                .append(SET_COOKIE, service.config().session_cookie.bound().clear());
            r
        }
    })
}
