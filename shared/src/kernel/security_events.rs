//! Security events: one JSON line each, with a stable `event` field and the account and session
//! ids (never a token, password or key), written to standard output — where Lambda sends it to
//! CloudWatch Logs. Each line is also in CloudWatch's Embedded Metric Format (the `_aws` block:
//! namespace `Passport`, a metric named after the event, value 1), so CloudWatch turns it into
//! a metric with no extra dependency and no extra call; `template.yaml` alarms on
//! `refresh_token_reused`. Format as documented by AWS: "Specification: Embedded metric format"
//! (CloudWatch User Guide).

use crate::kernel::ids::Id;
use serde_json::{Value, json};
use std::io::Write as _;
use std::sync::Arc;

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "Passport";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEvent {
    /// A spent refresh token was presented: the session was ended.
    RefreshTokenReused,
    /// A login (or a password check) was refused by a lockout.
    LoginLocked,
    /// An account's password was changed (by its owner or an operator).
    PasswordChanged,
    /// Sessions were ended at once: logout everywhere, disable, password change.
    SessionsRevoked,
    /// An operator disabled an account.
    AccountDisabled,
    /// Someone signed up: a new account, its address not yet verified.
    AccountCreated,
    /// An account's address was proven its owner's (a mailed link or code).
    EmailVerified,
    /// An account moved to another address.
    EmailChanged,
    /// A federated sign-in's callback was refused (its state, cookie, code or ID token).
    FederatedSignInRefused,
    /// An identity provider's account was connected to an account.
    IdentityLinked,
    /// An identity provider's account was disconnected.
    IdentityUnlinked,
}

impl SecurityEvent {
    /// The stable name: the `event` field and the metric's name.
    pub fn name(self) -> &'static str {
        match self {
            SecurityEvent::RefreshTokenReused => "refresh_token_reused",
            SecurityEvent::LoginLocked => "login_locked",
            SecurityEvent::PasswordChanged => "password_changed",
            SecurityEvent::SessionsRevoked => "sessions_revoked",
            SecurityEvent::AccountDisabled => "account_disabled",
            SecurityEvent::AccountCreated => "account_created",
            SecurityEvent::EmailVerified => "email_verified",
            SecurityEvent::EmailChanged => "email_changed",
            SecurityEvent::FederatedSignInRefused => "federated_sign_in_refused",
            SecurityEvent::IdentityLinked => "identity_linked",
            SecurityEvent::IdentityUnlinked => "identity_unlinked",
        }
    }

    /// Every event, for tests and documentation.
    pub const ALL: [SecurityEvent; 11] = [
        SecurityEvent::RefreshTokenReused,
        SecurityEvent::LoginLocked,
        SecurityEvent::PasswordChanged,
        SecurityEvent::SessionsRevoked,
        SecurityEvent::AccountDisabled,
        SecurityEvent::AccountCreated,
        SecurityEvent::EmailVerified,
        SecurityEvent::EmailChanged,
        SecurityEvent::FederatedSignInRefused,
        SecurityEvent::IdentityLinked,
        SecurityEvent::IdentityUnlinked,
    ];
}

/// Where event lines go: standard output unless a test captures them.
pub type EventSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The sink that writes each line to standard output.
pub fn stdout_sink() -> EventSink {
    Arc::new(|line: &str| {
        let mut out = std::io::stdout().lock();
        // A closed stdout must not fail the request: the event is lost, the answer is not.
        let _ = writeln!(out, "{line}");
    })
}

/// The JSON line for `event`: the event's fields (`reason`, counts — nothing secret) beside the
/// ids, plus the Embedded Metric Format block.
pub fn line(
    event: SecurityEvent,
    account: Option<Id>,
    session: Option<Id>,
    fields: &[(&str, Value)],
    now_ms: i64,
) -> String {
    let name = event.name();
    let mut v = json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        },
        "event": name,
        name: 1,
        "account": account.map(|a| a.to_string()),
        "session": session.map(|s| s.to_string()),
    });
    for (k, val) in fields {
        v[*k] = val.clone();
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_with_its_metric() {
        let (a, s) = (Id::random(), Id::random());
        let text = line(
            SecurityEvent::SessionsRevoked,
            Some(a),
            Some(s),
            &[("reason", json!("logout_all")), ("count", json!(3))],
            1_700_000_000_000,
        );
        assert!(!text.contains('\n'));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["event"], "sessions_revoked");
        assert_eq!(v["sessions_revoked"], 1);
        assert_eq!(v["account"], a.to_string());
        assert_eq!(v["reason"], "logout_all");
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], NAMESPACE);
        assert_eq!(m["Metrics"][0]["Name"], "sessions_revoked");
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let names: std::collections::BTreeSet<_> =
            SecurityEvent::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), SecurityEvent::ALL.len());
    }
}
