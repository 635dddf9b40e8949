//! A mail's text and HTML, in plain words; links and codes appear as they are, every value
//! escaped in the HTML part.

use super::{Mail, Message};

/// A mail ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The recipient.
    pub to: String,
    /// Its subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::kernel::redact::shown(f, "Rendered", &[("subject", &self.subject)])
    }
}

/// Paragraphs of text, and an optional call to action (its label and link).
struct Body {
    subject: &'static str,
    lines: Vec<String>,
    action: Option<(&'static str, String)>,
    code: Option<String>,
}

/// A notice of `what` was done to the account, with what to do if it was not its owner.
fn notice(subject: &'static str, what: String, link: &str) -> Body {
    Body {
        subject,
        lines: vec![
            what,
            "If this wasn't you: reset your password from the sign-in page (every device is signed out) and review your account.".into(),
        ],
        action: Some(("Review my account", link.to_string())),
        code: None,
    }
}

/// `mail`'s subject, text and HTML.
pub fn render(mail: &Mail) -> Rendered {
    let ignore = "If this wasn't you, ignore this mail: nothing changes unless the link is used.";
    let body = match &mail.message {
        Message::VerifyEmail { link } => Body {
            subject: "Confirm your email",
            lines: vec![
                "Confirm this address to finish creating your account (the link works once, for 24 hours).".into(),
                ignore.into(),
            ],
            action: Some(("Confirm my email", link.clone())),
            code: None,
        },
        Message::AlreadyRegistered { link } => Body {
            subject: "You already have an account",
            lines: vec![
                "Someone tried to create an account with this address, which already has one.".into(),
                "If it was you: sign in, or reset your password from the sign-in page.".into(),
            ],
            action: Some(("Sign in", link.clone())),
            code: None,
        },
        Message::ResetPassword { link } => Body {
            subject: "Reset your password",
            lines: vec![
                "Use this link to choose a new password (it works once, for 30 minutes). Every signed-in device will be signed out.".into(),
                ignore.into(),
            ],
            action: Some(("Choose a new password", link.clone())),
            code: None,
        },
        Message::SignInCode { code } => Body {
            subject: "Your sign-in code",
            lines: vec![
                "Enter this code to sign in. It works once, for 10 minutes.".into(),
                "If you did not ask for it, ignore this mail.".into(),
            ],
            action: None,
            code: Some(code.clone()),
        },
        Message::PasswordChanged { link } => Body {
            subject: "Your password was changed",
            lines: vec![
                "The password of your account was just changed, and its other sessions ended.".into(),
                "If this wasn't you, reset your password now and sign out everywhere.".into(),
            ],
            action: Some(("Review my account", link.clone())),
            code: None,
        },
        Message::SecondFactorAdded { link } => notice(
            "Two-step sign-in is on",
            "An authenticator app was just set up for your account: signing in now also asks for its code.".into(),
            link,
        ),
        Message::SecondFactorRemoved { link } => notice(
            "Two-step sign-in is off",
            "The authenticator app of your account was just removed: your password alone signs in again.".into(),
            link,
        ),
        Message::RecoveryCodeUsed { left, link } => notice(
            "A recovery code was used",
            format!("One of your recovery codes was just used to sign in; {left} are left."),
            link,
        ),
        Message::PasskeyAdded { name, link } => notice(
            "A passkey was added to your account",
            format!("A passkey named \u{201c}{name}\u{201d} can now sign in to your account without its password."),
            link,
        ),
        Message::PasskeyRemoved { link } => notice(
            "A passkey was removed from your account",
            "One of your account's passkeys was just removed: it no longer signs in.".into(),
            link,
        ),
        Message::NewDeviceSignIn { device, ip, link } => notice(
            "A new sign-in to your account",
            format!(
                "Your account was just signed in to from {}{}, which has not signed in before.",
                device.as_deref().unwrap_or("a device that did not say what it is"),
                ip.as_deref().map(|ip| format!(" (address {ip})")).unwrap_or_default(),
            ),
            link,
        ),
        Message::SessionEndedAsStolen { link } => notice(
            "A session of your account was ended",
            "A sign-in token of your account was used twice, which means a copy of it was taken: the session it belonged to was ended, and that device signs in again.".into(),
            link,
        ),
        Message::ConfirmNewEmail { link } => Body {
            subject: "Confirm your new email",
            lines: vec![
                "Confirm this address to make it your account's email (the link works once, for 24 hours).".into(),
                ignore.into(),
            ],
            action: Some(("Use this address", link.clone())),
            code: None,
        },
        Message::EmailChangeRequested { new_email, link } => Body {
            subject: "Your account's email is changing",
            lines: vec![
                format!("Your account asked to use {new_email} instead of this address; it moves once that address confirms."),
                "If this wasn't you, sign in and sign out everywhere, then change your password.".into(),
            ],
            action: Some(("Review my account", link.clone())),
            code: None,
        },
        Message::NoAccount => Body {
            subject: "",
            lines: vec![],
            action: None,
            code: None,
        },
    };
    let mut text = String::new();
    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5\">",
    );
    for line in &body.lines {
        text.push_str(line);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape(line)));
    }
    if let Some(code) = &body.code {
        text.push_str(&format!("Code: {code}\n\n"));
        html.push_str(&format!(
            "<p style=\"font-size:2em;letter-spacing:.2em\"><strong>{}</strong></p>",
            escape(code)
        ));
    }
    let not_me = mail
        .not_me
        .as_ref()
        .map(|link| ("This wasn't me: sign out every device", link.clone()));
    for (label, link) in body.action.iter().chain(not_me.iter()) {
        text.push_str(&format!("{label}: {link}\n"));
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape(link),
            escape(label)
        ));
    }
    html.push_str("</body></html>");
    Rendered {
        to: mail.to.clone(),
        subject: body.subject.into(),
        text,
        html,
    }
}

/// Escapes text for HTML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_html_and_kept_in_text() {
        let mail = Mail {
            not_me: None,
            to: "a@example.com".into(),
            message: Message::EmailChangeRequested {
                new_email: "<b>x</b>@example.com".into(),
                link: "https://app.example.com/#a=\"1\"".into(),
            },
        };
        let r = render(&mail);
        assert!(r.text.contains("<b>x</b>@example.com"));
        assert!(r.html.contains("&lt;b&gt;x&lt;/b&gt;@example.com"));
        assert!(!r.html.contains("<b>x"));
        assert!(
            r.html
                .contains("href=\"https://app.example.com/#a=&quot;1&quot;\"")
        );
    }

    #[test]
    fn a_code_is_in_both_parts() {
        let mail = Mail {
            not_me: None,
            to: "a@example.com".into(),
            message: Message::SignInCode {
                code: "012345".into(),
            },
        };
        let r = render(&mail);
        assert!(r.text.contains("Code: 012345"));
        assert!(r.html.contains("012345"));
        assert_eq!(r.subject, "Your sign-in code");
    }
}
