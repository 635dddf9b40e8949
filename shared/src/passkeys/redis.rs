//! The passkeys feature's store slice on Redis (its scripts in `lua/`).

use super::store::{AddedBy, Grant, PasskeyAdded, PasskeyRemoved, PasskeyStore, StoredPasskey};
use crate::kernel::activity::Entry;
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
        "by": p.added_by.as_ref().map(|b| b.session.to_string()),
        "agent": p.added_by.as_ref().and_then(|b| b.agent.clone()),
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
        #[serde(default)]
        by: Option<String>,
        #[serde(default)]
        agent: Option<String>,
    }
    let r: Record = serde_json::from_str(record)
        .map_err(|e| StoreError::Corrupt(format!("passkey record: {e}")))?;
    let added_by = match r.by {
        Some(session) => Some(AddedBy {
            session: session
                .parse()
                .map_err(|_| StoreError::Corrupt("passkey record: session".into()))?,
            agent: r.agent,
        }),
        None => None,
    };
    Ok(StoredPasskey {
        id,
        name: r.name,
        created_at: r.created,
        last_used_at: r.last,
        credential: r.cred,
        added_by,
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
        grant: Grant,
        entry: &Entry,
    ) -> Result<PasskeyAdded, StoreError> {
        let outcome: String = self
            .write(&ADD_PASSKEY.invocation(
                &[
                    ("account", keys::account(account)),
                    ("passkeys", keys::passkeys(account)),
                    ("session", keys::session(account, grant.session)),
                    ("log", keys::log(account)),
                ],
                &[
                    ("id", passkey.id.clone()),
                    ("record", passkey_record(passkey)),
                    ("max", max.to_string()),
                    ("not_before", grant.not_before().to_string()),
                    ("entry", entry.encode()),
                ],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "added" => PasskeyAdded::Added,
            "reauthenticate" => PasskeyAdded::NotReauthenticated,
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

    async fn remove_passkey(
        &self,
        account: Id,
        id: &str,
        entry: &Entry,
    ) -> Result<PasskeyRemoved, StoreError> {
        let outcome: String = self
            .write(&REMOVE_PASSKEY.invocation(
                &[
                    ("account", keys::account(account)),
                    ("passkeys", keys::passkeys(account)),
                    ("log", keys::log(account)),
                    ("identities", keys::identities(account)),
                ],
                &[("id", id.to_string()), ("entry", entry.encode())],
            )?)
            .await?;
        Ok(match outcome.as_str() {
            "removed" => PasskeyRemoved::Removed,
            "last" => PasskeyRemoved::Last,
            _ => PasskeyRemoved::Missing,
        })
    }
}
