//! The error table: every error to what its answer says — HTTP status, stable code,
//! `Retry-After` and log level for [`ApiError`], the code for [`AdminError`] — each in one
//! exhaustive `match` (no catch-all arm, so a new variant that is not mapped fails to compile).
//! Answers and logs read these; nothing else maps an error.

use super::{AdminError, ApiError};
use crate::kernel::accounts::InputError;
use http::StatusCode;

/// The code both tables give a store outage.
pub const UNAVAILABLE: &str = "unavailable";
/// The code both tables give a fault on our side.
pub const INTERNAL_ERROR: &str = "internal_error";

/// How loudly an error is logged: a client's mistake is routine, a fault is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// The client's mistake or a refused credential.
    Debug,
    /// Worth a look: possible abuse or theft.
    Warn,
    /// A fault on our side or in a dependency.
    Error,
}

/// What the answer to an [`ApiError`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorSpec {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code in the body's `error` field.
    pub code: &'static str,
    /// Seconds for the `Retry-After` header, when the client should wait and retry.
    pub retry_after: Option<i64>,
    /// The level it is logged at.
    pub level: LogLevel,
}

/// The answer to `err`.
pub fn api_error(err: &ApiError) -> ErrorSpec {
    use LogLevel::{Debug, Error, Warn};
    let (status, code, retry_after, level) = match err {
        ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request", None, Debug),
        ApiError::UnsupportedMediaType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
            Debug,
        ),
        ApiError::PayloadTooLarge { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            None,
            Debug,
        ),
        ApiError::InvalidCredentials => {
            (StatusCode::UNAUTHORIZED, "invalid_credentials", None, Debug)
        }
        ApiError::AccountDisabled => (StatusCode::FORBIDDEN, "account_disabled", None, Debug),
        ApiError::TooManyAttempts { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            Some((*retry_after).max(1)),
            Warn,
        ),
        ApiError::InvalidRefreshToken => (
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
            None,
            Debug,
        ),
        ApiError::RefreshTokenReused => {
            (StatusCode::UNAUTHORIZED, "refresh_token_reused", None, Warn)
        }
        ApiError::CsrfRejected(_) => (StatusCode::FORBIDDEN, "csrf_rejected", None, Warn),
        ApiError::AppNotFound => (StatusCode::NOT_FOUND, "app_not_found", None, Debug),
        ApiError::SignInRequired => (StatusCode::UNAUTHORIZED, "sign_in_required", None, Debug),
        ApiError::RateLimited { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            Some((*retry_after).max(1)),
            Warn,
        ),
        ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", None, Debug),
        ApiError::ReauthenticationRequired => (
            StatusCode::FORBIDDEN,
            "reauthentication_required",
            None,
            Debug,
        ),
        ApiError::PasskeysDisabled => (StatusCode::NOT_FOUND, "passkeys_disabled", None, Debug),
        ApiError::PasskeyNotVerified => (
            StatusCode::UNAUTHORIZED,
            "passkey_not_verified",
            None,
            Debug,
        ),
        ApiError::PasskeyExists => (StatusCode::CONFLICT, "passkey_exists", None, Debug),
        ApiError::TooManyPasskeys { .. } => {
            (StatusCode::CONFLICT, "too_many_passkeys", None, Debug)
        }
        ApiError::LastSignInMethod => (StatusCode::CONFLICT, "last_sign_in_method", None, Debug),
        ApiError::SessionProofRejected => (
            StatusCode::UNAUTHORIZED,
            "invalid_session_proof",
            None,
            Warn,
        ),
        ApiError::SessionChallenged => {
            (StatusCode::FORBIDDEN, "session_proof_required", None, Debug)
        }
        ApiError::BoundCookieRequired => {
            (StatusCode::FORBIDDEN, "bound_cookie_required", None, Warn)
        }
        ApiError::WeakPassword(_) => (StatusCode::BAD_REQUEST, "weak_password", None, Debug),
        ApiError::EmailNotVerified => (StatusCode::FORBIDDEN, "email_not_verified", None, Debug),
        ApiError::SignupClosed => (StatusCode::FORBIDDEN, "signup_closed", None, Debug),
        ApiError::InvalidMailToken => (StatusCode::BAD_REQUEST, "invalid_token", None, Debug),
        ApiError::SecondFactorRequired { .. } => {
            (StatusCode::FORBIDDEN, "mfa_required", None, Debug)
        }
        ApiError::InvalidCode => (StatusCode::BAD_REQUEST, "invalid_code", None, Debug),
        ApiError::SecondFactorExists => (StatusCode::CONFLICT, "mfa_exists", None, Debug),
        ApiError::SecondFactorRequiredToChange => {
            (StatusCode::FORBIDDEN, "aal2_required", None, Debug)
        }
        ApiError::SecondFactorEnrolmentRequired => {
            (StatusCode::FORBIDDEN, "mfa_enrolment_required", None, Debug)
        }
        ApiError::UnknownProvider => (StatusCode::NOT_FOUND, "unknown_provider", None, Debug),
        ApiError::InvalidReturnTo => (StatusCode::BAD_REQUEST, "invalid_return_to", None, Warn),
        ApiError::InvalidOAuthState => (StatusCode::BAD_REQUEST, "invalid_oauth_state", None, Warn),
        ApiError::InvalidOAuthCode => (StatusCode::BAD_REQUEST, "invalid_oauth_code", None, Debug),
        ApiError::IdentityInUse => (StatusCode::CONFLICT, "identity_in_use", None, Debug),
        ApiError::ProviderAlreadyLinked => {
            (StatusCode::CONFLICT, "provider_already_linked", None, Debug)
        }
        ApiError::ProviderUnavailable => (
            StatusCode::BAD_GATEWAY,
            "provider_unavailable",
            Some(1),
            Error,
        ),
        ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", None, Debug),
        ApiError::NotConfigured(_) => (StatusCode::NOT_FOUND, "not_configured", None, Warn),
        ApiError::MethodNotAllowed { .. } => (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
            Debug,
        ),
        ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE, Some(1), Error),
        ApiError::MailUnavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "mail_unavailable",
            Some(1),
            Error,
        ),
        ApiError::EmailTaken => (StatusCode::CONFLICT, "email_taken", None, Debug),
        ApiError::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            INTERNAL_ERROR,
            None,
            Error,
        ),
    };
    ErrorSpec {
        status,
        code,
        retry_after,
        level,
    }
}

