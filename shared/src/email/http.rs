//! The email feature's routes: their bodies in, their answers out. Every route that mails
//! answers 202 with the same body whatever became of the address.

use super::store::EmailStore;
use crate::kernel::error::ApiError;
use crate::kernel::http::{
    Call, Transport, answer_sign_in, csrf, json_body, json_response, missing, string_field,
    transport_field,
};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use crate::sessions::SessionStore;
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

/// The email feature's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// A new account, and a verification mail.
    SignUp,
    /// A verification link's token.
    Verify,
    /// Another verification mail.
    ResendVerification,
    /// A reset mail.
    ForgotPassword,
    /// A reset link's token and the new password.
    ResetPassword,
    /// A sign-in code by mail.
    RequestCode,
    /// The code for a token pair.
    SignInWithCode,
    /// The caller's account to another address (a confirmation mail).
    ChangeEmail,
    /// A confirmation link's token.
    ConfirmEmail,
    /// A notice's "this wasn't me" token: every session ends.
    NotMe,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + EmailStore + SessionStore,
    B: AsRef<[u8]> + Sync,
{
    let body = json_body(call.req)?;
    let client = call.client(service);
    match route {
        Route::SignUp => {
            let email = required(&body, "email")?;
            let password = required(&body, "password")?;
            service.sign_up(&email, password, &client).await?;
            Ok(mail_sent())
        }
        Route::Verify => {
            let email = service.verify_email(&required(&body, "token")?).await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"email": email, "email_verified": true}),
            ))
        }
        Route::ResendVerification => {
            let email = required(&body, "email")?;
            service.resend_verification(&email, &client).await?;
            Ok(mail_sent())
        }
        Route::ForgotPassword => {
            service
                .forgot_password(&required(&body, "email")?, &client)
                .await?;
            Ok(mail_sent())
        }
        Route::ResetPassword => {
            let token = required(&body, "token")?;
            let password = required(&body, "password")?;
            service.reset_password(&token, password).await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"password_changed": true, "sessions_ended": true}),
            ))
        }
        Route::RequestCode => {
            service
                .request_email_code(&required(&body, "email")?, &client)
                .await?;
            Ok(mail_sent())
        }
        Route::SignInWithCode => {
            let transport = transport_field(&body)?.unwrap_or(Transport::Body);
            if transport == Transport::Cookie {
                csrf::check(call.req.headers(), &service.config().allowed_origins)?;
            }
            let pair = service
                .sign_in_with_email_code(
                    &required(&body, "email")?,
                    &required(&body, "code")?,
                    string_field(&body, "device")?,
                    &client,
                )
                .await?;
            Ok(answer_sign_in(service, &pair, transport).await)
        }
        Route::NotMe => {
            let n = service
                .end_sessions_by_mail(&required(&body, "token")?)
                .await?;
            Ok(json_response(StatusCode::OK, &json!({"sessions_ended": n})))
        }
        Route::ChangeEmail => change(service, call).await,
        Route::ConfirmEmail => {
            let email = service
                .confirm_email_change(&required(&body, "token")?)
                .await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"email": email, "email_verified": true}),
            ))
        }
    }
}

/// `POST /email`, the one route behind the authorizer (the `sessions` function's: apart, so that
/// function links none of the others, nor the password estimator).
pub async fn change<S, B>(
    service: &Core<S>,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore + EmailStore,
    B: AsRef<[u8]> + Sync,
{
    let body = json_body(call.req)?;
    let email = required(&body, "email")?;
    service
        .request_email_change(call.caller()?, &email, &call.client(service))
        .await?;
    Ok(mail_sent())
}

fn required(body: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    string_field(body, field)?.ok_or_else(|| missing(field))
}

/// 202: the same answer whether or not the address has an account.
fn mail_sent() -> Response<String> {
    json_response(
        StatusCode::ACCEPTED,
        &json!({"message": "If the address can receive it, a mail is on its way: check your inbox."}),
    )
}
