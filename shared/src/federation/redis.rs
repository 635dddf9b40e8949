//! The federation feature's store slice on Redis (its scripts in `lua/`).
//!
//! The account's identities and the `(iss, sub)` index live in two hash slots, so no one script
//! writes both; order makes it safe, as for the email index (`Directory::create_account`): the
//! index entry is claimed first (free, or naming an account that no longer holds the identity),
//! then the account's record is written; a refused record gives the entry back. A sign-in
//! believes the index only when the account it names holds the identity.

use super::store::{FederationStore, Identity, Linked, Unlinked};
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::{RedisStore, keys};
use async_trait::async_trait;

crate::lua_scripts! {
    LINK_IDENTITY = "link_identity",
    UNLINK_IDENTITY = "unlink_identity",
}

/// How `link_identity.lua` compares a kept identity with a new one.
fn sub_key(iss: &str, sub: &str) -> String {
    format!("{iss}\0{sub}")
}

fn identity_from_record(provider: String, record: &str) -> Result<Identity, StoreError> {
    let mut i: Identity = serde_json::from_str(record)
        .map_err(|e| StoreError::Corrupt(format!("identity record: {e}")))?;
    i.provider = provider;
    Ok(i)
}

impl RedisStore {
    /// Whether `account` holds the identity `(iss, sub)`.
    async fn holds(&self, account: Id, iss: &str, sub: &str) -> Result<bool, StoreError> {
        let all = self.hash(&keys::identities(account)).await?;
        Ok(all.iter().any(|(p, r)| {
            identity_from_record(p.clone(), r).is_ok_and(|i| i.iss == iss && i.sub == sub)
        }))
    }
}

#[async_trait]
impl FederationStore for RedisStore {
    async fn identity_owner(&self, iss: &str, sub: &str) -> Result<Option<Id>, StoreError> {
        let Some(owner) = self.string(&keys::identity(iss, sub)).await? else {
            return Ok(None);
        };
        let Ok(owner) = owner.parse::<Id>() else {
            return Ok(None);
        };
        Ok(self.holds(owner, iss, sub).await?.then_some(owner))
    }

    async fn identities(&self, account: Id) -> Result<Vec<Identity>, StoreError> {
        let all = self.hash(&keys::identities(account)).await?;
        let mut list = all
            .into_iter()
            .map(|(p, r)| identity_from_record(p, &r))
            .collect::<Result<Vec<_>, _>>()?;
        list.sort_by(|a, b| a.provider.cmp(&b.provider));
        Ok(list)
    }

    async fn link_identity(
        &self,
        account: Id,
        identity: &Identity,
        entry: &Entry,
    ) -> Result<Linked, StoreError> {
        let index = keys::identity(&identity.iss, &identity.sub);
        let live = |h: Id| async move { self.holds(h, &identity.iss, &identity.sub).await };
        if !self.claim_entry(&index, &account.to_string(), live).await? {
            return Ok(Linked::InUse);
        }
        let record = serde_json::to_string(identity)
            .map_err(|e| StoreError::Corrupt(format!("identity record: {e}")))?;
        let outcome: String = self
            .write(&LINK_IDENTITY.invocation(
                &[
                    ("account", keys::account(account)),
                    ("identities", keys::identities(account)),
                    ("log", keys::log(account)),
                ],
                &[
                    ("provider", identity.provider.clone()),
                    ("record", record),
                    ("sub_key", sub_key(&identity.iss, &identity.sub)),
                    ("entry", entry.encode()),
                ],
            )?)
            .await?;
        let linked = match outcome.as_str() {
            "linked" => return Ok(Linked::Linked),
            "taken" => Linked::ProviderTaken,
            _ => Linked::NoAccount,
        };
        self.unindex(index, account).await?;
        Ok(linked)
    }

    async fn unlink_identity(
        &self,
        account: Id,
        provider: &str,
        entry: &Entry,
    ) -> Result<Unlinked, StoreError> {
        let outcome: String = self
            .write(&UNLINK_IDENTITY.invocation(
                &[
                    ("account", keys::account(account)),
                    ("identities", keys::identities(account)),
                    ("passkeys", keys::passkeys(account)),
                    ("sessions", keys::sessions(account)),
                    ("log", keys::log(account)),
                ],
                &[
                    ("provider", provider.to_string()),
                    ("prefix", keys::session_prefix(account)),
                    ("entry", entry.encode()),
                ],
            )?)
            .await?;
        match outcome.as_str() {
            "missing" => Ok(Unlinked::Missing),
            "last" => Ok(Unlinked::Last),
            record => {
                let gone = identity_from_record(provider.to_string(), record)?;
                self.unindex(keys::identity(&gone.iss, &gone.sub), account)
                    .await?;
                Ok(Unlinked::Unlinked)
            }
        }
    }
}
