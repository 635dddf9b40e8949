//! Sign-in with an identity provider, against a real OpenID Provider (`oidc-provider`, started
//! by `make test`), on memory, Redis and (`make test`) a cluster: the whole flow through the
//! route table, linking by `(iss, sub)` only, and every refusal — a wrong, replayed or foreign
//! state, a missing cookie, an ID token with another nonce, audience or issuer, expired, or
//! signed off the allow-list, an unlisted `return_to`, a code traded twice, and an existing
//! account's address without proof of ownership.
#![allow(clippy::unwrap_used)]

mod common;

use common::op::{
    self, PAGE, at_provider, bearer, body, callback, federated, flow, fragment, get, location,
    login_name, start, start_from, trade,
};
use common::sign_in::{PASSWORD, client, input};
use common::{claims, send, service_for, stores, unique_email, unique_ip};
use http::{Method, StatusCode};
use passport::Service;
use passport::kernel::activity::Activity;
use passport::testing::create_account;
use serde_json::json;

async fn services() -> Vec<(&'static str, Service)> {
    let mut out = Vec::new();
    for (name, store) in stores().await {
        out.push((name, service_for(name, store, op::config().await)));
    }
    out
}

#[tokio::test]
async fn a_first_sign_in_makes_an_account_and_the_next_finds_it_by_its_subject() {
    for (name, service) in services().await {
        let login = login_name("alice");
        // Back to the page (the default `return_to`).
        let back = flow(&service, &login_name("someone")).await;
        assert!(
            location(&back).starts_with(&format!("{PAGE}#oauth=")),
            "{name}"
        );
        let first = federated(&service, &login).await;
        let c = claims(first["access_token"].as_str().unwrap());
        assert_eq!(c["amr"], json!(["fed"]), "{name}");
        assert_eq!(c["acr"], "aal1", "{name}");
        let account = c["sub"].as_str().unwrap().to_string();
        // The account is the provider's verified address, with no password.
        let me = get(&service, "/me", &[("authorization", &bearer(&first))]).await;
        assert_eq!(body(&me)["email"], login, "{name}");
        let links = get(
            &service,
            "/oauth/links",
            &[("authorization", &bearer(&first))],
        )
        .await;
        let links = body(&links)["links"].clone();
        assert_eq!(links.as_array().unwrap().len(), 1, "{name}");
        assert_eq!(links[0]["provider"], "test", "{name}");
        assert_eq!(links[0]["email"], login, "{name}");
        // The same person again: the same account.
        let again = federated(&service, &login).await;
        let c = claims(again["access_token"].as_str().unwrap());
        assert_eq!(c["sub"], account, "{name}");
        // A federated session is a session: it refreshes.
        let r = send(
            &service,
            Method::POST,
            "/refresh-token",
            &[("content-type", "application/json")],
            &json!({"refresh_token": again["refresh_token"]}).to_string(),
            "198.51.100.7",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{name}: {}", r.body());
        assert_eq!(
            claims(body(&r)["access_token"].as_str().unwrap())["amr"],
            json!(["fed"])
        );
        let kinds: Vec<Activity> = service
            .store()
            .activity(account.parse().unwrap())
            .await
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [Activity::SignIn, Activity::SignIn, Activity::IdentityLinked],
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_state_is_single_use_and_tied_to_the_browser_that_started() {
    for (name, service) in services().await {
        let login = login_name("bob");
        // Replayed: the first callback spends the state.
        let (back, cookie) = at_provider(&service, "", &login).await;
        let first = callback(&service, &back, Some(&cookie)).await;
        assert!(fragment(&first, "oauth").is_some(), "{name}");
        let cleared = first.headers()["set-cookie"].to_str().unwrap();
        assert!(cleared.contains("Max-Age=0"), "{name}: {cleared}");
        let replay = callback(&service, &back, Some(&cookie)).await;
        assert_eq!(body(&replay)["error"], "invalid_oauth_state", "{name}");
        // No cookie: another browser (a login CSRF), refused; and the state is spent.
        let (back, cookie) = at_provider(&service, "", &login).await;
        let r = callback(&service, &back, None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(body(&r)["error"], "invalid_oauth_state", "{name}");
        let r = callback(&service, &back, Some(&cookie)).await;
        assert_eq!(body(&r)["error"], "invalid_oauth_state", "{name}");
        // Another flow's cookie.
        let (back, _) = at_provider(&service, "", &login).await;
        let (_, other) = at_provider(&service, "", &login).await;
        let r = callback(&service, &back, Some(&other)).await;
        assert_eq!(body(&r)["error"], "invalid_oauth_state", "{name}");
        // A state that was never given.
        let (back, cookie) = at_provider(&service, "", &login).await;
        let forged = back
            .replace("state=", "state=0")
            .replace("state=0", "state=AAAA");
        let r = callback(&service, &forged, Some(&cookie)).await;
        assert_eq!(body(&r)["error"], "invalid_oauth_state", "{name}");
    }
}

#[tokio::test]
async fn an_id_token_wrong_in_any_one_way_signs_nobody_in() {
    for (name, service) in services().await {
        // The test provider makes the ID token wrong in the way the address's local part says,
        // re-signed with its own key (infra/test/oidc-provider.mjs).
        for fault in [
            "nonce-wrong",
            "aud-other",
            "iss-other",
            "expired",
            "alg-hs256",
        ] {
            let login = format!("{fault}@{}", &unique_email()[5..]);
            let r = flow(&service, &login).await;
            assert_eq!(r.status(), StatusCode::FOUND, "{name} {fault}");
            assert_eq!(
                fragment(&r, "oauth_error").as_deref(),
                Some("id_token_refused"),
                "{name} {fault}: {}",
                location(&r)
            );
        }
        // The provider's own answer names another issuer (RFC 9207): a mix-up, refused.
        let (back, cookie) = at_provider(&service, "", &login_name("carol")).await;
        let mixed = back.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=");
        let r = callback(&service, &mixed, Some(&cookie)).await;
        assert_eq!(
            fragment(&r, "oauth_error").as_deref(),
            Some("wrong_issuer"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn only_listed_pages_are_returned_to() {
    for (name, service) in services().await {
        for bad in [
            "https://evil.example/app/",
            "https://auth.example.com/app/?x=1",
            "https://auth.example.com/other/",
            "https://auth.example.com.evil.example/app/",
            "javascript:alert(1)",
        ] {
            let q = format!("?return_to={}", urlencode(bad));
            let r = start(&service, &q).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name} {bad}");
            assert_eq!(body(&r)["error"], "invalid_return_to", "{name} {bad}");
        }
        let q = format!("?return_to={}", urlencode(PAGE));
        assert_eq!(
            start(&service, &q).await.status(),
            StatusCode::FOUND,
            "{name}"
        );
        let r = start(&service, "").await;
        assert_eq!(r.status(), StatusCode::FOUND, "{name}");
        let r = get(&service, "/oauth/nobody/start", &[]).await;
        assert_eq!(body(&r)["error"], "unknown_provider", "{name}");
    }
}

/// One address starts at most `CEREMONIES_MAX_PER_CLIENT` flows per 10 minutes (each keeps a
/// state for 10 minutes), then 429 `rate_limited`; another address is not held up.
#[tokio::test]
async fn flows_are_bounded_per_client_address() {
    let base = passport::Config {
        ceremonies_max_per_client: 2,
        ..passport::testing::test_config()
    };
    let config = op::config_with(base).await;
    for (name, store) in stores().await {
        let service = service_for(name, store, config.clone());
        let ip = unique_ip();
        for n in 1..=2 {
            assert_eq!(
                start_from(&service, "", &ip).await.status(),
                StatusCode::FOUND,
                "{name} {n}"
            );
        }
        let r = start_from(&service, "", &ip).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
        assert_eq!(body(&r)["error"], "rate_limited", "{name}");
        assert!(r.headers().contains_key("retry-after"), "{name}");
        assert_eq!(
            start_from(&service, "", &unique_ip()).await.status(),
            StatusCode::FOUND,
            "{name}"
        );
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_code_is_traded_once() {
    for (name, service) in services().await {
        let back = flow(&service, &login_name("dave")).await;
        let code = fragment(&back, "oauth").unwrap();
        assert_eq!(
            trade(&service, &code).await.status(),
            StatusCode::OK,
            "{name}"
        );
        let again = trade(&service, &code).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(body(&again)["error"], "invalid_oauth_code", "{name}");
        let r = trade(&service, "not-a-code").await;
        assert_eq!(body(&r)["error"], "invalid_oauth_code", "{name}");
        // Past its 30 seconds (the in-memory store's clock is the test's to move; Redis's
        // expiry is its own, `EX`, and the same code path).
        if name == "memory" {
            let back = flow(&service, &login_name("dave")).await;
            let code = fragment(&back, "oauth").unwrap();
            common::pass(&service, std::time::Duration::from_secs(31)).await;
            let late = trade(&service, &code).await;
            assert_eq!(body(&late)["error"], "invalid_oauth_code", "{name}");
        }
    }
}

#[tokio::test]
async fn an_existing_address_is_never_joined_without_its_owner() {
    for (name, service) in services().await {
        // An account with a password has this address; the provider vouches for the same one.
        let email = login_name("erin");
        create_account(&service, &email, PASSWORD).await;
        let r = flow(&service, &email).await;
        assert_eq!(
            fragment(&r, "oauth_error").as_deref(),
            Some("account_exists"),
            "{name}"
        );
        let account = service.store().account_id(&email).await.unwrap().unwrap();
        assert!(
            service
                .store()
                .identities(account)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        // Its owner signs in with the password, and connects the provider.
        let pair = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        let auth = format!("Bearer {}", pair.access_token);
        let ticket = send(
            &service,
            Method::POST,
            "/oauth/test/link",
            &[("authorization", &auth)],
            "",
            "198.51.100.7",
        )
        .await
        .unwrap();
        assert_eq!(ticket.status(), StatusCode::OK, "{name}: {}", ticket.body());
        let ticket = body(&ticket)["ticket"].as_str().unwrap().to_string();
        let (back, cookie) = at_provider(&service, &format!("?link={ticket}"), &email).await;
        let r = callback(&service, &back, Some(&cookie)).await;
        assert_eq!(
            fragment(&r, "oauth_linked").as_deref(),
            Some("test"),
            "{name}"
        );
        // A ticket is spent by its start.
        let r = start(&service, &format!("?link={ticket}")).await;
        assert_eq!(body(&r)["error"], "invalid_oauth_state", "{name}");
        // Now the provider signs into that account.
        let t = federated(&service, &email).await;
        assert_eq!(
            claims(t["access_token"].as_str().unwrap())["sub"],
            account.to_string(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn unlinking_ends_the_providers_sessions_and_never_the_last_way_in() {
    for (name, service) in services().await {
        let login = login_name("frank");
        let t = federated(&service, &login).await;
        let account: passport::kernel::ids::Id = claims(t["access_token"].as_str().unwrap())["sub"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let auth = bearer(&t);
        // The provider is this account's only way in: kept.
        let r = op::unlink(&service, &auth).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{name}: {}", r.body());
        assert_eq!(body(&r)["error"], "last_sign_in_method", "{name}");
        // With a password too (set by an operator), it goes, and its sessions with it; a
        // password session stays.
        op::give_password(&service, &login, PASSWORD).await;
        let fed = federated(&service, &login).await;
        let pwd = service
            .login(input(&login, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap();
        let auth = bearer(&fed);
        let r = op::unlink(&service, &auth).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{name}: {}", r.body());
        let live = get(
            &service,
            "/sessions",
            &[("authorization", &format!("Bearer {}", pwd.access_token))],
        )
        .await;
        let live: Vec<String> = body(&live)["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["session_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(live, [pwd.session_id.to_string()], "{name}");
        assert!(
            service
                .store()
                .identities(account)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        // The identity is free again: a new sign-in with it is refused as the address's
        // account exists (it is not rejoined silently).
        let r = flow(&service, &login).await;
        assert_eq!(
            fragment(&r, "oauth_error").as_deref(),
            Some("account_exists"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_a_bad_gateway_not_a_fault() {
    // A port nothing listens on: discovery fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = passport::Config {
        public_base_url: Some(op::BASE.into()),
        oidc_providers: Some(
            json!([{"name": "test", "issuer": issuer, "client_id": "c"}]).to_string(),
        ),
        oidc_client_secrets: Some(passport::kernel::config::SecretBytes::new(
            br#"{"test": "s"}"#.to_vec(),
        )),
        ..passport::testing::test_config()
    };
    for (name, store) in stores().await {
        let service = service_for(name, store, config.clone());
        let r = start(&service, "").await;
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY, "{name}");
        assert_eq!(body(&r)["error"], "provider_unavailable", "{name}");
    }
}

#[tokio::test]
async fn an_account_with_a_second_factor_is_asked_for_it_after_the_provider() {
    for (name, service) in services().await {
        let login = login_name("grace");
        let t = federated(&service, &login).await;
        let me = service.authorize(Some(&bearer(&t))).await.unwrap();
        let enrolment = service.begin_totp(&me).await.unwrap();
        let secret = totp_rs::Secret::try_from_base32(&enrolment.secret)
            .unwrap()
            .as_bytes()
            .to_vec();
        let app = totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(6)
            .with_step_duration(30)
            .with_secret(secret)
            .with_account_name("test")
            .build()
            .unwrap();
        let step = service.clock().now() / 30;
        let code = |s: i64| app.generate((s * 30) as u64).to_string();
        service.confirm_totp(&me, &code(step)).await.unwrap();
        // The provider alone is one factor: no tokens, a challenge.
        let back = flow(&service, &login).await;
        let code_back = fragment(&back, "oauth").unwrap_or_else(|| panic!("{}", location(&back)));
        let r = trade(&service, &code_back).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{name}: {}", r.body());
        assert_eq!(body(&r)["error"], "mfa_required", "{name}");
        let challenge = body(&r)["challenge"].as_str().unwrap().to_string();
        let pair = service
            .complete_sign_in(
                &challenge,
                passport::mfa::login::SecondFactor::Totp(code(step + 1)),
                &client(&unique_ip()),
            )
            .await
            .unwrap();
        let c = claims(&pair.access_token);
        assert_eq!(c["amr"], json!(["fed", "otp", "mfa"]), "{name}");
        assert_eq!(c["acr"], "aal2", "{name}");
        // That session, too, was the provider's: disconnecting it (with a password set) ends it.
        op::give_password(&service, &login, PASSWORD).await;
        let caller = service
            .authorize(Some(&format!("Bearer {}", pair.access_token)))
            .await
            .unwrap();
        service.oauth_unlink(&caller, "test").await.unwrap();
        assert!(
            service
                .authorize(Some(&format!("Bearer {}", pair.access_token)))
                .await
                .is_err(),
            "{name}"
        );
    }
}
