//! The email feature's store slice on Redis (its scripts in `lua/`). A sign-in code lives in its
//! address's slot, beside its index entry; a mailed token in a slot of its own.

use super::store::{CodeRecord, EmailMove, EmailStore, MAIL_WINDOW, MailCount};
use super::tokens::TokenRecord;
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::{Counter, RedisStore, keys};
use async_trait::async_trait;
use redis::AsyncCommands;

crate::lua_scripts! {
    PUT_EMAIL_CODE = "put_email_code",
    TRY_EMAIL_CODE = "try_email_code",
    SPEND_EMAIL_CODE = "spend_email_code",
    SET_EMAIL_VERIFIED = "set_email_verified",
    MOVE_EMAIL = "move_email",
}

#[async_trait]
impl EmailStore for RedisStore {
    async fn count_mail(&self, by: MailCount<'_>, _now: i64) -> Result<Counter, StoreError> {
        let key = match by {
            MailCount::Email(e) => keys::email_mail_count(e),
            MailCount::Client(c) => keys::client_mail_count(c),
            MailCount::Notices(a) => keys::notice_count(a),
        };
        self.count(key, MAIL_WINDOW).await
    }

    async fn put_mail_token(
        &self,
        selector: Id,
        record: &TokenRecord,
        ttl: i64,
        _now: i64,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(keys::mail_token(selector))
            .arg(text)
            .arg("EX")
            .arg(ttl.max(1));
        self.write_cmd::<()>(cmd).await
    }

    async fn take_mail_token(
        &self,
        selector: Id,
        _now: i64,
    ) -> Result<Option<TokenRecord>, StoreError> {
        // A write: the deletion must survive a failover, or the token could be used twice.
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(keys::mail_token(selector));
        let text: Option<String> = self.write_cmd(cmd).await?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    async fn put_email_code(
        &self,
        email: &str,
        digest: &str,
        ttl: i64,
        _now: i64,
    ) -> Result<Option<Id>, StoreError> {
        // The index is read apart (the cache users may only read it), then the code written
        // naming what it said: two round trips whether or not an account has the address.
        let account = self
            .string(&keys::email(email))
            .await?
            .and_then(|s| s.parse::<Id>().ok());
        let _: i64 = self
            .write(&PUT_EMAIL_CODE.invocation(
                &[("code", keys::email_code(email))],
                &[
                    ("digest", digest.to_string()),
                    (
                        "account",
                        account.map(|a| a.to_string()).unwrap_or_default(),
                    ),
                    ("ttl", ttl.max(1).to_string()),
                ],
            )?)
            .await?;
        Ok(account)
    }

    async fn try_email_code(
        &self,
        email: &str,
        max_tries: u64,
        _now: i64,
    ) -> Result<Option<CodeRecord>, StoreError> {
        // A write (the try is counted): confirmed like one, so a failover cannot hand the
        // tries back.
        let found: Option<(String, String)> = self
            .write(&TRY_EMAIL_CODE.invocation(
                &[("code", keys::email_code(email))],
                &[("max_tries", max_tries.to_string())],
            )?)
            .await?;
        Ok(found.map(|(digest, account)| CodeRecord {
            digest,
            account: account.parse().ok(),
        }))
    }

    async fn spend_email_code(&self, email: &str, digest: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&SPEND_EMAIL_CODE.invocation(
                &[("code", keys::email_code(email))],
                &[("digest", digest.to_string())],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn set_email_verified(&self, account: Id, email: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&SET_EMAIL_VERIFIED.invocation(
                &[
                    ("account", keys::account(account)),
                    ("sessions", keys::sessions(account)),
                ],
                &[
                    ("email", email.to_string()),
                    ("session_prefix", keys::session_prefix(account)),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn move_email(
        &self,
        account: Id,
        old: &str,
        new: &str,
        entry: &Entry,
    ) -> Result<EmailMove, StoreError> {
        // Three slots (the account's, each address's): the new entry is claimed first
        // (compare-and-set), so no other account can take the address meanwhile; then the
        // record moves; then the old entry goes. Cut short after the claim, the new entry names
        // an account whose record still has the old address: lookups by address compare the
        // record's (`Core::account_by_email`), so it signs nothing in.
        let index = keys::email(new);
        let live =
            |h: Id| async move { Ok(self.conn().exists::<_, bool>(keys::account(h)).await?) };
        if !self.claim_entry(&index, &account.to_string(), live).await? {
            return Ok(EmailMove::Taken);
        }
        let moved: i64 = self
            .write(&MOVE_EMAIL.invocation(
                &[
                    ("account", keys::account(account)),
                    ("sessions", keys::sessions(account)),
                    ("log", keys::log(account)),
                ],
                &[
                    ("old", old.to_string()),
                    ("new", new.to_string()),
                    ("session_prefix", keys::session_prefix(account)),
                    ("entry", entry.encode()),
                ],
            )?)
            .await?;
        if moved != 1 {
            self.unindex(index, account).await?;
            return Ok(EmailMove::Stale);
        }
        self.unindex(keys::email(old), account).await?;
        Ok(EmailMove::Moved)
    }
}
