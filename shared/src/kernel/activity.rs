//! The account's security history: what happened to it (a sign-in, a refused one, a password or
//! second factor changed, a session ended as stolen…), one [`Entry`] per event, kept per account
//! and bounded in count ([`MAX_ENTRIES`]) and age ([`MAX_AGE_SECONDS`]).
//!
//! An entry is written by the same store step as the change it records (the change's Lua
//! script, `record_event` in `common.lua`; the memory store's same critical section), so the history
//! holds nothing that did not happen and misses nothing that did. Refused sign-ins and lockouts
//! change nothing of the account and are recorded on their own ([`Entry::refused`]). The
//! `activity` feature reads it (`GET /activity`, `accounts activity`).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Most entries kept per account: a new one pushes out the oldest.
pub const MAX_ENTRIES: usize = 50;
/// Longest an entry is kept (90 days); a history with no new entry for that long is dropped.
pub const MAX_AGE_SECONDS: i64 = 90 * 24 * 3600;
/// Longest detail kept (a passkey's name, a device description), in bytes.
pub const MAX_DETAIL_BYTES: usize = 64;

/// What happened. The serialised names are the API's `event` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// A session started (`methods`, `device`, `ip`).
    SignIn,
    /// A proof was wrong: a password, a mailed code, a second step's code (`methods`, `ip`).
    SignInRefused,
    /// A sign-in was refused by the lockout before any proof was checked (`ip`).
    SignInLocked,
    /// The password was changed by its owner (or by an operator: `by`).
    PasswordChanged,
    /// The password was reset through a mailed link.
    PasswordReset,
    /// The account moved to another address.
    EmailChanged,
    /// A passkey was registered (`detail`: its name).
    PasskeyAdded,
    /// A passkey was removed (`detail`: its name).
    PasskeyRemoved,
    /// Two-step sign-in was turned on (an authenticator app confirmed).
    SecondFactorAdded,
    /// Two-step sign-in was turned off (by its owner, or an operator: `by`).
    SecondFactorRemoved,
    /// A recovery code was spent.
    RecoveryCodeUsed,
    /// A spent refresh token came back: the session it belonged to was ended as stolen.
    SessionEndedAsStolen,
    /// Every session was ended at once (logout everywhere).
    SignedOutEverywhere,
    /// An identity provider's account was connected (`detail`: the provider).
    IdentityLinked,
    /// An identity provider's account was disconnected, and the sessions it started ended
    /// (`detail`: the provider).
    IdentityUnlinked,
}

/// Who made a change the owner did not make from a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// An operator, through `accounts`.
    Operator,
}

/// One event of an account's history. Stored as this JSON (short names: a history of fifty
/// entries stays a few kilobytes); `seq` is given by the store when it is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix seconds.
    #[serde(rename = "t")]
    pub at: i64,
    /// What happened.
    #[serde(rename = "e")]
    pub kind: Activity,
    /// The position in the account's history (1, 2, …): what paging counts by.
    #[serde(rename = "n", default, skip_serializing)]
    pub seq: u64,
    /// The methods proven (`amr`, comma-separated) or tried.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<String>,
    /// The device, as the server described its user agent.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Who, when not the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<By>,
    /// A passkey's name.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How many refusals in a row this entry stands for (given by the store; `None` is one).
    #[serde(rename = "c", default, skip_serializing)]
    pub count: Option<u32>,
}

impl Entry {
    /// An entry of `kind` at `at`, nothing more said.
    pub fn new(kind: Activity, at: i64) -> Self {
        Self {
            at,
            kind,
            seq: 0,
            methods: None,
            device: None,
            ip: None,
            by: None,
            detail: None,
            count: None,
        }
    }

    /// A refused or locked sign-in from `ip`, having tried `methods`.
    pub fn refused(kind: Activity, at: i64, methods: Option<&str>, ip: Option<&str>) -> Self {
        Self {
            methods: methods.map(str::to_string),
            ip: ip.map(str::to_string),
            ..Self::new(kind, at)
        }
    }

    /// With a detail (cut to [`MAX_DETAIL_BYTES`]).
    pub fn with_detail(mut self, detail: impl AsRef<str>) -> Self {
        self.detail = Some(crate::kernel::user_agent::cut_bytes(
            detail.as_ref(),
            MAX_DETAIL_BYTES,
        ));
        self
    }

    /// Made by `by` rather than the owner.
    pub fn by(mut self, by: Option<By>) -> Self {
        self.by = by;
        self
    }

    /// The stored form: a JSON object whose first member is `"t"` (the Lua `record_event` reads the
    /// time there and puts `"n"` before it).
    pub fn encode(&self) -> String {
        // Serialising a struct of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored entry.
    pub fn decode(stored: &str) -> Option<Self> {
        serde_json::from_str(stored).ok()
    }

    /// The answer's shape (times in RFC 3339).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.seq,
            "event": self.kind,
            "at": crate::kernel::clock::rfc3339(self.at),
            "amr": self.methods.as_deref().map(|m| m.split(',').collect::<Vec<_>>()),
            "device": self.device,
            "ip": self.ip,
            "by": self.by,
            "detail": self.detail,
            "count": self.count.unwrap_or(1),
        })
    }
}

/// An account's history in memory, newest first: what the memory store keeps, with the same
/// bounds as `record_event` in `common.lua`.
#[derive(Debug, Clone, Default)]
pub struct Log(VecDeque<Entry>);

