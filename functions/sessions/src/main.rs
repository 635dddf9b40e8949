//! `sessions`: the Lambda function for the caller's sessions and identity (its routes:
//! `function: "sessions"` in `passport::api::ROUTES`), behind the authorizer, whose verdict
//! arrives in the request context; and for the public keys and discovery document (open), read
//! from the store: it holds no key.

/// This function's dispatch: the handlers of its routes, and no other's.
type This = passport::api::Sessions;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passport_lambda::run::<This>().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::Service;
    use passport::kernel::ids::Id;
    use passport::kernel::service::TokenPair;
    use passport::testing::{EVENT_EMAIL, event, logged_in_memory_app, memory_app};
    use passport_lambda::{answer_event, answer_sample, json_body};
    use serde_json::Value;

    /// This function's name in the route table: its package's.
    const FUNCTION: &str = env!("CARGO_PKG_NAME");

    #[test]
    fn runs_the_dispatch_of_its_own_name() {
        assert_eq!(<This as passport::api::Function>::NAME, FUNCTION);
    }

    async fn logged_in() -> (Service, TokenPair, String) {
        let (app, pair) = logged_in_memory_app(Some("laptop")).await;
        let caller = app
            .authorize(Some(&format!("Bearer {}", pair.access_token)))
            .await
            .unwrap();
        (app, pair, caller.account.to_string())
    }

    async fn run(app: &Service, name: &str, vars: &[(&str, &str)]) -> (u16, Value) {
        let resp = answer_sample(app, FUNCTION, name, vars).await;
        (resp.status().as_u16(), json_body(&resp))
    }

    #[tokio::test]
    async fn list_event_marks_the_current_session() {
        let (app, pair, user) = logged_in().await;
        let sid = pair.session_id.to_string();
        let (status, body) = run(
            &app,
            "sessions-list",
            &[("USER_ID", &user), ("SESSION_ID", &sid)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let list = body["sessions"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["session_id"], sid.as_str());
        assert_eq!(list[0]["current"], true);
        assert_eq!(list[0]["device"], "laptop");
    }

    #[tokio::test]
    async fn me_event_answers_the_identity() {
        let (app, pair, user) = logged_in().await;
        let sid = pair.session_id.to_string();
        let (status, body) = run(
            &app,
            "sessions-me",
            &[("USER_ID", &user), ("SESSION_ID", &sid)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["email"], EVENT_EMAIL);
        assert_eq!(body["user_id"], user.as_str());
        assert_eq!(body["session_id"], sid.as_str());
    }

    #[tokio::test]
    async fn revoking_an_unknown_session_is_404() {
        let (app, pair, user) = logged_in().await;
        let sid = pair.session_id.to_string();
        let (status, body) = run(
            &app,
            "sessions-revoke-not-found",
            &[("USER_ID", &user), ("SESSION_ID", &sid)],
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    }

    #[tokio::test]
    async fn revoke_event_ends_the_named_session() {
        let (app, pair, user) = logged_in().await;
        let sid = pair.session_id.to_string();
        let (status, _) = run(
            &app,
            "sessions-revoke",
            &[("USER_ID", &user), ("SESSION_ID", &sid)],
        )
        .await;
        assert_eq!(status, 204);
        let bearer = format!("Bearer {}", pair.access_token);
        assert!(app.authorize(Some(&bearer)).await.is_err());
    }

    #[tokio::test]
    async fn password_event_changes_it_and_ends_the_other_sessions() {
        let (app, pair, user) = logged_in().await;
        let sid = pair.session_id.to_string();
        let other = app
            .login(
                passport::sessions::LoginInput::new(EVENT_EMAIL, passport::testing::EVENT_PASSWORD),
                &Default::default(),
            )
            .await
            .unwrap();
        let vars = [("USER_ID", user.as_str()), ("SESSION_ID", sid.as_str())];
        let (status, body) = run(&app, "sessions-password-wrong", &vars).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_credentials"))
        );
        let (status, body) = run(&app, "sessions-password", &vars).await;
        assert_eq!(status, 204, "{body}");
        // The caller's session lives on, refresh token included; the other one is over.
        assert!(app.refresh(&pair.refresh_token).await.is_ok());
        assert!(app.refresh(&other.refresh_token).await.is_err());
        let new_login =
            passport::sessions::LoginInput::new(EVENT_EMAIL, "a brand new passphrase of mine");
        assert!(app.login(new_login, &Default::default()).await.is_ok());
    }

    #[tokio::test]
    async fn app_me_answers_the_app_authorizers_context_and_only_that() {
        let app = memory_app();
        let (app_id, end_user) = (Id::random().to_string(), Id::random().to_string());
        let vars = [
            ("APP_ID", app_id.as_str()),
            ("APP_CODE", "demo-public"),
            ("END_USER_ID", end_user.as_str()),
        ];
        let (status, body) = run(&app, "sessions-app-me", &vars).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            serde_json::json!({"app_id": app_id, "app_code": "demo-public", "end_user_id": end_user})
        );
        // An account authorizer's context on the app route, and an app context on /me, are 401.
        let text = event("sessions-app-me", &vars).replace("\"app_id\"", "\"user_id\"");
        let resp = answer_event(&app, FUNCTION, &text).await;
        assert_eq!(resp.status().as_u16(), 401);
        let text = event("sessions-app-me", &vars)
            .replace("/apps/me", "/me")
            .replace("\"end_user_id\"", "\"session_id\"");
        let resp = answer_event(&app, FUNCTION, &text).await;
        assert_eq!(resp.status().as_u16(), 401);
    }

    #[tokio::test]
    async fn the_public_keys_and_discovery_events_answer_cacheable_documents() {
        let config = passport::Config {
            signing_algorithm: passport::kernel::config::SigningAlgorithm::Es256,
            ..passport::testing::test_config()
        };
        let signer = passport::testing::app_on(
            std::sync::Arc::new(passport::kernel::store::MemoryStore::new()),
            config,
        );
        signer.publish_keys().await.unwrap();
        let resp = answer_sample(&signer, FUNCTION, "sessions-jwks", &[]).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
        let jwks: Value = serde_json::from_str(resp.body()).unwrap();
        let kid = signer.keys().current().signing().kid().to_string();
        assert_eq!(jwks["keys"][0]["kid"], kid.as_str(), "{jwks}");
        assert_eq!(jwks["keys"][0]["alg"], "ES256", "{jwks}");

        let (status, doc) = run(&signer, "sessions-openid-configuration", &[]).await;
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["issuer"], "passport");
        assert_eq!(
            doc["jwks_uri"],
            "https://abcdef1234.execute-api.us-east-1.amazonaws.com/.well-known/jwks.json"
        );
        // HS256 keys are never published.
        let hs256 = passport::testing::app_on(
            std::sync::Arc::new(passport::kernel::store::MemoryStore::new()),
            passport::Config {
                signing_algorithm: passport::kernel::config::SigningAlgorithm::Hs256,
                ..passport::testing::test_config()
            },
        );
        let (status, jwks) = run(&hs256, "sessions-jwks", &[]).await;
        assert_eq!((status, jwks), (200, serde_json::json!({"keys": []})));
    }

    #[tokio::test]
    async fn me_and_list_events_say_how_the_session_signed_in() {
        let (app, pair, user) = logged_in().await;
        let sid = pair.session_id.to_string();
        let vars = [("USER_ID", user.as_str()), ("SESSION_ID", sid.as_str())];
        let (_, me) = run(&app, "sessions-me", &vars).await;
        assert_eq!(me["amr"], serde_json::json!(["pwd"]), "{me}");
        let (_, list) = run(&app, "sessions-list", &vars).await;
        assert_eq!(list["sessions"][0]["auth_time"], me["auth_time"], "{list}");
        assert_eq!(list["sessions"][0]["amr"], serde_json::json!(["pwd"]));
    }

    #[tokio::test]
    async fn reauthenticate_event_checks_the_password() {
        let (app, pair, user) = logged_in().await;
        let sid = pair.session_id.to_string();
        let vars = [("USER_ID", user.as_str()), ("SESSION_ID", sid.as_str())];
        let (status, body) = run(&app, "sessions-reauthenticate", &vars).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["amr"], serde_json::json!(["pwd"]));
        let wrong = event("sessions-reauthenticate", &vars).replace("correct horse", "wrong horse");
        let resp = answer_event(&app, FUNCTION, &wrong).await;
        assert_eq!(resp.status().as_u16(), 401);
    }

    #[tokio::test]
    async fn passkey_events_open_a_ceremony_list_and_refuse_what_is_not_there() {
        let (app, pair, user) = logged_in().await;
        let sid = pair.session_id.to_string();
        let vars = [("USER_ID", user.as_str()), ("SESSION_ID", sid.as_str())];
        let (status, body) = run(&app, "sessions-passkey-options", &vars).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["publicKey"]["rp"]["id"], "app.example.com", "{body}");
        assert_eq!(
            body["publicKey"]["authenticatorSelection"]["residentKey"],
            "required"
        );
        let (status, body) = run(&app, "sessions-passkey-register-unknown-ceremony", &vars).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("passkey_not_verified"))
        );
        let (status, body) = run(&app, "sessions-passkeys", &vars).await;
        assert_eq!((status, body), (200, serde_json::json!({"passkeys": []})));
        let (status, body) = run(&app, "sessions-passkey-remove-not-found", &vars).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    }

    #[tokio::test]
    async fn no_authorizer_context_is_401() {
        let app = memory_app();
        let (status, body) = run(&app, "sessions-no-context", &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized"))
        );
    }
}
