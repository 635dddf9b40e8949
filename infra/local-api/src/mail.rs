//! `local-api`'s mail: the routes enqueue to a queue inside the process (as they would to SQS),
//! and a task sends each mail through `SMTP_URL`'s server (`lettre`), or prints it in the
//! terminal when none is set — so a sign-up can be finished from the terminal.

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use passport::kernel::mail::channel::{self, PrintSender};
use passport::kernel::mail::{MailError, MailOutbox, Rendered, Sender};
use std::sync::Arc;

/// The sender when `MAIL_FROM` is unset.
pub const DEFAULT_FROM: &str = "Passport <no-reply@localhost>";

/// Sends through an SMTP server.
pub struct SmtpSender(AsyncSmtpTransport<Tokio1Executor>);

impl SmtpSender {
    /// The server of `url`: `smtp://host:port` (plain, or STARTTLS when the server offers it
    /// and `?tls=required` asks), `smtps://user:pass@host` (TLS) — lettre's URL forms
    /// (docs.rs/lettre, `AsyncSmtpTransport::from_url`).
    pub fn new(url: &str) -> Result<Self, String> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map(|b| Self(b.build()))
            .map_err(|e| format!("SMTP_URL: {e}"))
    }
}

#[async_trait]
impl Sender for SmtpSender {
    async fn send(&self, from: &str, mail: &Rendered) -> Result<(), MailError> {
        let bad = |e: &dyn std::fmt::Display| MailError::Send(e.to_string());
        let message = Message::builder()
            .from(from.parse::<Mailbox>().map_err(|e| bad(&e))?)
            .to(mail.to.parse::<Mailbox>().map_err(|e| bad(&e))?)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| bad(&e))?;
        self.0.send(message).await.map_err(|e| bad(&e))?;
        Ok(())
    }
}

/// The outbox `local-api` serves with, and where its mail goes (for the banner).
pub fn outbox(smtp_url: Option<&str>, from: Option<&str>) -> Result<(MailOutbox, String), String> {
    let from = from.unwrap_or(DEFAULT_FROM).to_string();
    let (sender, goes): (Arc<dyn Sender>, String) = match smtp_url {
        Some(url) => (
            Arc::new(SmtpSender::new(url)?),
            "through SMTP_URL's server".into(),
        ),
        None => (
            Arc::new(PrintSender),
            "printed here (set SMTP_URL to send it)".into(),
        ),
    };
    let outbox = channel::spawn(sender, from);
    Ok((MailOutbox(Arc::new(outbox)), goes))
}
