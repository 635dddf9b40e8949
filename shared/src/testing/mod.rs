//! Test helpers for this crate and the crates built on it (feature `testing`): a service on the
//! in-memory store, accounts, and the sample events of `events/` with their placeholders.

pub mod cluster;
pub mod device;
pub mod mail;
pub mod memory;
pub mod store;
use crate::admin::{self, Command};
use crate::api::{Service, Store};
use crate::kernel::config::{Config, SecretBytes, SigningAlgorithm};
use crate::kernel::keys::KeyRing;
use crate::kernel::service::{ClientInfo, TokenPair};
use crate::kernel::store::MemoryStore;
use crate::sessions::LoginInput;
use std::sync::Arc;

/// The signing key the tests use (never a deployed one).
pub const TEST_SIGNING_KEY: &str = "passport-tests-only-signing-key-0123456789";
/// The account the sample events log in as.
pub const EVENT_EMAIL: &str = "ada@example.com";
/// Its password.
pub const EVENT_PASSWORD: &str = "correct horse battery staple";

/// The algorithm the test services sign with: HS256, or ES256 with the feature `testing-es256`
/// (`make test` runs the service-level tests both ways).
pub fn test_algorithm() -> SigningAlgorithm {
    if cfg!(feature = "testing-es256") {
        SigningAlgorithm::Es256
    } else {
        SigningAlgorithm::Hs256
    }
}

/// A browser's sign-in as the measurements take it: Chrome's user agent on Windows and an IPv4
/// address (`shared/tests/expiry.rs`'s memory per session, `make bench`'s CPU per login).
pub fn browser_client() -> ClientInfo {
    ClientInfo {
        ip: Some("203.0.113.77".into()),
        user_agent: Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/131.0.0.0 Safari/537.36"
                .into(),
        ),
    }
}

/// The page origin of the test services' passkeys (the sample events' too).
pub const PASSKEY_ORIGIN: &str = "https://app.example.com";

/// The default configuration with the test signing key and algorithm ([`test_algorithm`]),
/// passkeys for [`PASSKEY_ORIGIN`], and every IPv6 address counted on its own (the tests'
/// `unique_ip()` clients each have a /48 of their own anyway).
pub fn test_config() -> Config {
    Config {
        signing_secret: Some(SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec())),
        signing_algorithm: test_algorithm(),
        ipv6_limit_prefix: 128,
        passkey_origins: vec![PASSKEY_ORIGIN.to_string()],
        mfa_secret: Some(SecretBytes::new(TEST_MFA_KEY.as_bytes().to_vec())),
        ..Config::default()
    }
}

/// A service on `store` with `config`'s settings and the test key, for `config`'s algorithm.
pub fn service_on(store: Arc<dyn Store>, config: Config) -> Service {
    let secret = SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec());
    #[allow(clippy::expect_used)]
    let keys = KeyRing::from_literal_for(config.signing_algorithm, &secret)
        .expect("the test key is long enough");
    let mfa = config.mfa_secret.clone().map(crate::mfa::MfaKey);
    Service::new(config, keys, store).with_second_factor(mfa)
}

/// The second-factor key of [`test_config`].
pub const TEST_MFA_KEY: &str = "test second-factor key, 32+ bytes long";

