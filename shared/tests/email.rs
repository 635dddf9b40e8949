//! What mail proves, through the route table as API Gateway runs it, on memory (a manual
//! clock), Redis and (in `make test`'s cluster stage) a Redis Cluster: sign-up and its
//! verification, password reset, sign-in with a mailed code and the email change — each
//! token single-use, bound to its purpose and account, expiring — and the mail limits. The
//! mail is what the routes queued (`passport::testing::mail::Outgoing`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![recursion_limit = "256"]

mod common;

use common::apps::{granted, json_of};
use common::{pass, send, stores, unique_code, unique_email, unique_ip};
use passport::kernel::mail::Message;
use passport::testing::mail::{Outgoing, token_of};
use passport::testing::{create_app, test_config};
use passport::{Config, Service};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const STRONG: &str = "vivid-otter-quantum-lamp-91";
const STRONGER: &str = "copper kettle whispers at dawn 7";
const PAGE: &str = "https://app.example.com/account";

fn config() -> Config {
    Config {
        app_url: Some(PAGE.into()),
        ..test_config()
    }
}

/// A service per store with `config`, and what it mails.
async fn mailing(config: Config) -> Vec<(&'static str, Arc<Service>, Outgoing)> {
    let mut out = Vec::new();
    for (name, store) in stores().await {
        let mail = Outgoing::default();
        let service = common::service_for(name, store, config.clone()).with_mail(mail.outbox());
        out.push((name, Arc::new(service), mail));
    }
    out
}

async fn post(service: &Service, path: &str, body: Value, ip: &str) -> (u16, Value) {
    let headers = [("content-type", "application/json")];
    let r = send(
        service,
        http::Method::POST,
        path,
        &headers,
        &body.to_string(),
        ip,
    )
    .await
    .unwrap();
    (r.status().as_u16(), json_of(&r))
}

async fn login(service: &Service, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"email": email, "password": password});
    post(service, "/login", body, &unique_ip()).await
}

#[tokio::test]
async fn sign_up_verifies_by_a_single_use_link_before_the_first_sign_in() {
    for (name, service, mail) in mailing(config()).await {
        let (email, ip) = (unique_email(), unique_ip());
        let body = json!({"email": email, "password": STRONG});
        let (status, answer) = post(&service, "/signup", body, &ip).await;
        assert_eq!(status, 202, "{name}: {answer}");
        let Message::VerifyEmail { link } = mail.last(&email) else {
            panic!("{name}: not a verification mail")
        };
        assert!(
            link.starts_with(&format!("{PAGE}#verify=")),
            "{name}: {link}"
        );
        // Not verified: the password is right, and the answer says what to do.
        let (status, refused) = login(&service, &email, STRONG).await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (403, Some("email_not_verified")),
            "{name}"
        );

        let token = token_of(&mail.last(&email));
        // A verification token resets nothing, and is not spent by trying.
        let wrong = json!({"token": token, "password": STRONGER});
        let (status, e) = post(&service, "/password/reset", wrong, &ip).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (400, Some("invalid_token")),
            "{name}"
        );
        // ... it was spent: the reset route took it. A new one comes by resending.
        let (status, e) = post(&service, "/email/verify", json!({"token": token}), &ip).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (400, Some("invalid_token")),
            "{name}"
        );
        let (status, _) = post(
            &service,
            "/email/verify/resend",
            json!({"email": email}),
            &ip,
        )
        .await;
        assert_eq!(status, 202, "{name}");
        let token = token_of(&mail.last(&email));
        let (status, ok) = post(&service, "/email/verify", json!({"token": token}), &ip).await;
        assert_eq!((status, &ok["email"]), (200, &json!(email)), "{name}: {ok}");
        let (status, again) = post(&service, "/email/verify", json!({"token": token}), &ip).await;
        assert_eq!(
            (status, again["error"].as_str()),
            (400, Some("invalid_token")),
            "{name}"
        );
        let (status, pair) = login(&service, &email, STRONG).await;
        assert_eq!(status, 200, "{name}: {pair}");
        // Verified: a resend mails nothing (the same answer).
        let before = mail.to(&email).len();
        let (status, _) = post(
            &service,
            "/email/verify/resend",
            json!({"email": email}),
            &ip,
        )
        .await;
        assert_eq!(status, 202, "{name}");
        assert_eq!(mail.to(&email)[before..], [Message::NoAccount], "{name}");
    }
}

