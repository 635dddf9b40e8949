//! `sessions`: the Lambda function for the caller's sessions and identity (its routes:
//! `function: "sessions"` in `passport::http::ROUTES`), all behind the authorizer, whose verdict
//! arrives in the request context.

/// This function's name in the route table.
const FUNCTION: &str = env!("CARGO_PKG_NAME");

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passport_lambda::run(FUNCTION).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::Passport;
    use passport::service::TokenPair;
    use passport::testing::{EVENT_EMAIL, event, logged_in_memory_app, memory_app};
    use passport_lambda::handle_event;
    use serde_json::Value;

    async fn logged_in() -> (Passport, TokenPair, String) {
        let (app, pair) = logged_in_memory_app(Some("laptop")).await;
        let caller = app
            .authorize(Some(&format!("Bearer {}", pair.access_token)))
            .await
            .unwrap();
        (app, pair, caller.account.to_string())
    }

    async fn run(app: &Passport, name: &str, vars: &[(&str, &str)]) -> (u16, Value) {
        let req = lambda_http::request::from_str(&event(name, vars)).unwrap();
        let resp = handle_event(app, req, FUNCTION).await;
        let body = serde_json::from_str(resp.body()).unwrap_or(Value::Null);
        (resp.status().as_u16(), body)
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
    async fn no_authorizer_context_is_401() {
        let app = memory_app();
        let (status, body) = run(&app, "sessions-no-context", &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized"))
        );
    }
}
