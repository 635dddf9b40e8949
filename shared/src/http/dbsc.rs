//! The Device Bound Session Credentials routes (`crate::dbsc`): the browser's registration of a
//! session's device key, and its renewals of the bound cookie.

use super::{error_response, header_str, json_response};
use crate::dbsc::{CHALLENGE_HEADER, REGISTRATION_HEADER, RESPONSE_HEADER, SESSION_ID_HEADER};
use crate::kernel::error::ApiError;
use crate::service::{Renewal, Service, TokenPair};
use http::header::{HeaderValue, SET_COOKIE};
use http::{Request, Response, StatusCode};

/// `Set-Cookie` of the bound cookie with `value`, living `DBSC_COOKIE_SECONDS`.
fn bound_cookie(app: &Service, value: &str) -> HeaderValue {
    let c = app.config();
    c.session_cookie.bound().set(value, c.dbsc_cookie_seconds)
}

pub(super) async fn register<B>(
    app: &Service,
    req: &Request<B>,
) -> Result<Response<String>, ApiError> {
    let proof = header_str(req.headers(), RESPONSE_HEADER);
    let (instructions, cookie) = app.register_binding(proof).await?;
    let mut r = json_response(StatusCode::OK, &instructions);
    r.headers_mut()
        .append(SET_COOKIE, bound_cookie(app, &cookie));
    Ok(r)
}

pub(super) async fn refresh<B>(
    app: &Service,
    req: &Request<B>,
) -> Result<Response<String>, ApiError> {
    let named = header_str(req.headers(), SESSION_ID_HEADER);
    let proof = header_str(req.headers(), RESPONSE_HEADER);
    Ok(match app.renew_binding(named, proof).await? {
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
                .append(SET_COOKIE, bound_cookie(app, &cookie));
            r
        }
        Renewal::Ended(body) => {
            let mut r = json_response(StatusCode::OK, &body);
            r.headers_mut()
                .append(SET_COOKIE, app.config().session_cookie.bound().clear());
            r
        }
    })
}

/// Offers binding on a cookie-transport login's answer (`Secure-Session-Registration`). A
/// failure to offer leaves the login as it is: binding is the browser's extra, not the
/// session's condition.
pub(super) async fn offer(app: &Service, pair: &TokenPair, resp: &mut Response<String>) {
    match app.offer_binding(pair).await {
        Ok(Some(offer)) => {
            if let Ok(v) = HeaderValue::from_str(&offer) {
                resp.headers_mut().insert(REGISTRATION_HEADER, v);
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "device binding not offered"),
    }
}