#[tokio::test]
async fn signing_up_again_changes_nothing_and_mails_the_owner() {
    for (name, service, mail) in mailing(config()).await {
        let (email, ip) = (unique_email(), unique_ip());
        passport::testing::create_account(&service, &email, STRONG).await;
        let body = json!({"email": email, "password": STRONGER});
        let (status, answer) = post(&service, "/signup", body.clone(), &ip).await;
        let (fresh_status, fresh) = post(
            &service,
            "/signup",
            json!({"email": unique_email(), "password": STRONGER}),
            &ip,
        )
        .await;
        assert_eq!(
            (status, &answer),
            (fresh_status, &fresh),
            "{name}: the same answer"
        );
        assert!(
            matches!(mail.last(&email), Message::AlreadyRegistered { .. }),
            "{name}"
        );
        assert_eq!(login(&service, &email, STRONG).await.0, 200, "{name}");
        assert_eq!(login(&service, &email, STRONGER).await.0, 401, "{name}");
    }
}

#[tokio::test]
async fn sign_up_refuses_weak_passwords_with_the_reason_and_can_be_closed() {
    for (name, service, mail) in mailing(config()).await {
        let email = unique_email();
        let body = json!({"email": email, "password": "password1234"});
        let (status, e) = post(&service, "/signup", body, &unique_ip()).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (400, Some("weak_password")),
            "{name}"
        );
        assert!(
            e["message"].as_str().unwrap().contains("too easy to guess"),
            "{name}: {e}"
        );
        let body = json!({"email": "not an email", "password": STRONG});
        assert_eq!(
            post(&service, "/signup", body, &unique_ip()).await.0,
            400,
            "{name}"
        );
        assert_eq!(mail.count(), 0, "{name}");
    }
    let closed = Config {
        signup_open: false,
        ..config()
    };
    for (name, service, mail) in mailing(closed).await {
        let body = json!({"email": unique_email(), "password": STRONG});
        let (status, e) = post(&service, "/signup", body, &unique_ip()).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (403, Some("signup_closed")),
            "{name}"
        );
        assert_eq!(mail.count(), 0, "{name}");
    }
}

#[tokio::test]
async fn a_reset_sets_the_password_once_and_ends_every_session_and_private_passport() {
    for (name, service, mail) in mailing(config()).await {
        let (email, ip) = (unique_email(), unique_ip());
        passport::testing::create_account(&service, &email, STRONG).await;
        let (_, first) = login(&service, &email, STRONG).await;
        let access = first["access_token"].as_str().unwrap().to_string();
        let code = unique_code();
        create_app(&service, &code, "private").await;
        let passport = granted(&service, &code, Some(&access), None).await;
        let passport = passport["passport"].as_str().unwrap().to_string();
        assert!(
            common::apps::app_me(&service, &code, &passport)
                .await
                .is_ok(),
            "{name}"
        );

        // Unknown: the same answer, and nothing mailed.
        let (status, unknown) = post(
            &service,
            "/password/forgot",
            json!({"email": unique_email()}),
            &ip,
        )
        .await;
        let (known_status, known) =
            post(&service, "/password/forgot", json!({"email": email}), &ip).await;
        assert_eq!((status, &unknown), (known_status, &known), "{name}");
        assert_eq!(status, 202, "{name}");
        let older = token_of(&mail.last(&email));
        post(&service, "/password/forgot", json!({"email": email}), &ip).await;
        let token = token_of(&mail.last(&email));
        // A reset token verifies no address.
        let (status, _) = post(&service, "/email/verify", json!({"token": older}), &ip).await;
        assert_eq!(status, 400, "{name}");
        // Weak: refused, and the link still works.
        let weak = json!({"token": token, "password": "password1234"});
        assert_eq!(
            post(&service, "/password/reset", weak, &ip).await.0,
            400,
            "{name}"
        );
        let reset = json!({"token": token, "password": STRONGER});
        let (status, done) = post(&service, "/password/reset", reset.clone(), &ip).await;
        assert_eq!(status, 200, "{name}: {done}");
        assert!(
            matches!(mail.last(&email), Message::PasswordChanged { .. }),
            "{name}"
        );
        // Used: gone. And every other reset link died with it.
        assert_eq!(
            post(&service, "/password/reset", reset, &ip).await.0,
            400,
            "{name}"
        );
        post(&service, "/password/forgot", json!({"email": email}), &ip).await;
        let third = token_of(&mail.last(&email));
        let _ = third;
        // Every session and private passport ended; the new password signs in.
        let refresh = json!({"refresh_token": first["refresh_token"]});
        let (status, _) = post(&service, "/refresh-token", refresh, &ip).await;
        assert_eq!(status, 401, "{name}");
        assert!(
            common::apps::app_me(&service, &code, &passport)
                .await
                .is_err(),
            "{name}"
        );
        assert_eq!(login(&service, &email, STRONG).await.0, 401, "{name}");
        assert_eq!(login(&service, &email, STRONGER).await.0, 200, "{name}");
    }
}

