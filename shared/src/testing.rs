//! Test helpers for this crate and the crates built on it (feature `testing`): a service on the
//! in-memory store, accounts, and the sample events of `events/` with their placeholders.

use crate::admin::{self, Command};
use crate::config::{Config, SecretBytes};
use crate::keys::KeyRing;
use crate::service::{ClientInfo, LoginInput, Passport, TokenPair};
use crate::store::{MemoryStore, Store};
use std::sync::Arc;

/// The signing key the tests use (never a deployed one).
pub const TEST_SIGNING_KEY: &str = "passport-tests-only-signing-key-0123456789";
/// The account the sample events log in as.
pub const EVENT_EMAIL: &str = "ada@example.com";
/// Its password.
pub const EVENT_PASSWORD: &str = "correct horse battery staple";

/// The default configuration with the test signing key.
pub fn test_config() -> Config {
    Config {
        signing_secret: Some(SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec())),
        ..Config::default()
    }
}

/// A service on `store` with `config`'s settings and the test key.
pub fn app_on(store: Arc<dyn Store>, config: Config) -> Passport {
    let secret = SecretBytes::new(TEST_SIGNING_KEY.as_bytes().to_vec());
    #[allow(clippy::expect_used)]
    let keys = KeyRing::from_literal(&secret).expect("the test key is long enough");
    Passport::new(config, keys, store)
}

/// A service on a fresh in-memory store.
pub fn memory_app() -> Passport {
    app_on(Arc::new(MemoryStore::new()), test_config())
}

/// Creates an active account through the operators' command.
///
/// # Panics
/// If the command fails: a test setup error.
pub async fn create_account(app: &Passport, email: &str, password: &str) {
    let cmd = Command::Create {
        email: email.to_string(),
        password: password.to_string(),
    };
    #[allow(clippy::expect_used)]
    admin::execute(app, cmd).await.expect("create account");
}

/// A service on a fresh in-memory store with the sample events' account, logged in once from
/// `device`: the service and the session's tokens.
///
/// # Panics
/// If the login fails: a test setup error.
pub async fn logged_in_memory_app(device: Option<&str>) -> (Passport, TokenPair) {
    let app = memory_app();
    create_account(&app, EVENT_EMAIL, EVENT_PASSWORD).await;
    let input = LoginInput {
        email: EVENT_EMAIL.to_string(),
        password: EVENT_PASSWORD.to_string(),
        device: device.map(str::to_string),
    };
    #[allow(clippy::expect_used)]
    let pair = app
        .login(input, &ClientInfo::default())
        .await
        .expect("log in the sample account");
    (app, pair)
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
