//! The use cases end to end on both stores: rotation races, revocation taking effect at once,
//! logout, password changes, disabling. The login limits are `login_limits.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use common::sign_in::{PASSWORD, client, input, live, login};
use common::{services, stores, unique_ip};
use passport::Service;
use passport::api::Store;
use passport::kernel::authentication::RecentAuth;
use passport::kernel::caller::Caller;
use passport::kernel::config::Config;
use passport::kernel::error::ApiError;
use passport::testing::test_config;
use std::sync::Arc;

#[tokio::test]
async fn sixteen_concurrent_refreshes_get_one_successor() {
    for (name, service) in services(test_config()).await {
        let (_, pair) = login(&service).await;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (service, token) = (service.clone(), pair.refresh_token.clone());
                tokio::spawn(async move { service.refresh(&token).await.unwrap().refresh_token })
            })
            .collect();
        let mut successors = std::collections::HashSet::new();
        for t in tasks {
            successors.insert(t.await.unwrap());
        }
        assert_eq!(
            successors.len(),
            1,
            "{name}: {} different successors",
            successors.len()
        );
        let successor = successors.into_iter().next().unwrap();
        assert_ne!(successor, pair.refresh_token, "{name}");
        // The successor is the one the store now holds: it rotates on.
        assert!(service.refresh(&successor).await.is_ok(), "{name}");
    }
}

#[tokio::test]
async fn logout_ends_the_session_at_once_and_is_idempotent() {
    for (name, service) in services(test_config()).await {
        let (_, a) = login(&service).await;
        assert!(live(&service, &a).await, "{name}");
        service
            .logout(Some(&a.access_token), None, false, RecentAuth::No)
            .await
            .unwrap();
        assert!(
            !live(&service, &a).await,
            "{name}: access token still works"
        );
        assert!(
            matches!(
                service.refresh(&a.refresh_token).await,
                Err(ApiError::InvalidRefreshToken)
            ),
            "{name}"
        );
        service
            .logout(Some(&a.access_token), None, false, RecentAuth::No)
            .await
            .unwrap();
        service
            .logout(None, Some(&a.refresh_token), false, RecentAuth::No)
            .await
            .unwrap();
        assert!(
            matches!(
                service.logout(None, None, false, RecentAuth::No).await,
                Err(ApiError::Unauthorized)
            ),
            "{name}"
        );
        assert!(
            matches!(
                service
                    .logout(Some("garbage"), Some("garbage"), false, RecentAuth::No)
                    .await,
                Err(ApiError::Unauthorized)
            ),
            "{name}"
        );
    }
}

#[tokio::test]
async fn logout_by_refresh_token_ends_only_a_matching_session() {
    for (name, service) in services(test_config()).await {
        let (_, a) = login(&service).await;
        // A well-formed token that is not the session's: nothing happens.
        let forged = passport::kernel::tokens::refresh::RefreshToken::parse(&a.refresh_token)
            .map(|t| passport::kernel::tokens::refresh::RefreshToken::new(t.account(), t.session()))
            .unwrap();
        service
            .logout(None, Some(&forged.encode()), true, RecentAuth::No)
            .await
            .unwrap();
        assert!(
            live(&service, &a).await,
            "{name}: forged refresh token ended a session"
        );
        service
            .logout(None, Some(&a.refresh_token), false, RecentAuth::No)
            .await
            .unwrap();
        assert!(!live(&service, &a).await, "{name}");
    }
}

#[tokio::test]
async fn a_revoked_sessions_access_token_ends_nothing_at_logout() {
    use passport::sessions::PasswordChange;
    for (name, service) in services(test_config()).await {
        let (email, owner) = login(&service).await;
        let thief = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        let caller = service
            .authorize(Some(&format!("Bearer {}", owner.access_token)))
            .await
            .unwrap();
        let change = PasswordChange {
            current_password: PASSWORD.into(),
            new_password: "the owner's new and longer password".into(),
        };
        service
            .change_password(&caller, change, &client(&unique_ip()))
            .await
            .unwrap();
        assert!(!live(&service, &thief).await, "{name}");
        // The thief's access token still verifies until it expires, but its session is gone.
        for all in [true, false] {
            service
                .logout(Some(&thief.access_token), None, all, RecentAuth::No)
                .await
                .unwrap();
            assert!(
                live(&service, &owner).await,
                "{name}: a revoked session's access token logged the owner out (all: {all})"
            );
        }
    }
}