#[tokio::test]
async fn reset_links_made_before_a_reset_or_too_long_ago_are_refused() {
    for (name, service, mail) in mailing(config()).await {
        let (email, ip) = (unique_email(), unique_ip());
        passport::testing::create_account(&service, &email, STRONG).await;
        post(&service, "/password/forgot", json!({"email": email}), &ip).await;
        let first = token_of(&mail.last(&email));
        post(&service, "/password/forgot", json!({"email": email}), &ip).await;
        let second = token_of(&mail.last(&email));
        let (status, _) = post(
            &service,
            "/password/reset",
            json!({"token": second, "password": STRONGER}),
            &ip,
        )
        .await;
        assert_eq!(status, 200, "{name}");
        let (status, e) = post(
            &service,
            "/password/reset",
            json!({"token": first, "password": STRONG}),
            &ip,
        )
        .await;
        assert_eq!(
            (status, e["error"].as_str()),
            (400, Some("invalid_token")),
            "{name}"
        );
        if name == "memory" {
            // 30 minutes on the manual clock (Redis's TTL is the same number).
            post(&service, "/password/forgot", json!({"email": email}), &ip).await;
            let late = token_of(&mail.last(&email));
            pass(&service, Duration::from_secs(30 * 60)).await;
            let body = json!({"token": late, "password": STRONG});
            assert_eq!(
                post(&service, "/password/reset", body, &ip).await.0,
                400,
                "{name}"
            );
        }
        // A token made up, or of another shape.
        for token in ["", "x", "00000000000000000000000000000000.AAAA"] {
            let body = json!({"token": token, "password": STRONG});
            assert_eq!(
                post(&service, "/password/reset", body, &ip).await.0,
                400,
                "{name}: {token}"
            );
        }
    }
}

fn code_of(message: Message) -> String {
    match message {
        Message::SignInCode { code } => code,
        other => panic!("not a code: {}", other.kind()),
    }
}

#[tokio::test]
async fn an_email_code_signs_in_once_and_dies_after_a_few_wrong_tries() {
    for (name, service, mail) in mailing(config()).await {
        let (email, ip) = (unique_email(), unique_ip());
        passport::testing::create_account(&service, &email, STRONG).await;
        let (status, _) = post(&service, "/login/email-code", json!({"email": email}), &ip).await;
        assert_eq!(status, 202, "{name}");
        let code = code_of(mail.last(&email));
        let wrong = if code == "000000" { "000001" } else { "000000" };
        // Another account's address with this code: nothing.
        let other = unique_email();
        passport::testing::create_account(&service, &other, STRONG).await;
        let verify = |email: &str, code: &str| json!({"email": email, "code": code});
        let (status, _) = post(
            &service,
            "/login/email-code/verify",
            verify(&other, &code),
            &ip,
        )
        .await;
        assert_eq!(status, 401, "{name}");
        let (status, pair) = post(
            &service,
            "/login/email-code/verify",
            verify(&email, &code),
            &ip,
        )
        .await;
        assert_eq!(status, 200, "{name}: {pair}");
        let claims = common::claims(pair["access_token"].as_str().unwrap());
        assert_eq!(claims["amr"], json!(["otp"]), "{name}");
        let (status, _) = post(
            &service,
            "/login/email-code/verify",
            verify(&email, &code),
            &ip,
        )
        .await;
        assert_eq!(status, 401, "{name}: used once");

        // Five wrong tries, then even the right code is dead.
        post(
            &service,
            "/login/email-code",
            json!({"email": email}),
            &unique_ip(),
        )
        .await;
        let code = code_of(mail.last(&email));
        for _ in 0..5 {
            let (status, _) = post(
                &service,
                "/login/email-code/verify",
                verify(&email, wrong),
                &unique_ip(),
            )
            .await;
            assert_eq!(status, 401, "{name}");
        }
        let (status, _) = post(
            &service,
            "/login/email-code/verify",
            verify(&email, &code),
            &unique_ip(),
        )
        .await;
        assert_eq!(status, 401, "{name}: dead after the tries");
        let (status, e) = post(
            &service,
            "/login/email-code/verify",
            verify(&email, "12ab56"),
            &ip,
        )
        .await;
        assert_eq!(
            (status, e["error"].as_str()),
            (400, Some("invalid_request")),
            "{name}"
        );

        if name == "memory" {
            post(
                &service,
                "/login/email-code",
                json!({"email": email}),
                &unique_ip(),
            )
            .await;
            let code = code_of(mail.last(&email));
            pass(&service, Duration::from_secs(10 * 60)).await;
            let (status, _) = post(
                &service,
                "/login/email-code/verify",
                verify(&email, &code),
                &unique_ip(),
            )
            .await;
            assert_eq!(status, 401, "{name}: expired");
        }
        // An unknown address: the same answer, nothing mailed.
        let unknown = unique_email();
        let (status, _) = post(
            &service,
            "/login/email-code",
            json!({"email": unknown}),
            &unique_ip(),
        )
        .await;
        assert_eq!(status, 202, "{name}");
        assert_eq!(mail.to(&unknown), [Message::NoAccount], "{name}");
    }
}

