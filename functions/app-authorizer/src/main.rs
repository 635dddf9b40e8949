//! `app-authorizer`: the Lambda authorizer in front of shared web apps' routes. It accepts only
//! web-app passports, for the app the request's `X-App-Code` names, whose app is enabled and
//! whose passport session lives; its context is `{app_id, app_code, end_user_id, account_id?}`.

use passport_lambda::authorizer::{Kind, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Kind::App, env!("CARGO_PKG_NAME")).await
}

#[cfg(test)]
mod tests {
    use passport::testing::{anonymous_passport, create_app, event, logged_in_memory_app};
    use passport_lambda::authorizer::{Kind, decide_as};
    use serde_json::Value;

    async fn decide_file(app: &passport::Service, name: &str, vars: &[(&str, &str)]) -> Value {
        serde_json::to_value(decide_as(Kind::App, app, &event(name, vars)).await).unwrap()
    }

    fn effect(r: &Value) -> &Value {
        &r["policyDocument"]["Statement"][0]["Effect"]
    }

    #[tokio::test]
    async fn every_event_shape_takes_a_passport_for_its_app_and_nothing_else() {
        let (app, pair) = logged_in_memory_app(None).await;
        let demo = create_app(&app, "demo-public", "public").await;
        create_app(&app, "other-app", "public").await;
        let grant = anonymous_passport(&app, "demo-public", "192.0.2.10").await;
        let good = [
            ("PASSPORT", grant.passport.as_str()),
            ("APP_CODE", "demo-public"),
        ];

        let r = decide_file(&app, "app-authorizer-v2", &good).await;
        assert_eq!(r["isAuthorized"], true, "{r}");
        assert_eq!(r["context"]["app_id"], demo.id.to_string());
        assert_eq!(r["context"]["app_code"], "demo-public");
        assert_eq!(r["context"]["end_user_id"], grant.end_user.to_string());
        assert!(r["context"].get("account_id").is_none(), "{r}");
        assert!(r["context"].get("user_id").is_none(), "{r}");
        let r = decide_file(&app, "app-authorizer-rest-request", &good).await;
        assert_eq!(effect(&r), "Allow", "{r}");
        assert_eq!(r["principalId"], grant.end_user.to_string());
        // A TOKEN event carries no X-App-Code: always denied.
        let r = decide_file(&app, "app-authorizer-rest-token", &good).await;
        assert_eq!(effect(&r), "Deny", "{r}");

        // Another app's code, an account access token, and no token at all.
        let wrong_app = [
            ("PASSPORT", grant.passport.as_str()),
            ("APP_CODE", "other-app"),
        ];
        let account = [
            ("PASSPORT", pair.access_token.as_str()),
            ("APP_CODE", "demo-public"),
        ];
        for vars in [&wrong_app, &account] {
            let r = decide_file(&app, "app-authorizer-v2", vars).await;
            assert_eq!(r["isAuthorized"], false, "{r}");
            let r = decide_file(&app, "app-authorizer-rest-request", vars).await;
            assert_eq!(effect(&r), "Deny", "{r}");
        }
        // And the account authorizer refuses the passport on every shape.
        for name in [
            "authorizer-v2-allow",
            "authorizer-rest-request",
            "authorizer-rest-token",
        ] {
            let text = event(name, &[("ACCESS_TOKEN", &grant.passport)]);
            let r = serde_json::to_value(passport_lambda::authorizer::decide(&app, &text).await)
                .unwrap();
            assert!(
                r["isAuthorized"] == false || effect(&r) == "Deny",
                "{name}: {r}"
            );
        }
    }

    #[tokio::test]
    async fn a_disabled_app_and_an_ended_passport_are_denied_at_once() {
        let (app, _) = logged_in_memory_app(None).await;
        let demo = create_app(&app, "demo-public", "public").await;
        let grant = anonymous_passport(&app, "demo-public", "192.0.2.11").await;
        let vars = [
            ("PASSPORT", grant.passport.as_str()),
            ("APP_CODE", "demo-public"),
        ];
        assert_eq!(
            decide_file(&app, "app-authorizer-v2", &vars).await["isAuthorized"],
            true
        );
        app.store().set_app_enabled(demo.id, false).await.unwrap();
        assert_eq!(
            decide_file(&app, "app-authorizer-v2", &vars).await["isAuthorized"],
            false
        );
        app.store().set_app_enabled(demo.id, true).await.unwrap();
        assert_eq!(
            decide_file(&app, "app-authorizer-v2", &vars).await["isAuthorized"],
            true
        );
        let bearer = format!("Bearer {}", grant.passport);
        app.end_passport(Some(&bearer), Some("demo-public"))
            .await
            .unwrap();
        assert_eq!(
            decide_file(&app, "app-authorizer-v2", &vars).await["isAuthorized"],
            false
        );
    }
}