/// One error of each kind, for the checks that hold documents (`openapi.yaml`, README) to the
/// table. The `match` below is exhaustive, so a new variant fails to compile until it is listed.
pub fn one_of_each() -> Vec<ApiError> {
    let all = vec![
        ApiError::InvalidRequest("x".into()),
        ApiError::UnsupportedMediaType,
        ApiError::PayloadTooLarge { limit: 0 },
        ApiError::InvalidCredentials,
        ApiError::AccountDisabled,
        ApiError::TooManyAttempts { retry_after: 1 },
        ApiError::InvalidRefreshToken,
        ApiError::RefreshTokenReused,
        ApiError::CsrfRejected("x"),
        ApiError::AppNotFound,
        ApiError::SignInRequired,
        ApiError::RateLimited { retry_after: 1 },
        ApiError::Unauthorized,
        ApiError::ReauthenticationRequired,
        ApiError::PasskeysDisabled,
        ApiError::PasskeyNotVerified,
        ApiError::PasskeyExists,
        ApiError::TooManyPasskeys { max: 1 },
        ApiError::LastSignInMethod,
        ApiError::SessionProofRejected,
        ApiError::SessionChallenged,
        ApiError::BoundCookieRequired,
        ApiError::WeakPassword("x".into()),
        ApiError::EmailNotVerified,
        ApiError::SignupClosed,
        ApiError::InvalidMailToken,
        ApiError::SecondFactorRequired {
            challenge: "x".into(),
            expires_in: 1,
        },
        ApiError::InvalidCode,
        ApiError::SecondFactorExists,
        ApiError::SecondFactorRequiredToChange,
        ApiError::SecondFactorEnrolmentRequired,
        ApiError::UnknownProvider,
        ApiError::InvalidReturnTo,
        ApiError::InvalidOAuthState,
        ApiError::InvalidOAuthCode,
        ApiError::IdentityInUse,
        ApiError::ProviderAlreadyLinked,
        ApiError::ProviderUnavailable,
        ApiError::NotFound,
        ApiError::NotConfigured("x"),
        ApiError::MethodNotAllowed { allow: "x".into() },
        ApiError::Unavailable(crate::kernel::error::StoreError::Corrupt("x".into())),
        ApiError::MailUnavailable(crate::kernel::mail::MailError::Queue("x".into())),
        ApiError::EmailTaken,
        ApiError::Internal("x".into()),
    ];
    for e in &all {
        match e {
            ApiError::InvalidRequest(_)
            | ApiError::UnsupportedMediaType
            | ApiError::PayloadTooLarge { .. }
            | ApiError::InvalidCredentials
            | ApiError::AccountDisabled
            | ApiError::TooManyAttempts { .. }
            | ApiError::InvalidRefreshToken
            | ApiError::RefreshTokenReused
            | ApiError::CsrfRejected(_)
            | ApiError::AppNotFound
            | ApiError::SignInRequired
            | ApiError::RateLimited { .. }
            | ApiError::Unauthorized
            | ApiError::ReauthenticationRequired
            | ApiError::PasskeysDisabled
            | ApiError::PasskeyNotVerified
            | ApiError::PasskeyExists
            | ApiError::TooManyPasskeys { .. }
            | ApiError::LastSignInMethod
            | ApiError::SessionProofRejected
            | ApiError::SessionChallenged
            | ApiError::BoundCookieRequired
            | ApiError::WeakPassword(_)
            | ApiError::EmailNotVerified
            | ApiError::SignupClosed
            | ApiError::InvalidMailToken
            | ApiError::SecondFactorRequired { .. }
            | ApiError::InvalidCode
            | ApiError::SecondFactorExists
            | ApiError::SecondFactorRequiredToChange
            | ApiError::SecondFactorEnrolmentRequired
            | ApiError::UnknownProvider
            | ApiError::InvalidReturnTo
            | ApiError::InvalidOAuthState
            | ApiError::InvalidOAuthCode
            | ApiError::IdentityInUse
            | ApiError::ProviderAlreadyLinked
            | ApiError::ProviderUnavailable
            | ApiError::NotFound
            | ApiError::NotConfigured(_)
            | ApiError::MethodNotAllowed { .. }
            | ApiError::Unavailable(_)
            | ApiError::MailUnavailable(_)
            | ApiError::EmailTaken
            | ApiError::Internal(_) => {}
        }
    }
    all
}