#[tokio::test]
async fn an_email_code_verifies_a_new_accounts_address() {
    for (name, service, mail) in mailing(config()).await {
        let email = unique_email();
        post(
            &service,
            "/signup",
            json!({"email": email, "password": STRONG}),
            &unique_ip(),
        )
        .await;
        assert_eq!(login(&service, &email, STRONG).await.0, 403, "{name}");
        post(
            &service,
            "/login/email-code",
            json!({"email": email}),
            &unique_ip(),
        )
        .await;
        let code = code_of(mail.last(&email));
        let body = json!({"email": email, "code": code});
        assert_eq!(
            post(&service, "/login/email-code/verify", body, &unique_ip())
                .await
                .0,
            200,
            "{name}"
        );
        assert_eq!(login(&service, &email, STRONG).await.0, 200, "{name}");
    }
}

#[tokio::test]
async fn mail_limits_hold_per_address_and_per_client_under_a_burst() {
    let limited = Config {
        mail_max_per_email: 3,
        mail_max_per_client: 5,
        ..config()
    };
    for (name, service, mail) in mailing(limited).await {
        // Twenty at once for one address (known or not: counted alike), each from its own client.
        let email = unique_email();
        let answers = futures_join(&service, (0..20).map(|_| (email.clone(), unique_ip()))).await;
        assert_eq!(
            answers.iter().filter(|s| **s == 202).count(),
            3,
            "{name}: {answers:?}"
        );
        assert_eq!(answers.iter().filter(|s| **s == 429).count(), 17, "{name}");
        assert_eq!(mail.to(&email).len(), 3, "{name}");
        // Twenty at once from one client, each for its own address.
        let ip = unique_ip();
        let answers = futures_join(&service, (0..20).map(|_| (unique_email(), ip.clone()))).await;
        assert_eq!(
            answers.iter().filter(|s| **s == 202).count(),
            5,
            "{name}: {answers:?}"
        );
    }
}