#[tokio::test]
async fn a_spent_refresh_token_at_logout_is_reuse() {
    for (name, service) in services(test_config()).await {
        // The just-rotated token within the grace window still logs out.
        let (_, a) = login(&service).await;
        let b = service.refresh(&a.refresh_token).await.unwrap();
        service
            .logout(None, Some(&a.refresh_token), false, RecentAuth::No)
            .await
            .unwrap();
        assert!(
            !live(&service, &b).await,
            "{name}: the previous token did not log out"
        );

        // Two generations back: reuse, as at /refresh-token; the session ends.
        let (_, a) = login(&service).await;
        let b = service.refresh(&a.refresh_token).await.unwrap();
        let c = service.refresh(&b.refresh_token).await.unwrap();
        let err = service
            .logout(None, Some(&a.refresh_token), false, RecentAuth::No)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::RefreshTokenReused),
            "{name}: {err:?}"
        );
        assert!(
            !live(&service, &c).await,
            "{name}: the session survived reuse"
        );
        assert!(
            matches!(
                service.refresh(&c.refresh_token).await,
                Err(ApiError::InvalidRefreshToken)
            ),
            "{name}"
        );
    }
    let config = Config {
        refresh_reuse_grace: 0,
        ..test_config()
    };
    for (name, service) in services(config).await {
        // Without a grace window the just-rotated token is reuse too, and logout-all with it
        // ends nothing but the session it came from.
        let (email, a) = login(&service).await;
        let other = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        let b = service.refresh(&a.refresh_token).await.unwrap();
        let err = service
            .logout(None, Some(&a.refresh_token), true, RecentAuth::No)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::RefreshTokenReused),
            "{name}: {err:?}"
        );
        assert!(!live(&service, &b).await, "{name}");
        assert!(
            live(&service, &other).await,
            "{name}: a spent token ended the account's other sessions"
        );
    }
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_account_only() {
    for (name, service) in services(test_config()).await {
        let (email, a) = login(&service).await;
        let b = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        let (_, other) = login(&service).await;
        service
            .logout(None, Some(&b.refresh_token), true, RecentAuth::No)
            .await
            .unwrap();
        assert!(!live(&service, &a).await, "{name}");
        assert!(!live(&service, &b).await, "{name}");
        assert!(
            live(&service, &other).await,
            "{name}: another account was logged out"
        );
    }
}

#[tokio::test]
async fn reuse_after_grace_revokes_the_session() {
    let config = Config {
        refresh_reuse_grace: 1,
        ..test_config()
    };
    for (name, service) in services(config.clone()).await {
        let (_, a) = login(&service).await;
        let b = service.refresh(&a.refresh_token).await.unwrap();
        // Within the window: the same successor again.
        let again = service.refresh(&a.refresh_token).await.unwrap();
        assert_eq!(again.refresh_token, b.refresh_token, "{name}");
        common::pass(&service, std::time::Duration::from_millis(2100)).await;
        assert!(
            matches!(
                service.refresh(&a.refresh_token).await,
                Err(ApiError::RefreshTokenReused)
            ),
            "{name}"
        );
        assert!(!live(&service, &b).await, "{name}: session survived reuse");
        assert!(
            matches!(
                service.refresh(&b.refresh_token).await,
                Err(ApiError::InvalidRefreshToken)
            ),
            "{name}"
        );
    }
}

/// A service on `store` whose ring signs with `current` and still verifies `previous`.
fn app_with_keys(store: Arc<dyn Store>, current: &str, previous: Option<&str>) -> Service {
    use passport::kernel::config::SecretBytes;
    use passport::kernel::keys::{Key, KeyRing};
    let key = |kid: &str| {
        let secret =
            SecretBytes::new(format!("{kid}-signing-key-of-at-least-32-bytes").into_bytes());
        Key::new(kid.to_string(), &secret, kid).unwrap()
    };
    let ring = KeyRing::new(key(current), previous.map(key).into_iter().collect());
    Service::new(test_config(), ring, store)
}

