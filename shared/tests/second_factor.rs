//! The second factor end to end on memory, Redis and (`make test`) a cluster: an authenticator
//! app set up from its enrolment as an app would read it, the sign-in's second step that cannot
//! be skipped, codes refused when replayed, out of the drift window or of another account,
//! recovery codes spent once, `acr`/`amr` for each path, an authorizer that requires `aal2`, and
//! removal only at `aal2`.
#![allow(clippy::unwrap_used)]

mod common;

use common::sign_in::{PASSWORD, client, input};
use common::{claims, send, services, unique_email, unique_ip};
use http::Method;
use passport::Service;
use passport::kernel::authentication::Acr;
use passport::kernel::caller::Caller;
use passport::kernel::error::ApiError;
use passport::kernel::mail::Message;
use passport::kernel::service::{Denied, TokenPair};
use passport::mfa::login::SecondFactor;
use passport::recent_auth::Reauthentication;
use passport::testing::{create_account, test_config};
use std::sync::Arc;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// An authenticator app: what it makes of the enrolment's secret (base32), as Google
/// Authenticator would (SHA-1, six digits, 30 seconds).
struct App(Totp);

impl App {
    fn code_at_step(&self, step: i64) -> String {
        self.0.generate((step * 30) as u64).to_string()
    }
}

fn app(secret_base32: &str) -> App {
    let bytes = Secret::try_from_base32(secret_base32)
        .unwrap()
        .as_bytes()
        .to_vec();
    App(Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes)
        .with_account_name("test")
        .build()
        .unwrap())
}

async fn caller(service: &Service, pair: &TokenPair) -> Caller {
    service
        .authorize(Some(&format!("Bearer {}", pair.access_token)))
        .await
        .unwrap()
}

fn step(service: &Service) -> i64 {
    service.clock().now() / 30
}

/// A new account with an authenticator app set up: its email, the app, its recovery codes, the
/// step its confirming code used, and the session that set it up.
async fn enrolled(service: &Service) -> (String, App, Vec<String>, i64, TokenPair) {
    let email = unique_email();
    create_account(service, &email, PASSWORD).await;
    let pair = service
        .login(input(&email, PASSWORD), &client(&unique_ip()))
        .await
        .unwrap();
    let me = caller(service, &pair).await;
    let enrolment = service.begin_totp(&me).await.unwrap();
    assert!(enrolment.otpauth_uri.contains(&enrolment.secret));
    let app = app(&enrolment.secret);
    let now = step(service);
    // A wrong first code confirms nothing.
    let wrong = if app.code_at_step(now) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(matches!(
        service.confirm_totp(&me, wrong).await,
        Err(ApiError::InvalidCode)
    ));
    let codes = service
        .confirm_totp(&me, &app.code_at_step(now))
        .await
        .unwrap()
        .recovery_codes;
    assert_eq!(codes.len(), 10);
    // Set up once: a second set-up is refused until it is removed.
    assert!(matches!(
        service.begin_totp(&me).await,
        Err(ApiError::SecondFactorExists)
    ));
    (email, app, codes, now, pair)
}

/// The challenge a one-factor sign-in of `email` answers.
async fn challenge(service: &Service, email: &str) -> String {
    match service
        .login(input(email, PASSWORD), &client(&unique_ip()))
        .await
    {
        Err(ApiError::SecondFactorRequired {
            challenge,
            expires_in,
        }) => {
            assert!(expires_in > 0);
            challenge
        }
        other => panic!("expected a second step, got {other:?}"),
    }
}

async fn complete(
    service: &Service,
    challenge: &str,
    proof: SecondFactor,
) -> Result<TokenPair, ApiError> {
    service
        .complete_sign_in(challenge, proof, &client(&unique_ip()))
        .await
}

fn refused(r: Result<TokenPair, ApiError>) -> bool {
    matches!(r, Err(ApiError::InvalidCredentials))
}

