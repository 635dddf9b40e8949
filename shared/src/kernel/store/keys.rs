//! The Redis key layout, written once: every key the store reads or writes, whichever part of
//! it does. Every key that one script touches carries the same hash tag, so the scripts run
//! unchanged on a single node and on a cluster.
//!
//! | key | type | TTL |
//! |---|---|---|
//! | `pp:{<account>}:acct` | hash: email, pw, pwv, status, created, ev; mfa (`1` with a second factor); pwprev, pwprev_until after a password change | none (the directory is durable) |
//! | `pp:{<account>}:s:<session>` | hash: cur, prev, rot, rid, fam, dev, ua, ip, created, last, exp, abs, email, at, amr, agent; idp after a federated sign-in; sup after a reauthentication until an action spends it; dbk, dbc, dbce once bound (DBSC), dbp, dbpe once renewed | at `exp` |
//! | `pp:{<account>}:sessions` | sorted set: session id → `exp` | at the largest `exp` |
//! | `pp:{<account>}:passkeys` | hash: credential id → its record (JSON: name, created, last, cred, by, agent) | none |
//! | `pp:{<account>}:mfa` | hash: salt, since, step (the last code's); pend, pend_until while an authenticator is set up; r1…r10 (recovery codes' SHA-256, hex) | none |
//! | `pp:{<account>}:idp` | hash: provider name → the connected identity (JSON: iss, sub, email, at) | none |
//! | `pp:{i:<sha256(iss, sub)>}:idp` | string: the account a provider's identity is connected to | none |
//! | `pp:{<account>}:log` | list, newest first: the security history's entries (JSON: n, t, e; m, a, ip, by, d as they apply), at most 50, none over 90 days old | 90 days after the newest |
//! | `pp:{<account>}:notices` | counter of the notices mailed about the account | an hour |
//! | `pp:{<account>}:passports` | sorted set: `<app>:<session>` of a private app's passport → when its record ends (+ a sequence's thousandths) | at the largest score |
//! | `pp:{<account>}:passports:seq` | counter ordering the above | with the last recording |
//! | `pp:{<account>}:sync` | string written after a confirmed write (`store::confirm`) | a second |
//! | `pp:{cer:<id>}:c` | string: a two-step exchange's state (a WebAuthn ceremony, a DBSC challenge), taken once (`GETDEL`) | the exchange's timeout |
//! | `pp:{e:<sha256(email)>}:email` | string: account id | none |
//! | `pp:{e:<sha256(email)>}:fail` | counter | the lockout window |
//! | `pp:{e:<sha256(email)>}:code` | hash: d (the sign-in code's digest), a (its account, or empty), n (tries) | 10 minutes |
//! | `pp:{e:<sha256(email)>}:mail` | counter of mail-sending requests for the address | an hour |
//! | `pp:{ip:<address>}:mail` | counter of mail-sending requests from one client | an hour |
//! | `pp:{ip:<address>}:starts` | counter of ceremonies (passkey options, "Sign in with …" flows) one client started | 10 minutes |
//! | `pp:{mt:<selector>}:t` | string: a mailed token's record (JSON: purpose, account, digest, email, version), taken once (`GETDEL`) | the token's lifetime |
//! | `pp:{ip:<address>}:fail` | counter | the lockout window |
//! | `pp:{ip:<network>}:e:<sha256(email)>` | counter: attempts for one email from one network (an IPv4 address, an IPv6 /48) | the lockout window |
//! | `pp:{ip:<address>}:visitors` | counter of new anonymous end users (per address, and per IPv6 /48) | an hour |
//! | `pp:{app:<app>}:visitors` | counter of an app's new anonymous end users | an hour |
//! | `pp:{app:<app>}:app` | hash: code, name, access, ttl, enabled, created | none |
//! | `pp:{app:<app>}:users` | hash: account id → its end user in this app | none |
//! | `pp:{app:<app>}:p:<session>` | hash: eu, acct, exp (a visitor's passport session) | at `exp` + retention |
//! | `pp:{ac:<code>}:app` | string: app id | none |
//! | `pp:{apps}:all` | set: app ids (for `list_apps`) | none |
//! | `pp:{keys}:public` | hash: created, document (the signers' public keys) | none |
//!
//! A passport session shares its app's hash tag, so the app authorizer reads the app's
//! `enabled` and the session's existence in one round trip on one node. Emails appear in key
//! names only as a digest, so a key listing shows no addresses.

