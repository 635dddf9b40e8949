//! `POST /reauthenticate`: its body in, its answer out.

use super::service::Reauthentication;
use crate::kernel::error::ApiError;
use crate::kernel::http::{Call, json_body, json_response, string_field};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use crate::mfa::MfaStore;
use crate::mfa::http::second_factor_field;
use crate::passkeys::PasskeyStore;
use crate::passkeys::http::{ceremony_field, credential_field};
use http::{Response, StatusCode};
use serde_json::json;

/// Recent authentication's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The caller proves itself again (password, with a second-factor code if it gives one; or
    /// passkey): its session's `auth_time` moves on.
    Reauthenticate,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PasskeyStore + MfaStore,
    B: AsRef<[u8]> + Sync,
{
    match route {
        Route::Reauthenticate => reauthenticate(service, &call).await,
    }
}

async fn reauthenticate<S, B>(
    service: &Core<S>,
    call: &Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PasskeyStore + MfaStore,
    B: AsRef<[u8]>,
{
    let body = json_body(call.req)?;
    let proof = match string_field(&body, "password")? {
        Some(password) => Reauthentication::Password(password, second_factor_field(&body)?),
        None if body.contains_key("credential") => Reauthentication::Passkey {
            ceremony: ceremony_field(&body)?,
            credential: Box::new(credential_field(&body)?),
        },
        None => {
            return Err(ApiError::InvalidRequest(
                "send `password`, or `ceremony` and `credential` (a passkey assertion)".into(),
            ));
        }
    };
    let client = call.client(service);
    let a = service
        .reauthenticate(call.caller()?, proof, &client)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "auth_time": crate::kernel::clock::rfc3339(a.time),
            "amr": a.methods,
            "acr": a.acr(),
        }),
    ))
}