#[tokio::test]
async fn a_password_alone_gets_no_session_and_the_second_step_gives_one_at_aal2() {
    for (name, service) in services(test_config()).await {
        let (email, app, _, confirmed_at, first) = enrolled(&service).await;
        // The session that set the app up was a password's: aal1.
        assert_eq!(claims(&first.access_token)["acr"], "aal1", "{name}");
        assert_eq!(
            claims(&first.access_token)["amr"],
            serde_json::json!(["pwd"])
        );

        let c = challenge(&service, &email).await;
        // The confirming code's step is spent: the same code again is a replay.
        assert!(
            refused(
                complete(
                    &service,
                    &c,
                    SecondFactor::Totp(app.code_at_step(confirmed_at))
                )
                .await
            ),
            "{name}: replayed code accepted"
        );
        // Two steps away is out of the drift window.
        let now = step(&service);
        assert!(
            refused(complete(&service, &c, SecondFactor::Totp(app.code_at_step(now + 2))).await),
            "{name}: code outside the window accepted"
        );
        // One step ahead is within it, and later than the spent one.
        let pair = complete(&service, &c, SecondFactor::Totp(app.code_at_step(now + 1)))
            .await
            .unwrap();
        let claims = claims(&pair.access_token);
        assert_eq!(claims["acr"], "aal2", "{name}");
        assert_eq!(
            claims["amr"],
            serde_json::json!(["pwd", "otp", "mfa"]),
            "{name}"
        );
        assert_eq!(caller(&service, &pair).await.acr, Acr::Aal2, "{name}");
        // Refresh keeps both.
        let next = service.refresh(&pair.refresh_token).await.unwrap();
        let renewed = common::claims(&next.access_token);
        assert_eq!(renewed["acr"], "aal2", "{name}");
        assert_eq!(
            renewed["amr"],
            serde_json::json!(["pwd", "otp", "mfa"]),
            "{name}"
        );
        // The challenge is spent: once only.
        assert!(
            refused(complete(&service, &c, SecondFactor::Totp(app.code_at_step(now + 1))).await),
            "{name}: challenge used twice"
        );
        // And the code it took is spent for the next sign-in too.
        let again = challenge(&service, &email).await;
        assert!(
            refused(
                complete(
                    &service,
                    &again,
                    SecondFactor::Totp(app.code_at_step(now + 1))
                )
                .await
            ),
            "{name}: code used twice"
        );
    }
}

#[tokio::test]
async fn a_challenge_or_code_of_another_account_does_not_sign_in() {
    for (name, service) in services(test_config()).await {
        let (alice, alice_app, alice_codes, _, _) = enrolled(&service).await;
        let (_bob, bob_app, _, _, _) = enrolled(&service).await;
        let c = challenge(&service, &alice).await;
        let now = step(&service);
        // Bob's app's code, Bob's recovery code... on Alice's challenge: refused.
        assert!(
            refused(
                complete(
                    &service,
                    &c,
                    SecondFactor::Totp(bob_app.code_at_step(now + 1))
                )
                .await
            ),
            "{name}"
        );
        let (_, _, bob_codes, _, _) = enrolled(&service).await;
        assert!(
            refused(
                complete(
                    &service,
                    &c,
                    SecondFactor::RecoveryCode(bob_codes[0].clone())
                )
                .await
            ),
            "{name}"
        );
        // A challenge id that was never issued.
        assert!(
            refused(
                complete(
                    &service,
                    &passport::kernel::ids::Id::random().to_string(),
                    SecondFactor::Totp(alice_app.code_at_step(now + 1)),
                )
                .await
            ),
            "{name}"
        );
        assert!(refused(
            complete(&service, "not an id", SecondFactor::Totp("1".into())).await
        ));
        // Alice's own recovery code completes it (two wrong tries left it alive).
        let pair = complete(
            &service,
            &c,
            SecondFactor::RecoveryCode(alice_codes[0].clone()),
        )
        .await
        .unwrap();
        assert_eq!(claims(&pair.access_token)["acr"], "aal2", "{name}");
    }
}

