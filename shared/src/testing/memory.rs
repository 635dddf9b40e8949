//! What a session costs Redis, measured one way for the tests (`shared/tests/expiry.rs`) and
//! `make bench`: `MEMORY USAGE` (redis.io/docs/latest/commands/memory-usage/) of the session's
//! hash and of the account's set, after a login and a rotation (both digests held).

use crate::api::Service;
use crate::kernel::service::ClientInfo;
use crate::kernel::store::{RedisConnection, keys};
use crate::kernel::tokens::refresh::RefreshToken;
use crate::sessions::LoginInput;

/// The bytes `key` takes in Redis, counted whole (`SAMPLES 0`); 0 when there is no such key.
///
/// # Panics
/// When Redis does not answer.
pub async fn memory_usage(redis: &mut RedisConnection, key: &str) -> i64 {
    #[allow(clippy::expect_used)]
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async::<Option<i64>>(redis)
        .await
        .expect("MEMORY USAGE")
        .unwrap_or(0)
}

/// What one session costs Redis — its hash plus its entry in the account's set — as the mean
/// over `n` sessions of a new account `email` (password `password`), each signed in from
/// `client` (on `device`, when given) and rotated once. `redis` is a connection to the
/// service's own store.
///
/// # Panics
/// When a sign-in, a rotation or Redis fails.
#[allow(clippy::expect_used, clippy::too_many_arguments)]
pub async fn memory_per_session(
    service: &Service,
    redis: &mut RedisConnection,
    email: &str,
    password: &str,
    client: &ClientInfo,
    device: Option<&str>,
    n: usize,
) -> i64 {
    super::create_account(service, email, password).await;
    let mut session_bytes = 0;
    let mut account = None;
    for _ in 0..n {
        let input = LoginInput::new(email, password);
        let input = match device {
            Some(d) => input.on_device(d),
            None => input,
        };
        let pair = service.login(input, client).await.expect("login");
        let pair = service.refresh(&pair.refresh_token).await.expect("refresh");
        let token = RefreshToken::parse(&pair.refresh_token).expect("a refresh token");
        session_bytes +=
            memory_usage(redis, &keys::session(token.account(), token.session())).await;
        account = Some(token.account());
    }
    let Some(account) = account else {
        return 0;
    };
    let set_bytes = memory_usage(redis, &keys::sessions(account)).await;
    (session_bytes + set_bytes) / n as i64
}

/// [`memory_per_session`] for a browser's ordinary sign-in ([`super::browser_client`], no
/// device name), 50 sessions of a new account `email`: the figure docs/scale.md and
/// `make bench` report.
pub async fn memory_per_browser_session(
    service: &Service,
    redis: &mut RedisConnection,
    email: &str,
) -> i64 {
    let client = super::browser_client();
    memory_per_session(
        service,
        redis,
        email,
        "a browser's password",
        &client,
        None,
        50,
    )
    .await
}
