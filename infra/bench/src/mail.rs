//! What the mail path costs a request: `POST /password/forgot` (its limits, the account read,
//! a token written, the mail queued) beside a refresh on the same Redis, timed alternately, and
//! the same route for an address with no account beside one with (the enumeration figure: the
//! ratio should be 1). The outbox is `local-api`'s in-process queue whose sender drops each mail:
//! the figure is the route's, not a mail service's (SQS's `SendMessage` adds its own round trip
//! on AWS, from inside the VPC through its endpoint).

use crate::stats::time_interleaved;
use async_trait::async_trait;
use passport::Service;
use passport::api::Store;
use passport::kernel::config::Config;
use passport::kernel::mail::channel;
use passport::kernel::mail::{MailError, MailOutbox, Rendered, Sender};
use passport::kernel::service::ClientInfo;
use passport::sessions::LoginInput;
use passport::testing::{create_account, service_on, test_config};
use serde_json::{Value, json};
use std::sync::Arc;

/// Drops every mail (the bench measures the route, not a mail server).
struct Discard;

#[async_trait]
impl Sender for Discard {
    async fn send(&self, _from: &str, _mail: &Rendered) -> Result<(), MailError> {
        Ok(())
    }
}

/// `forgot` (an address with an account) and `refresh`, alternately; then `forgot` for an
/// address without one beside it.
pub async fn mail_costs(store: Arc<dyn Store>, scale: usize) -> Value {
    eprintln!("measuring: the mail path (POST /password/forgot) beside a refresh");
    let outbox = channel::spawn(Arc::new(Discard), "bench@example.com".into());
    let config = Config {
        app_url: Some("https://app.example.com/".into()),
        // Limits out of the way: every request does its whole work.
        mail_max_per_email: u64::MAX,
        mail_max_per_client: u64::MAX,
        ..test_config()
    };
    let service: Arc<Service> =
        Arc::new(service_on(store, config).with_mail(Some(MailOutbox(Arc::new(outbox)))));
    let known = "mail-bench@example.com";
    let password = "mail bench password, long enough";
    create_account(&service, known, password).await;
    let client = ClientInfo {
        ip: Some("198.51.100.9".into()),
        user_agent: Some("bench".into()),
    };
    let first = service
        .login(LoginInput::new(known, password), &client)
        .await
        .expect("the bench account signs in");
    let token = Arc::new(tokio::sync::Mutex::new(first.refresh_token));
    let forgot = |email: String| {
        let (service, client) = (Arc::clone(&service), client.clone());
        async move {
            service
                .forgot_password(&email, &client)
                .await
                .expect("forgot");
        }
    };
    let refresh = || {
        let (service, token) = (Arc::clone(&service), Arc::clone(&token));
        async move {
            let mut t = token.lock().await;
            *t = service.refresh(&t).await.expect("refresh").refresh_token;
        }
    };
    let iters = 2_000 * scale;
    let (forgot_known, refresh) =
        time_interleaved(200, iters, || forgot(known.to_string()), refresh).await;
    let mut n = 0u64;
    let (unknown, known_again) = time_interleaved(
        200,
        iters,
        || {
            n += 1;
            forgot(format!("nobody-{n}@example.com"))
        },
        || forgot(known.to_string()),
    )
    .await;
    json!({
        "forgot_known": forgot_known.json(),
        "refresh": refresh.json(),
        "forgot_unknown": unknown.json(),
        "forgot_known_again": known_again.json(),
    })
}
