//! What the flow tests share: an account logged in, and logins from an address.
#![allow(dead_code)]

use passport::Service;
use passport::kernel::error::ApiError;
use passport::kernel::service::{ClientInfo, TokenPair};
use passport::sessions::LoginInput;
use passport::testing::create_account;

/// The password of the accounts these tests make.
pub const PASSWORD: &str = "a long enough password";

/// A login from a device named `test`.
pub fn input(email: &str, password: &str) -> LoginInput {
    LoginInput::new(email, password).on_device("test")
}

/// A client at `ip`.
pub fn client(ip: &str) -> ClientInfo {
    ClientInfo {
        ip: Some(ip.into()),
        user_agent: Some("flows-test".into()),
    }
}

/// A new account, logged in from a new address: its email and pair.
pub async fn login(service: &Service) -> (String, TokenPair) {
    let email = super::unique_email();
    create_account(service, &email, PASSWORD).await;
    let pair = service
        .login(input(&email, PASSWORD), &client(&super::unique_ip()))
        .await
        .unwrap();
    (email, pair)
}

/// `times` logins with `password` from `from`, each refused as `invalid_credentials`.
pub async fn refused_logins(
    service: &Service,
    name: &str,
    email: &str,
    password: &str,
    from: &ClientInfo,
    times: usize,
) {
    for _ in 0..times {
        let err = service
            .login(input(email, password), from)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::InvalidCredentials),
            "{name}: {err:?}"
        );
    }
}

/// Whether the pair's session is live to the authorizer.
pub async fn live(service: &Service, pair: &TokenPair) -> bool {
    service
        .authorize(Some(&format!("Bearer {}", pair.access_token)))
        .await
        .is_ok()
}