/// The thief's escape (issue #12): T0 stolen and refreshed twice, the owner's T0 is then
/// refused without ending anything. Now any spent generation ends the session — here across a
/// signing-key rotation between generations, two and ten generations deep.
#[tokio::test]
async fn a_thief_who_refreshes_twice_is_caught_across_a_key_rotation() {
    for (name, store) in stores().await {
        for generations in [2, 10] {
            let before = app_with_keys(store.clone(), "key-a", None);
            let after = app_with_keys(store.clone(), "key-b", Some("key-a"));
            let (_, owner) = login(&before).await;
            // The thief refreshes the stolen token, the key rotates, the thief goes on.
            let mut thief = before.refresh(&owner.refresh_token).await.unwrap();
            for _ in 1..generations {
                thief = after.refresh(&thief.refresh_token).await.unwrap();
            }
            assert!(live(&after, &thief).await, "{name}");
            // The owner comes back with the token it still holds.
            let err = after.refresh(&owner.refresh_token).await.unwrap_err();
            assert!(
                matches!(err, ApiError::RefreshTokenReused),
                "{name}, {generations} generations: {err:?}"
            );
            assert!(
                !live(&after, &thief).await,
                "{name}: the thief's session lives on"
            );
            let err = after.refresh(&thief.refresh_token).await.unwrap_err();
            assert!(
                matches!(err, ApiError::InvalidRefreshToken),
                "{name}: {err:?}"
            );
        }
    }
}

/// The operators' `set_password` ends every session unless told to keep them.
#[tokio::test]
async fn set_password_ends_every_session_unless_kept() {
    use passport::admin::{Command, execute};
    for (name, service) in services(test_config()).await {
        let (email, a) = login(&service).await;
        let set = |keep_sessions| Command::SetPassword {
            email: email.clone(),
            password: "an operator's new password".into(),
            keep_sessions,
        };
        execute(&service, set(true)).await.unwrap();
        assert!(
            live(&service, &a).await,
            "{name}: keep_sessions ended a session"
        );
        execute(&service, set(false)).await.unwrap();
        assert!(
            !live(&service, &a).await,
            "{name}: the session outlived the new password"
        );
        assert!(service.refresh(&a.refresh_token).await.is_err(), "{name}");
    }
}

/// `POST /password`'s use case: a wrong current password is a failed login attempt (and
/// counts toward the lockout); a right one ends every other session and keeps the caller's.
#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    use passport::sessions::PasswordChange;
    let config = Config {
        login_max_failures: 2,
        ..test_config()
    };
    for (name, service) in services(config).await {
        let (email, mine) = login(&service).await;
        let theirs = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        let caller = service
            .authorize(Some(&format!("Bearer {}", mine.access_token)))
            .await
            .unwrap();
        let change = |current: &str| PasswordChange {
            current_password: current.into(),
            new_password: "my new and longer password".into(),
        };
        let here = client(&unique_ip());
        let err = service
            .change_password(&caller, change("not my password"), &here)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::InvalidCredentials),
            "{name}: {err:?}"
        );
        service
            .change_password(&caller, change(PASSWORD), &here)
            .await
            .unwrap();
        assert!(
            live(&service, &mine).await,
            "{name}: the caller's session ended"
        );
        assert!(
            !live(&service, &theirs).await,
            "{name}: another session survived"
        );
        assert!(service.refresh(&mine.refresh_token).await.is_ok(), "{name}");
        assert!(
            service.refresh(&theirs.refresh_token).await.is_err(),
            "{name}"
        );
        let old = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await;
        assert!(matches!(old, Err(ApiError::InvalidCredentials)), "{name}");
        let new = input(&email, "my new and longer password");
        assert!(
            service.login(new, &client(&unique_ip())).await.is_ok(),
            "{name}"
        );
        // Wrong current passwords count toward the lockout of this address.
        for _ in 0..2 {
            let _ = service
                .change_password(&caller, change("still not it"), &here)
                .await;
        }
        let err = service
            .change_password(&caller, change("my new and longer password"), &here)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::TooManyAttempts { .. }),
            "{name}: {err:?}"
        );
    }
}

