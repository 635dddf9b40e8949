//! The login limits on both stores: lockouts per account and address and per account, bursts,
//! the real client behind a proxy, an address over its own limit.
#![allow(clippy::unwrap_used)]

mod common;

use common::sign_in::{PASSWORD, client, input, refused_logins};
use common::{services, unique_email, unique_ip};
use passport::Service;
use passport::kernel::config::Config;
use passport::kernel::error::ApiError;
use passport::kernel::service::ClientInfo;
use passport::testing::{create_account, test_config};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn lockout_after_max_failures_even_with_the_right_password() {
    let config = Config {
        login_max_failures: 3,
        ..test_config()
    };
    for (name, service) in services(config.clone()).await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let ip = client(&unique_ip());
        refused_logins(&service, name, &email, "wrong password!!", &ip, 3).await;
        match service.login(input(&email, PASSWORD), &ip).await {
            Err(ApiError::TooManyAttempts { retry_after }) => {
                assert!(
                    (1..=config.login_lockout_seconds).contains(&retry_after),
                    "{name}: {retry_after}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
        // Unknown emails lock out the same way: the lockout says nothing about existence.
        let ghost = unique_email();
        refused_logins(&service, name, &ghost, PASSWORD, &ip, 3).await;
        assert!(
            matches!(
                service.login(input(&ghost, PASSWORD), &ip).await,
                Err(ApiError::TooManyAttempts { .. })
            ),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_successful_login_clears_the_count() {
    let config = Config {
        login_max_failures: 3,
        ..test_config()
    };
    for (name, service) in services(config).await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let ip = client(&unique_ip());
        for round in 0..2 {
            for _ in 0..2 {
                assert!(
                    service
                        .login(input(&email, "wrong password!!"), &ip)
                        .await
                        .is_err()
                );
            }
            assert!(
                service.login(input(&email, PASSWORD), &ip).await.is_ok(),
                "{name}: round {round}"
            );
        }
    }
}

/// A burst of parallel wrong logins cannot pass a limit: each attempt is counted in the gate,
/// before its password check, and given back only on success.
#[tokio::test]
async fn a_concurrent_burst_cannot_pass_the_login_limits() {
    let config = Config {
        login_ip_max_failures: 5,
        login_max_failures: 5,
        login_account_max_failures: 5,
        ..test_config()
    };
    for (name, service) in services(config).await {
        let burst = |attempts: Vec<(String, ClientInfo)>| {
            let service = Arc::clone(&service);
            async move {
                let tasks: Vec<_> = attempts
                    .into_iter()
                    .map(|(email, from)| {
                        let service = Arc::clone(&service);
                        tokio::spawn(async move {
                            service
                                .login(input(&email, "a wrong guess, long enough"), &from)
                                .await
                        })
                    })
                    .collect();
                let mut checked = 0;
                for t in tasks {
                    match t.await.unwrap() {
                        Err(ApiError::InvalidCredentials) => checked += 1,
                        Err(ApiError::TooManyAttempts { .. }) => {}
                        other => panic!("{other:?}"),
                    }
                }
                checked
            }
        };
        // One address, forty emails: the per-address limit.
        let from = client(&unique_ip());
        let checked = burst((0..40).map(|_| (unique_email(), from.clone())).collect()).await;
        assert_eq!(
            checked, 5,
            "{name}: wrong passwords checked from one address"
        );
        // One account, forty addresses: the account-wide limit.
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let checked = burst(
            (0..40)
                .map(|_| (email.clone(), client(&unique_ip())))
                .collect(),
        )
        .await;
        assert_eq!(
            checked, 5,
            "{name}: wrong passwords checked for one account"
        );
        // A right password gives its reservation back: ten logins from one address pass a
        // limit of five.
        let (email, home) = (unique_email(), client(&unique_ip()));
        create_account(&service, &email, PASSWORD).await;
        for round in 0..10 {
            let ok = service.login(input(&email, PASSWORD), &home).await;
            assert!(ok.is_ok(), "{name}: round {round}: {ok:?}");
        }
    }
}

/// Per-address limits count an IPv6 client by its /64 (one host holds a whole one) and, behind
/// the deployment's CloudFront, by the viewer's address — only when the request carries the
/// origin secret.
#[tokio::test]
async fn per_address_limits_see_the_real_client() {
    use passport::kernel::config::SecretBytes;
    const SECRET: &str = "the origin secret cloudfront adds, long enough";
    let config = Config {
        login_ip_max_failures: 3,
        ipv6_limit_prefix: 64,
        trusted_origin_secret: Some(SecretBytes::new(SECRET.as_bytes().to_vec())),
        ..test_config()
    };
    let wrong =
        |email: &str| json!({"email": email, "password": "not the password at all"}).to_string();
    let login = async |service: &Service, headers: &[(&str, &str)], ip: &str| {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        let r = common::send(
            service,
            http::Method::POST,
            "/login",
            &h,
            &wrong(&unique_email()),
            ip,
        )
        .await
        .unwrap();
        r.status().as_u16()
    };
    // A /64 no other test or run uses: 2001:db8:<random>:<random>.
    let fresh_net = || {
        let b = passport::kernel::ids::random_bytes::<4>();
        let group = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        format!("2001:db8:{:x}:{:x}", group(0), group(2))
    };
    for (name, service) in services(config).await {
        // Four addresses of one /64: one client.
        let net = fresh_net();
        for host in 1..=3 {
            assert_eq!(
                login(&service, &[], &format!("{net}::{host}")).await,
                401,
                "{name}"
            );
        }
        assert_eq!(
            login(&service, &[], &format!("{net}::4")).await,
            429,
            "{name}: same /64"
        );
        let elsewhere = format!("{}::4", fresh_net());
        assert_eq!(
            login(&service, &[], &elsewhere).await,
            401,
            "{name}: another /64"
        );

        // Behind CloudFront: every request comes from one edge address; the viewer counts.
        let edge = unique_ip();
        let viewer = format!("{}::7:443", fresh_net());
        let via = [
            ("x-passport-origin-secret", SECRET),
            ("cloudfront-viewer-address", viewer.as_str()),
        ];
        for _ in 0..3 {
            assert_eq!(login(&service, &via, &edge).await, 401, "{name}");
        }
        assert_eq!(
            login(&service, &via, &edge).await,
            429,
            "{name}: the viewer is at its limit"
        );
        // Other viewers behind the same edge are not.
        let other = format!("{}::7:443", fresh_net());
        let via_other = [
            ("x-passport-origin-secret", SECRET),
            ("cloudfront-viewer-address", other.as_str()),
        ];
        assert_eq!(
            login(&service, &via_other, &edge).await,
            401,
            "{name}: another viewer"
        );
        // Without the secret the header is anyone's to forge: the edge's own address counts.
        let forged = [("cloudfront-viewer-address", other.as_str())];
        // Its own /64: `unique_ip()`s share one, which this config counts as one client (and
        // an earlier run on the same Redis would have left at its limit).
        let direct = format!("{}::9", fresh_net());
        for _ in 0..3 {
            assert_eq!(login(&service, &forged, &direct).await, 401, "{name}");
        }
        assert_eq!(
            login(&service, &via_other, &edge).await,
            401,
            "{name}: forging counted elsewhere"
        );
        assert_eq!(login(&service, &forged, &direct).await, 429, "{name}");
    }
}

/// Issue #12: six junk passwords from one address used to lock the owner out everywhere. The
/// strict limit now counts per (account, address): the owner elsewhere is not locked out; the
/// loose account-wide limit still stops an attack spread over many addresses.
#[tokio::test]
async fn one_attacker_cannot_lock_the_owner_out_but_a_distributed_attack_is_stopped() {
    let config = Config {
        login_max_failures: 3,
        login_account_max_failures: 8,
        ..test_config()
    };
    for (name, service) in services(config.clone()).await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let attacker = client(&unique_ip());
        refused_logins(&service, name, &email, "junk junk junk", &attacker, 3).await;
        // The attacker's address is locked out for this account, even with the password.
        let err = service
            .login(input(&email, PASSWORD), &attacker)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::TooManyAttempts { .. }),
            "{name}: {err:?}"
        );
        // The owner, from home, is not.
        assert!(
            service
                .login(input(&email, PASSWORD), &client(&unique_ip()))
                .await
                .is_ok(),
            "{name}"
        );

        // Many addresses, a couple of guesses each: the account-wide limit stops them all,
        // the owner's address included, until the window ends.
        let target = unique_email();
        create_account(&service, &target, PASSWORD).await;
        for _ in 0..4 {
            let bot = client(&unique_ip());
            for _ in 0..2 {
                let _ = service
                    .login(input(&target, "guess guess guess"), &bot)
                    .await;
            }
        }
        let err = service
            .login(input(&target, PASSWORD), &client(&unique_ip()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::TooManyAttempts { .. }),
            "{name}: {err:?}"
        );
    }
}

/// Issue #34, 7: one attacker holds a whole IPv6 /48 — 65,536 /64s. Walking through them, its
/// guesses at one account still count as one network's: locked out after the strict limit,
/// never reaching the account-wide one that would lock the owner out everywhere.
#[tokio::test]
async fn walking_the_64s_of_one_48_is_one_attacker() {
    let config = Config {
        login_max_failures: 3,
        login_account_max_failures: 8,
        ipv6_limit_prefix: 64,
        ..test_config()
    };
    for (name, service) in services(config).await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        // A /48 of the attacker's own, and a new /64 of it for every guess.
        let net = unique_ip().rsplitn(6, ':').last().unwrap().to_string();
        let attacker = |i: u16| client(&format!("{net}:{i:x}::1"));
        for i in 0..3 {
            let r = service
                .login(input(&email, "junk junk junk"), &attacker(i))
                .await;
            assert!(
                matches!(r, Err(ApiError::InvalidCredentials)),
                "{name}: {r:?}"
            );
        }
        for i in 3..12 {
            let r = service
                .login(input(&email, "junk junk junk"), &attacker(i))
                .await;
            assert!(
                matches!(r, Err(ApiError::TooManyAttempts { .. })),
                "{name}: guess {i}, from a new /64: {r:?}"
            );
        }
        // The owner, from another network, is not locked out.
        let owner = service
            .login(input(&email, PASSWORD), &client(&unique_ip()))
            .await;
        assert!(owner.is_ok(), "{name}: {owner:?}");
    }
}

