//! Each security event is one JSON line with its stable `event`, the ids, and a CloudWatch
//! Embedded Metric Format block naming its metric — on both stores, never with a secret in it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{stores, unique_email, unique_ip};
use passport::Service;
use passport::kernel::authentication::RecentAuth;
use passport::kernel::config::Config;
use passport::kernel::security_events::{NAMESPACE, SecurityEvent};
use passport::kernel::service::{ClientInfo, TokenPair};
use passport::sessions::{LoginInput, PasswordChange};
use passport::testing::{create_account, service_on, test_config};
use serde_json::Value;
use std::sync::{Arc, Mutex};

const PASSWORD: &str = "security events password";

type Lines = Arc<Mutex<Vec<String>>>;

async fn services(config: Config) -> Vec<(&'static str, Service, Lines)> {
    let mut out = Vec::new();
    for (name, store) in stores().await {
        let lines: Lines = Arc::default();
        let sink = lines.clone();
        let service =
            service_on(store, config.clone()).with_event_sink(Arc::new(move |l: &str| {
                sink.lock().unwrap().push(l.to_string())
            }));
        out.push((name, service, lines));
    }
    out
}

fn client() -> ClientInfo {
    ClientInfo {
        ip: Some(unique_ip()),
        user_agent: None,
    }
}

async fn login(service: &Service, email: &str) -> TokenPair {
    login_as(service, email, PASSWORD).await
}

async fn login_as(service: &Service, email: &str, password: &str) -> TokenPair {
    let input = LoginInput::new(email, password);
    service.login(input, &client()).await.unwrap()
}

/// A sink that keeps its lines in `lines`.
fn service_sink(lines: &Lines) -> passport::kernel::security_events::EventSink {
    let sink = lines.clone();
    Arc::new(move |l: &str| sink.lock().unwrap().push(l.to_string()))
}

