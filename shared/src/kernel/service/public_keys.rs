//! Public keys through the store (ES256): signers publish their ring's public keys there before
//! the first token they sign with it, and the functions that only verify read them from there —
//! so no verifier holds the secret, and `GET /.well-known/jwks.json` is answered by a function
//! that holds no key at all.
//!
//! The store is trusted with this as it already is with sessions: whoever may write it could
//! plant a refresh-token digest and refresh into any account, so a planted public key adds no
//! power. Within it, only the signers' cache users may write the document (`store::acl`).

use crate::kernel::error::StoreError;
use crate::kernel::keys::KeyRing;
use crate::kernel::keys::published::PublicKeys;
use crate::kernel::store::KeyDocument;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

/// Shortest time between two reads caused by tokens naming a `kid` the verifier lacks: a flood
/// of made-up `kid`s costs the store one read per interval per process, no more.
pub const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(10);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads the published keys; none published yet is an empty set.
pub async fn read<K: KeyDocument + ?Sized>(store: &K) -> Result<PublicKeys, StoreError> {
    match store.published_keys().await? {
        None => Ok(PublicKeys::empty()),
        Some(text) => {
            PublicKeys::parse(&text).map_err(|e| StoreError::Call(format!("published keys: {e}")))
        }
    }
}

/// A signer's record of the last ring it published.
#[derive(Default)]
pub struct Publisher {
    last: Mutex<Weak<KeyRing>>,
}

impl Publisher {
    /// Publishes `ring`'s public keys unless this ring was published already (HS256 rings have
    /// none). A newer version's document in the store stays (`KeyDocument::publish_keys`).
    pub async fn publish<K: KeyDocument + ?Sized>(
        &self,
        ring: &Arc<KeyRing>,
        store: &K,
    ) -> Result<(), StoreError> {
        if lock(&self.last)
            .upgrade()
            .is_some_and(|last| Arc::ptr_eq(&last, ring))
        {
            return Ok(());
        }
        if let Some(public) = ring.public_keys() {
            let kid = ring.signing().kid();
            if !store
                .publish_keys(&public.document(), ring.created_ms())
                .await?
            {
                tracing::warn!(
                    kid,
                    "public keys not published: the store has a newer version's"
                );
            }
        }
        *lock(&self.last) = Arc::downgrade(ring);
        Ok(())
    }
}

/// A verifier's cache of the published keys: read at start, again once older than its TTL
/// (`SIGNING_KEY_CACHE_SECONDS`, so a key the signers dropped stops verifying within it), and
/// for an unknown `kid` at most once per [`UNKNOWN_KID_REFETCH`].
pub struct PublishedKeys {
    store: Arc<dyn KeyDocument>,
    ttl: Duration,
    keys: RwLock<(Arc<PublicKeys>, Instant)>,
    last_refetch: Mutex<Option<Instant>>,
    reads: AtomicU64,
}

impl PublishedKeys {
    /// Reads the keys now. A store that cannot be read leaves the set empty for now: every
    /// token then names an unknown `kid`, and the first one after the interval reads again.
    pub async fn load(store: Arc<dyn KeyDocument>, ttl: Duration) -> Self {
        let this = Self {
            store,
            ttl,
            keys: RwLock::new((Arc::new(PublicKeys::empty()), Instant::now())),
            last_refetch: Mutex::new(None),
            reads: AtomicU64::new(0),
        };
        this.fetch().await;
        this
    }

    /// The keys in force, read again first if older than the TTL.
    pub async fn current(&self) -> Arc<PublicKeys> {
        let (keys, read_at) = {
            let g = self.keys.read().unwrap_or_else(|p| p.into_inner());
            (Arc::clone(&g.0), g.1)
        };
        if read_at.elapsed() < self.ttl {
            return keys;
        }
        self.fetch().await.unwrap_or(keys)
    }

    /// A token named a `kid` the keys lack: read them again, unless that was done within
    /// [`UNKNOWN_KID_REFETCH`]. The new keys, if read.
    pub async fn refetch_for_unknown_kid(&self) -> Option<Arc<PublicKeys>> {
        {
            let mut last = lock(&self.last_refetch);
            if last.is_some_and(|t| t.elapsed() < UNKNOWN_KID_REFETCH) {
                return None;
            }
            *last = Some(Instant::now());
        }
        self.fetch().await
    }

    /// How many times the keys were read from the store (tests and diagnostics).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Reads the store. On failure the cached keys stay, and are tried again after the TTL.
    async fn fetch(&self) -> Option<Arc<PublicKeys>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let result = read(self.store.as_ref()).await;
        let mut g = self.keys.write().unwrap_or_else(|p| p.into_inner());
        g.1 = Instant::now();
        match result {
            Ok(keys) => {
                g.0 = Arc::new(keys);
                Some(Arc::clone(&g.0))
            }
            Err(e) => {
                tracing::warn!(error = %e, "published keys not read; keeping the cached ones");
                None
            }
        }
    }
}
