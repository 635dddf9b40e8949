//! The email feature's store slice in memory.

use super::store::{CodeRecord, EmailMove, EmailStore, MAIL_WINDOW, MailCount};
use super::tokens::TokenRecord;
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::memory::FeatureTable;
use crate::kernel::store::{Counter, MemoryStore};
use async_trait::async_trait;
use std::collections::HashMap;

/// Mailed tokens and sign-in codes, each with the time it ends.
#[derive(Default)]
struct Mailed {
    tokens: HashMap<Id, (TokenRecord, i64)>,
    /// By address: the code's record, its tries and when it ends.
    codes: HashMap<String, (CodeRecord, u64, i64)>,
}

impl FeatureTable for Mailed {}

#[async_trait]
impl EmailStore for MemoryStore {
    async fn count_mail(&self, by: MailCount<'_>, now: i64) -> Result<Counter, StoreError> {
        let key = match by {
            MailCount::Email(e) => format!("mail:e:{e}"),
            MailCount::Client(c) => format!("mail:ip:{c}"),
            MailCount::Notices(a) => format!("mail:n:{a}"),
        };
        Ok(self.lock().count(key, MAIL_WINDOW, now))
    }

    async fn put_mail_token(
        &self,
        selector: Id,
        record: &TokenRecord,
        ttl: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut g = self.lock();
        let t = g.feature::<Mailed>();
        t.tokens.retain(|_, (_, until)| *until > now);
        t.tokens.insert(selector, (record.clone(), now + ttl));
        Ok(())
    }

    async fn take_mail_token(
        &self,
        selector: Id,
        now: i64,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let mut g = self.lock();
        Ok(match g.feature::<Mailed>().tokens.remove(&selector) {
            Some((record, until)) if until > now => Some(record),
            _ => None,
        })
    }

    async fn put_email_code(
        &self,
        email: &str,
        digest: &str,
        ttl: i64,
        now: i64,
    ) -> Result<Option<Id>, StoreError> {
        let mut g = self.lock();
        let account = g.emails.get(email).copied();
        let t = g.feature::<Mailed>();
        t.codes.retain(|_, (_, _, until)| *until > now);
        let record = CodeRecord {
            digest: digest.to_string(),
            account,
        };
        t.codes.insert(email.to_string(), (record, 0, now + ttl));
        Ok(account)
    }

    async fn try_email_code(
        &self,
        email: &str,
        max_tries: u64,
        now: i64,
    ) -> Result<Option<CodeRecord>, StoreError> {
        let mut g = self.lock();
        let codes = &mut g.feature::<Mailed>().codes;
        let Some((record, tries, until)) = codes.get_mut(email) else {
            return Ok(None);
        };
        *tries += 1;
        if *until <= now || *tries > max_tries {
            codes.remove(email);
            return Ok(None);
        }
        Ok(Some(record.clone()))
    }

    async fn spend_email_code(&self, email: &str, digest: &str) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let codes = &mut g.feature::<Mailed>().codes;
        if codes.get(email).is_some_and(|(r, _, _)| r.digest == digest) {
            codes.remove(email);
            return Ok(true);
        }
        Ok(false)
    }

    async fn set_email_verified(&self, account: Id, email: &str) -> Result<bool, StoreError> {
        let mut g = self.lock();
        match g.accounts.get_mut(&account) {
            Some(a) if a.email == email => {
                a.email_verified = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn move_email(
        &self,
        account: Id,
        old: &str,
        new: &str,
        entry: &Entry,
    ) -> Result<EmailMove, StoreError> {
        let mut g = self.lock();
        if g.emails.get(new).is_some_and(|holder| *holder != account) {
            return Ok(EmailMove::Taken);
        }
        match g.accounts.get_mut(&account) {
            Some(a) if a.email == old => {
                a.email = new.to_string();
                a.email_verified = true;
            }
            // The same move again (as the Redis store's retry runs it): moved, recorded once.
            Some(a) if a.email == new => return Ok(EmailMove::Moved),
            _ => return Ok(EmailMove::Stale),
        }
        g.emails.remove(old);
        g.emails.insert(new.to_string(), account);
        if let Some(sessions) = g.sessions.get_mut(&account) {
            for s in sessions.values_mut() {
                s.email = new.to_string();
            }
        }
        g.record(account, entry);
        Ok(EmailMove::Moved)
    }
}