async fn futures_join(
    service: &Arc<Service>,
    requests: impl Iterator<Item = (String, String)>,
) -> Vec<u16> {
    let tasks: Vec<_> = requests
        .map(|(email, ip)| {
            let service = Arc::clone(service);
            tokio::spawn(async move {
                post(&service, "/password/forgot", json!({"email": email}), &ip)
                    .await
                    .0
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_email_moves_only_when_the_new_address_confirms() {
    for (name, service, mail) in mailing(config()).await {
        let (email, ip) = (unique_email(), unique_ip());
        passport::testing::create_account(&service, &email, STRONG).await;
        let (_, pair) = login(&service, &email, STRONG).await;
        let bearer = format!("Bearer {}", pair["access_token"].as_str().unwrap());
        let headers = [
            ("content-type", "application/json"),
            ("authorization", bearer.as_str()),
        ];
        let new = unique_email();
        let change = json!({"email": new}).to_string();
        let r = send(
            &service,
            http::Method::POST,
            "/email",
            &headers,
            &change,
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(json_of(&r)["error"], "reauthentication_required", "{name}");
        let proof = json!({"password": STRONG}).to_string();
        let r = send(
            &service,
            http::Method::POST,
            "/reauthenticate",
            &headers,
            &proof,
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        let r = send(
            &service,
            http::Method::POST,
            "/email",
            &headers,
            &change,
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 202, "{name}: {}", r.body());
        assert!(
            matches!(mail.last(&email), Message::EmailChangeRequested { .. }),
            "{name}"
        );
        let token = token_of(&mail.last(&new));
        // Nothing moved yet.
        assert_eq!(login(&service, &new, STRONG).await.0, 401, "{name}");
        // A confirmation token verifies nothing else.
        assert_eq!(
            post(&service, "/email/verify", json!({"token": token}), &ip)
                .await
                .0,
            400,
            "{name}"
        );
        let r = send(
            &service,
            http::Method::POST,
            "/email",
            &headers,
            &change,
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(
            r.status(),
            202,
            "{name}: the grant was not spent by a request"
        );
        let token = token_of(&mail.last(&new));
        let (status, moved) = post(&service, "/email/confirm", json!({"token": token}), &ip).await;
        assert_eq!(
            (status, &moved["email"]),
            (200, &json!(new)),
            "{name}: {moved}"
        );
        assert_eq!(login(&service, &new, STRONG).await.0, 200, "{name}");
        assert_eq!(login(&service, &email, STRONG).await.0, 401, "{name}");
        let r = send(&service, http::Method::GET, "/me", &headers, "", &ip)
            .await
            .unwrap();
        assert_eq!(
            json_of(&r)["email"],
            json!(new),
            "{name}: the session's copy moved"
        );
        assert_eq!(
            post(&service, "/email/confirm", json!({"token": token}), &ip)
                .await
                .0,
            400,
            "{name}"
        );

        // Into an address another account has: refused at confirmation.
        let taken = unique_email();
        passport::testing::create_account(&service, &taken, STRONG).await;
        let r = send(
            &service,
            http::Method::POST,
            "/reauthenticate",
            &headers,
            &proof,
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        let to_taken = json!({"email": taken}).to_string();
        let r = send(
            &service,
            http::Method::POST,
            "/email",
            &headers,
            &to_taken,
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 202, "{name}");
        let token = token_of(&mail.last(&taken));
        let (status, e) = post(&service, "/email/confirm", json!({"token": token}), &ip).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (409, Some("email_taken")),
            "{name}"
        );
        assert_eq!(
            login(&service, &taken, STRONG).await.0,
            200,
            "{name}: untouched"
        );
    }
}

#[tokio::test]
async fn without_an_outbox_the_mailing_routes_say_what_is_missing() {
    for (name, store) in stores().await {
        let service = common::service_for(name, store, config());
        let body = json!({"email": unique_email(), "password": STRONG});
        let (status, e) = post(&service, "/signup", body, &unique_ip()).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (404, Some("not_configured")),
            "{name}"
        );
    }
}

#[tokio::test]
async fn tokens_say_whether_the_address_is_verified_and_a_refresh_learns_it() {
    let lenient = Config {
        require_verified_email: false,
        ..config()
    };
    for (name, service, mail) in mailing(lenient).await {
        let (email, ip) = (unique_email(), unique_ip());
        let body = json!({"email": email, "password": STRONG});
        post(&service, "/signup", body, &ip).await;
        let (status, pair) = login(&service, &email, STRONG).await;
        assert_eq!(
            status, 200,
            "{name}: REQUIRE_VERIFIED_EMAIL=false lets it in"
        );
        let access = pair["access_token"].as_str().unwrap();
        assert_eq!(
            common::claims(access)["email_verified"],
            json!(false),
            "{name}"
        );
        let token = token_of(&mail.last(&email));
        post(&service, "/email/verify", json!({"token": token}), &ip).await;
        let refresh = json!({"refresh_token": pair["refresh_token"]});
        let (status, renewed) = post(&service, "/refresh-token", refresh, &ip).await;
        assert_eq!(status, 200, "{name}: {renewed}");
        let access = renewed["access_token"].as_str().unwrap();
        assert_eq!(
            common::claims(access)["email_verified"],
            json!(true),
            "{name}"
        );
        assert_eq!(common::claims(access)["amr"], json!(["pwd"]), "{name}");
    }
}
