//! Mail the service sends: what each mail says ([`Message`]) and to whom ([`Mail`]), the outbox
//! a route puts it in ([`Outbox`]: an SQS queue on AWS, a task of `local-api`'s own), its
//! rendering ([`render`]) and what sends it ([`Sender`]: SES in the `mailer` function, SMTP or
//! the terminal in `local-api`).
//!
//! A route never waits for mail: it enqueues and answers, the same work whether or not an
//! account has the address (an address with none gets [`Message::NoAccount`], which no sender
//! delivers).

pub mod channel;
pub mod render;
pub mod sqs;

use crate::kernel::ids::Id;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use render::{Rendered, render};

/// What a mail says. Links and codes are secrets until used: never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// A new account's address to confirm: the link to the page that POSTs the token.
    VerifyEmail {
        /// The page's URL with the token in its fragment.
        link: String,
    },
    /// Someone signed up with an address that has an account already.
    AlreadyRegistered {
        /// The page (to sign in, or to reset the password).
        link: String,
    },
    /// A password reset link.
    ResetPassword {
        /// The page's URL with the token in its fragment.
        link: String,
    },
    /// A one-time sign-in code.
    SignInCode {
        /// Six digits.
        code: String,
    },
    /// The password was changed or reset.
    PasswordChanged {
        /// The page (to end every session).
        link: String,
    },
    /// The link that moves an account to this new address.
    ConfirmNewEmail {
        /// The page's URL with the token in its fragment.
        link: String,
    },
    /// To the old address: the account asked to move to another one.
    EmailChangeRequested {
        /// The new address, partly hidden.
        new_email: String,
        /// The page (to end every session).
        link: String,
    },
    /// A second factor (an authenticator app) was turned on.
    SecondFactorAdded {
        /// The page (to review the account, reset the password, sign out everywhere).
        link: String,
    },
    /// The second factor was turned off.
    SecondFactorRemoved {
        /// The page.
        link: String,
    },
    /// A recovery code signed in (or proved it is you).
    RecoveryCodeUsed {
        /// Recovery codes left.
        left: u32,
        /// The page.
        link: String,
    },
    /// A passkey was registered.
    PasskeyAdded {
        /// Its name, as its owner gave it.
        name: String,
        /// The page.
        link: String,
    },
    /// A passkey was removed.
    PasskeyRemoved {
        /// The page.
        link: String,
    },
    /// A sign-in from a device the account's history has not seen.
    NewDeviceSignIn {
        /// What the server made of its user agent ("Chrome 131 on Linux"), if anything.
        device: Option<String>,
        /// Its address, if known.
        ip: Option<String>,
        /// The page.
        link: String,
    },
    /// A spent refresh token came back: a session was ended as stolen.
    SessionEndedAsStolen {
        /// The page.
        link: String,
    },
    /// A request for an address no account has: enqueued so the route's work does not depend
    /// on it, and dropped by every sender.
    NoAccount,
}

/// One mail: its recipient and what it says.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// What it says.
    pub message: Message,
    /// A notice's one-click "this wasn't me" link: the page's view that ends every session of
    /// the account once its button is pressed (a secret until used, like every link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_me: Option<String>,
}

/// Makes a notice's "this wasn't me" link: a mailed token of the account that ends every one
/// of its sessions. The email feature's (mailed tokens are its records), registered beside the
/// outbox; the kernel's notices ask it through [`NotMeLinks`].
#[async_trait]
pub trait NotMe: Send + Sync {
    /// The link for `account`'s notice to `to`, on the page `page`, counted toward the
    /// account's notices in the hour.
    async fn link(&self, account: Id, to: &str, page: &str, now: i64) -> NotMeLink;
}

/// What a notice gets of [`NotMe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotMeLink {
    /// The link.
    Link(String),
    /// No token could be written: the notice goes without it.
    Unavailable,
    /// The account has had its hour's notices: this one is not sent (its history has it), so
    /// that someone who can make notices (holding the password, signing in from device after
    /// device) can neither flood its owner's mailbox nor fill the store with tokens.
    OverLimit,
}

/// The service's [`NotMe`] (an extension of the service).
#[derive(Clone)]
pub struct NotMeLinks(pub Arc<dyn NotMe>);

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::kernel::redact::shown(f, "Mail", &[("kind", &self.message.kind())])
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::kernel::redact::shown(f, "Message", &[("kind", &self.kind())])
    }
}

impl Message {
    /// Its kind, as serialized (safe to log).
    pub fn kind(&self) -> &'static str {
        match self {
            Message::VerifyEmail { .. } => "verify_email",
            Message::AlreadyRegistered { .. } => "already_registered",
            Message::ResetPassword { .. } => "reset_password",
            Message::SignInCode { .. } => "sign_in_code",
            Message::PasswordChanged { .. } => "password_changed",
            Message::ConfirmNewEmail { .. } => "confirm_new_email",
            Message::EmailChangeRequested { .. } => "email_change_requested",
            Message::SecondFactorAdded { .. } => "second_factor_added",
            Message::SecondFactorRemoved { .. } => "second_factor_removed",
            Message::RecoveryCodeUsed { .. } => "recovery_code_used",
            Message::PasskeyAdded { .. } => "passkey_added",
            Message::PasskeyRemoved { .. } => "passkey_removed",
            Message::NewDeviceSignIn { .. } => "new_device_sign_in",
            Message::SessionEndedAsStolen { .. } => "session_ended_as_stolen",
            Message::NoAccount => "no_account",
        }
    }
}

/// Mail could not be queued or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The queue refused it or could not be reached.
    #[error("mail queue: {0}")]
    Queue(String),
    /// The mail service refused it or could not be reached.
    #[error("mail service: {0}")]
    Send(String),
    /// A queued message that is not a mail (it will never send).
    #[error("not a mail: {0}")]
    Malformed(String),
}

/// Where a route puts mail to be sent.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Queues `mail`; returns once it is queued, never once it is sent.
    async fn enqueue(&self, mail: &Mail) -> Result<(), MailError>;
}

/// Sends rendered mail.
#[async_trait]
pub trait Sender: Send + Sync {
    /// Sends `mail` from `from`.
    async fn send(&self, from: &str, mail: &Rendered) -> Result<(), MailError>;
}

/// The service's outbox (a `Core` extension): routes that mail answer 404 `not_configured`
/// without one.
#[derive(Clone)]
pub struct MailOutbox(pub Arc<dyn Outbox>);

/// Sends `mail` through `sender` unless it is [`Message::NoAccount`]; what the `mailer`
/// function and `local-api`'s mail task do with each queued mail.
pub async fn deliver(sender: &dyn Sender, from: &str, mail: &Mail) -> Result<(), MailError> {
    if mail.message == Message::NoAccount {
        tracing::debug!("no mail: the address has no account");
        return Ok(());
    }
    sender.send(from, &render(mail)).await?;
    tracing::info!(kind = mail.message.kind(), "mail sent");
    Ok(())
}

/// An address partly hidden (`a•••@example.com`), for a notice to another address.
pub fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}
