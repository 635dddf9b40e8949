//! How and when a session's owner last proved who they are: OpenID Connect's `auth_time` and
//! the `amr` values of RFC 8176, kept with the session and carried in its access tokens.

use serde::{Deserialize, Serialize};

/// An authentication method reference (RFC 8176, section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Amr {
    /// A password.
    Pwd,
    /// Proof of possession of a key (a passkey). RFC 8176's `hwk` would claim the key is
    /// hardware-secured, which only an attestation verified against its maker's roots could
    /// show; Passport asks for none (a passkey may be a synced or software key), so every
    /// passkey is `swk`: the claim no stronger than what was verified.
    Swk,
    /// User presence and verification were tested (a passkey's UV flag: PIN or biometric).
    User,
    /// A one-time password: a code mailed to the account's address.
    Otp,
}

impl Amr {
    /// The RFC 8176 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Amr::Pwd => "pwd",
            Amr::Swk => "swk",
            Amr::User => "user",
            Amr::Otp => "otp",
        }
    }

    /// Parses an RFC 8176 name this service writes. `hwk`, which sessions started before
    /// passkeys were all `swk` may still hold, reads as `swk`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pwd" => Some(Amr::Pwd),
            "hwk" | "swk" => Some(Amr::Swk),
            "user" => Some(Amr::User),
            "otp" => Some(Amr::Otp),
            _ => None,
        }
    }
}

/// How long a `POST /reauthenticate` lets its session take one action that adds a way to sign
/// in ([`RecentAuth::Reauthenticated`]).
pub const REAUTH_GRANT_SECONDS: i64 = 300;

/// Whether a route needs the session to have authenticated recently (within
/// `REAUTH_MAX_AGE_SECONDS`; 403 `reauthentication_required` otherwise): the actions a thief
/// holding a session wants most. The route table says which routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecentAuth {
    /// Any live session will do.
    No,
    /// Always: the sign-in or a reauthentication within `REAUTH_MAX_AGE_SECONDS`.
    Yes,
    /// When the request ends sessions other than the caller's own (`POST /logout` with
    /// `{"all": true}`, `DELETE /sessions/{id}` of another session).
    ToEndOthers,
    /// Only a `POST /reauthenticate` of this session within [`REAUTH_GRANT_SECONDS`], which the
    /// action spends — never the sign-in itself: an access token stolen in the minutes after a
    /// sign-in must not add a lasting way into the account (a passkey).
    Reauthenticated,
}

impl RecentAuth {
    /// Whether a request needs a recent authentication; `ends_others` says whether it ends
    /// sessions other than the caller's own.
    pub fn needed(self, ends_others: bool) -> bool {
        match self {
            RecentAuth::No => false,
            RecentAuth::Yes | RecentAuth::Reauthenticated => true,
            RecentAuth::ToEndOthers => ends_others,
        }
    }
}

/// When and how a session last authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// The time of the last authentication (Unix seconds): login, or a later reauthentication.
    pub time: i64,
    /// The methods it used.
    pub methods: Vec<Amr>,
}

impl Authentication {
    /// A password checked at `time`.
    pub fn password(time: i64) -> Self {
        Self {
            time,
            methods: vec![Amr::Pwd],
        }
    }

    /// A passkey assertion with user verification at `time` (see [`Amr::Swk`]).
    pub fn passkey(time: i64) -> Self {
        Self {
            time,
            methods: vec![Amr::Swk, Amr::User],
        }
    }

    /// The methods as stored: RFC 8176 names joined by commas.
    pub fn methods_text(&self) -> String {
        let names: Vec<&str> = self.methods.iter().map(|m| m.as_str()).collect();
        names.join(",")
    }

    /// Reads a stored record: `time` and [`Authentication::methods_text`]'s form. A session
    /// written before sessions kept these fields authenticated by password when it started
    /// (`created`).
    pub fn from_stored(time: Option<i64>, methods: Option<&str>, created: i64) -> Self {
        let methods: Vec<Amr> = methods
            .unwrap_or("")
            .split(',')
            .filter_map(Amr::parse)
            .collect();
        Self {
            time: time.unwrap_or(created),
            methods: if methods.is_empty() {
                vec![Amr::Pwd]
            } else {
                methods
            },
        }
    }

    /// Whether it happened within `max_age` seconds before `now`.
    pub fn is_recent(&self, now: i64, max_age: i64) -> bool {
        now.saturating_sub(self.time) <= max_age
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_old_records_read_as_a_password_login() {
        let a = Authentication::passkey(100);
        assert_eq!(a.methods_text(), "swk,user");
        assert_eq!(
            Authentication::from_stored(Some(100), Some(&a.methods_text()), 5),
            a
        );
        assert_eq!(
            Authentication::from_stored(None, None, 5),
            Authentication::password(5)
        );
        // A session that a passkey started before every passkey was `swk` claims no more now.
        assert_eq!(
            Authentication::from_stored(Some(100), Some("hwk,user"), 5),
            a
        );
    }

    #[test]
    fn recent_means_within_max_age() {
        let a = Authentication::password(1000);
        assert!(a.is_recent(1600, 600));
        assert!(!a.is_recent(1601, 600));
    }
}
