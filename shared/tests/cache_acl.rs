//! Each function's cache user (`store::acl`) on a real `redis-server` with those ACL users: the
//! function's use cases work as its user, and a write (or a read of password hashes) outside
//! its role is refused by Redis itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::recorded::{ceremony, reauthenticate, recorded, reset_account};
use passport::Service;
use passport::api::acl::{CACHE_USERS, user_of};
use passport::api::startup::connect_store_as;
use passport::api::{KeyUse, key_use_of};
use passport::kernel::authentication::RecentAuth;
use passport::kernel::caller::Caller;
use passport::kernel::config::Config;
use passport::kernel::service::ClientInfo;
use passport::kernel::store::RedisCredentials;
use passport::passkeys::PasskeyLogin;
use passport::passports::PassportRequest;
use passport::recent_auth::Reauthentication;
use passport::sessions::{LoginInput, PasswordChange, Through};
use passport::testing::device::{device, proof};
use passport::testing::{
    create_account, create_app, private_redis_server, service_on, test_config,
};

const PASSWORD: &str = "a long enough password";

fn cli(port: u16, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The configuration every function runs with here.
fn function_config(port: u16) -> Config {
    Config {
        redis_url: Some(format!("redis://127.0.0.1:{port}")),
        // Where the recorded passkey ceremonies were made.
        passkey_origins: vec![recorded().origin],
        app_url: Some("https://app.example.com/account".into()),
        ..test_config()
    }
}

/// The service of `function`, connected as its cache user.
async fn as_function(port: u16, function: &str) -> Service {
    as_function_with(function, function_config(port)).await
}

/// The service of `function` with `config`, connected as its cache user.
async fn as_function_with(function: &str, config: Config) -> Service {
    let user = user_of(function).expect("every function has a cache user");
    let creds = RedisCredentials {
        username: user.name.into(),
        password: format!("{}-password", user.name),
    };
    let store = connect_store_as(&config, Some(&creds))
        .await
        .unwrap_or_else(|e| panic!("{function} cannot start as {}: {e}", user.name));
    // As deployed: with ES256 a function that only verifies reads the published public keys.
    if key_use_of(function) == KeyUse::Verify && config.signing_algorithm.is_asymmetric() {
        return Service::with_published_keys(config, store).await;
    }
    service_on(store, config)
}

/// A raw command as `function`'s user: its answer or its error text.
async fn raw(port: u16, function: &str, args: &[&str]) -> Result<redis::Value, String> {
    let user = user_of(function).unwrap();
    let url = format!(
        "redis://{}:{}-password@127.0.0.1:{port}",
        user.name, user.name
    );
    let mut c = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(&mut c).await.map_err(|e| e.to_string())
}

/// `result`'s value; on an error, a panic naming what Redis refused (its `ACL LOG`).
fn ok<T, E: std::fmt::Debug>(result: Result<T, E>, port: u16, what: &str) -> T {
    result.unwrap_or_else(|e| {
        panic!(
            "{what}: {e:?}\nACL LOG: {}",
            cli(port, &["ACL", "LOG", "3"]).replace('\n', " ")
        )
    })
}

/// Stops the server however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn every_function_works_as_its_cache_user_and_nothing_more() {
    let (server, port) = private_redis_server();
    let _server = Server(server);
    for user in CACHE_USERS {
        let mut args = vec!["ACL", "SETUSER", user.name, "reset"];
        let access = user.access_string();
        args.extend(access.split_whitespace());
        let password = format!(">{}-password", user.name);
        args.push(&password);
        assert_eq!(cli(port, &args), "OK", "{}: {access}", user.name);
    }

    let accounts = as_function(port, "accounts").await;
    let email = format!("acl-{}@example.com", passport::kernel::ids::Id::random());
    create_account(&accounts, &email, PASSWORD).await;
    let public = format!(
        "aclpub{}",
        &passport::kernel::ids::Id::random().to_string()[..8]
    );
    let private = format!(
        "aclpriv{}",
        &passport::kernel::ids::Id::random().to_string()[..8]
    );
    create_app(&accounts, &public, "public").await;
    create_app(&accounts, &private, "private").await;

    let client = ClientInfo {
        ip: Some("2001:db8::7".into()),
        user_agent: Some("acl-test".into()),
    };
    let login = as_function(port, "login").await;
    let input = |password: &str| LoginInput::new(email.clone(), password).on_device("acl");
    // A failure counts, a success clears: every counter path.
    assert!(
        login
            .login(input("a wrong guess, long enough"), &client)
            .await
            .is_err()
    );
    let pair = ok(login.login(input(PASSWORD), &client).await, port, "login");
    let bearer = format!("Bearer {}", pair.access_token);

    let authorizer = as_function(port, "authorizer").await;
    let caller = ok(authorizer.authorize(Some(&bearer)).await, port, "authorize");

    let refresh = as_function(port, "refresh").await;
    // Device binding (DBSC): offered by `login`, registered and renewed at `refresh`.
    let offer = ok(login.offer_binding(&pair).await, port, "DBSC offer").unwrap();
    let jti = offer
        .split("challenge=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let laptop = device();
    let registration = proof(&laptop, jti, Some(&laptop));
    let (instructions, bound) = ok(
        refresh.register_binding(Some(&registration)).await,
        port,
        "DBSC registration",
    );
    let id = instructions["session_identifier"].as_str().unwrap();
    let asked = ok(
        refresh.renew_binding(Some(id), None).await,
        port,
        "DBSC challenge",
    );
    let passport::dbsc::service::Renewal::Challenge(challenge) = asked else {
        panic!("{asked:?}");
    };
    let c = challenge.trim_start_matches('"').split('"').next().unwrap();
    let renewed = refresh
        .renew_binding(Some(id), Some(&proof(&laptop, c, None)))
        .await;
    ok(renewed, port, "DBSC renewal");
    // The bound session's refresh, by cookie with its bound cookie.
    let through = Through {
        cookie: true,
        bound_cookie: Some(&bound),
    };
    let pair = refresh.refresh_through(&pair.refresh_token, through).await;
    let pair = ok(pair, port, "refresh");
    let bearer = format!("Bearer {}", pair.access_token);

    let sessions = as_function(port, "sessions").await;
    ok(sessions.public_key_set().await, port, "the JWKS");
    assert_eq!(
        ok(sessions.sessions(&caller).await, port, "sessions").len(),
        1
    );
    ok(sessions.me(&caller).await, port, "me");
    let again = Reauthentication::Password(PASSWORD.into(), None);
    let reauth = sessions.reauthenticate(&caller, again, &client).await;
    ok(reauth, port, "reauthenticate");
    let options = sessions
        .passkey_registration_options(&caller, &client)
        .await;
    ok(options, port, "passkey registration options");
    ok(
        login.passkey_login_options(&client).await,
        port,
        "passkey sign-in options",
    );
    // A passkey registered as `sessions` and signed in with as `login`: the recorded ceremonies
    // (made for an account of their own, which the operators' user creates).
    let r = recorded();
    reset_account(&**accounts.store(), &r).await;
    let owner = Caller {
        account: r.account,
        session: r.session,
        email: None,
        acr: Default::default(),
    };
    let id = ceremony(&sessions, &r.registration_state).await;
    let credential = serde_json::from_value(r.registration.clone()).unwrap();
    reauthenticate(&sessions, &r).await;
    let added = sessions
        .register_passkey(&owner, id, &credential, None, &client)
        .await;
    let added = ok(added, port, "passkey registration");
    let id = ceremony(&login, &r.authentication_state).await;
    let credential = serde_json::from_value(r.authentication.clone()).unwrap();
    let signed_in = login
        .login_with_passkey(
            PasskeyLogin {
                ceremony: id,
                credential: Box::new(credential),
                email: None,
                device: None,
            },
            &client,
        )
        .await;
    ok(signed_in, port, "passkey sign-in");
    ok(sessions.list_passkeys(&owner).await, port, "passkeys");
    let passkey = added["id"].as_str().unwrap();
    ok(
        sessions.remove_passkey(&owner, passkey).await,
        port,
        "passkey removal",
    );
    let other = ok(login.login(input(PASSWORD), &client).await, port, "login");
    let other_id = authorizer
        .authorize(Some(&format!("Bearer {}", other.access_token)))
        .await
        .unwrap()
        .session;
    sessions
        .revoke(&caller, &other_id.to_string())
        .await
        .unwrap();

    let passports = as_function(port, "passports").await;
    let ask = |code: &str, auth: Option<&str>| {
        let (code, auth) = (code.to_string(), auth.map(str::to_string));
        let passports = &passports;
        let client = client.clone();
        async move {
            passports
                .issue_passport(
                    PassportRequest {
                        app_code: Some(&code),
                        authorization: auth.as_deref(),
                        previous: None,
                    },
                    &client,
                )
                .await
                .map_err(|e| format!("{e:?}"))
        }
    };
    let anonymous = ok(ask(&public, None).await, port, "public passport");
    let mine = ok(ask(&private, Some(&bearer)).await, port, "private passport");
    let app_authorizer = as_function(port, "app-authorizer").await;
    let pass = |p: &str| format!("Bearer {p}");
    ok(
        app_authorizer
            .authorize_visitor(Some(&pass(&anonymous.passport)), Some(&public))
            .await,
        port,
        "app authorizer, public",
    );
    ok(
        app_authorizer
            .authorize_visitor(Some(&pass(&mine.passport)), Some(&private))
            .await,
        port,
        "app authorizer, private",
    );
    ok(
        passports
            .end_passport(Some(&pass(&anonymous.passport)), Some(&public))
            .await,
        port,
        "passport logout",
    );

    ok(
        sessions
            .change_password(
                &caller,
                PasswordChange {
                    current_password: PASSWORD.into(),
                    new_password: "the new and longer password".into(),
                },
                &client,
            )
            .await,
        port,
        "password change",
    );
    let logout = as_function(port, "logout").await;
    ok(
        logout
            .logout(Some(&pair.access_token), None, true, RecentAuth::No)
            .await,
        port,
        "logout all",
    );
    assert!(authorizer.authorize(Some(&bearer)).await.is_err());
    assert!(
        app_authorizer
            .authorize_visitor(Some(&pass(&mine.passport)), Some(&private))
            .await
            .is_err()
    );

    // Mail's proofs (#35): a sign-up and an email move as `signup` (the only function that
    // writes the email index), verification, reset and the code as `login`, the move asked
    // for as `sessions`.
    let mail = passport::testing::mail::Outgoing::default();
    let signup = as_function(port, "signup").await.with_mail(mail.outbox());
    let login = as_function(port, "login").await.with_mail(mail.outbox());
    let sessions = as_function(port, "sessions").await.with_mail(mail.outbox());
    let strong = "vivid-otter-quantum-lamp-91";
    let new = "new.user@example.com";
    ok(
        signup.sign_up(new, strong.into(), &client).await,
        port,
        "sign-up",
    );
    let token = passport::testing::mail::token_of(&mail.last(new));
    ok(login.verify_email(&token).await, port, "verify");
    ok(login.forgot_password(new, &client).await, port, "forgot");
    let token = passport::testing::mail::token_of(&mail.last(new));
    let newer = "copper kettle whispers at dawn 7";
    ok(
        login.reset_password(&token, newer.into()).await,
        port,
        "reset",
    );
    ok(login.request_email_code(new, &client).await, port, "code");
    let passport::kernel::mail::Message::SignInCode { code } = mail.last(new) else {
        panic!("no code mailed");
    };
    let by_code = login
        .sign_in_with_email_code(new, &code, None, &client)
        .await;
    let by_code = ok(by_code, port, "sign-in with a code");
    let me = login
        .authorize(Some(&format!("Bearer {}", by_code.access_token)))
        .await
        .unwrap();
    let moved = "moved.user@example.com";
    ok(
        sessions.request_email_change(&me, moved, &client).await,
        port,
        "change",
    );
    let token = passport::testing::mail::token_of(&mail.last(moved));
    ok(signup.confirm_email_change(&token).await, port, "confirm");

    // Sign-in with an identity provider (#37), as `signup` (the one function that talks to
    // providers): a first sign-in makes the account and connects the identity, the code is
    // traded for a session; with a password set, disconnecting it ends its sessions.
    let config = common::op::config_with(function_config(port)).await;
    let federation = as_function_with("signup", config).await;
    let who = "federated.user@example.com";
    let token = common::op::federated(&federation, who).await;
    let fed = federation
        .authorize(Some(&common::op::bearer(&token)))
        .await
        .unwrap();
    common::op::give_password(&as_function(port, "accounts").await, who, strong).await;
    ok(federation.oauth_links(&fed).await, port, "links");
    ok(
        federation.oauth_unlink(&fed, "test").await,
        port,
        "disconnect",
    );

    // Outside each role: refused by Redis.
    let account_key = format!("pp:{{{}}}:acct", caller.account);
    let session_key = format!("pp:{{{}}}:s:{}", caller.account, caller.session);
    let app_key = "pp:{app:x}:app";
    let refusals: &[(&str, &[&str])] = &[
        ("authorizer", &["HSET", &session_key, "cur", "x"]),
        ("authorizer", &["HGET", &account_key, "pw"]),
        ("app-authorizer", &["DEL", "pp:{app:x}:p:y"]),
        ("app-authorizer", &["HGET", &account_key, "pw"]),
        ("refresh", &["HGET", &account_key, "pw"]),
        ("logout", &["HGET", &account_key, "pw"]),
        ("login", &["HSET", app_key, "enabled", "1"]),
        ("login", &["SET", "pp:{e:x}:email", "someone"]),
        ("sessions", &["SET", "pp:{e:x}:email", "someone"]),
        ("signup", &["HGET", app_key, "enabled"]),
        (
            "signup",
            &["HGET", &format!("pp:{{{}}}:mfa", caller.account), "salt"],
        ),
        ("passports", &["HGET", &account_key, "pw"]),
        ("passports", &["HSET", &session_key, "cur", "x"]),
        ("sessions", &["HSET", app_key, "enabled", "1"]),
        // Only the signers publish public keys.
        (
            "authorizer",
            &["HSET", "pp:{keys}:public", "document", "{}"],
        ),
        (
            "app-authorizer",
            &["HSET", "pp:{keys}:public", "document", "{}"],
        ),
        ("logout", &["HSET", "pp:{keys}:public", "document", "{}"]),
        ("sessions", &["HSET", "pp:{keys}:public", "document", "{}"]),
        ("login", &["FLUSHALL"]),
        ("accounts", &["FLUSHALL"]),
        ("accounts", &["GET", "not-passports-key"]),
    ];
    let mut allowed = Vec::new();
    for (function, args) in refusals {
        match raw(port, function, args).await {
            Err(e) if e.contains("NOPERM") || e.contains("no permissions") => {}
            other => allowed.push(format!("{function} {args:?}: {other:?}")),
        }
    }
    assert!(allowed.is_empty(), "allowed outside the role: {allowed:#?}");
}