/// A retried password change whose first run was applied (its answer lost, or not confirmed
/// by a replica in time) answers as the first would have; a wrong current password with the
/// stored one as "new" is still a wrong password.
#[tokio::test]
async fn a_retried_password_change_is_idempotent() {
    use passport::sessions::PasswordChange;
    for (name, service) in services(test_config()).await {
        let (email, mine) = login(&service).await;
        let caller = service
            .authorize(Some(&format!("Bearer {}", mine.access_token)))
            .await
            .unwrap();
        let change = |current: &str| PasswordChange {
            current_password: current.into(),
            new_password: "the changed and longer password".into(),
        };
        let here = client(&unique_ip());
        service
            .change_password(&caller, change(PASSWORD), &here)
            .await
            .unwrap();
        let again = service
            .change_password(&caller, change(PASSWORD), &here)
            .await;
        assert!(again.is_ok(), "{name}: the retry answered {again:?}");
        let wrong = service
            .change_password(&caller, change("never the password"), &here)
            .await;
        assert!(
            matches!(wrong, Err(ApiError::InvalidCredentials)),
            "{name}: {wrong:?}"
        );
        let new = input(&email, "the changed and longer password");
        assert!(
            service.login(new, &client(&unique_ip())).await.is_ok(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn disable_ends_sessions_and_refuses_login_with_403() {
    use passport::admin::{Command, execute};
    for (name, service) in services(test_config()).await {
        let (email, a) = login(&service).await;
        passport::testing::disable(&service, &email).await;
        assert!(!live(&service, &a).await, "{name}");
        assert!(service.refresh(&a.refresh_token).await.is_err(), "{name}");
        let err = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::AccountDisabled), "{name}: {err:?}");
        // The wrong password on a disabled account says nothing about its status.
        let err = service
            .login(input(&email, "wrong password!!"), &client(&unique_ip()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::InvalidCredentials),
            "{name}: {err:?}"
        );
        execute(
            &service,
            Command::Enable {
                email: email.clone(),
            },
        )
        .await
        .unwrap();
        assert!(
            service
                .login(input(&email, PASSWORD), &client(&unique_ip()))
                .await
                .is_ok(),
            "{name}"
        );
    }
}

/// A browser the server names is listed by that name alone (its raw header is not kept: a
/// smaller record, docs/scale.md); a client it cannot name keeps the start of its header.
#[tokio::test]
async fn a_named_browser_is_kept_by_its_name_and_anything_else_by_its_header() {
    for (name, service) in services(test_config()).await {
        let (email, unnamed) = login(&service).await;
        let browser = service
            .login(
                input(&email, PASSWORD),
                &passport::testing::browser_client(),
            )
            .await
            .unwrap();
        let caller = service
            .authorize(Some(&format!("Bearer {}", unnamed.access_token)))
            .await
            .unwrap();
        let list = service.sessions(&caller).await.unwrap();
        let listed = |id| list.iter().find(|s| s.id == id).unwrap();
        let b = listed(browser.session_id);
        assert_eq!(
            b.agent.as_deref(),
            Some("Chrome 131 on Windows 10"),
            "{name}"
        );
        assert_eq!(b.user_agent, None, "{name}");
        let u = listed(unnamed.session_id);
        assert_eq!(u.agent, None, "{name}");
        assert_eq!(u.user_agent.as_deref(), Some("flows-test"), "{name}");
    }
}

#[tokio::test]
async fn sessions_and_me_see_the_callers_account_only() {
    for (name, service) in services(test_config()).await {
        let (email, a) = login(&service).await;
        let b = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        let (_, stranger) = login(&service).await;
        let caller = service
            .authorize(Some(&format!("Bearer {}", a.access_token)))
            .await
            .unwrap();
        let list = service.sessions(&caller).await.unwrap();
        assert_eq!(list.len(), 2, "{name}");
        assert_eq!(service.me(&caller).await.unwrap().email, email, "{name}");
        // The authorizer's one read brought the email: /me answers from it, with no store call
        // (here an account that does not exist), and reads the account only without it.
        assert_eq!(caller.email.as_deref(), Some(email.as_str()), "{name}");
        let told = Caller {
            account: passport::kernel::ids::Id::random(),
            email: Some("from-the-authorizer@example.com".into()),
            ..caller.clone()
        };
        assert_eq!(
            service.me(&told).await.unwrap().email,
            "from-the-authorizer@example.com"
        );
        let untold = Caller {
            email: None,
            ..caller.clone()
        };
        assert_eq!(service.me(&untold).await.unwrap().email, email, "{name}");
        // Another account's session id is not found, and stays live.
        let err = service
            .revoke(&caller, &stranger.session_id.to_string())
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::NotFound), "{name}");
        assert!(live(&service, &stranger).await, "{name}");
        assert!(
            matches!(
                service.revoke(&caller, "not-an-id").await,
                Err(ApiError::NotFound)
            ),
            "{name}"
        );
        service
            .revoke(&caller, &b.session_id.to_string())
            .await
            .unwrap();
        assert!(!live(&service, &b).await, "{name}");
        assert!(live(&service, &a).await, "{name}");
    }
}
