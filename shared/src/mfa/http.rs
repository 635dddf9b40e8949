//! The second factor's routes: their bodies in, their answers out.

use super::login::SecondFactor;
use super::store::MfaStore;
use crate::kernel::error::ApiError;
use crate::kernel::http::{
    Call, Transport, answer_sign_in, csrf, json_body, json_response, missing, no_content,
    string_field, transport_field,
};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use http::{Response, StatusCode};
use serde_json::{Map, Value};

/// The second factor's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// A sign-in's second step: its challenge and a code for a token pair.
    SignIn,
    /// The caller's second factor: whether an app is set up, recovery codes left.
    Status,
    /// A new authenticator secret (QR code, URI), pending until confirmed.
    BeginTotp,
    /// The app's first code: confirmed, and the recovery codes.
    ConfirmTotp,
    /// Remove the authenticator app and the recovery codes.
    RemoveTotp,
    /// A new set of recovery codes.
    RecoveryCodes,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + MfaStore,
    B: AsRef<[u8]> + Sync,
{
    match route {
        Route::SignIn => sign_in(service, &call).await,
        Route::Status => Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(service.mfa_status(call.caller()?).await?)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        )),
        Route::BeginTotp => Ok(json_response(
            StatusCode::CREATED,
            &serde_json::to_value(service.begin_totp(call.caller()?).await?)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        )),
        Route::ConfirmTotp => {
            let body = json_body(call.req)?;
            let code = string_field(&body, "code")?.ok_or_else(|| missing("code"))?;
            let codes = service.confirm_totp(call.caller()?, &code).await?;
            Ok(json_response(
                StatusCode::OK,
                &serde_json::to_value(codes).map_err(|e| ApiError::Internal(e.to_string()))?,
            ))
        }
        Route::RemoveTotp => {
            service.remove_totp(call.caller()?).await?;
            Ok(no_content())
        }
        Route::RecoveryCodes => {
            let codes = service.replace_recovery_codes(call.caller()?).await?;
            Ok(json_response(
                StatusCode::OK,
                &serde_json::to_value(codes).map_err(|e| ApiError::Internal(e.to_string()))?,
            ))
        }
    }
}

/// A second factor from a body: `code` (the authenticator's) or `recovery_code`, exactly one;
/// `None` when it has neither.
pub fn second_factor_field(body: &Map<String, Value>) -> Result<Option<SecondFactor>, ApiError> {
    match (
        string_field(body, "code")?,
        string_field(body, "recovery_code")?,
    ) {
        (Some(code), None) => Ok(Some(SecondFactor::Totp(code))),
        (None, Some(code)) => Ok(Some(SecondFactor::RecoveryCode(code))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ApiError::InvalidRequest(
            "send `code` or `recovery_code`, not both".into(),
        )),
    }
}

async fn sign_in<S, B>(service: &Core<S>, call: &Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + MfaStore,
    B: AsRef<[u8]>,
{
    let body = json_body(call.req)?;
    let challenge = string_field(&body, "challenge")?.ok_or_else(|| missing("challenge"))?;
    let proof = second_factor_field(&body)?.ok_or_else(|| missing("code"))?;
    let transport = transport_field(&body)?.unwrap_or(Transport::Body);
    if transport == Transport::Cookie {
        csrf::check(call.req.headers(), &service.config().allowed_origins)?;
    }
    let pair = service
        .complete_sign_in(&challenge, proof, &call.client(service))
        .await?;
    Ok(answer_sign_in(service, &pair, transport).await)
}
