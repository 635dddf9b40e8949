//! The sessions feature's store slice in memory.

use super::store::{
    Carried, CheckToken, DeviceProof, PREVIOUS_PASSWORD_SECONDS, Rotate, Rotation, SessionStore,
    SessionsAfter, TokenCheck,
};
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::memory::Tables;
use crate::kernel::store::{MemoryStore, SessionBinding, SessionInfo};
use async_trait::async_trait;
use subtle::ConstantTimeEq;

/// Whether a refresh shows what `binding` asks of its device (see [`DeviceProof`]): an unbound
/// session asks nothing; a bound one, a cookie refresh with its bound cookie in force or the
/// one its last renewal replaced, each until its own expiry.
fn shows_device(binding: &SessionBinding, proof: &DeviceProof, now: i64) -> bool {
    if binding.key.is_none() {
        return true;
    }
    let Some(presented) = proof.bound_cookie.as_deref().filter(|_| proof.by_cookie) else {
        return false;
    };
    let live = |kept: &Option<String>, expires_at: i64| {
        kept.as_deref().is_some_and(|kept| {
            let same: bool = presented.as_bytes().ct_eq(kept.as_bytes()).into();
            same && expires_at > now
        })
    };
    live(&binding.cookie, binding.cookie_expires_at)
        || live(&binding.previous, binding.previous_expires_at)
}

/// The rotation itself ([`SessionStore::rotate`]), in one critical section.
fn rotate_record(g: &mut Tables, r: &Rotate) -> Rotation {
    let Some(rec) = g.live_session(r.account, r.session, r.now) else {
        return Rotation::Invalid;
    };
    let current = rec.current.ct_eq(&r.presented);
    let previous = rec
        .previous
        .filter(|(prev, _)| !current && prev.ct_eq(&r.presented));
    if !(current || previous.is_some() || rec.family.ct_eq(&r.family)) {
        return Rotation::Invalid;
    }
    // A token of the family from a request that does not show the bound session's device:
    // refused before anything else, so nothing is spent and nothing ends.
    let device_shown = r
        .device
        .as_ref()
        .is_none_or(|proof| shows_device(&rec.binding, proof, r.now));
    if !device_shown {
        return Rotation::Unbound;
    }
    if current {
        let expires_at = (r.now + r.idle_ttl).min(rec.absolute_expires_at);
        rec.previous = Some((rec.current, r.now));
        rec.current = r.successor;
        rec.rotated_by = Some(r.request_id);
        rec.info.last_used_at = r.now;
        rec.info.expires_at = expires_at;
        return Rotation::Rotated { expires_at };
    }
    if let Some((_, rotated_at)) = previous {
        let same_successor = rec.current.ct_eq(&r.successor);
        // The store's own retry of the rotation that ran, or a replay within the grace.
        let retry = same_successor && rec.rotated_by == Some(r.request_id);
        let in_grace = r.grace > 0 && r.now - rotated_at <= r.grace;
        if retry || (in_grace && same_successor) {
            return Rotation::Replayed {
                expires_at: rec.info.expires_at,
            };
        }
        if in_grace {
            return Rotation::Invalid;
        }
    }
    // A spent token of the family: theft. The session ends.
    g.end_if_reused(r.account, r.session, true, r.now);
    Rotation::Reused
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn rotate(&self, r: &Rotate) -> Result<(Rotation, Option<Carried>), StoreError> {
        let mut g = self.lock();
        let rotation = rotate_record(&mut g, r);
        let email_verified = g.accounts.get(&r.account).is_none_or(|a| a.email_verified);
        let carried = match rotation {
            Rotation::Rotated { .. } | Rotation::Replayed { .. } => g
                .live_session(r.account, r.session, r.now)
                .map(|rec| Carried {
                    authentication: rec.info.authentication.clone(),
                    email_verified,
                }),
            Rotation::Reused | Rotation::Invalid | Rotation::Unbound => None,
        };
        Ok((rotation, carried))
    }

    async fn check_token(&self, c: &CheckToken) -> Result<TokenCheck, StoreError> {
        let mut g = self.lock();
        let Some(rec) = g.live_session(c.account, c.session, c.now) else {
            return Ok(TokenCheck::Invalid);
        };
        if rec.current.ct_eq(&c.presented) {
            return Ok(TokenCheck::Current);
        }
        let reused = match rec.previous {
            Some((prev, rotated_at)) if prev.ct_eq(&c.presented) => {
                if c.grace > 0 && c.now - rotated_at <= c.grace {
                    return Ok(TokenCheck::Previous);
                }
                true
            }
            _ => rec.family.ct_eq(&c.family),
        };
        Ok(if g.end_if_reused(c.account, c.session, reused, c.now) {
            TokenCheck::Reused
        } else {
            TokenCheck::Invalid
        })
    }

    async fn revoke_session(&self, account: Id, session: Id, now: i64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        Ok(g.sessions
            .get_mut(&account)
            .and_then(|s| s.remove(&session))
            .is_some_and(|r| r.info.expires_at > now))
    }

    async fn revoke_all(&self, account: Id, entry: &Entry) -> Result<u64, StoreError> {
        let mut g = self.lock();
        let n = g.end_sessions(account, None);
        if n > 0 {
            g.record(account, entry);
        }
        Ok(n)
    }

    async fn list_sessions(&self, account: Id, now: i64) -> Result<Vec<SessionInfo>, StoreError> {
        let mut g = self.lock();
        let Some(sessions) = g.sessions.get_mut(&account) else {
            return Ok(Vec::new());
        };
        sessions.retain(|_, s| s.info.expires_at > now);
        let mut list: Vec<SessionInfo> = sessions.values().map(|s| s.info.clone()).collect();
        list.sort_by_key(|s| (s.created_at, s.id));
        Ok(list)
    }

    async fn set_password(
        &self,
        id: Id,
        password_hash: &str,
        sessions: SessionsAfter,
        entry: &Entry,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let Some(a) = g.accounts.get_mut(&id) else {
            return Ok(false);
        };
        a.password_version += 1;
        if a.password_hash != password_hash {
            let old = std::mem::replace(&mut a.password_hash, password_hash.to_string());
            g.previous_passwords.insert(
                id,
                (old, crate::kernel::clock::now() + PREVIOUS_PASSWORD_SECONDS),
            );
            g.record(id, entry);
        }
        match sessions {
            SessionsAfter::EndAll => {
                g.end_sessions(id, None);
            }
            SessionsAfter::KeepOnly(keep) => {
                g.end_sessions(id, Some(keep));
            }
            SessionsAfter::KeepAll => {}
        }
        Ok(true)
    }

    async fn previous_password_hash(&self, id: Id, now: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .previous_passwords
            .get(&id)
            .filter(|(_, until)| *until > now)
            .map(|(hash, _)| hash.clone()))
    }
}