use crate::kernel::addresses::network_key;
use crate::kernel::ids::Id;
use sha2::{Digest, Sha256};

/// An account's record.
pub fn account(a: Id) -> String {
    format!("pp:{{{a}}}:acct")
}

/// What every session key of the account starts with (scripts append the session id).
pub fn session_prefix(a: Id) -> String {
    format!("pp:{{{a}}}:s:")
}

/// A session's record.
pub fn session(a: Id, s: Id) -> String {
    format!("pp:{{{a}}}:s:{s}")
}

/// The account's set of sessions.
pub fn sessions(a: Id) -> String {
    format!("pp:{{{a}}}:sessions")
}

/// A session's key and its account's set of sessions: the KEYS of the scripts that spend or
/// check a refresh token.
pub fn session_keys(a: Id, s: Id) -> [(&'static str, String); 2] {
    [("session", session(a, s)), ("sessions", sessions(a))]
}

/// The account's passkeys.
pub fn passkeys(a: Id) -> String {
    format!("pp:{{{a}}}:passkeys")
}

/// The account's connected identity providers (`federation`).
pub fn identities(a: Id) -> String {
    format!("pp:{{{a}}}:idp")
}

/// The index entry of a provider's identity: `(iss, sub)` to the account it is connected to.
pub fn identity(issuer: &str, subject: &str) -> String {
    let mut h = Sha256::new();
    h.update(issuer.as_bytes());
    h.update([0]);
    h.update(subject.as_bytes());
    let d = h.finalize();
    let tag: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("pp:{{i:{tag}}}:idp")
}

/// The account's second factor (`mfa`).
pub fn mfa(a: Id) -> String {
    format!("pp:{{{a}}}:mfa")
}

/// The notices mailed about the account in the hour (`email::not_me`).
pub fn notice_count(a: Id) -> String {
    format!("pp:{{{a}}}:notices")
}

/// The account's security history (`kernel::activity`).
pub fn log(a: Id) -> String {
    format!("pp:{{{a}}}:log")
}

/// A private app's passports of one account: beside the account's sessions, so that every
/// script that ends them ends these too.
pub fn private_passports(a: Id) -> String {
    format!("pp:{{{a}}}:passports")
}

/// The counter ordering [`private_passports`]' recordings.
pub fn private_passports_sequence(a: Id) -> String {
    format!("pp:{{{a}}}:passports:seq")
}

/// A two-step exchange's state (a WebAuthn ceremony, a DBSC challenge).
pub fn state(id: Id) -> String {
    format!("pp:{{cer:{id}}}:c")
}

/// An email as it appears in key names: half its SHA-256, so a key listing shows no address.
fn email_hash(email: &str) -> String {
    let d = Sha256::digest(email.as_bytes());
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn email_tag(email: &str) -> String {
    format!("pp:{{e:{}}}", email_hash(email))
}

/// The email's index entry: the id of its account.
pub fn email(email: &str) -> String {
    format!("{}:email", email_tag(email))
}

/// The email's sign-in code (beside its index entry: one script reads both).
pub fn email_code(email: &str) -> String {
    format!("{}:code", email_tag(email))
}

/// Mail-sending requests for one address.
pub fn email_mail_count(email: &str) -> String {
    format!("{}:mail", email_tag(email))
}

/// Mail-sending requests from one client (its limit key).
pub fn client_mail_count(ip: &str) -> String {
    format!("pp:{{ip:{ip}}}:mail")
}

/// The ceremonies a client address started in the current window (`States::count_start`).
pub fn client_start_count(ip: &str) -> String {
    format!("pp:{{ip:{ip}}}:starts")
}

/// A mailed token's record, by the token's selector.
pub fn mail_token(selector: Id) -> String {
    format!("pp:{{mt:{selector}}}:t")
}

/// Attempts for one email from every address.
pub fn email_failures(email: &str) -> String {
    format!("{}:fail", email_tag(email))
}

/// Failed logins from one address.
pub fn ip_failures(ip: &str) -> String {
    format!("pp:{{ip:{ip}}}:fail")
}

/// Attempts for one email from one network ([`network_key`]: an IPv4 address, an IPv6 /48),
/// in that network's slot: an attacker walking the /64s of one /48 counts as one.
pub fn pair(email: &str, ip: Option<&str>) -> String {
    let network = ip.map_or_else(|| "-".to_string(), network_key);
    format!("pp:{{ip:{network}}}:e:{}", email_hash(email))
}

/// New anonymous end users from one network ([`network_key`]), when that is not the address.
pub fn network_visitors(ip: &str) -> String {
    format!("pp:{{ip:{}}}:visitors", network_key(ip))
}

/// New anonymous end users of one app.
pub fn app_visitors(app: Id) -> String {
    format!("pp:{{app:{app}}}:visitors")
}

/// New anonymous end users from one address.
pub fn visitors(ip: &str) -> String {
    format!("pp:{{ip:{ip}}}:visitors")
}

/// An app's record.
pub fn app(app: Id) -> String {
    format!("pp:{{app:{app}}}:app")
}

/// An app's account-to-end-user map.
pub fn app_users(app: Id) -> String {
    format!("pp:{{app:{app}}}:users")
}

/// A visitor's passport session, in its app's slot.
pub fn passport(app: Id, session: Id) -> String {
    format!("pp:{{app:{app}}}:p:{session}")
}

/// An app code's index entry: the app's id.
pub fn app_code(code: &str) -> String {
    format!("pp:{{ac:{code}}}:app")
}

/// The set of every app's id.
pub const APPS: &str = "pp:{apps}:all";

/// The signers' public key document (ES256): the one key outside any account or app.
pub const PUBLIC_KEYS: &str = "pp:{keys}:public";

/// `pp:{<tag>}:sync`, beside `key` in its hash slot: the write every confirmed request ends
/// with (it lives a second).
pub fn sync(key: &[u8]) -> Option<String> {
    let key = std::str::from_utf8(key).ok()?;
    let open = key.find('{')?;
    let close = open + key[open..].find('}')?;
    Some(format!("pp:{}:sync", &key[open..=close]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sync_key_shares_the_write_s_slot() {
        assert_eq!(sync(b"pp:{abc}:s:x").as_deref(), Some("pp:{abc}:sync"));
        assert_eq!(sync(b"pp:{apps}:all").as_deref(), Some("pp:{apps}:sync"));
        assert_eq!(sync(b"plain"), None);
    }

    #[test]
    fn keys_of_one_account_share_a_hash_tag() {
        let (a, s) = (Id::random(), Id::random());
        let tag = format!("{{{a}}}");
        for k in [
            account(a),
            session(a, s),
            sessions(a),
            passkeys(a),
            private_passports(a),
            private_passports_sequence(a),
        ] {
            assert!(k.contains(&tag), "{k}");
            assert_eq!(k.find('{'), Some(3), "{k}");
        }
        assert!(session(a, s).starts_with(&session_prefix(a)));
        let tag = email_tag("a@b.example");
        assert!(email("a@b.example").starts_with(&format!("{tag}:")));
        assert!(email_failures("a@b.example").starts_with(&format!("{tag}:")));
        assert_ne!(email_tag("a@b.example"), email_tag("c@b.example"));
        assert!(!email("someone@example.com").contains("someone"));
    }
}
