//! A store that fails is never read as "valid": login and refresh answer 503 `unavailable`,
//! the authorizer denies. Runs against a real `redis-server` that the test starts and kills.
#![allow(clippy::unwrap_used)]

use passport::error::ApiError;
use passport::service::{ClientInfo, Denied, LoginInput};
use passport::store::RedisStore;
use passport::testing::{app_on, create_account, test_config};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_redis(port: u16) -> Child {
    Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed: run the tests with `make test`")
}

#[tokio::test]
async fn store_down_means_503_and_deny() {
    let port = free_port();
    let mut redis = start_redis(port);
    let url = format!("redis://127.0.0.1:{port}");
    let mut store = None;
    for _ in 0..50 {
        if let Ok(s) =
            RedisStore::connect(&url, Duration::from_millis(200), Duration::from_millis(300)).await
        {
            store = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let app = app_on(
        Arc::new(store.expect("private redis-server did not start")),
        test_config(),
    );
    create_account(&app, "outage@example.com", "a long enough password").await;
    let login = || LoginInput {
        email: "outage@example.com".into(),
        password: "a long enough password".into(),
        device: None,
    };
    let pair = app.login(login(), &ClientInfo::default()).await.unwrap();
    let bearer = format!("Bearer {}", pair.access_token);
    assert!(app.authorize(Some(&bearer)).await.is_ok());

    redis.kill().unwrap();
    redis.wait().unwrap();

    let started = std::time::Instant::now();
    assert!(matches!(
        app.login(login(), &ClientInfo::default()).await,
        Err(ApiError::Unavailable(_))
    ));
    assert!(matches!(
        app.refresh(&pair.refresh_token).await,
        Err(ApiError::Unavailable(_))
    ));
    assert!(matches!(
        app.authorize(Some(&bearer)).await,
        Err(Denied::Store(_))
    ));
    let resp = passport::http::error_response(&ApiError::Unavailable(
        passport::StoreError::Corrupt("x".into()),
    ));
    assert_eq!(resp.status().as_u16(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "store calls hung: {:?}",
        started.elapsed()
    );
}
