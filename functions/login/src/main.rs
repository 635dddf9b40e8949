//! `login`: the Lambda function that logs users in (its routes: `function: "login"` in
//! `passport::api::ROUTES`).

/// This function's dispatch: the handlers of its routes, and no other's.
type This = passport::api::Login;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passport_lambda::run::<This>().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::testing::{EVENT_EMAIL, EVENT_PASSWORD, create_account, memory_app};
    use passport_lambda::{answer_sample, json_body};
    use serde_json::Value;

    /// This function's name in the route table: its package's.
    const FUNCTION: &str = env!("CARGO_PKG_NAME");

    #[test]
    fn runs_the_dispatch_of_its_own_name() {
        assert_eq!(<This as passport::api::Function>::NAME, FUNCTION);
    }

    async fn run(name: &str) -> (u16, Value, lambda_http::http::HeaderMap) {
        let app = memory_app();
        create_account(&app, EVENT_EMAIL, EVENT_PASSWORD).await;
        let resp = answer_sample(&app, FUNCTION, name, &[]).await;
        (
            resp.status().as_u16(),
            json_body(&resp),
            resp.headers().clone(),
        )
    }

    #[tokio::test]
    async fn success_event_issues_a_token_pair() {
        let (status, body, headers) = run("login-success").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
        assert_eq!(body["refresh_token"].as_str().unwrap().len(), 86);
        assert_eq!(headers["cache-control"], "no-store");
    }

    #[tokio::test]
    async fn base64_encoded_body_is_decoded() {
        let (status, body, _) = run("login-base64").await;
        assert_eq!(status, 200, "{body}");
    }

    #[tokio::test]
    async fn wrong_password_is_invalid_credentials() {
        let (status, body, _) = run("login-wrong-password").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }

    #[tokio::test]
    async fn missing_field_is_a_400_naming_it() {
        let (status, body, _) = run("login-missing-password").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request"))
        );
        assert!(body["message"].as_str().unwrap().contains("password"));
    }

    #[tokio::test]
    async fn passkey_options_event_opens_a_discoverable_ceremony() {
        let (status, body, _) = run("login-passkey-options").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ceremony"].as_str().map(str::len), Some(22), "{body}");
        assert_eq!(body["publicKey"]["rpId"], "app.example.com");
        assert_eq!(body["publicKey"]["userVerification"], "required");
        assert!(
            body["publicKey"]["allowCredentials"]
                .as_array()
                .is_none_or(Vec::is_empty)
        );
    }

    #[tokio::test]
    async fn passkey_event_for_an_unknown_ceremony_is_invalid_credentials() {
        let (status, body, _) = run("login-passkey-unknown-ceremony").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_credentials")),
            "{body}"
        );
    }

    #[tokio::test]
    async fn other_routes_are_not_served() {
        let app = memory_app();
        let vars = [("USER_ID", "x"), ("SESSION_ID", "y")];
        let resp = answer_sample(&app, FUNCTION, "sessions-me", &vars).await;
        assert_eq!(resp.status().as_u16(), 404);
    }
}
