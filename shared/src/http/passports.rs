//! The HTTP side of web-app passports: `POST /passport` and `POST /passport/logout` (the app's
//! code in `X-App-Code`), and the shared app's demo route `GET /apps/me`.

use super::{client_info, header_str, json_response, no_content, optional_json_body, string_field};
use crate::kernel::error::ApiError;
use crate::service::{AppCaller, PassportRequest, Service};
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};

/// The `X-App-Code` header.
pub const APP_CODE_HEADER: &str = "x-app-code";

/// `POST /passport`: the app of `X-App-Code`; the body, optional, may carry the previous
/// passport (`{"passport": "…"}`).
pub(super) async fn issue<B: AsRef<[u8]>>(
    app: &Service,
    req: &Request<B>,
    source_ip: Option<String>,
) -> Result<Response<String>, ApiError> {
    let body = optional_json_body(req)?;
    let previous = string_field(&body, "passport")?;
    let request = PassportRequest {
        app_code: header_str(req.headers(), APP_CODE_HEADER),
        authorization: header_str(req.headers(), "authorization"),
        previous: previous.as_deref(),
    };
    let grant = app
        .issue_passport(request, &client_info(app, req, source_ip))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "passport": grant.passport,
            "expires_in": grant.expires_in,
            "end_user_id": grant.end_user.to_string(),
            "app_code": grant.app_code,
        }),
    ))
}

/// `POST /passport/logout`: the passport as the bearer token, its app's `X-App-Code`.
pub(super) async fn end<B: AsRef<[u8]>>(
    app: &Service,
    req: &Request<B>,
) -> Result<Response<String>, ApiError> {
    app.end_passport(
        header_str(req.headers(), "authorization"),
        header_str(req.headers(), APP_CODE_HEADER),
    )
    .await?;
    Ok(no_content())
}

/// The app authorizer's context, as `GET /apps/me` answers it: the context as written.
pub fn visitor_context(v: &AppCaller) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

pub(super) fn app_me(v: &AppCaller) -> Response<String> {
    json_response(StatusCode::OK, &visitor_context(v))
}
