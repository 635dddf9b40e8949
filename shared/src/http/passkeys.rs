//! The passkey routes and `POST /reauthenticate`: their bodies in, their answers out.

use super::{
    Transport, answer_pair, client_info, csrf, json_body, json_response, missing, no_content,
    optional_json_body, string_field, transport_field,
};
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::service::{PasskeyLogin, Reauthentication, Service};
use http::{Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// The `ceremony` field: the id the options answer named. One that is no id of ours names no
/// ceremony: it is refused as an unknown one is (by the ceremony's route), not as a bad request.
fn ceremony_field(body: &Map<String, Value>) -> Result<Id, ApiError> {
    let text = string_field(body, "ceremony")?.ok_or_else(|| missing("ceremony"))?;
    Ok(text.parse().unwrap_or_else(|_| Id::random()))
}

/// The `credential` field: the browser's `PublicKeyCredential`, as its `toJSON()` writes it.
fn credential_field<T: DeserializeOwned>(body: &Map<String, Value>) -> Result<T, ApiError> {
    let value = body
        .get("credential")
        .ok_or_else(|| missing("credential"))?;
    serde_json::from_value(value.clone()).map_err(|e| {
        ApiError::InvalidRequest(format!(
            "field `credential` is not a WebAuthn credential: {e}"
        ))
    })
}

pub(super) async fn login_options<B: AsRef<[u8]>>(
    app: &Service,
    req: &Request<B>,
) -> Result<Response<String>, ApiError> {
    // `email` may be sent; the challenge never depends on it (no account is looked up).
    let body = optional_json_body(req)?;
    string_field(&body, "email")?;
    Ok(json_response(
        StatusCode::OK,
        &app.passkey_login_options().await?,
    ))
}

pub(super) async fn login<B: AsRef<[u8]>>(
    app: &Service,
    req: &Request<B>,
    source_ip: Option<String>,
) -> Result<Response<String>, ApiError> {
    let body = json_body(req)?;
    let transport = transport_field(&body)?.unwrap_or(Transport::Body);
    let login = PasskeyLogin {
        ceremony: ceremony_field(&body)?,
        credential: Box::new(credential_field(&body)?),
        email: string_field(&body, "email")?,
        device: string_field(&body, "device")?,
    };
    if transport == Transport::Cookie {
        csrf::check(req.headers(), &app.config().allowed_origins)?;
    }
    let client = client_info(app, req, source_ip);
    let pair = app.login_with_passkey(login, &client).await?;
    Ok(answer_pair(app, &pair, transport).await)
}

pub(super) async fn reauthenticate<B: AsRef<[u8]>>(
    app: &Service,
    caller: Caller,
    req: &Request<B>,
    source_ip: Option<String>,
) -> Result<Response<String>, ApiError> {
    let body = json_body(req)?;
    let proof = match string_field(&body, "password")? {
        Some(password) => Reauthentication::Password(password),
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
    let client = client_info(app, req, source_ip);
    let a = app.reauthenticate(&caller, proof, &client).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "auth_time": crate::kernel::clock::rfc3339(a.time),
            "amr": a.methods,
        }),
    ))
}

pub(super) async fn registration_options(
    app: &Service,
    caller: Caller,
) -> Result<Response<String>, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &app.passkey_registration_options(&caller).await?,
    ))
}

pub(super) async fn register<B: AsRef<[u8]>>(
    app: &Service,
    caller: Caller,
    req: &Request<B>,
) -> Result<Response<String>, ApiError> {
    let body = json_body(req)?;
    let ceremony = ceremony_field(&body)?;
    let credential = credential_field(&body)?;
    let name = string_field(&body, "name")?;
    let passkey = app
        .register_passkey(&caller, ceremony, &credential, name)
        .await?;
    Ok(json_response(StatusCode::CREATED, &passkey))
}

pub(super) async fn list(app: &Service, caller: Caller) -> Result<Response<String>, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &app.list_passkeys(&caller).await?,
    ))
}

pub(super) async fn remove(
    app: &Service,
    caller: Caller,
    id: &str,
) -> Result<Response<String>, ApiError> {
    app.remove_passkey(&caller, id).await?;
    Ok(no_content())
}
