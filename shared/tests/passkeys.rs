//! Passkeys against recorded ceremonies: one registration and one sign-in that Chromium's
//! virtual authenticator made at `http://app.localhost:8123`, with the server's half of each
//! as the store kept it (`web/e2e/record-passkey-ceremonies.mjs` recorded them). Replayed here,
//! they check what no honest browser sends: another origin, another relying-party id, a
//! ceremony used twice or expired, another session's ceremony, an assertion for another
//! account. On memory, Redis and the cluster (`make test`). The honest path runs in a real
//! browser too (`web/e2e/passkeys.test.mjs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::recorded::{PASSWORD, Recorded, ceremony, reauthenticate, recorded, reset_account};
use common::{pass, service_for, stores};
use passport::ApiError;
use passport::api::Service;
use passport::api::Store;
use passport::kernel::caller::Caller;
use passport::kernel::ids::Id;
use passport::kernel::service::ClientInfo;
use passport::kernel::store::MemoryStore;
use passport::passkeys::PasskeyLogin;
use passport::passkeys::webauthn::{
    CEREMONY_SECONDS, PublicKeyCredential, RegisterPublicKeyCredential,
};
use passport::sessions::store::SessionsAfter;
use passport::testing::{service_on, test_config};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The browser the recorded registration is said to come from.
const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

fn config(origin: &str, rp_id: Option<&str>) -> passport::Config {
    passport::Config {
        passkey_origins: vec![origin.to_string()],
        passkey_rp_id: rp_id.map(str::to_string),
        ..test_config()
    }
}

async fn register(
    service: &Service,
    r: &Recorded,
    caller: &Caller,
    id: Id,
) -> Result<Value, ApiError> {
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(r.registration.clone()).unwrap();
    // Adding a passkey needs a reauthentication made for it (here, of the recorded session).
    reauthenticate(service, r).await;
    let client = ClientInfo {
        user_agent: Some(AGENT.into()),
        ..ClientInfo::default()
    };
    service
        .register_passkey(caller, id, &credential, Some("recorded".into()), &client)
        .await
}

async fn sign_in(
    service: &Service,
    r: &Recorded,
    id: Id,
    email: Option<&str>,
) -> Result<passport::kernel::service::TokenPair, ApiError> {
    let credential: PublicKeyCredential = serde_json::from_value(r.authentication.clone()).unwrap();
    let login = PasskeyLogin {
        ceremony: id,
        credential: Box::new(credential),
        email: email.map(str::to_string),
        device: None,
    };
    service
        .login_with_passkey(login, &ClientInfo::default())
        .await
}

fn amr(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["amr"].clone()
}

