//! The email feature's slice of the store: mail limits, mailed tokens, sign-in codes, and the
//! account changes a mailed proof makes (its address verified, moved to another).

use super::tokens::TokenRecord;
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::Counter;
use async_trait::async_trait;

/// The window of the mail limits (seconds).
pub const MAIL_WINDOW: i64 = 3600;

/// What a mail limit counts by.
#[derive(Debug, Clone, Copy)]
pub enum MailCount<'a> {
    /// The (normalised) address mailed.
    Email(&'a str),
    /// The client's limit key (`Core::limit_key`).
    Client(&'a str),
    /// The notices mailed about an account (not its owner's requests: those count by address,
    /// and a flood of notices must not stop its owner's reset mail).
    Notices(Id),
}

/// A sign-in code's record, as a try finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// The code's digest (`tokens::code_digest`).
    pub digest: String,
    /// The account the address had when the code was made; `None`: no account.
    pub account: Option<Id>,
}

/// How moving an account to a new address went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailMove {
    /// Moved: the new address names the account, the old one nothing.
    Moved,
    /// Another account has the new address.
    Taken,
    /// The account is gone, or its address is no longer the one the move started from.
    Stale,
}

/// Mail limits, mailed tokens and sign-in codes.
#[async_trait]
pub trait EmailStore: Send + Sync {
    /// Counts one mail-sending request by `by` in the hour's window.
    async fn count_mail(&self, by: MailCount<'_>, now: i64) -> Result<Counter, StoreError>;
    /// Keeps a token's record under its selector for `ttl` seconds.
    async fn put_mail_token(
        &self,
        selector: Id,
        record: &TokenRecord,
        ttl: i64,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Takes the record under `selector`: once, while it lives.
    async fn take_mail_token(
        &self,
        selector: Id,
        now: i64,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// Keeps a new sign-in code's digest for `email` (replacing any before it) with the
    /// account the address has now (read first): that account, or `None`.
    async fn put_email_code(
        &self,
        email: &str,
        digest: &str,
        ttl: i64,
        now: i64,
    ) -> Result<Option<Id>, StoreError>;
    /// Counts a try of `email`'s code and returns its record, or `None` when there is none or
    /// this try is past `max_tries` (the code then ends).
    async fn try_email_code(
        &self,
        email: &str,
        max_tries: u64,
        now: i64,
    ) -> Result<Option<CodeRecord>, StoreError>;
    /// Ends `email`'s code if it is still the one of `digest`; whether it did (one winner).
    async fn spend_email_code(&self, email: &str, digest: &str) -> Result<bool, StoreError>;
    /// Marks the account's address verified, if it is still `email`; whether it did.
    async fn set_email_verified(&self, account: Id, email: &str) -> Result<bool, StoreError>;
    /// Moves the account from `old` to `new` (verified): the index entry of `new` claimed
    /// first, the record and its sessions' copies moved and `entry` recorded in its history (one
    /// step), then `old`'s entry dropped. Idempotent: the same move again (a retry after a lost
    /// answer) answers `Moved` and records nothing more.
    async fn move_email(
        &self,
        account: Id,
        old: &str,
        new: &str,
        entry: &Entry,
    ) -> Result<EmailMove, StoreError>;
}
