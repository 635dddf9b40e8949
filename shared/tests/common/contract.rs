//! What the store contract's tests share: an account, a session started on it, a rotation
//! request.
#![allow(dead_code)]

use passport::api::Store;
use passport::kernel::clock;
use passport::kernel::ids::Id;
use passport::kernel::store::{Account, AccountStatus, NewSession, SessionStart};
use passport::kernel::tokens::refresh::RefreshToken;
use passport::sessions::store::Rotate;
use passport::testing::store::create_session;

/// A new active account, with a hash nothing verifies.
pub async fn account(store: &dyn Store) -> Account {
    let a = Account {
        id: Id::random(),
        email: super::unique_email(),
        password_hash: "$argon2id$stub-not-verified-here".into(),
        status: AccountStatus::Active,
        created_at: clock::now(),
        password_version: 0,
        email_verified: true,
        second_factor: false,
    };
    assert!(store.create_account(&a).await.unwrap());
    a
}

/// A session started on an account, and its first refresh token.
pub struct Started {
    pub session: Id,
    pub token: RefreshToken,
}

/// Starts a session on `a` living `idle` seconds (at most `absolute`).
pub async fn start(store: &dyn Store, a: &Account, idle: i64, absolute: i64) -> Started {
    let session = Id::random();
    let token = RefreshToken::new(a.id, session);
    let now = clock::now();
    let new = NewSession {
        account: a.id,
        session,
        digest: token.digest(),
        family: token.family_digest(),
        device: Some("phone".into()),
        user_agent: Some("test-agent".into()),
        ip: Some("198.51.100.1".into()),
        now,
        expires_at: (now + idle).min(now + absolute),
        absolute_expires_at: now + absolute,
        password_version: store.account(a.id).await.unwrap().unwrap().password_version,
        max_sessions: 100,
        via: None,
    };
    assert_eq!(
        create_session(store, &new, &a.email).await,
        SessionStart::Started { new_device: false }
    );
    Started { session, token }
}

/// The rotation of `presented` into `successor` on `s`, now, idle 1000 s, grace 10 s.
pub fn rotate_req(
    a: &Account,
    s: &Started,
    presented: &RefreshToken,
    successor: &RefreshToken,
) -> Rotate {
    Rotate {
        account: a.id,
        session: s.session,
        presented: presented.digest(),
        successor: successor.digest(),
        family: presented.family_digest(),
        request_id: passport::kernel::ids::random_bytes(),
        now: clock::now(),
        idle_ttl: 1000,
        grace: 10,
        device: None,
    }
}

/// The key successors are made with in these tests.
pub const KEY: [u8; 32] = [7; 32];

/// Redis Cluster's hash slot of a key (CRC16/XMODEM of the hash tag, mod 16384).
pub fn key_slot(key: &str) -> u16 {
    let tagged = match key.find('{') {
        Some(open) => match key[open + 1..].find('}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for &b in tagged.as_bytes() {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}