/// A request refused by the address's limit counts against nothing else.
#[tokio::test]
async fn requests_refused_by_the_address_limit_count_nowhere_else() {
    let config = Config {
        login_ip_max_failures: 2,
        login_account_max_failures: 3,
        ..test_config()
    };
    for (name, service) in services(config).await {
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        let noisy = client(&unique_ip());
        for _ in 0..2 {
            assert!(
                service
                    .login(input(&unique_email(), "whatever it is"), &noisy)
                    .await
                    .is_err()
            );
        }
        for _ in 0..10 {
            let err = service
                .login(input(&email, "junk junk junk"), &noisy)
                .await
                .unwrap_err();
            assert!(
                matches!(err, ApiError::TooManyAttempts { .. }),
                "{name}: {err:?}"
            );
        }
        assert!(
            service
                .login(input(&email, PASSWORD), &client(&unique_ip()))
                .await
                .is_ok(),
            "{name}: the refused requests counted against the account"
        );
    }
}

#[tokio::test]
async fn per_ip_limit_applies_across_accounts() {
    let config = Config {
        login_ip_max_failures: 3,
        ..test_config()
    };
    for (name, service) in services(config).await {
        let ip = client(&unique_ip());
        let email = unique_email();
        create_account(&service, &email, PASSWORD).await;
        for _ in 0..3 {
            assert!(
                service
                    .login(input(&unique_email(), "whatever it is"), &ip)
                    .await
                    .is_err()
            );
        }
        let err = service
            .login(input(&email, PASSWORD), &ip)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::TooManyAttempts { .. }),
            "{name}: {err:?}"
        );
        // The same account from elsewhere is fine.
        assert!(
            service
                .login(input(&email, PASSWORD), &client(&unique_ip()))
                .await
                .is_ok(),
            "{name}"
        );
    }
}
