//! Mail as the tests see it: an outbox that keeps what the routes queue, for the flows' tests
//! (what reaches a real SMTP server or SES is tested against those, in `local-api`'s and the
//! `mailer`'s tests).

use crate::kernel::mail::{Mail, MailError, MailOutbox, Message, Outbox};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};

/// Keeps every mail queued to it.
#[derive(Clone, Default)]
pub struct Outgoing(Arc<Mutex<Vec<Mail>>>);

#[async_trait]
impl Outbox for Outgoing {
    async fn enqueue(&self, mail: &Mail) -> Result<(), MailError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(mail.clone());
        Ok(())
    }
}

impl Outgoing {
    /// As the service's outbox.
    pub fn outbox(&self) -> Option<MailOutbox> {
        Some(MailOutbox(Arc::new(self.clone())))
    }

    /// Every mail queued so far to `to`, oldest first.
    pub fn to(&self, to: &str) -> Vec<Message> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|m| m.to == to)
            .map(|m| m.message.clone())
            .collect()
    }

    /// Every mail queued so far to `to`, whole (with its "this wasn't me" link), oldest first.
    pub fn mails(&self, to: &str) -> Vec<Mail> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|m| m.to == to)
            .cloned()
            .collect()
    }

    /// The last mail queued to `to`.
    ///
    /// # Panics
    /// When none was.
    pub fn last(&self, to: &str) -> Message {
        #[allow(clippy::expect_used)]
        self.to(to).pop().expect("a mail to this address")
    }

    /// How many mails were queued, to anyone.
    pub fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The token in a mailed link (`…#verify=<token>`).
///
/// # Panics
/// When the message has no link with a token.
pub fn token_of(message: &Message) -> String {
    let link = match message {
        Message::VerifyEmail { link }
        | Message::ResetPassword { link }
        | Message::ConfirmNewEmail { link } => link,
        #[allow(clippy::panic)]
        other => panic!("no token in a {} mail", other.kind()),
    };
    #[allow(clippy::expect_used)]
    let (_, token) = link.split_once('=').expect("a link with a token");
    token.to_string()
}
