//! The outbox on AWS: an SQS queue (`MAIL_QUEUE_URL`), drained by the `mailer` function.
//! `SendMessage`: docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
//! (a body of at most 256 KiB; ours are a few hundred bytes).

use super::{Mail, MailError, Outbox};
use async_trait::async_trait;

/// An SQS queue as the outbox.
pub struct SqsOutbox {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsOutbox {
    /// The queue at `queue_url`, through `client`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

#[async_trait]
impl Outbox for SqsOutbox {
    async fn enqueue(&self, mail: &Mail) -> Result<(), MailError> {
        let body = serde_json::to_string(mail).map_err(|e| MailError::Queue(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                MailError::Queue(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
            })?;
        Ok(())
    }
}
