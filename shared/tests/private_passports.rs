//! Private apps' passports through the HTTP layer, on both stores (and, in `make test`'s
//! cluster stage, on a Redis Cluster): only for a live account session, one end user per
//! account and app, capped per account, and ended with the session that asked for one.
#![allow(clippy::unwrap_used)]

mod common;

use common::apps::{PASSWORD, app_me, ask, config, granted, json_of, sign_in};
use common::{pass, services, unique_code, unique_ip};
use passport::kernel::authentication::RecentAuth;
use passport::kernel::config::Config;
use passport::kernel::service::ClientInfo;
use passport::sessions::LoginInput;
use passport::testing::create_app;
use std::time::Duration;

#[tokio::test]
async fn a_private_app_wants_a_live_account_and_keeps_one_end_user_per_account() {
    for (name, service) in services(config()).await {
        let code = unique_code();
        create_app(&service, &code, "private").await;
        let r = ask(&service, &code, None, None, &unique_ip()).await;
        assert_eq!(r.status(), 401, "{name}");
        assert_eq!(json_of(&r)["error"], "sign_in_required", "{name}");
        assert_eq!(
            ask(&service, &code, Some("not-a-token"), None, &unique_ip())
                .await
                .status(),
            401,
            "{name}"
        );

        let pair = sign_in(&service).await;
        let caller = service
            .authorize(Some(&format!("Bearer {}", pair.access_token)))
            .await
            .unwrap();
        let first = granted(&service, &code, Some(&pair.access_token), None).await;
        let ctx = app_me(&service, &code, first["passport"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(ctx["account_id"], caller.account.to_string(), "{name}");
        // Again, from another device or after the storage was cleared: the same end user.
        let again = granted(&service, &code, Some(&pair.access_token), None).await;
        assert_eq!(again["end_user_id"], first["end_user_id"], "{name}");
        // Another account is another end user.
        let other = sign_in(&service).await;
        let theirs = granted(&service, &code, Some(&other.access_token), None).await;
        assert_ne!(theirs["end_user_id"], first["end_user_id"], "{name}");
        // A previous passport of another account does not carry its end user over.
        let stolen = granted(
            &service,
            &code,
            Some(&other.access_token),
            first["passport"].as_str(),
        )
        .await;
        assert_eq!(stolen["end_user_id"], theirs["end_user_id"], "{name}");

        // A logged-out account's token no longer gets a passport.
        service
            .logout(Some(&pair.access_token), None, false, RecentAuth::No)
            .await
            .unwrap();
        let r = ask(
            &service,
            &code,
            Some(&pair.access_token),
            None,
            &unique_ip(),
        )
        .await;
        assert_eq!(json_of(&r)["error"], "sign_in_required", "{name}");
    }
}

/// A private app's passport lives only while the session that asked for it does — whichever
/// way that one ends: logout, its revocation from another session, reuse detection, expiry
/// (issue 34) — and while its account's sessions do: logout-all, a password change, disable and
/// delete end it at once (issue 22). Another session's passport lives on where only one ended.
#[tokio::test]
async fn a_private_passport_ends_with_its_session() {
    use passport::sessions::PasswordChange;
    let config = Config {
        refresh_token_ttl: 1800,
        private_passport_max_ttl: 3600,
        ..config()
    };
    for (name, service) in services(config).await {
        let code = unique_code();
        create_app(&service, &code, "private").await;
        let mut ways = vec!["logout", "revoke", "reuse"];
        if name == "memory" {
            ways.push("expiry"); // On the manual clock; Redis expires the record by its TTL.
        }
        ways.extend(["logout_all", "password", "disable", "delete"]);
        for how in ways {
            let pair = sign_in(&service).await;
            let caller = service
                .authorize(Some(&format!("Bearer {}", pair.access_token)))
                .await
                .unwrap();
            let mine = granted(&service, &code, Some(&pair.access_token), None).await;
            let passport = mine["passport"].as_str().unwrap();
            assert!(
                app_me(&service, &code, passport).await.is_ok(),
                "{name} {how}"
            );
            // The same account signed in elsewhere, with a passport of its own.
            let email = service
                .store()
                .account(caller.account)
                .await
                .unwrap()
                .unwrap()
                .email;
            let elsewhere = service
                .login(LoginInput::new(email, PASSWORD), &ClientInfo::default())
                .await
                .unwrap();
            let other = granted(&service, &code, Some(&elsewhere.access_token), None).await;
            let other = other["passport"].as_str().unwrap();
            assert!(
                app_me(&service, &code, other).await.is_ok(),
                "{name} {how}: other"
            );
            assert!(
                app_me(&service, &code, passport).await.is_ok(),
                "{name} {how}: first"
            );
            let mut one_session = true;
            match how {
                "logout" => service
                    .logout(
                        Some(&pair.access_token),
                        Some(&pair.refresh_token),
                        false,
                        RecentAuth::No,
                    )
                    .await
                    .unwrap(),
                "revoke" => {
                    let by = service
                        .authorize(Some(&format!("Bearer {}", elsewhere.access_token)))
                        .await
                        .unwrap();
                    service
                        .revoke(&by, &caller.session.to_string())
                        .await
                        .unwrap();
                }
                "reuse" => {
                    let next = service.refresh(&pair.refresh_token).await.unwrap();
                    service.refresh(&next.refresh_token).await.unwrap();
                    assert!(matches!(
                        service.refresh(&pair.refresh_token).await,
                        Err(passport::ApiError::RefreshTokenReused)
                    ));
                }
                "expiry" => {
                    // Past the first session's idle lifetime, the other kept alive.
                    pass(&service, Duration::from_secs(1000)).await;
                    let kept = service.refresh(&elsewhere.refresh_token).await.unwrap();
                    pass(&service, Duration::from_secs(1000)).await;
                    service.refresh(&kept.refresh_token).await.unwrap();
                }
                _ => one_session = false,
            }
            match how {
                "logout_all" => service
                    .logout(Some(&pair.access_token), None, true, RecentAuth::No)
                    .await
                    .unwrap(),
                "password" => service
                    .change_password(
                        &caller,
                        PasswordChange {
                            current_password: PASSWORD.into(),
                            new_password: "another long enough password".into(),
                        },
                        &ClientInfo::default(),
                    )
                    .await
                    .unwrap(),
                "disable" => {
                    service
                        .store()
                        .set_status(
                            caller.account,
                            passport::kernel::store::AccountStatus::Disabled,
                        )
                        .await
                        .unwrap();
                }
                "delete" => {
                    service
                        .store()
                        .delete_account(caller.account)
                        .await
                        .unwrap();
                }
                _ => {}
            }
            assert!(
                app_me(&service, &code, passport).await.is_err(),
                "{name}: the private passport outlived {how}"
            );
            assert_eq!(
                app_me(&service, &code, other).await.is_ok(),
                one_session,
                "{name}: {how}, the other session's passport"
            );
        }
    }
}

/// One account keeps at most `PRIVATE_PASSPORTS_PER_APP` passport sessions in a private app:
/// the oldest end when a new one starts, and a renewal keeps its session.
#[tokio::test]
async fn private_passports_are_capped_per_account_and_app() {
    let config = Config {
        private_passports_per_app: 3,
        private_passport_max_ttl: 600,
        ..config()
    };
    for (name, service) in services(config).await {
        let code = unique_code();
        create_app(&service, &code, "private").await;
        let pair = sign_in(&service).await;
        let mut passports = Vec::new();
        for _ in 0..5 {
            let g = granted(&service, &code, Some(&pair.access_token), None).await;
            assert_eq!(g["expires_in"], 600, "{name}: the private bound");
            passports.push(g["passport"].as_str().unwrap().to_string());
        }
        let live: Vec<bool> = {
            let mut live = Vec::new();
            for p in &passports {
                live.push(app_me(&service, &code, p).await.is_ok());
            }
            live
        };
        assert_eq!(live, [false, false, true, true, true], "{name}");
        // Renewing the newest keeps its session: still three live, the renewed one included.
        let renewed = granted(
            &service,
            &code,
            Some(&pair.access_token),
            passports.last().map(String::as_str),
        )
        .await;
        let renewed = renewed["passport"].as_str().unwrap();
        assert!(app_me(&service, &code, renewed).await.is_ok(), "{name}");
        assert!(
            app_me(&service, &code, &passports[2]).await.is_ok(),
            "{name}: a renewal ended another"
        );
    }
}
