//! `local-api`'s mail, end to end: through a real SMTP server (Python's `aiosmtpd`, from
//! `.venv`, writing each message it receives into a maildir) with `SMTP_URL`, and printed in
//! the terminal without it. A new user signs up, follows the link from the message received,
//! signs in, forgets the password, resets it from the next message, and signs in with a code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Http, start};
use http::Method;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd on a free loopback port, its `Mailbox` handler writing a maildir
/// (aiosmtpd.readthedocs.io: "Command line usage", handlers.Mailbox).
fn smtp_server() -> SmtpServer {
    let port = free_port();
    let maildir = std::env::temp_dir().join(format!("passport-mail-{port}-{}", std::process::id()));
    let mut child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (make test installs it into .venv)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return SmtpServer {
                child,
                port,
                maildir,
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not listen on {port}");
}

/// The messages in the maildir addressed to `to`, as received (raw), oldest first.
fn received(maildir: &Path, to: &str) -> Vec<String> {
    let mut found: Vec<(std::time::SystemTime, String)> = Vec::new();
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(maildir.join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            if text
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("To: {to}")))
            {
                found.push((e.metadata().unwrap().modified().unwrap(), text));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, t)| t).collect()
}

/// Waits (up to ten seconds) for the `n`th message to `to`.
async fn nth_message(maildir: &Path, to: &str, n: usize) -> String {
    for _ in 0..100 {
        let got = received(maildir, to);
        if got.len() >= n {
            return decoded(&got[n - 1]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no message {n} to {to} in {}", maildir.display());
}

/// A received message's text as a mail client shows it: quoted-printable decoded (RFC 2045
/// §6.7: `=` at a line's end joins it to the next, `=XX` is a byte), which lettre uses for
/// long lines.
fn decoded(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value after `key=` in a mail's plain-text part (a link's token, up to white space).
fn after(text: &str, key: &str) -> String {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        + key.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect()
}

const PASSWORD: &str = "vivid-otter-quantum-lamp-91";
const NEW_PASSWORD: &str = "copper kettle whispers at dawn 7";

#[tokio::test]
async fn a_new_user_gets_in_and_back_in_by_mail_through_a_real_smtp_server() {
    let smtp = smtp_server();
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let api = start(
        &[],
        &[
            ("SMTP_URL", url.as_str()),
            ("MAIL_FROM", "Passport <no-reply@example.com>"),
        ],
    );
    assert!(
        api.output
            .iter()
            .any(|l| l.contains("Mail: through SMTP_URL")),
        "{:?}",
        api.output
    );
    let http = Http::new(&api.base);
    let email = format!("new-{}@example.com", smtp.port);

    let (status, _, _) = http
        .call(
            Method::POST,
            "/signup",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 202);
    let mail = nth_message(&smtp.maildir, &email, 1).await;
    assert!(
        mail.contains("From: Passport <no-reply@example.com>"),
        "{mail}"
    );
    assert!(mail.contains("Subject: Confirm your email"), "{mail}");
    assert!(
        mail.contains(&format!("{}/app/#verify=", api.base)),
        "{mail}"
    );
    let token = after(&mail, "#verify=");
    let (status, _, _) = http
        .call(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, body) = http
        .call(
            Method::POST,
            "/email/verify",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = http
        .call(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);

    http.call(
        Method::POST,
        "/password/forgot",
        None,
        Some(json!({"email": email})),
    )
    .await;
    let mail = nth_message(&smtp.maildir, &email, 2).await;
    let token = after(&mail, "#reset=");
    let (status, _, body) = http
        .call(
            Method::POST,
            "/password/reset",
            None,
            Some(json!({"token": token, "password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let notice = nth_message(&smtp.maildir, &email, 3).await;
    assert!(
        notice.contains("Subject: Your password was changed"),
        "{notice}"
    );

    http.call(
        Method::POST,
        "/login/email-code",
        None,
        Some(json!({"email": email})),
    )
    .await;
    let mail = nth_message(&smtp.maildir, &email, 4).await;
    let code = after(&mail, "Code: ");
    assert_eq!(code.len(), 6, "{mail}");
    let (status, _, pair) = http
        .call(
            Method::POST,
            "/login/email-code/verify",
            None,
            Some(json!({"email": email, "code": code})),
        )
        .await;
    assert_eq!(status, 200, "{pair}");
    let (status, _, _) = http
        .call(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": email, "password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn without_an_smtp_server_each_mail_is_printed_in_the_terminal() {
    let api = start(&[], &[]);
    assert!(
        api.output.iter().any(|l| l.contains("Mail: printed here")),
        "{:?}",
        api.output
    );
    let http = Http::new(&api.base);
    let email = format!("printed-{}@example.com", std::process::id());
    let (status, _, _) = http
        .call(
            Method::POST,
            "/signup",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 202);
    let mut link = None;
    for _ in 0..100 {
        link = api
            .later
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("#verify="))
            .cloned();
        if link.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let link = link.expect("the verification link printed");
    assert!(
        api.later
            .lock()
            .unwrap()
            .iter()
            .any(|l| l == &format!("To: {email}"))
    );
    let token = after(&link, "#verify=");
    let (status, _, _) = http
        .call(
            Method::POST,
            "/email/verify",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(status, 200);
}
