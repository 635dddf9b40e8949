//! `passports`: the Lambda function that issues web-app passports and ends their sessions (its
//! routes: `function: "passports"` in `passport::api::ROUTES`).

/// This function's dispatch: the handlers of its routes, and no other's.
type This = passport::api::Passports;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passport_lambda::run::<This>().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::testing::{create_app, logged_in_memory_app};
    use passport_lambda::{answer_sample, json_body};
    use serde_json::Value;

    /// This function's name in the route table: its package's.
    const FUNCTION: &str = env!("CARGO_PKG_NAME");

    #[test]
    fn runs_the_dispatch_of_its_own_name() {
        assert_eq!(<This as passport::api::Function>::NAME, FUNCTION);
    }

    async fn send(app: &passport::Service, name: &str, vars: &[(&str, &str)]) -> (u16, Value) {
        let resp = answer_sample(app, FUNCTION, name, vars).await;
        (resp.status().as_u16(), json_body(&resp))
    }

    #[tokio::test]
    async fn a_public_app_issues_renews_and_ends_a_passport() {
        let (app, _) = logged_in_memory_app(None).await;
        create_app(&app, "demo-public", "public").await;
        let code = [("APP_CODE", "demo-public")];
        let (status, first) = send(&app, "passports-public", &code).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["app_code"], "demo-public");
        assert_eq!(first["expires_in"], 86_400);
        let passport = first["passport"].as_str().unwrap();
        let vars = [("APP_CODE", "demo-public"), ("PASSPORT", passport)];
        let (status, renewed) = send(&app, "passports-renew", &vars).await;
        assert_eq!(status, 200, "{renewed}");
        assert_eq!(renewed["end_user_id"], first["end_user_id"]);
        assert_eq!(send(&app, "passports-logout", &vars).await.0, 204);
        // Its session ended: renewing makes a new end user.
        let (_, after) = send(&app, "passports-renew", &vars).await;
        assert_ne!(after["end_user_id"], first["end_user_id"]);
        let (status, body) = send(&app, "passports-unknown-app", &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("app_not_found"))
        );
    }

    #[tokio::test]
    async fn a_private_app_wants_a_signed_in_account() {
        let (app, pair) = logged_in_memory_app(None).await;
        create_app(&app, "demo-private", "private").await;
        let code = [("APP_CODE", "demo-private")];
        let (status, body) = send(&app, "passports-private-anonymous", &code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("sign_in_required"))
        );
        let vars = [
            ("APP_CODE", "demo-private"),
            ("ACCESS_TOKEN", &pair.access_token),
        ];
        let (status, a) = send(&app, "passports-private-signed-in", &vars).await;
        assert_eq!(status, 200, "{a}");
        let (_, b) = send(&app, "passports-private-signed-in", &vars).await;
        assert_eq!(
            a["end_user_id"], b["end_user_id"],
            "one end user per account and app"
        );
    }
}
