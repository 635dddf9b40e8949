//! What every mailing route shares: the limits per address and per client, the links mailed,
//! the token written whether or not the address has an account, and the enqueueing.

use super::store::{EmailStore, MailCount};
use super::tokens::{MailToken, Purpose, TokenRecord};
use crate::kernel::error::{ApiError, StoreError};
use crate::kernel::ids::Id;
use crate::kernel::mail::{Mail, MailOutbox, Message};
use crate::kernel::service::{ClientInfo, Core};
use crate::kernel::store::{Account, KernelStore};

impl<S: ?Sized + KernelStore + EmailStore> Core<S> {
    /// Counts a mail-sending request toward `email`'s and the client's hourly limits, whether
    /// or not an account has the address (so the limits tell nothing); 429 when either is over.
    pub(super) async fn limit_mail(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        let now = self.clock().now();
        let by_email = self
            .store()
            .count_mail(MailCount::Email(email), now)
            .await?;
        let mut over =
            (by_email.count > self.config().mail_max_per_email).then_some(by_email.retry_after);
        if let Some(key) = self.limit_key(client.kept_address().as_deref()) {
            let by_client = self
                .store()
                .count_mail(MailCount::Client(&key), now)
                .await?;
            if by_client.count > self.config().mail_max_per_client {
                over = Some(over.unwrap_or(0).max(by_client.retry_after));
            }
        }
        match over {
            Some(retry_after) => Err(ApiError::RateLimited {
                retry_after: retry_after.max(1),
            }),
            None => Ok(()),
        }
    }

    /// The start of every request that mails `email`: the address normalised (400 if it is not
    /// one), 404 when this deployment cannot mail, then the limits counted.
    pub(super) async fn mail_request(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<String, ApiError> {
        let email = crate::kernel::accounts::normalize_email(email)
            .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        self.can_mail()?;
        self.limit_mail(&email, client).await?;
        Ok(email)
    }

    /// Refuses a mailing route early when this deployment cannot mail (no outbox) or build
    /// its links.
    pub(super) fn can_mail(&self) -> Result<(), ApiError> {
        self.outbox()?;
        self.page_url()?;
        Ok(())
    }

    fn outbox(&self) -> Result<&MailOutbox, ApiError> {
        self.extension::<MailOutbox>()
            .ok_or(ApiError::NotConfigured(
                "MAIL_QUEUE_URL: this deployment has no mail queue",
            ))
    }

    /// The page mailed links open: `APP_URL`, or `PUBLIC_BASE_URL` + `/app/`.
    pub(super) fn page_url(&self) -> Result<String, ApiError> {
        self.mail_page()
    }

    /// Queues `message` to `to`; the route answers once it is queued.
    pub(super) async fn enqueue(&self, to: &str, message: Message) -> Result<(), ApiError> {
        let mail = Mail {
            to: to.to_string(),
            message,
            not_me: None,
        };
        self.outbox()?
            .0
            .enqueue(&mail)
            .await
            .map_err(ApiError::MailUnavailable)
    }

    /// Writes a new token for `purpose` (of `account`, or of nobody: the same write either
    /// way) and returns the link that carries it.
    pub(super) async fn mint_link(
        &self,
        purpose: Purpose,
        account: Option<&Account>,
        email: &str,
    ) -> Result<String, ApiError> {
        let page = self.page_url()?;
        let owner = account.map(|a| (a.id, a.password_version));
        let now = self.clock().now();
        Ok(write_link(&**self.store(), purpose, owner, email, &page, now).await?)
    }

    /// The account that has `email` now: the index entry, and a record that still has that
    /// address (an entry left by a move cut short names nothing). Reads a record either way,
    /// so an unknown address costs what a known one does.
    pub(super) async fn account_by_email(&self, email: &str) -> Result<Option<Account>, ApiError> {
        let id = self.store().account_id(email).await?;
        let account = self.store().account(id.unwrap_or_else(Id::random)).await?;
        Ok(account.filter(|a| id.is_some() && a.email == email))
    }

    /// Takes the record of mailed token `text`: present, unused, live, of `purpose`, its
    /// secret's digest equal (constant time) and for an account that still exists with the
    /// address and password version it was made for; else 400 `invalid_token`. Used either
    /// way: a token presented once is gone.
    pub(super) async fn take_token(
        &self,
        text: &str,
        purpose: Purpose,
    ) -> Result<(TokenRecord, Account), ApiError> {
        let token = MailToken::parse(text.trim()).ok_or(ApiError::InvalidMailToken)?;
        let now = self.clock().now();
        let record = self
            .store()
            .take_mail_token(token.selector, now)
            .await?
            .filter(|r| token.matches(r, purpose))
            .ok_or(ApiError::InvalidMailToken)?;
        let id = record.account.ok_or(ApiError::InvalidMailToken)?;
        let account = self
            .store()
            .account(id)
            .await?
            .ok_or(ApiError::InvalidMailToken)?;
        let current = match purpose {
            Purpose::Verify => account.email == record.email,
            Purpose::Reset => {
                account.email == record.email && account.password_version == record.version
            }
            // Made for the new address; the account keeps its own until the move.
            Purpose::ChangeEmail => account.password_version == record.version,
            // Whatever changed since (an attacker's new address or password): ending every
            // session is what its owner asks for then.
            Purpose::EndSessions => true,
        };
        if !current {
            return Err(ApiError::InvalidMailToken);
        }
        Ok((record, account))
    }
}

/// Writes a new token for `purpose`, mailed to `email`, of the account and password version
/// `owner` (or of nobody), and returns the link to `page` that carries it.
pub(super) async fn write_link<S: ?Sized + EmailStore>(
    store: &S,
    purpose: Purpose,
    owner: Option<(Id, u64)>,
    email: &str,
    page: &str,
    now: i64,
) -> Result<String, StoreError> {
    let token = MailToken::new();
    let record = TokenRecord {
        purpose,
        account: owner.map(|(id, _)| id),
        digest: token.digest(),
        email: email.to_string(),
        version: owner.map_or(0, |(_, version)| version),
    };
    store
        .put_mail_token(token.selector, &record, purpose.ttl(), now)
        .await?;
    Ok(format!("{page}#{}={}", purpose.fragment(), token.text()))
}
