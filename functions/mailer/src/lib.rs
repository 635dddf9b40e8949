//! The `mailer` function: each SQS record is one queued [`Mail`]; it is rendered and sent
//! through SES v2 (`SendEmail`, simple content: docs.aws.amazon.com/ses/latest/APIReference-V2/
//! API_SendEmail.html) from `MAIL_FROM`. A record that fails is reported back alone (partial
//! batch responses, `ReportBatchItemFailures`: docs.aws.amazon.com/lambda/latest/dg/
//! services-sqs-errorhandling.html), so SQS retries it, and after the queue's
//! `maxReceiveCount` moves it to the dead-letter queue; the others are done.

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use lambda_runtime::{LambdaEvent, service_fn};
use passport::kernel::mail::{Mail, MailError, Rendered, Sender, deliver};

/// Sends through SES v2.
pub struct SesSender(pub aws_sdk_sesv2::Client);

#[async_trait]
impl Sender for SesSender {
    async fn send(&self, from: &str, mail: &Rendered) -> Result<(), MailError> {
        let text = |s: &str| {
            Content::builder()
                .data(s)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError::Send(e.to_string()))
        };
        let message = Message::builder()
            .subject(text(&mail.subject)?)
            .body(
                Body::builder()
                    .text(text(&mail.text)?)
                    .html(text(&mail.html)?)
                    .build(),
            )
            .build();
        self.0
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| {
                // The error's code alone: SES's messages can name the recipient, and nothing
                // personal goes to the logs.
                use aws_sdk_sesv2::error::ProvideErrorMetadata;
                MailError::Send(format!("SES: {}", e.code().unwrap_or("no answer")))
            })?;
        Ok(())
    }
}

/// Sends every record of `event` through `sender` from `from`; the records that failed, by
/// their message id, for SQS to deliver again.
pub async fn handle(sender: &dyn Sender, from: &str, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let sent = match serde_json::from_str::<Mail>(record.body.as_deref().unwrap_or_default()) {
            Ok(mail) => deliver(sender, from, &mail).await,
            Err(e) => Err(MailError::Malformed(e.to_string())),
        };
        if let Err(e) = sent {
            // No address, link or code in the log: the message id finds it in the queue.
            tracing::warn!(message = %id, error = %e, "mail not sent");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failures.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

/// An SES v2 client, configured as the other functions' AWS clients are
/// (`passport::api::startup::aws_sdk_config`).
pub async fn ses_client() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(&passport::api::startup::aws_sdk_config().await)
}

/// The function: `MAIL_FROM` is required (a start without it fails, as Lambda should see).
pub async fn run() -> Result<(), lambda_runtime::Error> {
    passport_lambda::start();
    let config = passport::Config::from_env()?;
    let from = config
        .mail_from
        .ok_or("MAIL_FROM is not set: the mailer needs its sender address")?;
    let sender = SesSender(ses_client().await);
    let (sender, from) = (&sender, from.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(handle(sender, from, event.payload).await)
    }))
    .await
}
