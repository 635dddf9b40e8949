//! `logout`: the Lambda function that ends sessions (its routes: `function: "logout"` in
//! `passport::api::ROUTES`).

/// This function's dispatch: the handlers of its routes, and no other's.
type This = passport::api::Logout;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passport_lambda::run::<This>().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::testing::{event, logged_in_memory_app, memory_app};
    use passport_lambda::{answer_event, answer_sample};

    /// This function's name in the route table: its package's.
    const FUNCTION: &str = env!("CARGO_PKG_NAME");

    #[test]
    fn runs_the_dispatch_of_its_own_name() {
        assert_eq!(<This as passport::api::Function>::NAME, FUNCTION);
    }

    #[tokio::test]
    async fn bearer_event_ends_the_session() {
        let (app, pair) = logged_in_memory_app(None).await;
        let bearer = format!("Bearer {}", pair.access_token);
        assert!(app.authorize(Some(&bearer)).await.is_ok());
        let text = event("logout-bearer", &[("ACCESS_TOKEN", &pair.access_token)]);
        let resp = answer_event(&app, FUNCTION, &text).await;
        assert_eq!(resp.status().as_u16(), 204, "{}", resp.body());
        assert!(app.authorize(Some(&bearer)).await.is_err());
        // Idempotent: the same request again is still a 204.
        let resp = answer_event(&app, FUNCTION, &text).await;
        assert_eq!(resp.status().as_u16(), 204);
    }

    #[tokio::test]
    async fn no_credential_event_is_unauthorized() {
        let app = memory_app();
        let resp = answer_sample(&app, FUNCTION, "logout-unauthorized", &[]).await;
        assert_eq!(resp.status().as_u16(), 401);
        assert!(resp.body().contains("\"unauthorized\""));
    }
}