impl Log {
    /// Records `entry`: numbered after the newest, the oldest dropped beyond [`MAX_ENTRIES`] or
    /// [`MAX_AGE_SECONDS`]. A log with no entry for [`MAX_AGE_SECONDS`] starts again from 1, as
    /// the Redis list it stands for would have expired.
    pub fn record(&mut self, mut entry: Entry) {
        self.forget_if_expired(entry.at);
        entry.seq = self.0.front().map_or(1, |e| e.seq + 1);
        let oldest_kept = entry.at - MAX_AGE_SECONDS;
        self.0.push_front(entry);
        self.0.truncate(MAX_ENTRIES);
        while self.0.back().is_some_and(|e| e.at <= oldest_kept) {
            self.0.pop_back();
        }
    }

    /// Records a refused or locked sign-in: one right after another of the same kind replaces
    /// it, counted (`c`), so refusals never push other events out.
    pub fn record_refusal(&mut self, entry: Entry) {
        self.forget_if_expired(entry.at);
        match self.0.front_mut() {
            Some(newest) if newest.kind == entry.kind => {
                let count = newest.count.unwrap_or(1) + 1;
                *newest = Entry {
                    seq: newest.seq,
                    count: Some(count),
                    ..entry
                };
            }
            _ => self.record(entry),
        }
    }

    /// Records the sign-in `entry`; whether it came from a device the log has not seen sign in
    /// ([`new_device`], judged before it is recorded, as `start_session.lua` does).
    pub fn record_sign_in(&mut self, entry: Entry) -> bool {
        self.forget_if_expired(entry.at);
        let new = new_device(self.entries(), entry.device.as_deref());
        self.record(entry);
        new
    }

    /// Whether the log has expired by `now` (no entry for [`MAX_AGE_SECONDS`]).
    pub fn expired(&self, now: i64) -> bool {
        self.0.front().is_none_or(|e| e.at + MAX_AGE_SECONDS <= now)
    }

    fn forget_if_expired(&mut self, now: i64) {
        if self.expired(now) {
            self.0.clear();
        }
    }

    /// The entries, newest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.0.iter()
    }
}

/// A page of a history read newest first: the entries numbered below `before` (all when
/// `None`), younger than [`MAX_AGE_SECONDS`] at `now`, at most `limit`.
pub fn page(
    newest_first: impl Iterator<Item = Entry>,
    before: Option<u64>,
    limit: usize,
    now: i64,
) -> Vec<Entry> {
    newest_first
        .filter(|e| before.is_none_or(|b| e.seq < b))
        .filter(|e| e.at + MAX_AGE_SECONDS > now)
        .take(limit)
        .collect()
}

/// Whether a sign-in from `device` is one the history has not seen: the history has earlier
/// sign-ins, and none from this device. A first sign-in is not "new" (nothing to compare).
pub fn new_device<'a>(earlier: impl Iterator<Item = &'a Entry>, device: Option<&str>) -> bool {
    let mut any = false;
    for e in earlier.filter(|e| e.kind == Activity::SignIn) {
        if e.device.as_deref() == device {
            return false;
        }
        any = true;
    }
    any
}

/// How the Lua `new_device` finds a sign-in from `device` in a stored entry: its `"a"` member
/// as serialised, or empty for no device.
pub fn device_member(device: Option<&str>) -> String {
    device.map_or_else(String::new, |d| {
        format!("\"a\":{}", serde_json::Value::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_starts_with_the_time_and_reads_back() {
        let e = Entry {
            methods: Some("pwd,otp,mfa".into()),
            ip: Some("192.0.2.1".into()),
            ..Entry::new(Activity::SignIn, 1_700_000_000)
        };
        let s = e.encode();
        assert!(s.starts_with("{\"t\":1700000000,\"e\":\"sign_in\""), "{s}");
        let back = Entry::decode(&format!("{{\"n\":7,{}", &s[1..])).unwrap();
        assert_eq!(back.seq, 7);
        assert_eq!(back.methods, e.methods);
    }

    #[test]
    fn log_is_bounded_in_count_and_age_and_numbers_entries() {
        let mut log = Log::default();
        for i in 0..(MAX_ENTRIES as i64 + 5) {
            log.record(Entry::new(Activity::SignIn, 1000 + i));
        }
        assert_eq!(log.entries().count(), MAX_ENTRIES);
        assert_eq!(log.entries().next().unwrap().seq, MAX_ENTRIES as u64 + 5);
        log.record(Entry::new(
            Activity::EmailChanged,
            1000 + MAX_AGE_SECONDS + 100,
        ));
        assert_eq!(log.entries().count(), 1);
        assert!(!log.expired(1000 + MAX_AGE_SECONDS + 101));
        assert!(log.expired(1000 + 2 * MAX_AGE_SECONDS + 100));
    }

    #[test]
    fn a_device_is_new_only_beside_earlier_sign_ins_from_others() {
        let signed = |d: &str| Entry {
            device: Some(d.into()),
            ..Entry::new(Activity::SignIn, 1)
        };
        let none = [Entry::new(Activity::PasskeyAdded, 1)];
        assert!(!new_device(none.iter(), Some("Firefox")));
        let seen = [signed("Chrome on Linux")];
        assert!(!new_device(seen.iter(), Some("Chrome on Linux")));
        assert!(new_device(seen.iter(), Some("Firefox on Mac")));
    }
}
