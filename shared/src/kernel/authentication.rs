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
    /// A one-time password: a code mailed to the account's address, an authenticator app's
    /// TOTP code (RFC 6238), or a recovery code.
    Otp,
    /// More than one factor: a second factor completed a first (RFC 8176's `mfa`).
    Mfa,
    /// A federated sign-in: an OpenID Provider said who this is (its ID token, checked). Not
    /// one of RFC 8176's values, which name methods a user proves to the verifier itself; which
    /// methods the provider asked for is the provider's, and unknown here.
    Fed,
}

impl Amr {
    /// The RFC 8176 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Amr::Pwd => "pwd",
            Amr::Swk => "swk",
            Amr::User => "user",
            Amr::Otp => "otp",
            Amr::Mfa => "mfa",
            Amr::Fed => "fed",
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
            "mfa" => Some(Amr::Mfa),
            "fed" => Some(Amr::Fed),
            _ => None,
        }
    }
}

/// The authentication assurance level a session reached (NIST SP 800-63B, section 4), carried
/// as the tokens' `acr` (OpenID Connect Core §2) and in the authorizer's context: `aal1` for one
/// factor, `aal2` for two — a second factor after a password or a mailed code, or a passkey with
/// user verification (a key held and a PIN or biometric: two factors in one).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Acr {
    /// One factor (and what a token or context without a level reads as).
    #[default]
    Aal1,
    /// Two factors.
    Aal2,
}

impl Acr {
    /// The name in tokens and contexts.
    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Aal1 => "aal1",
            Acr::Aal2 => "aal2",
        }
    }

    /// Parses [`Acr::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "aal1" => Some(Acr::Aal1),
            "aal2" => Some(Acr::Aal2),
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

    /// A federated sign-in at `time`: an OpenID Provider's ID token, checked ([`Amr::Fed`]).
    pub fn federated(time: i64) -> Self {
        Self {
            time,
            methods: vec![Amr::Fed],
        }
    }

    /// The level these methods reach ([`Acr`]).
    pub fn acr(&self) -> Acr {
        let has = |m| self.methods.contains(&m);
        if has(Amr::Mfa) || (has(Amr::Swk) && has(Amr::User)) {
            Acr::Aal2
        } else {
            Acr::Aal1
        }
    }

    /// This authentication completed by a second factor (an authenticator app's code or a
    /// recovery code) at `time`: its methods and `otp`, `mfa`.
    pub fn with_second_factor(&self, time: i64) -> Self {
        let mut methods = self.methods.clone();
        for m in [Amr::Otp, Amr::Mfa] {
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        Self { time, methods }
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
    fn two_factors_make_aal2_and_one_aal1() {
        assert_eq!(Authentication::password(1).acr(), Acr::Aal1);
        assert_eq!(Authentication::passkey(1).acr(), Acr::Aal2);
        let code = Authentication {
            time: 1,
            methods: vec![Amr::Otp],
        };
        assert_eq!(code.acr(), Acr::Aal1);
        let both = Authentication::password(1).with_second_factor(9);
        assert_eq!(both.methods_text(), "pwd,otp,mfa");
        assert_eq!((both.time, both.acr()), (9, Acr::Aal2));
        let by_mail = code.with_second_factor(9);
        assert_eq!(by_mail.methods_text(), "otp,mfa");
        assert_eq!(by_mail.acr(), Acr::Aal2);
        // A key without user verification is one factor.
        let key_only = Authentication {
            time: 1,
            methods: vec![Amr::Swk],
        };
        assert_eq!(key_only.acr(), Acr::Aal1);
    }

    #[test]
    fn recent_means_within_max_age() {
        let a = Authentication::password(1000);
        assert!(a.is_recent(1600, 600));
        assert!(!a.is_recent(1601, 600));
    }
}
