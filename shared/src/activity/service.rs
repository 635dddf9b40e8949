//! Paging the history: newest first, by the entries' numbers.

use super::store::ActivityStore;
use crate::kernel::activity::{self, Entry, MAX_ENTRIES};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::service::Core;
use serde_json::{Value, json};

/// Entries per page unless the caller asks for another number.
pub const DEFAULT_PAGE: usize = 20;

/// Which page: the entries numbered below `before` (the newest when `None`), at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Entries numbered below this one.
    pub before: Option<u64>,
    /// At most this many (1 ..= [`MAX_ENTRIES`]).
    pub limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            before: None,
            limit: DEFAULT_PAGE,
        }
    }
}

impl<S: ?Sized + ActivityStore> Core<S> {
    /// One page of `account`'s history: `{events, next}`, `next` being the `before` of the
    /// following page (`null` on the last).
    pub async fn activity(&self, account: Id, page: Page) -> Result<Value, ApiError> {
        let now = self.clock().now();
        let all = self.store().activity(account).await?;
        let limit = page.limit.clamp(1, MAX_ENTRIES);
        // One more than asked tells whether a page follows.
        let mut entries: Vec<Entry> = activity::page(all.into_iter(), page.before, limit + 1, now);
        let next = (entries.len() > limit).then(|| entries[limit - 1].seq);
        entries.truncate(limit);
        Ok(json!({
            "events": entries.iter().map(Entry::to_json).collect::<Vec<_>>(),
            "next": next,
        }))
    }
}
