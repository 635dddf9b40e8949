//! The HTTP side of web-app passports: `POST /passport` and `POST /passport/logout` (the app's
//! code in `X-App-Code`), and the shared app's demo route `GET /apps/me`.

use super::issue::PassportRequest;
use super::store::PassportStore;
use crate::kernel::caller::AppCaller;
use crate::kernel::error::ApiError;
use crate::kernel::http::{
    Call, header_str, json_response, no_content, optional_json_body, string_field,
};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};

/// The `X-App-Code` header.
pub const APP_CODE_HEADER: &str = "x-app-code";

/// The passports feature's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// A passport to a shared web app (`X-App-Code`), new or renewed.
    Issue,
    /// End a passport's session.
    End,
    /// A shared app's demo route, behind the app authorizer: the passport's context.
    AppMe,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PassportStore,
    B: AsRef<[u8]> + Sync,
{
    match route {
        Route::Issue => issue(service, &call).await,
        Route::End => end(service, call.req).await,
        Route::AppMe => Ok(json_response(
            StatusCode::OK,
            &visitor_context(call.visitor()?),
        )),
    }
}

/// `POST /passport`: the app of `X-App-Code`; the body, optional, may carry the previous
/// passport (`{"passport": "…"}`).
async fn issue<S, B>(service: &Core<S>, call: &Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PassportStore,
    B: AsRef<[u8]>,
{
    let req = call.req;
    let body = optional_json_body(req)?;
    let previous = string_field(&body, "passport")?;
    let request = PassportRequest {
        app_code: header_str(req.headers(), APP_CODE_HEADER),
        authorization: header_str(req.headers(), "authorization"),
        previous: previous.as_deref(),
    };
    let grant = service
        .issue_passport(request, &call.client(service))
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
async fn end<S, B>(service: &Core<S>, req: &Request<B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PassportStore,
{
    service
        .end_passport(
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