/// The recorded ceremonies are one account's, which each test that uses them on the shared Redis
/// deletes and makes again: those tests take turns (run at once, one deleted the account under
/// the other's sign-in).
static RECORDED_ACCOUNT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn recorded_ceremonies_pass_once_and_only_where_they_were_made() {
    let _turn = RECORDED_ACCOUNT.lock().await;
    let r = recorded();
    for (name, store) in stores().await {
        reset_account(&*store, &r).await;
        let good = service_for(name, Arc::clone(&store), config(&r.origin, None));
        let other_origin = service_on(
            Arc::clone(&store),
            config("http://app.localhost:9999", None),
        );
        // A relying-party id the origin fits (localhost is a suffix of app.localhost), but not
        // the one the authenticator signed for.
        let other_rp = service_on(Arc::clone(&store), config(&r.origin, Some("localhost")));
        let caller = Caller {
            account: r.account,
            session: r.session,
            email: None,
            acr: Default::default(),
        };
        let invalid = |e: ApiError| matches!(e, ApiError::PasskeyNotVerified);

        // Registration: refused at another origin, for another RP id, for another session.
        let id = ceremony(&good, &r.registration_state).await;
        assert!(
            invalid(register(&other_origin, &r, &caller, id).await.unwrap_err()),
            "{name}"
        );
        let id = ceremony(&good, &r.registration_state).await;
        assert!(
            invalid(register(&other_rp, &r, &caller, id).await.unwrap_err()),
            "{name}"
        );
        let id = ceremony(&good, &r.registration_state).await;
        let thief = Caller {
            session: Id::random(),
            ..caller.clone()
        };
        assert!(
            invalid(register(&good, &r, &thief, id).await.unwrap_err()),
            "{name}"
        );
        // The ceremony went with that refusal: single use, whatever the outcome.
        assert!(
            invalid(register(&good, &r, &caller, id).await.unwrap_err()),
            "{name}"
        );

        let id = ceremony(&good, &r.registration_state).await;
        let added = register(&good, &r, &caller, id).await.unwrap();
        assert_eq!(added["name"], "recorded", "{name}");
        // Its owner sees which session, on what, added it.
        let by = &added["added_by"];
        assert_eq!(by["session_id"], r.session.to_string(), "{name}: {added}");
        assert_eq!(by["agent"], "Chrome 156 on Linux", "{name}: {added}");
        assert!(
            invalid(register(&good, &r, &caller, id).await.unwrap_err()),
            "{name}: reused"
        );
        let again = ceremony(&good, &r.registration_state).await;
        assert!(
            matches!(
                register(&good, &r, &caller, again).await,
                Err(ApiError::PasskeyExists)
            ),
            "{name}"
        );

        // Sign-in: refused at another origin, for another RP id, with another account's email,
        // with a registration's ceremony.
        let refused = |e: Result<_, ApiError>| matches!(e, Err(ApiError::InvalidCredentials));
        let id = ceremony(&good, &r.authentication_state).await;
        assert!(
            refused(sign_in(&other_origin, &r, id, None).await),
            "{name}: origin"
        );
        let id = ceremony(&good, &r.authentication_state).await;
        assert!(
            refused(sign_in(&other_rp, &r, id, None).await),
            "{name}: rp id"
        );
        let id = ceremony(&good, &r.authentication_state).await;
        let typed = Some("someone.else@example.com");
        assert!(
            refused(sign_in(&good, &r, id, typed).await),
            "{name}: email"
        );
        let id = ceremony(&good, &r.registration_state).await;
        assert!(
            refused(sign_in(&good, &r, id, None).await),
            "{name}: ceremony kind"
        );

        // The honest sign-in, with the typed email in any case: a session like a password's.
        let id = ceremony(&good, &r.authentication_state).await;
        let typed = r.email.to_uppercase();
        let pair = sign_in(&good, &r, id, Some(&typed)).await.unwrap();
        let methods = amr(&pair.access_token);
        assert!(methods == json!(["swk", "user"]), "{name}: {methods}");
        assert!(good.refresh(&pair.refresh_token).await.is_ok(), "{name}");
        // Replayed: its ceremony is spent.
        assert!(
            refused(sign_in(&good, &r, id, None).await),
            "{name}: replay"
        );
        // Replayed into a new ceremony with the same challenge (only a server could): the
        // authenticator's counter has moved past it.
        let id = ceremony(&good, &r.authentication_state).await;
        assert!(
            refused(sign_in(&good, &r, id, None).await),
            "{name}: counter"
        );

        let listed = good.list_passkeys(&caller).await.unwrap();
        assert_eq!(listed["passkeys"].as_array().unwrap().len(), 1, "{name}");
        assert!(
            listed["passkeys"][0]["last_used_at"].is_string(),
            "{name}: {listed}"
        );

        // The last way to sign in stays: with no password, the one passkey cannot go.
        let passkey = listed["passkeys"][0]["id"].as_str().unwrap().to_string();
        store
            .set_password(
                r.account,
                "",
                SessionsAfter::KeepAll,
                &passport::testing::entry(passport::kernel::activity::Activity::PasswordChanged),
            )
            .await
            .unwrap();
        assert!(
            matches!(
                good.remove_passkey(&caller, &passkey).await,
                Err(ApiError::LastSignInMethod)
            ),
            "{name}"
        );
        let hash = passport::kernel::accounts::hash_password(PASSWORD).unwrap();
        store
            .set_password(
                r.account,
                &hash,
                SessionsAfter::KeepAll,
                &passport::testing::entry(passport::kernel::activity::Activity::PasswordChanged),
            )
            .await
            .unwrap();
        good.remove_passkey(&caller, &passkey).await.unwrap();
        assert!(
            matches!(
                good.remove_passkey(&caller, &passkey).await,
                Err(ApiError::NotFound)
            ),
            "{name}"
        );
        store.delete_account(r.account).await.unwrap();
    }
}

