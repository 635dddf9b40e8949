//! DBSC's store slice in memory: the binding in the kernel's session record.

use super::store::{BindOutcome, DbscStore, RenewOutcome};
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::{MemoryStore, SessionBinding};
use async_trait::async_trait;

#[async_trait]
impl DbscStore for MemoryStore {
    async fn bind_session(
        &self,
        account: Id,
        session: Id,
        key: &str,
        cookie: &str,
        cookie_expires_at: i64,
        now: i64,
    ) -> Result<BindOutcome, StoreError> {
        let mut g = self.lock();
        let Some(rec) = g.live_session(account, session, now) else {
            return Ok(BindOutcome::Gone);
        };
        if rec.binding.key.as_deref().is_some_and(|k| k != key) {
            return Ok(BindOutcome::Taken);
        }
        rec.binding = SessionBinding {
            key: Some(key.to_string()),
            cookie: Some(cookie.to_string()),
            cookie_expires_at,
            ..SessionBinding::default()
        };
        Ok(BindOutcome::Bound)
    }

    async fn renew_bound_cookie(
        &self,
        account: Id,
        session: Id,
        cookie: &str,
        cookie_expires_at: i64,
        expected: &str,
        now: i64,
    ) -> Result<RenewOutcome, StoreError> {
        let mut g = self.lock();
        Ok(match g.live_session(account, session, now) {
            Some(rec) if rec.binding.key.is_some() => {
                let b = &mut rec.binding;
                if b.cookie.as_deref().unwrap_or_default() != expected {
                    return Ok(RenewOutcome::Stale);
                }
                b.previous = b.cookie.replace(cookie.to_string());
                b.previous_expires_at =
                    std::mem::replace(&mut b.cookie_expires_at, cookie_expires_at);
                RenewOutcome::Renewed
            }
            _ => RenewOutcome::Gone,
        })
    }
}