/// The lines for `event`, parsed and checked for their metric.
fn events(lines: &Lines, event: SecurityEvent) -> Vec<Value> {
    lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event"] == event.name())
        .inspect(|v| {
            let m = &v["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(m["Namespace"], NAMESPACE);
            assert_eq!(m["Metrics"][0]["Name"], event.name());
            assert_eq!(m["Metrics"][0]["Unit"], "Count");
            assert_eq!(v[event.name()], 1);
            assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
        })
        .collect()
}

#[tokio::test]
async fn every_security_event_is_one_json_line_with_its_metric() {
    let config = Config {
        login_max_failures: 1,
        refresh_reuse_grace: 0,
        ..test_config()
    };
    for (name, service, lines) in services(config).await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let pair = login(&service, &email).await;
        let caller = service
            .authorize(Some(&format!("Bearer {}", pair.access_token)))
            .await
            .unwrap();
        let (account, session) = (caller.account.to_string(), caller.session.to_string());

        // refresh_token_reused
        let next = service.refresh(&pair.refresh_token).await.unwrap();
        assert!(service.refresh(&pair.refresh_token).await.is_err());
        let reused = events(&lines, SecurityEvent::RefreshTokenReused);
        assert_eq!(reused.len(), 1, "{name}");
        assert_eq!(
            (reused[0]["account"].as_str(), reused[0]["session"].as_str()),
            (Some(account.as_str()), Some(session.as_str()))
        );
        let _ = next;

        // login_locked
        let ip = client();
        let wrong = || LoginInput::new(email.clone(), "wrong wrong wrong");
        let _ = service.login(wrong(), &ip).await;
        let _ = service.login(wrong(), &ip).await;
        let locked = events(&lines, SecurityEvent::LoginLocked);
        assert_eq!(locked.len(), 1, "{name}");
        assert_eq!(
            locked[0]["account"].as_str(),
            Some(account.as_str()),
            "{name}"
        );
        assert_eq!(locked[0]["limit"], "account_and_address", "{name}");

        // password_changed + sessions_revoked (by the owner)
        let mine = login(&service, &email).await;
        let me = service
            .authorize(Some(&format!("Bearer {}", mine.access_token)))
            .await
            .unwrap();
        let change = PasswordChange {
            current_password: PASSWORD.into(),
            new_password: PASSWORD.into(),
        };
        service
            .change_password(&me, change, &client())
            .await
            .unwrap();
        let changed = events(&lines, SecurityEvent::PasswordChanged);
        assert_eq!(changed.len(), 1, "{name}");
        assert_eq!(changed[0]["by"], "owner", "{name}");
        let revoked = events(&lines, SecurityEvent::SessionsRevoked);
        assert_eq!(
            revoked.last().unwrap()["reason"],
            "password_changed",
            "{name}"
        );

        // sessions_revoked (logout everywhere)
        service
            .logout(Some(&mine.access_token), None, true, RecentAuth::No)
            .await
            .unwrap();
        let revoked = events(&lines, SecurityEvent::SessionsRevoked);
        assert_eq!(revoked.last().unwrap()["reason"], "logout_all", "{name}");
        assert_eq!(
            revoked.last().unwrap()["account"].as_str(),
            Some(account.as_str())
        );

        // account_disabled + sessions_revoked (an operator)
        passport::testing::disable(&service, &email).await;
        let disabled = events(&lines, SecurityEvent::AccountDisabled);
        assert_eq!(disabled.len(), 1, "{name}");
        assert_eq!(
            disabled[0]["account"].as_str(),
            Some(account.as_str()),
            "{name}"
        );
        let revoked = events(&lines, SecurityEvent::SessionsRevoked);
        assert_eq!(
            revoked.last().unwrap()["reason"],
            "account_disabled",
            "{name}"
        );

        // account_created, email_verified, email_changed (mail's proofs)
        let mail = passport::testing::mail::Outgoing::default();
        let mailing = passport::testing::service_on(
            service.store().clone(),
            Config {
                app_url: Some("https://app.example.com/".into()),
                ..test_config()
            },
        )
        .with_event_sink(service_sink(&lines))
        .with_mail(mail.outbox());
        let new = common::unique_email();
        mailing
            .sign_up(&new, "vivid-otter-quantum-lamp-91".into(), &client())
            .await
            .unwrap();
        let created = events(&lines, SecurityEvent::AccountCreated);
        assert_eq!(created.last().unwrap()["by"], "signup", "{name}");
        let token = passport::testing::mail::token_of(&mail.last(&new));
        mailing.verify_email(&token).await.unwrap();
        assert_eq!(
            events(&lines, SecurityEvent::EmailVerified).len(),
            1,
            "{name}"
        );
        let caller = mailing
            .authorize(Some(&format!(
                "Bearer {}",
                login_as(&mailing, &new, "vivid-otter-quantum-lamp-91")
                    .await
                    .access_token
            )))
            .await
            .unwrap();
        let moved = common::unique_email();
        mailing
            .request_email_change(&caller, &moved, &client())
            .await
            .unwrap();
        let token = passport::testing::mail::token_of(&mail.last(&moved));
        mailing.confirm_email_change(&token).await.unwrap();
        let changed = events(&lines, SecurityEvent::EmailChanged);
        assert_eq!(
            changed.last().unwrap()["account"].as_str(),
            Some(caller.account.to_string().as_str()),
            "{name}"
        );

        // federated_sign_in_refused, account_created and identity_linked (a first federated
        // sign-in), identity_unlinked (#37), against the local OpenID Provider.
        let fed = service_on(
            service.store().clone(),
            common::op::config_with(test_config()).await,
        )
        .with_event_sink(service_sink(&lines));
        let who = common::op::login_name("events");
        let (back, _) = common::op::at_provider(&fed, "", &who).await;
        let refused = common::op::callback(&fed, &back, None).await;
        assert_eq!(refused.status(), 400, "{name}");
        let refusals = events(&lines, SecurityEvent::FederatedSignInRefused);
        assert_eq!(refusals.last().unwrap()["reason"], "state_cookie", "{name}");
        let token = common::op::federated(&fed, &who).await;
        assert_eq!(
            events(&lines, SecurityEvent::AccountCreated)
                .last()
                .unwrap()["by"],
            "federation",
            "{name}"
        );
        let caller = fed
            .authorize(Some(&common::op::bearer(&token)))
            .await
            .unwrap();
        common::op::give_password(&fed, &who, PASSWORD).await;
        fed.oauth_unlink(&caller, "test").await.unwrap();
        let unlinked = events(&lines, SecurityEvent::IdentityUnlinked);
        assert_eq!(
            unlinked.last().unwrap()["account"].as_str(),
            Some(caller.account.to_string().as_str()),
            "{name}"
        );

        // Nothing secret in any line.
        for l in lines.lock().unwrap().iter() {
            for secret in [
                pair.refresh_token.as_str(),
                pair.access_token.as_str(),
                mine.refresh_token.as_str(),
                mine.access_token.as_str(),
                PASSWORD,
            ] {
                assert!(!l.contains(secret), "{name}: a secret in {l}");
            }
        }
        // Every kind was seen.
        for e in SecurityEvent::ALL {
            assert!(!events(&lines, e).is_empty(), "{name}: no {}", e.name());
        }
    }
}
