//! The mail path on AWS's APIs, through the real SDKs against `moto_server` (`make test` starts
//! it and sets `AWS_ENDPOINT_URL`): a route queues to SQS (`SqsOutbox`), the queue's messages
//! come to the mailer as its event source hands them over, the mailer sends through SES v2, and
//! the test follows the link in the mail SES accepted (moto keeps sent mail, readable from its
//! `/moto-api/data.json`). A record that cannot be sent is reported alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use passport::kernel::ids::Id;
use passport::kernel::mail::MailOutbox;
use passport::kernel::mail::sqs::SqsOutbox;
use passport::kernel::service::ClientInfo;
use passport::testing::test_config;
use serde_json::Value;
use std::io::{Read, Write};
use std::sync::Arc;

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the tests with `make test`, which starts moto_server",
    )
}

/// moto's record of what SES sent (an HTTP GET on loopback).
fn sent_mail() -> Vec<Value> {
    let url = endpoint();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let data: Value = serde_json::from_str(body).unwrap();
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn to(mail: &[Value], address: &str) -> Vec<Value> {
    mail.iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == address)
        .cloned()
        .collect()
}

async fn queue(sqs: &aws_sdk_sqs::Client) -> String {
    let name = format!("mail-{}", Id::random());
    let q = sqs.create_queue().queue_name(name).send().await.unwrap();
    q.queue_url().unwrap().to_string()
}

/// What the SQS event source hands the function: the queue's messages as records.
async fn event_from(sqs: &aws_sdk_sqs::Client, url: &str) -> SqsEvent {
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut event = SqsEvent::default();
    for m in got.messages() {
        let mut record = SqsMessage::default();
        record.message_id = m.message_id().map(str::to_string);
        record.body = m.body().map(str::to_string);
        event.records.push(record);
    }
    event
}

fn link_in(mail: &Value) -> String {
    let html = mail["body"].as_str().unwrap();
    let start = html.find("href=\"").unwrap() + 6;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn a_sign_up_mail_goes_through_sqs_and_ses_and_its_link_verifies() {
    let sqs = passport::api::startup::sqs_client().await;
    let ses = mailer::ses_client().await;
    let from = format!("no-reply-{}@example.com", Id::random());
    ses.create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let url = queue(&sqs).await;
    let config = passport::Config {
        app_url: Some("https://app.example.com/account".into()),
        ..test_config()
    };
    let service = passport::testing::service_on(
        Arc::new(passport::kernel::store::MemoryStore::new()),
        config,
    )
    .with_mail(Some(MailOutbox(Arc::new(SqsOutbox::new(
        sqs.clone(),
        url.clone(),
    )))));
    let email = format!("new-{}@example.com", Id::random()).to_lowercase();
    service
        .sign_up(
            &email,
            "vivid-otter-quantum-lamp-91".into(),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    let unknown = format!("nobody-{}@example.com", Id::random()).to_lowercase();
    service
        .forgot_password(&unknown, &ClientInfo::default())
        .await
        .unwrap();

    let event = event_from(&sqs, &url).await;
    assert_eq!(event.records.len(), 2, "both requests queued one message");
    let sender = mailer::SesSender(ses);
    let response = mailer::handle(&sender, &from, event).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = sent_mail();
    assert!(
        to(&sent, &unknown).is_empty(),
        "an address without an account gets nothing"
    );
    let mine = to(&sent, &email);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["source"], from.as_str());
    assert_eq!(mine[0]["subject"], "Confirm your email");
    let link = link_in(&mine[0]);
    let token = link.split_once("#verify=").unwrap().1;
    assert_eq!(service.verify_email(token).await.unwrap(), email);
}

#[tokio::test]
async fn records_that_cannot_be_sent_are_reported_alone() {
    let sqs = passport::api::startup::sqs_client().await;
    let ses = mailer::ses_client().await;
    let from = format!("no-reply-{}@example.com", Id::random());
    ses.create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let url = queue(&sqs).await;
    let email = format!("code-{}@example.com", Id::random()).to_lowercase();
    let good =
        serde_json::json!({"to": email, "message": {"kind": "sign_in_code", "code": "123456"}});
    for body in [good.to_string(), "not a mail".to_string()] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let event = event_from(&sqs, &url).await;
    let bad_id = event
        .records
        .iter()
        .find(|r| r.body.as_deref() == Some("not a mail"))
        .and_then(|r| r.message_id.clone())
        .unwrap();
    let sender = mailer::SesSender(ses.clone());
    let response = mailer::handle(&sender, &from, event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, [bad_id.as_str()]);
    let mine = to(&sent_mail(), &email);
    assert_eq!(mine.len(), 1);
    assert!(mine[0]["body"].as_str().unwrap().contains("123456"));

    // SES refuses a sender that is no verified identity: every record is reported.
    sqs.send_message()
        .queue_url(&url)
        .message_body(good.to_string())
        .send()
        .await
        .unwrap();
    let event = event_from(&sqs, &url).await;
    let n = event.records.len();
    let response = mailer::handle(&sender, "unverified@example.org", event).await;
    assert_eq!(response.batch_item_failures.len(), n);
}
