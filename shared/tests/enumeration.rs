//! No user enumeration through login: an unknown email costs the same argon2 work as a wrong
//! password and gets a byte-identical answer. Alone in its test binary, so the process-wide
//! verification counter counts only this test's logins.
#![allow(clippy::unwrap_used)]

mod common;

use common::{stores, unique_email};
use passport::kernel::accounts::verification_count;
use passport::kernel::error::ApiError;
use passport::kernel::http::error_response;
use passport::kernel::service::ClientInfo;
use passport::sessions::LoginInput;
use passport::testing::{create_account, service_on, test_config};

fn input(email: &str) -> LoginInput {
    LoginInput::new(email, "not the right password")
}

#[tokio::test]
async fn unknown_email_and_wrong_password_cost_one_hash_and_read_alike() {
    for (name, store) in stores().await {
        let service = service_on(store, test_config());
        let email = unique_email();
        create_account(&service, &email, "the right password!").await;
        let client = ClientInfo::default();

        let before = verification_count();
        let wrong = service.login(input(&email), &client).await.unwrap_err();
        let after_wrong = verification_count();
        let unknown = service
            .login(input(&unique_email()), &client)
            .await
            .unwrap_err();
        let after_unknown = verification_count();

        assert_eq!(after_wrong - before, 1, "{name}: wrong password");
        assert_eq!(after_unknown - after_wrong, 1, "{name}: unknown email");
        assert!(matches!(wrong, ApiError::InvalidCredentials), "{name}");
        assert!(matches!(unknown, ApiError::InvalidCredentials), "{name}");
        let (a, b) = (error_response(&wrong), error_response(&unknown));
        assert_eq!(a.status(), b.status(), "{name}");
        assert_eq!(a.body(), b.body(), "{name}");
        assert_eq!(a.headers(), b.headers(), "{name}");
    }
}
