//! The store's kernel: its two implementations (Redis in production, in memory locally), the
//! plumbing they run on — the connection, durability and write confirmation, the Lua runner,
//! the key layout — and the slices every feature needs: the account directory, the login gate,
//! session records, two-step states and the published keys. Each feature declares its own slice
//! (a trait) in its folder and implements it on both stores there; `api::Store` joins them.
//!
//! Every method takes `now` (Unix seconds) from the caller where time matters, so both
//! implementations judge expiry alike; both are held to one contract (`shared/tests/store_*`).

pub mod attempts;
pub(crate) mod confirm;
pub mod connection;
pub mod directory;
pub mod durability;
pub mod key_document;
pub mod keys;
pub mod lua;
pub mod memory;
pub mod redis;
pub mod scripts;
pub mod session_records;
pub mod states;

pub use self::attempts::{Attempts, Counter, LoginAttempt, LoginState};
pub use self::connection::{RedisConnection, RedisCredentials};
pub use self::directory::{Account, AccountStatus, Directory};
pub use self::durability::Durability;
pub use self::key_document::KeyDocument;
pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;
pub use self::session_records::{
    LiveSession, NewSession, SessionBinding, SessionInfo, SessionRecords, SessionStart,
};
pub use self::states::States;

/// The kernel's slices of the store, and what an acknowledged write survives.
pub trait KernelStore:
    Directory + Attempts + SessionRecords + States + KeyDocument + Send + Sync
{
    /// What an acknowledged write survives: the replicas each write waits for, and what the
    /// store reported at start (the start-up line).
    fn durability(&self) -> Durability;
}

impl KernelStore for MemoryStore {
    fn durability(&self) -> Durability {
        MemoryStore::durability(self)
    }
}

impl KernelStore for RedisStore {
    fn durability(&self) -> Durability {
        RedisStore::durability(self)
    }
}