/// The code of an operator command's error.
pub fn admin_code(err: &AdminError) -> &'static str {
    match err {
        AdminError::InvalidCommand(_) => "invalid_command",
        AdminError::Input(InputError::EmailTooLong | InputError::EmailForm) => "invalid_email",
        AdminError::Input(InputError::Password) => "invalid_password",
        AdminError::AccountExists => "account_exists",
        AdminError::AccountNotFound => "account_not_found",
        AdminError::SessionNotFound => "session_not_found",
        AdminError::AppExists => "app_exists",
        AdminError::AppNotFound => "app_not_found",
        AdminError::Unavailable(_) => UNAVAILABLE,
        AdminError::Internal(_) => INTERNAL_ERROR,
    }
}

/// Logs `err` at its table's level. The message is the error's own text (which never holds a
/// credential); faults also name their source.
pub fn log(err: &ApiError) {
    let spec = api_error(err);
    let code = spec.code;
    match spec.level {
        LogLevel::Debug => tracing::debug!(code, "request refused"),
        LogLevel::Warn => tracing::warn!(code, "request refused"),
        LogLevel::Error => match err {
            ApiError::Unavailable(source) => {
                tracing::error!(code, error = %source, "store unavailable")
            }
            other => tracing::error!(code, error = ?other, "request failed"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_each_has_every_code_once() {
        let mut codes: Vec<&str> = one_of_each().iter().map(|e| api_error(e).code).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "one error per code: {codes:?}");
    }
}
