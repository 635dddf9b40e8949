//! `KeyProvider`: the key ring in force, fixed (`SIGNING_SECRET`) or loaded from Secrets Manager
//! and cached. A cached ring older than its TTL is reloaded in the background while requests go
//! on with the cached one; a token with an unknown `kid` may trigger one reload per interval.

use super::{KeyError, KeyRing, secrets_manager};
use crate::kernel::config::SigningAlgorithm;
use aws_sdk_secretsmanager::Client;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Shortest time between two reloads caused by unknown `kid`s.
pub const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(60);

/// After a failed background reload, the next one waits at most this long.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// The key ring in force.
#[derive(Clone)]
pub struct KeyProvider {
    inner: Arc<Inner>,
}

struct Inner {
    ring: RwLock<Arc<KeyRing>>,
    source: Option<Managed>,
}

struct Managed {
    algorithm: SigningAlgorithm,
    client: Client,
    secret_id: String,
    ttl: Duration,
    reload_interval: Duration,
    next_refresh: Mutex<Instant>,
    last_kid_reload: Mutex<Option<Instant>>,
    refreshing: AtomicBool,
    loads: AtomicU64,
}

impl std::fmt::Debug for KeyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner.source {
            Some(m) => write!(f, "KeyProvider(secret {}, ttl {:?})", m.secret_id, m.ttl),
            None => f.write_str("KeyProvider(fixed)"),
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KeyProvider {
    /// A ring that never changes (a literal `SIGNING_SECRET`, tests).
    pub fn fixed(ring: KeyRing) -> Self {
        Self {
            inner: Arc::new(Inner {
                ring: RwLock::new(Arc::new(ring)),
                source: None,
            }),
        }
    }

    /// Loads the ring from `secret_id` now (a failure here is a failed cold start), then keeps it
    /// for `ttl` before reloading in the background.
    pub async fn secrets_manager(
        client: Client,
        secret_id: &str,
        ttl: Duration,
    ) -> Result<Self, KeyError> {
        Self::secrets_manager_with_interval(client, secret_id, ttl, UNKNOWN_KID_RELOAD_INTERVAL)
            .await
    }

    /// As [`KeyProvider::secrets_manager`], with another unknown-`kid` reload interval (tests).
    pub async fn secrets_manager_with_interval(
        client: Client,
        secret_id: &str,
        ttl: Duration,
        reload_interval: Duration,
    ) -> Result<Self, KeyError> {
        Self::secrets_manager_for(
            SigningAlgorithm::Hs256,
            client,
            secret_id,
            ttl,
            reload_interval,
        )
        .await
    }

    /// As [`KeyProvider::secrets_manager_with_interval`], the keys made for `algorithm` (the
    /// two functions above make HS256 keys).
    pub async fn secrets_manager_for(
        algorithm: SigningAlgorithm,
        client: Client,
        secret_id: &str,
        ttl: Duration,
        reload_interval: Duration,
    ) -> Result<Self, KeyError> {
        let ring = secrets_manager::load_for(algorithm, &client, secret_id).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                ring: RwLock::new(Arc::new(ring)),
                source: Some(Managed {
                    algorithm,
                    client,
                    secret_id: secret_id.to_string(),
                    ttl,
                    reload_interval,
                    next_refresh: Mutex::new(Instant::now() + ttl),
                    last_kid_reload: Mutex::new(None),
                    refreshing: AtomicBool::new(false),
                    loads: AtomicU64::new(1),
                }),
            }),
        })
    }

    /// The ring in force. If the cached one is older than its TTL, a reload starts in the
    /// background (one at a time) and this call still answers with the cached ring.
    pub fn current(&self) -> Arc<KeyRing> {
        if let Some(m) = &self.inner.source {
            let stale = Instant::now() >= *lock(&m.next_refresh);
            if stale && !m.refreshing.swap(true, Ordering::AcqRel) {
                let this = self.clone();
                tokio::spawn(async move {
                    this.reload().await;
                    if let Some(m) = &this.inner.source {
                        m.refreshing.store(false, Ordering::Release);
                    }
                });
            }
        }
        Arc::clone(&read(&self.inner.ring))
    }

    /// A token named a `kid` the ring lacks: reload now, unless a reload for that reason ran
    /// within the interval. Returns the new ring if a reload happened and succeeded.
    pub async fn reload_for_unknown_kid(&self) -> Option<Arc<KeyRing>> {
        let m = self.inner.source.as_ref()?;
        {
            let mut last = lock(&m.last_kid_reload);
            if last.is_some_and(|t| t.elapsed() < m.reload_interval) {
                return None;
            }
            *last = Some(Instant::now());
        }
        self.reload().await.then(|| self.current())
    }

    /// How many times the ring has been loaded from its source (tests and diagnostics).
    pub fn loads(&self) -> u64 {
        self.inner
            .source
            .as_ref()
            .map_or(0, |m| m.loads.load(Ordering::Relaxed))
    }

    /// Reloads from the source; on failure keeps the cached ring and logs a warning.
    async fn reload(&self) -> bool {
        let Some(m) = &self.inner.source else {
            return false;
        };
        m.loads.fetch_add(1, Ordering::Relaxed);
        match secrets_manager::load_for(m.algorithm, &m.client, &m.secret_id).await {
            Ok(ring) => {
                *self.inner.ring.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ring);
                *lock(&m.next_refresh) = Instant::now() + m.ttl;
                tracing::info!(secret = %m.secret_id, "signing keys reloaded");
                true
            }
            Err(e) => {
                // Try again soon, but not on every request.
                *lock(&m.next_refresh) = Instant::now() + m.ttl.min(RETRY_AFTER_FAILURE);
                tracing::warn!(error = %e, "signing key reload failed; keeping the cached keys");
                false
            }
        }
    }
}
