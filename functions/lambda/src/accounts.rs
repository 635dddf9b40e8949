//! The `accounts` function's event handling: one operator command per invocation. A bad
//! command is answered with a JSON error naming it; a store failure is a fault returned to
//! Lambda, so the invoker sees a function error.

use lambda_runtime::{LambdaEvent, service_fn};
use passport::Service;
use passport::admin::{self, AdminError};
use serde_json::Value;
use std::sync::Arc;

/// Runs the `accounts` function (`function`: its package name).
pub async fn run(function: &str) -> Result<(), lambda_runtime::Error> {
    let service = crate::init(function).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let service = Arc::clone(&service);
        async move { handle(&service, event.payload).await }
    }))
    .await
}

/// Handles one invocation.
pub async fn handle(service: &Service, event: Value) -> Result<Value, lambda_runtime::Error> {
    let outcome = match admin::parse(event) {
        Ok(command) => admin::execute(service, command).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(answer) => Ok(answer),
        Err(AdminError::Unavailable(e)) => Err(Box::new(e)),
        Err(e) => Ok(e.to_json()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::kernel::service::ClientInfo;
    use passport::sessions::LoginInput;
    use passport::testing::{EVENT_EMAIL, EVENT_PASSWORD, event, memory_service};

    async fn run(service: &Service, name: &str) -> Value {
        let v: Value = serde_json::from_str(&event(name, &[])).unwrap();
        handle(service, v).await.unwrap()
    }

    #[tokio::test]
    async fn create_then_get_then_duplicate() {
        let service = memory_service();
        let r = run(&service, "accounts-create").await;
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["account"]["email"], EVENT_EMAIL);
        assert!(r.to_string().find("argon2").is_none(), "hash leaked: {r}");
        let r = run(&service, "accounts-get").await;
        assert_eq!(r["account"]["status"], "active", "{r}");
        let r = run(&service, "accounts-create").await;
        assert_eq!(r["error"], "account_exists", "{r}");
    }

    #[tokio::test]
    async fn disable_revokes_sessions_and_blocks_login() {
        let service = memory_service();
        run(&service, "accounts-create").await;
        let login = || LoginInput::new(EVENT_EMAIL, EVENT_PASSWORD);
        let pair = service
            .login(login(), &ClientInfo::default())
            .await
            .unwrap();
        let bearer = format!("Bearer {}", pair.access_token);
        assert!(service.authorize(Some(&bearer)).await.is_ok());
        let r = run(&service, "accounts-disable").await;
        assert_eq!(r["status"], "disabled", "{r}");
        assert!(service.authorize(Some(&bearer)).await.is_err());
        assert!(service.refresh(&pair.refresh_token).await.is_err());
        let err = service
            .login(login(), &ClientInfo::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, passport::ApiError::AccountDisabled),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn set_password_ends_every_session() {
        let service = memory_service();
        run(&service, "accounts-create").await;
        let login = LoginInput::new(EVENT_EMAIL, EVENT_PASSWORD);
        let pair = service.login(login, &ClientInfo::default()).await.unwrap();
        let r = run(&service, "accounts-set-password").await;
        assert_eq!(
            (r["ok"].as_bool(), r["sessions_ended"].as_bool()),
            (Some(true), Some(true)),
            "{r}"
        );
        assert!(service.refresh(&pair.refresh_token).await.is_err());
    }

    #[tokio::test]
    async fn bad_command_is_named() {
        let service = memory_service();
        let r = run(&service, "accounts-bad-command").await;
        assert_eq!(r["ok"], false);
        assert_eq!(r["error"], "invalid_command");
        assert!(r["message"].as_str().unwrap().contains("explode"), "{r}");
    }

    #[tokio::test]
    async fn app_commands_create_list_disable_enable_and_delete() {
        let service = memory_service();
        let r = run(&service, "accounts-create-app").await;
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(
            (
                &r["app"]["code"],
                &r["app"]["access"],
                &r["app"]["passport_ttl_seconds"]
            ),
            (&"support-chat".into(), &"public".into(), &3600.into())
        );
        assert_eq!(
            run(&service, "accounts-create-app").await["error"],
            "app_exists"
        );
        let grant =
            passport::testing::anonymous_passport(&service, "support-chat", "192.0.2.1").await;
        let bearer = format!("Bearer {}", grant.passport);
        let live = || service.authorize_visitor(Some(&bearer), Some("support-chat"));
        assert!(live().await.is_ok());
        assert_eq!(
            run(&service, "accounts-list-apps").await["apps"][0]["code"],
            "support-chat"
        );
        assert_eq!(
            run(&service, "accounts-disable-app").await["enabled"],
            false
        );
        assert!(
            live().await.is_err(),
            "a disabled app's passports are refused at once"
        );
        assert_eq!(
            run(&service, "accounts-get-app").await["app"]["enabled"],
            false
        );
        assert_eq!(run(&service, "accounts-enable-app").await["enabled"], true);
        assert!(live().await.is_ok());
        assert_eq!(run(&service, "accounts-delete-app").await["ok"], true);
        assert!(
            live().await.is_err(),
            "a deleted app's passports are refused at once"
        );
        assert_eq!(
            run(&service, "accounts-get-app").await["error"],
            "app_not_found"
        );
        assert_eq!(
            run(&service, "accounts-list-apps").await["apps"],
            serde_json::json!([])
        );
    }

    #[tokio::test]
    async fn create_app_generates_a_code_and_checks_its_fields() {
        let service = memory_service();
        let ok = |v: Value| {
            let service = &service;
            async move { handle(service, v).await.unwrap() }
        };
        let r =
            ok(serde_json::json!({"command": "create_app", "name": "Docs", "access": "private"}))
                .await;
        let code = r["app"]["code"].as_str().unwrap();
        assert!(passport::passports::valid_app_code(code), "{r}");
        assert_eq!(r["app"]["passport_ttl_seconds"], 86_400);
        for bad in [
            serde_json::json!({"command": "create_app", "name": "x", "access": "secret"}),
            serde_json::json!({"command": "create_app", "name": " ", "access": "public"}),
            serde_json::json!({"command": "create_app", "name": "x", "access": "public", "code": "a/b"}),
            serde_json::json!({"command": "create_app", "name": "x", "access": "public", "passport_ttl_seconds": 0}),
        ] {
            assert_eq!(ok(bad.clone()).await["error"], "invalid_command", "{bad}");
        }
    }

    #[tokio::test]
    async fn unknown_account_is_named() {
        let service = memory_service();
        let r = run(&service, "accounts-get").await;
        assert_eq!(r["error"], "account_not_found", "{r}");
    }
}