/// A Secrets Manager client for `endpoint` (the tests' `moto_server`): dummy credentials, a
/// region, and the HTTPS client every function uses.
pub fn secrets_manager_at(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
        .http_client(crate::api::startup::aws_http_client())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

/// A service on a fresh in-memory store.
pub fn memory_service() -> Service {
    service_on(Arc::new(MemoryStore::new()), test_config())
}

/// Creates an active account through the operators' command.
///
/// # Panics
/// If the command fails: a test setup error.
pub async fn create_account(service: &Service, email: &str, password: &str) {
    let cmd = Command::Create {
        email: email.to_string(),
        password: password.to_string(),
    };
    #[allow(clippy::expect_used)]
    admin::execute(service, cmd).await.expect("create account");
}

/// A service on a fresh in-memory store with the sample events' account, logged in once from
/// `device`: the service and the session's tokens.
///
/// # Panics
/// If the login fails: a test setup error.
pub async fn logged_in_memory_service(device: Option<&str>) -> (Service, TokenPair) {
    let service = memory_service();
    create_account(&service, EVENT_EMAIL, EVENT_PASSWORD).await;
    let input = match device {
        Some(d) => LoginInput::new(EVENT_EMAIL, EVENT_PASSWORD).on_device(d),
        None => LoginInput::new(EVENT_EMAIL, EVENT_PASSWORD),
    };
    #[allow(clippy::expect_used)]
    let pair = service
        .login(input, &ClientInfo::default())
        .await
        .expect("log in the sample account");
    (service, pair)
}

/// The text of `events/<name>.json`, with each `${KEY}` replaced by its value.
///
/// # Panics
/// If the file is missing: a test setup error.
pub fn event(name: &str, vars: &[(&str, &str)]) -> String {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    #[allow(clippy::expect_used)]
    let mut text = std::fs::read_to_string(&path).expect("event file");
    for (k, v) in vars {
        text = text.replace(&format!("${{{k}}}"), v);
    }
    text
}

/// A connection to the test Redis at `url` (a cluster client when `cluster`), with the tests'
/// two-second timeouts.
///
/// # Panics
/// When it cannot connect: `make test` starts the servers.
pub async fn redis_at(url: &str, cluster: bool) -> crate::kernel::store::RedisConnection {
    let two = std::time::Duration::from_secs(2);
    #[allow(clippy::expect_used)]
    crate::kernel::store::RedisConnection::open(url, cluster, None, two, two)
        .await
        .expect("connect to the test redis-server")
}

/// Disables the account of `email`, as an operator does (`accounts`' `disable`).
///
/// # Panics
/// When the command fails.
pub async fn disable(service: &Service, email: &str) {
    let command = Command::Disable {
        email: email.to_string(),
    };
    #[allow(clippy::expect_used)]
    admin::execute(service, command)
        .await
        .expect("disable the account");
}

/// Starts `redis-server` (no persistence) on `port`; `None` if it did not come up there as
/// itself — the port was taken between choosing it and binding it, by another test's server.
///
/// # Panics
/// If `redis-server` or `redis-cli` cannot be run: `make test` installs them.
pub fn spawn_redis_server(port: u16) -> Option<std::process::Child> {
    use std::process::{Command, Stdio};
    #[allow(clippy::expect_used)]
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed: run the tests with `make test`");
    let me = format!("process_id:{}", child.id());
    for _ in 0..100 {
        if child.try_wait().ok().flatten().is_some() {
            return None;
        }
        #[allow(clippy::expect_used)]
        let info = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "INFO", "server"])
            .output()
            .expect("redis-cli must be installed: run the tests with `make test`");
        let text = String::from_utf8_lossy(&info.stdout);
        if text.lines().any(|l| l.trim() == me) {
            return Some(child);
        }
        if text.contains("process_id:") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A private `redis-server` on a loopback port of its own: the server and its port.
///
/// # Panics
/// If no port could be had in 20 tries.
pub fn private_redis_server() -> (std::process::Child, u16) {
    for _ in 0..20 {
        #[allow(clippy::expect_used)]
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        if let Some(child) = spawn_redis_server(port) {
            return (child, port);
        }
    }
    panic!("no loopback port could be had for a private redis-server");
}

/// A session to create for `account` at `now` (idle 1000 s, absolute 2000 s, password version
/// 0, cap 100), and its first refresh token.
pub fn new_session(
    account: crate::kernel::ids::Id,
    session: crate::kernel::ids::Id,
    now: i64,
) -> (
    crate::kernel::store::NewSession,
    crate::kernel::tokens::refresh::RefreshToken,
) {
    let token = crate::kernel::tokens::refresh::RefreshToken::new(account, session);
    let new = crate::kernel::store::NewSession {
        account,
        session,
        digest: token.digest(),
        family: token.family_digest(),
        device: None,
        user_agent: None,
        ip: None,
        now,
        expires_at: now + 1000,
        absolute_expires_at: now + 2000,
        password_version: 0,
        max_sessions: 100,
        via: None,
    };
    (new, token)
}

/// Creates an enabled shared web app through the operators' command (`access`: `public` or
/// `private`) and returns it.
///
/// # Panics
/// If the command fails: a test setup error.
pub async fn create_app(
    service: &Service,
    code: &str,
    access: &str,
) -> crate::passports::store::App {
    let cmd = Command::CreateApp {
        code: Some(code.to_string()),
        name: format!("test app {code}"),
        access: access.to_string(),
        passport_ttl_seconds: None,
    };
    #[allow(clippy::expect_used)]
    admin::execute(service, cmd).await.expect("create app");
    #[allow(clippy::expect_used)]
    service
        .store()
        .app_by_code(code)
        .await
        .expect("store")
        .expect("the app just made")
}

/// A passport to the public app `code` for a new anonymous visitor from `ip`.
///
/// # Panics
/// If it is refused: a test setup error.
pub async fn anonymous_passport(
    service: &Service,
    code: &str,
    ip: &str,
) -> crate::passports::PassportGrant {
    let req = crate::passports::PassportRequest {
        app_code: Some(code),
        authorization: None,
        previous: None,
    };
    let client = ClientInfo {
        ip: Some(ip.to_string()),
        user_agent: None,
    };
    #[allow(clippy::expect_used)]
    service
        .issue_passport(req, &client)
        .await
        .expect("a passport to a public app")
}

/// A history entry of `kind` now (wall clock), for tests that call the store's changes directly.
pub fn entry(kind: crate::kernel::activity::Activity) -> crate::kernel::activity::Entry {
    crate::kernel::activity::Entry::new(kind, crate::kernel::clock::now())
}
