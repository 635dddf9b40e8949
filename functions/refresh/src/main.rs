//! `refresh`: the Lambda function that rotates refresh tokens (its routes: `function:
//! "refresh"` in `passport::api::ROUTES`).

/// This function's dispatch: the handlers of its routes, and no other's.
type This = passport::api::Refresh;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passport_lambda::run::<This>().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::testing::{logged_in_memory_app, memory_app};
    use passport_lambda::answer_sample;
    use serde_json::Value;

    /// This function's name in the route table: its package's.
    const FUNCTION: &str = env!("CARGO_PKG_NAME");

    #[test]
    fn runs_the_dispatch_of_its_own_name() {
        assert_eq!(<This as passport::api::Function>::NAME, FUNCTION);
    }

    #[tokio::test]
    async fn success_event_rotates_the_token() {
        let (app, pair) = logged_in_memory_app(None).await;
        let vars = [("REFRESH_TOKEN", pair.refresh_token.as_str())];
        let resp = answer_sample(&app, FUNCTION, "refresh-success", &vars).await;
        assert_eq!(resp.status().as_u16(), 200, "{}", resp.body());
        let body: Value = serde_json::from_str(resp.body()).unwrap();
        assert_ne!(
            body["refresh_token"].as_str(),
            Some(pair.refresh_token.as_str())
        );
        assert_eq!(
            body["session_id"].as_str(),
            Some(pair.session_id.to_string().as_str())
        );
    }

    #[tokio::test]
    async fn unknown_token_event_is_invalid_refresh_token() {
        let app = memory_app();
        let resp = answer_sample(&app, FUNCTION, "refresh-invalid", &[]).await;
        assert_eq!(resp.status().as_u16(), 401);
        let body: Value = serde_json::from_str(resp.body()).unwrap();
        assert_eq!(body["error"], "invalid_refresh_token");
    }

    #[tokio::test]
    async fn dbsc_events_refuse_a_bad_proof_and_end_an_unknown_session() {
        let app = memory_app();
        let resp = answer_sample(&app, FUNCTION, "refresh-dbsc-register-bad-proof", &[]).await;
        let body: Value = serde_json::from_str(resp.body()).unwrap();
        assert_eq!(
            (resp.status().as_u16(), body["error"].as_str()),
            (401, Some("invalid_session_proof"))
        );
        let resp = answer_sample(&app, FUNCTION, "refresh-dbsc-refresh-ended", &[]).await;
        let body: Value = serde_json::from_str(resp.body()).unwrap();
        assert_eq!(resp.status(), 200, "{body}");
        assert_eq!(body["continue"], false);
    }
}
