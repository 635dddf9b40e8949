//! The passkeys feature's store slice on Redis (its scripts in `lua/`).

use super::store::{PasskeyAdded, PasskeyRemoved, PasskeyStore, StoredPasskey};
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::{RedisStore, keys};
use async_trait::async_trait;

crate::lua_scripts! {
    ADD_PASSKEY = "add_passkey",
    UPDATE_PASSKEY = "update_passkey",
    REMOVE_PASSKEY = "remove_passkey",
}

/// A passkey's record in the account's passkeys hash.
fn passkey_record(p: &StoredPasskey) -> String {
    serde_json::json!({
        "name": p.name,
        "created": p.created_at,
        "last": p.last_used_at,
        "cred": p.credential,
    })
    .to_string()
}

fn passkey_from_record(id: String, record: &str) -> Result<StoredPasskey, StoreError> {
    #[derive(serde::Deserialize)]
    struct Record {
        name: String,
        created: i64,
        last: i64,
        cred: String,
    }
    let r: Record = serde_json::from_str(record)
        .map_err(|e| StoreError::Corrupt(format!("passkey record: {e}")))?;
    Ok(StoredPasskey {
        id,
        name: r.name,
        created_at: r.created,
        last_used_at: r.last,
        credential: r.cred,
    })
}

#[async_trait]
impl PasskeyStore for RedisStore {
    async fn passkeys(&self, account: Id) -> Result<Vec<StoredPasskey>, StoreError> {
        let all = self.hash(&keys::passkeys(account)).await?;
        let mut list = all
            .into_iter()
            .map(|(id, record)| passkey_from_record(id, &record))
            .collect::<Result<Vec<_>, _>>()?;
        StoredPasskey::oldest_first(&mut list);
        Ok(list)
    }

    async fn add_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
        max: u64,
    ) -> Result<PasskeyAdded, StoreError> {
        let outcome: String = self
            .write(&ADD_PASSKEY.invocation(
                &[
                    ("account", keys::account(account)),
                    ("passkeys", keys::passkeys(account)),
                ],
                &[
                    ("id", passkey.id.clone()),
                    ("record", passkey_record(passkey)),
                    ("max", max.to_string()),
                ],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "added" => PasskeyAdded::Added,
            "exists" => PasskeyAdded::Exists,
            "full" => PasskeyAdded::Full,
            _ => PasskeyAdded::NoAccount,
        })
    }

    async fn update_passkey(
        &self,
        account: Id,
        passkey: &StoredPasskey,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&UPDATE_PASSKEY.invocation(
                &[("passkeys", keys::passkeys(account))],
                &[
                    ("id", passkey.id.clone()),
                    ("record", passkey_record(passkey)),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn remove_passkey(&self, account: Id, id: &str) -> Result<PasskeyRemoved, StoreError> {
        let outcome: String = self
            .write(&REMOVE_PASSKEY.invocation(
                &[
                    ("account", keys::account(account)),
                    ("passkeys", keys::passkeys(account)),
                ],
                &[("id", id.to_string())],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "removed" => PasskeyRemoved::Removed,
            "last" => PasskeyRemoved::Last,
            _ => PasskeyRemoved::Missing,
        })
    }
}
