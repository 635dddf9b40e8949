//! The passkey routes: their bodies in, their answers out.

use super::sign_in::PasskeyLogin;
use super::store::PasskeyStore;
use crate::kernel::error::ApiError;
use crate::kernel::http::{
    Call, Transport, answer_sign_in, csrf, json_body, json_response, missing, no_content,
    optional_json_body, string_field, transport_field,
};
use crate::kernel::ids::Id;
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use http::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The passkeys feature's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// A passkey sign-in's challenge (also a passkey reauthentication's).
    LoginOptions,
    /// A passkey assertion for a token pair.
    Login,
    /// A passkey registration's challenge.
    RegistrationOptions,
    /// The browser's new credential, registered to the caller's account.
    Register,
    /// The caller's passkeys.
    List,
    /// Remove one of the caller's passkeys (path parameter: its id).
    Remove,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PasskeyStore,
    B: AsRef<[u8]> + Sync,
{
    match route {
        Route::LoginOptions => login_options(service, &call).await,
        Route::Login => login(service, &call).await,
        Route::RegistrationOptions => Ok(json_response(
            StatusCode::OK,
            &service
                .passkey_registration_options(call.caller()?, &call.client(service))
                .await?,
        )),
        Route::Register => register(service, &call).await,
        Route::List => Ok(json_response(
            StatusCode::OK,
            &service.list_passkeys(call.caller()?).await?,
        )),
        Route::Remove => {
            service.remove_passkey(call.caller()?, call.param()).await?;
            Ok(no_content())
        }
    }
}

/// The `ceremony` field: the id the options answer named. One that is no id of ours names no
/// ceremony: it is refused as an unknown one is (by the ceremony's route), not as a bad request.
pub fn ceremony_field(body: &Map<String, Value>) -> Result<Id, ApiError> {
    let text = string_field(body, "ceremony")?.ok_or_else(|| missing("ceremony"))?;
    Ok(text.parse().unwrap_or_else(|_| Id::random()))
}

/// The `credential` field: the browser's `PublicKeyCredential`, as its `toJSON()` writes it.
pub fn credential_field<T: DeserializeOwned>(body: &Map<String, Value>) -> Result<T, ApiError> {
    let value = body
        .get("credential")
        .ok_or_else(|| missing("credential"))?;
    serde_json::from_value(value.clone()).map_err(|e| {
        ApiError::InvalidRequest(format!(
            "field `credential` is not a WebAuthn credential: {e}"
        ))
    })
}

async fn login_options<S, B>(
    service: &Core<S>,
    call: &Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PasskeyStore,
    B: AsRef<[u8]>,
{
    // `email` may be sent; the challenge never depends on it (no account is looked up).
    let body = optional_json_body(call.req)?;
    string_field(&body, "email")?;
    Ok(json_response(
        StatusCode::OK,
        &service.passkey_login_options(&call.client(service)).await?,
    ))
}

async fn login<S, B>(service: &Core<S>, call: &Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PasskeyStore,
    B: AsRef<[u8]>,
{
    let req = call.req;
    let body = json_body(req)?;
    let transport = transport_field(&body)?.unwrap_or(Transport::Body);
    let login = PasskeyLogin {
        ceremony: ceremony_field(&body)?,
        credential: Box::new(credential_field(&body)?),
        email: string_field(&body, "email")?,
        device: string_field(&body, "device")?,
    };
    if transport == Transport::Cookie {
        csrf::check(req.headers(), &service.config().allowed_origins)?;
    }
    let pair = service
        .login_with_passkey(login, &call.client(service))
        .await?;
    Ok(answer_sign_in(service, &pair, transport).await)
}

async fn register<S, B>(service: &Core<S>, call: &Call<'_, B>) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + PasskeyStore,
    B: AsRef<[u8]>,
{
    let body = json_body(call.req)?;
    let ceremony = ceremony_field(&body)?;
    let credential = credential_field(&body)?;
    let name = string_field(&body, "name")?;
    let client = call.client(service);
    let passkey = service
        .register_passkey(call.caller()?, ceremony, &credential, name, &client)
        .await?;
    Ok(json_response(StatusCode::CREATED, &passkey))
}
