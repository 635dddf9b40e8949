//! An outbox inside the process (`local-api`, the tests): a bounded queue and a task that
//! sends each mail as the `mailer` function would, so the route still only enqueues.

use super::{Mail, MailError, Outbox, Rendered, Sender, deliver};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Mail queued at most at once; beyond it enqueueing fails (503), as a full queue would.
pub const CAPACITY: usize = 1024;

/// The sending side: what routes enqueue to.
#[derive(Clone)]
pub struct ChannelOutbox(mpsc::Sender<Mail>);

#[async_trait]
impl Outbox for ChannelOutbox {
    async fn enqueue(&self, mail: &Mail) -> Result<(), MailError> {
        self.0
            .try_send(mail.clone())
            .map_err(|e| MailError::Queue(format!("the in-process queue: {e}")))
    }
}

/// An outbox whose mail `sender` sends from `from`, on a task of its own (spawned here, on the
/// current Tokio runtime). A mail that fails to send is logged and dropped.
pub fn spawn(sender: Arc<dyn Sender>, from: String) -> ChannelOutbox {
    let (tx, mut rx) = mpsc::channel::<Mail>(CAPACITY);
    tokio::spawn(async move {
        while let Some(mail) = rx.recv().await {
            if let Err(e) = deliver(sender.as_ref(), &from, &mail).await {
                tracing::warn!(kind = mail.message.kind(), error = %e, "mail not sent");
            }
        }
    });
    ChannelOutbox(tx)
}

/// Prints each mail on standard output: `local-api` without an SMTP server, so a sign-up can be
/// finished from the terminal.
pub struct PrintSender;

#[async_trait]
impl Sender for PrintSender {
    async fn send(&self, from: &str, mail: &Rendered) -> Result<(), MailError> {
        println!(
            "\n----- mail -----\nFrom: {from}\nTo: {}\nSubject: {}\n\n{}----------------\n",
            mail.to, mail.subject, mail.text
        );
        Ok(())
    }
}