#[tokio::test]
async fn a_ceremony_expires() {
    let r = recorded();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    reset_account(&*store, &r).await;
    let service = service_for("memory", Arc::clone(&store), config(&r.origin, None));
    let caller = Caller {
        account: r.account,
        session: r.session,
        email: None,
        acr: Default::default(),
    };
    let id = ceremony(&service, &r.registration_state).await;
    register(&service, &r, &caller, id).await.unwrap();
    let id = ceremony(&service, &r.authentication_state).await;
    pass(&service, Duration::from_secs(CEREMONY_SECONDS as u64 + 1)).await;
    assert!(matches!(
        sign_in(&service, &r, id, None).await,
        Err(ApiError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn without_passkey_origins_the_routes_say_so() {
    let service = service_on(
        Arc::new(MemoryStore::new()),
        passport::Config {
            passkey_origins: Vec::new(),
            ..test_config()
        },
    );
    assert!(matches!(
        service.passkey_login_options(&ClientInfo::default()).await,
        Err(ApiError::PasskeysDisabled)
    ));
}

/// Issue #34, 5: a passkey sign-in answers the same whether or not a typed email has an
/// account — the ceremony is spent on every path, and the email is never looked up — and its
/// refusals count toward the login limits as wrong passwords do.
#[tokio::test]
async fn a_typed_email_tells_nothing_and_refusals_count() {
    let r = recorded();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    reset_account(&*store, &r).await;
    let config = passport::Config {
        login_max_failures: 4,
        ..config(&r.origin, None)
    };
    let service = service_for("memory", Arc::clone(&store), config);
    let caller = Caller {
        account: r.account,
        session: r.session,
        email: None,
        acr: Default::default(),
    };
    let id = ceremony(&service, &r.registration_state).await;
    register(&service, &r, &caller, id).await.unwrap();
    let someone = "someone@example.com";
    passport::testing::create_account(&service, someone, PASSWORD).await;
    let refused = |e: Result<_, ApiError>| matches!(e, Err(ApiError::InvalidCredentials));
    for typed in [someone, "nobody@example.com"] {
        let id = ceremony(&service, &r.authentication_state).await;
        assert!(
            refused(sign_in(&service, &r, id, Some(typed)).await),
            "{typed}"
        );
        // The same ceremony, without the email: spent either way.
        assert!(
            refused(sign_in(&service, &r, id, None).await),
            "{typed}: the ceremony outlived a refusal"
        );
    }
    // Four refusals from this address, counted under the account the passkey named: a fifth
    // attempt is refused, and so is the account's own password from here.
    let id = ceremony(&service, &r.authentication_state).await;
    assert!(matches!(
        sign_in(&service, &r, id, None).await,
        Err(ApiError::TooManyAttempts { .. })
    ));
    let login = passport::sessions::LoginInput::new(r.email.clone(), PASSWORD);
    assert!(matches!(
        service.login(login, &ClientInfo::default()).await,
        Err(ApiError::TooManyAttempts { .. })
    ));
}

#[tokio::test]
async fn a_passkey_signs_in_an_account_with_a_second_factor_at_aal2_without_a_second_step() {
    let _turn = RECORDED_ACCOUNT.lock().await;
    let r = recorded();
    for (name, store) in stores().await {
        reset_account(&*store, &r).await;
        let good = service_for(name, Arc::clone(&store), config(&r.origin, None));
        let caller = Caller {
            account: r.account,
            session: r.session,
            email: None,
            acr: Default::default(),
        };
        let id = ceremony(&good, &r.registration_state).await;
        register(&good, &r, &caller, id).await.unwrap();
        // An authenticator app confirmed on the account (as its set-up leaves it).
        let now = passport::kernel::clock::now();
        store
            .begin_totp(r.account, "c2FsdA", now + 600, now)
            .await
            .unwrap();
        let added =
            passport::testing::entry(passport::kernel::activity::Activity::SecondFactorAdded);
        assert!(
            store
                .confirm_totp(r.account, "c2FsdA", 1, &[], &added)
                .await
                .unwrap()
        );
        // Its password alone now gets a second step…
        let login = passport::sessions::LoginInput::new(&r.email, PASSWORD);
        assert!(
            matches!(
                good.login(login, &ClientInfo::default()).await,
                Err(ApiError::SecondFactorRequired { .. })
            ),
            "{name}"
        );
        // …and a passkey with user verification, already two factors, asks for nothing more.
        let id = ceremony(&good, &r.authentication_state).await;
        let pair = sign_in(&good, &r, id, None).await.unwrap();
        assert_eq!(amr(&pair.access_token), json!(["swk", "user"]), "{name}");
        let payload = pair.access_token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["acr"], "aal2", "{name}");
        store.delete_account(r.account).await.unwrap();
    }
}

/// A client of an address of its own (`unique_ip`), so runs sharing one Redis within the
/// 10-minute window never share a count.
fn fresh_client() -> ClientInfo {
    ClientInfo {
        ip: Some(common::unique_ip()),
        user_agent: None,
    }
}

/// The states one address can make the store keep are bounded: a client address starts at
/// most `CEREMONIES_MAX_PER_CLIENT` passkey ceremonies per 10 minutes, then 429 until the
/// window ends; another address is not held up.
#[tokio::test]
async fn ceremonies_are_bounded_per_client_address() {
    let config = passport::Config {
        ceremonies_max_per_client: 3,
        ..test_config()
    };
    for (name, store) in stores().await {
        let service = service_for(name, store, config.clone());
        let client = fresh_client();
        for n in 1..=3 {
            let options = service.passkey_login_options(&client).await;
            assert!(options.is_ok(), "{name}: start {n}: {options:?}");
        }
        match service.passkey_login_options(&client).await {
            Err(ApiError::RateLimited { retry_after }) => {
                assert!((1..=600).contains(&retry_after), "{name}: {retry_after}");
            }
            other => panic!("{name}: the fourth start: {other:?}"),
        }
        let other = service.passkey_login_options(&fresh_client()).await;
        assert!(other.is_ok(), "{name}: another address: {other:?}");
        if name == "memory" {
            pass(&service, Duration::from_secs(600)).await;
            let later = service.passkey_login_options(&client).await;
            assert!(later.is_ok(), "{name}: after the window: {later:?}");
        }
    }
}
