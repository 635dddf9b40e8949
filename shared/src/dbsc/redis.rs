//! DBSC's store slice on Redis (its scripts in `lua/`): fields of the session's hash.

use super::store::{BindOutcome, DbscStore, RenewOutcome};
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::{RedisStore, keys};
use async_trait::async_trait;

crate::lua_scripts! {
    BIND_SESSION = "bind_session",
    RENEW_BOUND_COOKIE = "renew_bound_cookie",
}

#[async_trait]
impl DbscStore for RedisStore {
    async fn bind_session(
        &self,
        account: Id,
        session: Id,
        key: &str,
        cookie: &str,
        cookie_expires_at: i64,
        _now: i64,
    ) -> Result<BindOutcome, StoreError> {
        let outcome: String = self
            .write(&BIND_SESSION.invocation(
                &[("session", keys::session(account, session))],
                &[
                    ("key", key.to_string()),
                    ("cookie", cookie.to_string()),
                    ("cookie_expires_at", cookie_expires_at.to_string()),
                ],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "bound" => BindOutcome::Bound,
            "taken" => BindOutcome::Taken,
            _ => BindOutcome::Gone,
        })
    }

    async fn renew_bound_cookie(
        &self,
        account: Id,
        session: Id,
        cookie: &str,
        cookie_expires_at: i64,
        expected: &str,
        _now: i64,
    ) -> Result<RenewOutcome, StoreError> {
        let n: i64 = self
            .write(&RENEW_BOUND_COOKIE.invocation(
                &[("session", keys::session(account, session))],
                &[
                    ("cookie", cookie.to_string()),
                    ("cookie_expires_at", cookie_expires_at.to_string()),
                    ("expected", expected.to_string()),
                ],
            )?)
            .await?;
        Ok(match n {
            1 => RenewOutcome::Renewed,
            2 => RenewOutcome::Stale,
            _ => RenewOutcome::Gone,
        })
    }
}
