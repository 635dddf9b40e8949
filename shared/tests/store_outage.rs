//! Redis outages against a real `redis-server` that each test starts, stops, pauses and
//! restarts: a store that fails is never read as "valid" (login and refresh answer 503
//! `unavailable` with `Retry-After`, the authorizer denies), nothing hangs past the response
//! timeout, and the same process recovers by itself when the store comes back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use passport::api::Service;
use passport::kernel::config::Config;
use passport::kernel::error::ApiError;
use passport::kernel::service::{ClientInfo, Denied, TokenPair};
use passport::kernel::store::RedisStore;
use passport::kernel::tokens::refresh::RefreshToken;
use passport::sessions::LoginInput;
use passport::testing::{create_account, service_on, test_config};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EMAIL: &str = "outage@example.com";
const PASSWORD: &str = "a long enough password";
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(300);
/// Generous bound for "answered within the response timeout" on a loaded CI machine.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// A private `redis-server` without persistence on a loopback port of its own.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    fn start() -> Self {
        let (child, port) = passport::testing::private_redis_server();
        Self { port, child }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (its data is gone: no persistence).
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// A new, empty server on the same port.
    fn restart_empty(&mut self) {
        self.child = passport::testing::spawn_redis_server(self.port)
            .expect("the port was taken while the server was down");
    }

    /// Freezes the server: connections stay open and nothing answers.
    fn pause(&self) {
        signal(&self.child, "-STOP");
    }

    fn resume(&self) {
        signal(&self.child, "-CONT");
    }

    /// Closes every client connection from the server side, as an idle timeout or a failover
    /// does to a frozen Lambda's connection.
    fn drop_clients(&self) {
        let out = Command::new("redis-cli")
            .args([
                "-p",
                &self.port.to_string(),
                "CLIENT",
                "KILL",
                "TYPE",
                "normal",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.resume();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A service on `redis` with short timeouts and `grace` seconds of reuse grace.
async fn service(redis: &PrivateRedis, grace: i64) -> Service {
    let store = RedisStore::connect(
        &redis.url(),
        false,
        None,
        Duration::from_millis(200),
        RESPONSE_TIMEOUT,
    )
    .await
    .unwrap();
    let config = Config {
        refresh_reuse_grace: grace,
        redis_response_timeout: RESPONSE_TIMEOUT,
        ..test_config()
    };
    let service = service_on(Arc::new(store), config);
    create_account(&service, EMAIL, PASSWORD).await;
    service
}

fn login_input() -> LoginInput {
    LoginInput::new(EMAIL, PASSWORD)
}

async fn login(service: &Service) -> Result<TokenPair, ApiError> {
    service.login(login_input(), &ClientInfo::default()).await
}

fn bearer(pair: &TokenPair) -> String {
    format!("Bearer {}", pair.access_token)
}

/// Every entry point fails closed while the store does not answer, each within the bound.
async fn assert_unavailable(service: &Service, pair: &TokenPair) {
    let started = Instant::now();
    let err = login(service).await.unwrap_err();
    assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");
    let resp = passport::kernel::http::error_response(&err);
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(resp.body().contains("\"unavailable\""), "{}", resp.body());
    assert!(started.elapsed() < ANSWER_WITHIN, "{:?}", started.elapsed());

    let started = Instant::now();
    let err = service.refresh(&pair.refresh_token).await.unwrap_err();
    assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < ANSWER_WITHIN, "{:?}", started.elapsed());

    let started = Instant::now();
    let denied = service.authorize(Some(&bearer(pair))).await.unwrap_err();
    assert!(matches!(denied, Denied::Store(_)), "{denied:?}");
    assert!(started.elapsed() < ANSWER_WITHIN, "{:?}", started.elapsed());
}

#[tokio::test]
async fn dropped_connections_are_reestablished_and_retried() {
    let redis = PrivateRedis::start();
    let service = service(&redis, 10).await;
    let pair = login(&service).await.unwrap();
    for _ in 0..3 {
        redis.drop_clients();
        // The first call after the drop meets a dead connection: it must succeed anyway.
        service.authorize(Some(&bearer(&pair))).await.unwrap();
        redis.drop_clients();
        let next = service.refresh(&pair.refresh_token).await.unwrap();
        assert_ne!(next.refresh_token, pair.refresh_token);
        redis.drop_clients();
        login(&service).await.unwrap();
    }
}

#[tokio::test]
async fn stalled_store_answers_503_in_time_and_recovers_without_restart() {
    let redis = PrivateRedis::start();
    let service = service(&redis, 10).await;
    let pair = login(&service).await.unwrap();
    redis.pause();
    assert_unavailable(&service, &pair).await;
    redis.resume();
    let mut recovered = None;
    for _ in 0..20 {
        if let Ok(p) = login(&service).await {
            recovered = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fresh = recovered.expect("the store is back: login works again in the same process");
    service.authorize(Some(&bearer(&fresh))).await.unwrap();
    service.refresh(&fresh.refresh_token).await.unwrap();
}

#[tokio::test]
async fn store_down_then_back_empty_fails_closed_and_logins_work_again() {
    let mut redis = PrivateRedis::start();
    let service = service(&redis, 10).await;
    let pair = login(&service).await.unwrap();
    redis.kill();
    assert_unavailable(&service, &pair).await;

    redis.restart_empty();
    let mut denied = None;
    for _ in 0..20 {
        match service.authorize(Some(&bearer(&pair))).await {
            Err(Denied::Store(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            other => {
                denied = Some(other);
                break;
            }
        }
    }
    let denied = denied.expect("the store came back");
    assert!(
        matches!(denied, Err(Denied::SessionEnded)),
        "a session the store no longer knows must be denied: {denied:?}"
    );
    assert!(matches!(
        service.refresh(&pair.refresh_token).await,
        Err(ApiError::InvalidRefreshToken)
    ));
    // The account directory lived in the same Redis: without persistence it is gone too.
    assert!(matches!(
        login(&service).await,
        Err(ApiError::InvalidCredentials)
    ));
    create_account(&service, EMAIL, PASSWORD).await;
    let fresh = login(&service).await.unwrap();
    service.authorize(Some(&bearer(&fresh))).await.unwrap();
}

/// What Redis holds as the session's current and previous digests (their stored form), read directly.
async fn stored_digests(
    redis: &PrivateRedis,
    pair: &TokenPair,
) -> (Option<String>, Option<String>) {
    let token = RefreshToken::parse(&pair.refresh_token).unwrap();
    let key = format!("pp:{{{}}}:s:{}", token.account(), token.session());
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("HMGET")
        .arg(&key)
        .arg("cur")
        .arg("prev")
        .query_async::<(Option<String>, Option<String>)>(&mut c)
        .await
        .unwrap()
}

fn stored(token: &str) -> String {
    RefreshToken::parse(token).unwrap().digest().to_stored()
}

/// Pauses Redis, sends a refresh of `pair` (503), resumes; then waits until the rotation ran
/// or surely will not, and says which.
async fn interrupt_rotation(redis: &PrivateRedis, service: &Service, pair: &TokenPair) -> bool {
    redis.pause();
    let err = service.refresh(&pair.refresh_token).await.unwrap_err();
    assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");
    redis.resume();
    for _ in 0..10 {
        if stored_digests(redis, pair).await.1 == Some(stored(&pair.refresh_token)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The refresh reaches Redis, which is frozen: the client gets 503, and when Redis thaws the
/// rotation, past its caller's deadline, does nothing (issue 38: run late, it could follow the
/// client's retry and end the session as stolen). The retry rotates as the first try would
/// have; within the grace window the spent token gets that same successor, and once the
/// successor has rotated on, presenting the first token is reuse and ends the session.
#[tokio::test]
async fn rotation_that_reaches_redis_after_its_deadline_does_nothing_and_the_retry_rotates() {
    let redis = PrivateRedis::start();
    let service = service(&redis, 10).await;
    // Rotates another session first, so the script is loaded and the frozen call can run.
    let warm = login(&service).await.unwrap();
    service.refresh(&warm.refresh_token).await.unwrap();
    let pair = login(&service).await.unwrap();
    assert!(
        !interrupt_rotation(&redis, &service, &pair).await,
        "a rotation past its deadline rotated"
    );
    assert_eq!(
        stored_digests(&redis, &pair).await,
        (Some(stored(&pair.refresh_token)), None),
        "nothing spent"
    );
    let retried = retry_until_answered(&service, &pair.refresh_token)
        .await
        .unwrap();
    assert_eq!(
        stored_digests(&redis, &pair).await,
        (
            Some(stored(&retried.refresh_token)),
            Some(stored(&pair.refresh_token))
        )
    );
    let again = service.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(retried.refresh_token, again.refresh_token, "one successor");
    // Exactly one token is current: the successor rotates on. The first one, two generations
    // back now, is a spent ancestor: presenting it is reuse, and ends the session.
    let third = service.refresh(&retried.refresh_token).await.unwrap();
    service.authorize(Some(&bearer(&third))).await.unwrap();
    assert!(matches!(
        service.refresh(&pair.refresh_token).await,
        Err(ApiError::RefreshTokenReused)
    ));
    assert!(service.authorize(Some(&bearer(&third))).await.is_err());
}

/// The frozen call never runs (here: Redis answers NOSCRIPT when it thaws, the script not
/// being loaded on a fresh server yet): the session is untouched and the retry rotates it.
#[tokio::test]
async fn rotation_that_never_ran_is_simply_retried() {
    let redis = PrivateRedis::start();
    let service = service(&redis, 10).await;
    let pair = login(&service).await.unwrap();
    assert!(
        !interrupt_rotation(&redis, &service, &pair).await,
        "nothing rotated"
    );
    assert_eq!(
        stored_digests(&redis, &pair).await,
        (Some(stored(&pair.refresh_token)), None)
    );
    let retried = retry_until_answered(&service, &pair.refresh_token)
        .await
        .unwrap();
    assert_eq!(
        stored_digests(&redis, &pair).await,
        (
            Some(stored(&retried.refresh_token)),
            Some(stored(&pair.refresh_token))
        )
    );
}

/// The same interruption, retried only after the grace window: nothing was spent, so the
/// client gets its pair, however late it retries — a 503 never turns into a sign-out.
#[tokio::test]
async fn rotation_interrupted_and_retried_after_grace_still_rotates() {
    let redis = PrivateRedis::start();
    let service = service(&redis, 1).await;
    let warm = login(&service).await.unwrap();
    service.refresh(&warm.refresh_token).await.unwrap();
    let pair = login(&service).await.unwrap();
    assert!(!interrupt_rotation(&redis, &service, &pair).await);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let retried = retry_until_answered(&service, &pair.refresh_token)
        .await
        .unwrap();
    service.authorize(Some(&bearer(&retried))).await.unwrap();
}

async fn retry_until_answered(service: &Service, token: &str) -> Result<TokenPair, ApiError> {
    for _ in 0..20 {
        match service.refresh(token).await {
            Err(ApiError::Unavailable(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            other => return other,
        }
    }
    panic!("the store did not come back");
}