#[tokio::test]
async fn a_challenge_dies_after_five_wrong_codes() {
    for (name, service) in services(test_config()).await {
        let (email, app, _, _, _) = enrolled(&service).await;
        let c = challenge(&service, &email).await;
        let now = step(&service);
        let right = app.code_at_step(now + 1);
        let wrong = if right == "123456" {
            "654321"
        } else {
            "123456"
        };
        for _ in 0..5 {
            assert!(refused(
                complete(&service, &c, SecondFactor::Totp(wrong.into())).await
            ));
        }
        assert!(
            refused(complete(&service, &c, SecondFactor::Totp(right)).await),
            "{name}: a challenge took a sixth code"
        );
    }
}

#[tokio::test]
async fn recovery_codes_are_single_use_and_a_new_set_voids_the_old() {
    for (name, service) in services(test_config()).await {
        let (email, _, codes, _, _) = enrolled(&service).await;
        let c = challenge(&service, &email).await;
        // Typed as people type them: upper case, spaces.
        let typed = codes[3].to_uppercase().replace('-', " ");
        let pair = complete(&service, &c, SecondFactor::RecoveryCode(typed))
            .await
            .unwrap();
        let me = caller(&service, &pair).await;
        assert_eq!(
            service.mfa_status(&me).await.unwrap().recovery_codes_left,
            9,
            "{name}"
        );
        let c = challenge(&service, &email).await;
        assert!(
            refused(complete(&service, &c, SecondFactor::RecoveryCode(codes[3].clone())).await),
            "{name}: a recovery code used twice"
        );
        // That session is aal2 and fresh: it may replace the set; the old codes are void.
        let fresh = service
            .replace_recovery_codes(&me)
            .await
            .unwrap()
            .recovery_codes;
        assert_eq!(
            service.mfa_status(&me).await.unwrap().recovery_codes_left,
            10
        );
        assert!(
            refused(complete(&service, &c, SecondFactor::RecoveryCode(codes[4].clone())).await),
            "{name}: an old set's code still works"
        );
        complete(&service, &c, SecondFactor::RecoveryCode(fresh[0].clone()))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn removing_the_app_or_replacing_codes_needs_two_factors_and_then_a_password_is_enough() {
    for (name, service) in services(test_config()).await {
        let (email, app, _, _, first) = enrolled(&service).await;
        // The aal1 session that set it up cannot remove it (a stolen password's session).
        let weak = caller(&service, &first).await;
        assert!(
            matches!(
                service.remove_totp(&weak).await,
                Err(ApiError::SecondFactorRequiredToChange)
            ),
            "{name}"
        );
        assert!(matches!(
            service.replace_recovery_codes(&weak).await,
            Err(ApiError::SecondFactorRequiredToChange)
        ));
        // The password alone no longer proves it is you: a stolen session and password together
        // do not reach what a reauthentication opens.
        let alone = service
            .reauthenticate(
                &weak,
                Reauthentication::Password(PASSWORD.into(), None),
                &client(&unique_ip()),
            )
            .await;
        assert!(
            matches!(alone, Err(ApiError::SecondFactorRequiredToChange)),
            "{name}: {alone:?}"
        );
        // A reauthentication with the password and a code raises it to aal2.
        let now = step(&service);
        let raised = service
            .reauthenticate(
                &weak,
                Reauthentication::Password(
                    PASSWORD.into(),
                    Some(SecondFactor::Totp(app.code_at_step(now + 1))),
                ),
                &client(&unique_ip()),
            )
            .await
            .unwrap();
        assert_eq!(raised.acr(), Acr::Aal2, "{name}");
        service.remove_totp(&weak).await.unwrap();
        let me = caller(&service, &first).await;
        assert!(!service.mfa_status(&me).await.unwrap().totp, "{name}");
        // Without a second factor, a password signs in at once (aal1).
        let pair = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        assert_eq!(claims(&pair.access_token)["acr"], "aal1", "{name}");
    }
}

#[tokio::test]
async fn an_authorizer_requiring_aal2_refuses_an_aal1_token() {
    for (name, service) in services(test_config()).await {
        let (email, app, _, _, aal1) = enrolled(&service).await;
        let strict = passport::testing::service_on(
            Arc::clone(service.store()),
            passport::Config {
                authorizer_required_acr: Acr::Aal2,
                ..test_config()
            },
        );
        let strict = strict.with_clock(service.clock().clone());
        let denied = strict
            .authorize(Some(&format!("Bearer {}", aal1.access_token)))
            .await;
        assert!(
            matches!(denied, Err(Denied::AssuranceTooLow)),
            "{name}: {denied:?}"
        );
        let c = challenge(&service, &email).await;
        let now = step(&service);
        let aal2 = complete(&service, &c, SecondFactor::Totp(app.code_at_step(now + 1)))
            .await
            .unwrap();
        let allowed = strict
            .authorize(Some(&format!("Bearer {}", aal2.access_token)))
            .await
            .unwrap();
        assert_eq!(allowed.acr, Acr::Aal2, "{name}");
    }
}

/// `POST /login` with the password, through the gateway.
async fn password_login(service: &Service, email: &str, ip: &str) -> http::Response<String> {
    let json = [("content-type", "application/json")];
    let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
    send(service, Method::POST, "/login", &json, &body, ip)
        .await
        .unwrap()
}

#[tokio::test]
async fn through_the_gateway_login_answers_the_challenge_and_login_mfa_the_pair() {
    for (name, service) in services(test_config()).await {
        let (email, app, _, _, _) = enrolled(&service).await;
        let ip = unique_ip();
        let json = [("content-type", "application/json")];
        let r = password_login(&service, &email, &ip).await;
        assert_eq!(r.status(), 403, "{name}: {}", r.body());
        let answer: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(answer["error"], "mfa_required", "{name}");
        assert!(answer.get("access_token").is_none());
        assert!(r.headers().get("set-cookie").is_none());
        let c = answer["challenge"].as_str().unwrap();
        let now = step(&service);
        let body =
            serde_json::json!({"challenge": c, "code": app.code_at_step(now + 1)}).to_string();
        let r = send(&service, Method::POST, "/login/mfa", &json, &body, &ip)
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let pair: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        let token = pair["access_token"].as_str().unwrap();
        assert_eq!(claims(token)["acr"], "aal2");
        // Both proofs at once is a bad request, not a guess.
        let body =
            serde_json::json!({"challenge": c, "code": "123456", "recovery_code": "x"}).to_string();
        let r = send(&service, Method::POST, "/login/mfa", &json, &body, &ip)
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{name}");
        // GET /mfa, through the authorizer.
        let bearer = format!("Bearer {token}");
        let r = send(
            &service,
            Method::GET,
            "/mfa",
            &[("authorization", &bearer)],
            "",
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let status: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(status["totp"], true);
        assert_eq!(status["recovery_codes_left"], 10);
    }
}

#[tokio::test]
async fn the_owner_is_mailed_when_the_second_factor_changes_or_a_recovery_code_is_used() {
    for (name, service, outgoing) in common::mailing_services().await {
        let (email, _, codes, _, _) = enrolled(&service).await;
        let page = "https://auth.example.com/app/".to_string();
        assert_eq!(
            outgoing.last(&email),
            Message::SecondFactorAdded { link: page.clone() },
            "{name}"
        );
        let c = challenge(&service, &email).await;
        let pair = complete(&service, &c, SecondFactor::RecoveryCode(codes[0].clone()))
            .await
            .unwrap();
        assert_eq!(
            outgoing.last(&email),
            Message::RecoveryCodeUsed {
                left: 9,
                link: page.clone()
            },
            "{name}"
        );
        // A wrong recovery code mails nothing.
        let before = outgoing.count();
        let c = challenge(&service, &email).await;
        assert!(refused(
            complete(&service, &c, SecondFactor::RecoveryCode(codes[0].clone())).await
        ));
        assert_eq!(outgoing.count(), before, "{name}");
        service
            .remove_totp(&caller(&service, &pair).await)
            .await
            .unwrap();
        assert_eq!(
            outgoing.last(&email),
            Message::SecondFactorRemoved { link: page },
            "{name}"
        );
    }
}

/// `MFA=required`: a password session of an account without a second factor reaches only what
/// sets one up (and who it is); signed in again with the new app's code, everything.
#[tokio::test]
async fn with_mfa_required_a_one_factor_session_can_only_set_up_a_second_factor() {
    let required = passport::Config {
        mfa_required: true,
        ..test_config()
    };
    for (name, service) in services(required).await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let ip = unique_ip();
        let json = [("content-type", "application/json")];
        let r = password_login(&service, &email, &ip).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        let pair: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        let bearer = format!("Bearer {}", pair["access_token"].as_str().unwrap());
        let auth = [("authorization", bearer.as_str())];
        let get = |path: &'static str| {
            let (service, auth, ip) = (service.clone(), auth, ip.clone());
            async move {
                send(&service, Method::GET, path, &auth, "", &ip)
                    .await
                    .unwrap()
            }
        };
        // Nothing else: not the account's apps, not a private passport's.
        let r = send(
            &service,
            Method::POST,
            "/password",
            &[auth[0], json[0]],
            "{}",
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 403, "{name}: {}", r.body());
        assert!(
            r.body().contains("mfa_enrolment_required"),
            "{name}: {}",
            r.body()
        );
        // Who it is, its sessions, and setting a second factor up.
        assert_eq!(get("/me").await.status(), 200, "{name}");
        assert_eq!(get("/sessions").await.status(), 200, "{name}");
        assert_eq!(get("/mfa").await.status(), 200, "{name}");
        let r = send(&service, Method::POST, "/mfa/totp", &auth, "", &ip)
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{name}: {}", r.body());
        let setup: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        let app = app(setup["secret"].as_str().unwrap());
        let now = step(&service);
        let body = serde_json::json!({"code": app.code_at_step(now)}).to_string();
        let r = send(
            &service,
            Method::POST,
            "/mfa/totp/confirm",
            &[auth[0], json[0]],
            &body,
            &ip,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{name}: {}", r.body());
        // Signed in again with the app's code: aal2, and the rest is open.
        let c = challenge(&service, &email).await;
        let full = complete(&service, &c, SecondFactor::Totp(app.code_at_step(now + 1)))
            .await
            .unwrap();
        let bearer = format!("Bearer {}", full.access_token);
        let body =
            serde_json::json!({"current_password": "wrong password here", "new_password": "x"})
                .to_string();
        let r = send(
            &service,
            Method::POST,
            "/password",
            &[("authorization", &bearer), json[0]],
            &body,
            &ip,
        )
        .await
        .unwrap();
        assert_ne!(r.status(), 403, "{name}: {}", r.body());
    }
}

/// An owner who lost both the app and the recovery codes: an operator removes the second
/// factor (`accounts`' `remove_second_factor`), the owner is told, and the password signs in.
#[tokio::test]
async fn an_operator_removes_a_lost_second_factor_and_the_owner_is_told() {
    for (name, service, outgoing) in common::mailing_services().await {
        let (email, _, _, _, _) = enrolled(&service).await;
        let run = |command: serde_json::Value| {
            let service = &service;
            async move {
                let command = passport::admin::parse(command).unwrap();
                passport::admin::execute(service, command).await.unwrap()
            }
        };
        let shown = run(serde_json::json!({"command": "get", "email": email})).await;
        assert_eq!(shown["account"]["second_factor"], true, "{name}");
        let removed =
            run(serde_json::json!({"command": "remove_second_factor", "email": email})).await;
        assert_eq!(removed["removed"], true, "{name}");
        assert!(matches!(
            outgoing.last(&email),
            Message::SecondFactorRemoved { .. }
        ));
        let pair = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        assert_eq!(claims(&pair.access_token)["acr"], "aal1", "{name}");
        let again =
            run(serde_json::json!({"command": "remove_second_factor", "email": email})).await;
        assert_eq!(again["removed"], false, "{name}");
    }
}
