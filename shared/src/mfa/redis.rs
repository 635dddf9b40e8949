//! The second factor's store slice on Redis (its scripts in `lua/`).

use super::store::{Begun, MfaState, MfaStore};
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::{RedisStore, keys};
use async_trait::async_trait;

crate::lua_scripts! {
    BEGIN_TOTP = "begin_totp",
    CONFIRM_TOTP = "confirm_totp",
    ACCEPT_TOTP_STEP = "accept_totp_step",
    SPEND_RECOVERY_CODE = "spend_recovery_code",
    REPLACE_RECOVERY_CODES = "replace_recovery_codes",
    REMOVE_TOTP = "remove_totp",
}

fn number(h: &std::collections::HashMap<String, String>, name: &str) -> Result<i64, StoreError> {
    h.get(name).map_or(Ok(0), |v| {
        v.parse()
            .map_err(|_| StoreError::Corrupt(format!("mfa record: {name}")))
    })
}

#[async_trait]
impl MfaStore for RedisStore {
    async fn mfa_state(&self, account: Id, now: i64) -> Result<MfaState, StoreError> {
        let h = self.hash(&keys::mfa(account)).await?;
        let pending = match (h.get("pend"), number(&h, "pend_until")?) {
            (Some(salt), until) if until > now => Some(salt.clone()),
            _ => None,
        };
        Ok(MfaState {
            totp: match h.get("salt") {
                Some(salt) => Some((salt.clone(), number(&h, "since")?)),
                None => None,
            },
            pending,
            last_step: number(&h, "step")?,
            recovery_left: (1..=10)
                .filter(|i| h.contains_key(&format!("r{i}")))
                .count() as u32,
        })
    }

    async fn begin_totp(
        &self,
        account: Id,
        salt: &str,
        until: i64,
        _now: i64,
    ) -> Result<Begun, StoreError> {
        let outcome: String = self
            .write(&BEGIN_TOTP.invocation(
                &[
                    ("account", keys::account(account)),
                    ("mfa", keys::mfa(account)),
                ],
                &[
                    ("salt", salt.to_string()),
                    ("pending_until", until.to_string()),
                ],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "pending" => Begun::Pending,
            "exists" => Begun::Exists,
            _ => Begun::NoAccount,
        })
    }

    async fn confirm_totp(
        &self,
        account: Id,
        salt: &str,
        step: i64,
        recovery_digests: &[String],
        entry: &Entry,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&CONFIRM_TOTP.invocation(
                &[
                    ("account", keys::account(account)),
                    ("mfa", keys::mfa(account)),
                    ("log", keys::log(account)),
                ],
                &[
                    ("salt", salt.to_string()),
                    ("step", step.to_string()),
                    ("now", entry.at.to_string()),
                    ("codes", recovery_digests.join(" ")),
                    ("entry", entry.encode()),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn accept_totp_step(
        &self,
        account: Id,
        salt: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&ACCEPT_TOTP_STEP.invocation(
                &[("mfa", keys::mfa(account))],
                &[("salt", salt.to_string()), ("step", step.to_string())],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn spend_recovery_code(
        &self,
        account: Id,
        digest: &str,
        entry: &Entry,
    ) -> Result<Option<u32>, StoreError> {
        let left: Option<i64> = self
            .write(&SPEND_RECOVERY_CODE.invocation(
                &[("mfa", keys::mfa(account)), ("log", keys::log(account))],
                &[("digest", digest.to_string()), ("entry", entry.encode())],
            )?)
            .await?;
        Ok(left.map(|n| n.max(0) as u32))
    }

    async fn replace_recovery_codes(
        &self,
        account: Id,
        digests: &[String],
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&REPLACE_RECOVERY_CODES.invocation(
                &[("mfa", keys::mfa(account))],
                &[("codes", digests.join(" "))],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn remove_totp(&self, account: Id, entry: &Entry) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&REMOVE_TOTP.invocation(
                &[
                    ("account", keys::account(account)),
                    ("mfa", keys::mfa(account)),
                    ("log", keys::log(account)),
                ],
                &[("entry", entry.encode())],
            )?)
            .await?;
        Ok(n == 1)
    }
}
