//! The login gate's counters: attempts per email and address, per email from anywhere, and
//! failures per address, each in a window that starts at its first count.

use super::connection::retry_once;
use super::keys;
use super::memory::{MemoryStore, Tables};
use super::redis::RedisStore;
use super::scripts::{IP_GATE, PAIR_GATE, RECORD_REFUSAL, UNCOUNT};
use crate::kernel::activity::Entry;
use crate::kernel::addresses::network_key;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use async_trait::async_trait;
use redis::AsyncCommands;

/// A counter and the seconds left in its window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// Counted in the current window.
    pub count: u64,
    /// Seconds until the window ends (0 when there is no window).
    pub retry_after: i64,
}

impl Counter {
    /// A counter as Redis answers it: its count and TTL (none without a live window).
    pub(crate) fn from_ttl(count: Option<u64>, ttl: i64) -> Self {
        match count {
            Some(count) if ttl > 0 => Counter {
                count,
                retry_after: ttl,
            },
            _ => Counter::default(),
        }
    }
}

/// What login needs to know before checking a password: one store round trip (two at once on a
/// cluster: the email's keys and the address's live in different slots).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginState {
    /// The account the email names, if any.
    pub account: Option<Id>,
    /// Attempts for this email from this address's network (an IPv6 client's /48) in the
    /// window, this one included: the strict limit, which one attacker's network cannot use
    /// against the owner elsewhere, nor walk around by changing /64. Attempts are
    /// counted before the password is checked (and cleared by a success), so a burst of
    /// parallel guesses cannot slip past the limit.
    pub pair_attempts: Counter,
    /// Attempts for this email from every address in the window, this one included: the loose
    /// limit, which only a distributed attack reaches.
    pub account_attempts: Counter,
    /// Failed logins from this address in the window.
    pub ip_failures: Counter,
    /// The address was at its failure limit: this attempt was counted nowhere.
    pub ip_blocked: bool,
    /// The email's attempts from this network were at their limit: this attempt was counted
    /// toward the address's failures only, never toward the email's from everywhere (so one
    /// network cannot bring the account-wide limit down on the owner).
    pub pair_blocked: bool,
}

/// A login attempt at the gate ([`Attempts::reserve_login`]).
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// The (normalised) email.
    pub email: &'a str,
    /// The client's address as limits count it, if known.
    pub ip: Option<&'a str>,
    /// The failure-counting window (seconds).
    pub window: i64,
    /// The address's failure limit.
    pub ip_max_failures: u64,
    /// The limit of attempts for one email from one network.
    pub pair_max_failures: u64,
    /// Now (Unix seconds).
    pub now: i64,
}

/// The login gate's counters.
#[async_trait]
pub trait Attempts: Send + Sync {
    /// Starts a login attempt: unless `ip` is at its failure limit, counts it for the email from
    /// `ip`, for the email from anywhere and — a reservation, so that a burst of parallel
    /// attempts cannot all pass the limit while their checks run — toward `ip`'s failures; and
    /// reads the account id. A refused address counts nowhere. The service gives the
    /// reservation back with [`Attempts::release_ip_attempt`] when the password was right.
    async fn reserve_login(&self, a: &LoginAttempt<'_>) -> Result<LoginState, StoreError>;
    /// Takes back one attempt [`Attempts::reserve_login`] counted toward `ip`'s failures (never
    /// below zero, the window unchanged).
    async fn release_ip_attempt(&self, ip: &str, now: i64) -> Result<(), StoreError>;
    /// Clears `email`'s attempt counters (from `ip` and from anywhere): the password was right.
    async fn clear_attempts(&self, email: &str, ip: Option<&str>) -> Result<(), StoreError>;
    /// Records a refused or locked sign-in in `account`'s history, if the account exists (the
    /// same round trip either way: an unknown email's caller passes a random id). Refusals of
    /// one kind in a row make one entry, counted ([`crate::kernel::activity::Log::record_refusal`]).
    async fn record_refusal(&self, account: Id, entry: &Entry) -> Result<(), StoreError>;
}

pub(crate) fn email_counter(email: &str) -> String {
    format!("email:{email}")
}

pub(crate) fn pair_counter(email: &str, ip: Option<&str>) -> String {
    let network = ip.map_or_else(|| "-".to_string(), network_key);
    format!("pair:{network}:{email}")
}

fn ip_counter(ip: &str) -> String {
    format!("ip:{ip}")
}

impl Tables {
    /// The login gate, in one critical section.
    fn gate(&mut self, a: &LoginAttempt<'_>) -> LoginState {
        let (email, ip, window, now) = (a.email, a.ip, a.window, a.now);
        let ip_failures = ip
            .map(|ip| self.counter(&ip_counter(ip), now))
            .unwrap_or_default();
        let ip_blocked = ip_failures.count >= a.ip_max_failures;
        let pair_blocked =
            !ip_blocked && self.counter(&pair_counter(email, ip), now).count >= a.pair_max_failures;
        if !ip_blocked {
            if !pair_blocked {
                self.bump(pair_counter(email, ip), window, now);
                self.bump(email_counter(email), window, now);
            }
            if let Some(ip) = ip {
                self.bump(ip_counter(ip), window, now);
            }
        }
        LoginState {
            account: self.emails.get(email).copied(),
            pair_attempts: self.counter(&pair_counter(email, ip), now),
            account_attempts: self.counter(&email_counter(email), now),
            ip_failures: ip
                .map(|ip| self.counter(&ip_counter(ip), now))
                .unwrap_or_default(),
            ip_blocked,
            pair_blocked,
        }
    }

    /// Clears the email's attempt counters (a success).
    pub(crate) fn clear_attempts(&mut self, email: &str, ip: Option<&str>) {
        self.counters.remove(&email_counter(email));
        self.counters.remove(&pair_counter(email, ip));
    }
}

#[async_trait]
impl Attempts for MemoryStore {
    async fn reserve_login(&self, a: &LoginAttempt<'_>) -> Result<LoginState, StoreError> {
        Ok(self.lock().gate(a))
    }

    async fn release_ip_attempt(&self, ip: &str, now: i64) -> Result<(), StoreError> {
        let mut g = self.lock();
        if let Some(entry) = g.counters.get_mut(&ip_counter(ip))
            && entry.1 > now
        {
            entry.0 = entry.0.saturating_sub(1);
        }
        Ok(())
    }

    async fn clear_attempts(&self, email: &str, ip: Option<&str>) -> Result<(), StoreError> {
        self.lock().clear_attempts(email, ip);
        Ok(())
    }

    async fn record_refusal(&self, account: Id, entry: &Entry) -> Result<(), StoreError> {
        let mut g = self.lock();
        if g.accounts.contains_key(&account) {
            let log = g.activity.entry(account).or_default();
            log.record_refusal(entry.clone());
        }
        Ok(())
    }
}

#[async_trait]
impl Attempts for RedisStore {
    async fn reserve_login(&self, a: &LoginAttempt<'_>) -> Result<LoginState, StoreError> {
        let (email, ip, window) = (a.email, a.ip, a.window);
        // Plain EVAL (not EVALSHA) so the script rides in the pipeline without a NOSCRIPT round
        // trip; it is a few hundred bytes. The address's keys live in another slot, so on a
        // cluster they cannot share the pipeline: both go out at once instead, and when the
        // address turns out to be at its limit the account-wide count is taken back.
        let mut by_email = redis::pipe();
        by_email
            .get(keys::email(email))
            .add_command(super::scripts::COUNT_ATTEMPT.eval(
                &[("counter", keys::email_failures(email))],
                &[("window", window.to_string())],
            )?);
        let by_email = &by_email;
        let email_part = retry_once(&self.conn, move |mut c| async move {
            by_email
                .query_async::<(Option<String>, (u64, i64))>(&mut c)
                .await
        });
        let gate = IP_GATE.invocation(
            &[("ip_failures", keys::ip_failures(ip.unwrap_or("-")))],
            &[
                ("window", window.to_string()),
                ("ip_max", a.ip_max_failures.to_string()),
                ("reserve", u8::from(ip.is_some()).to_string()),
            ],
        )?;
        let ip_part = self.run::<(i64, u64, i64)>(&gate);
        let pair = keys::pair(email, ip);
        let pair_gate = PAIR_GATE.invocation(
            &[("counter", pair.clone())],
            &[
                ("window", window.to_string()),
                ("max", a.pair_max_failures.to_string()),
            ],
        )?;
        let pair_part = self.run::<(i64, u64, i64)>(&pair_gate);
        let (
            (account, (count, ttl)),
            (blocked, ip_count, ip_ttl),
            (pair_refused, pair_count, pair_ttl),
        ) = tokio::try_join!(email_part, ip_part, pair_part)?;
        let ip_blocked = blocked == 1;
        let pair_blocked = !ip_blocked && pair_refused == 1;
        // What the other parts counted that this attempt's refusal says not to.
        let uncount = |counter: String| UNCOUNT.invocation(&[("counter", counter)], &[]);
        let mut taken_back = Vec::new();
        if ip_blocked || pair_blocked {
            taken_back.push(uncount(keys::email_failures(email))?);
        }
        if ip_blocked && pair_refused == 0 {
            taken_back.push(uncount(pair)?);
        }
        for u in &taken_back {
            let _: i64 = self.run(u).await?;
        }
        Ok(LoginState {
            account: account.and_then(|s| s.parse().ok()),
            pair_attempts: Counter::from_ttl(
                Some(if ip_blocked && pair_refused == 0 {
                    pair_count.saturating_sub(1)
                } else {
                    pair_count
                }),
                pair_ttl,
            ),
            account_attempts: Counter {
                count: if ip_blocked || pair_blocked {
                    count.saturating_sub(1)
                } else {
                    count
                },
                retry_after: ttl,
            },
            ip_failures: Counter::from_ttl(Some(ip_count), ip_ttl),
            ip_blocked,
            pair_blocked,
        })
    }

    async fn release_ip_attempt(&self, ip: &str, _now: i64) -> Result<(), StoreError> {
        let _: i64 = self
            .run(&UNCOUNT.invocation(&[("counter", keys::ip_failures(ip))], &[])?)
            .await?;
        Ok(())
    }

    async fn clear_attempts(&self, email: &str, ip: Option<&str>) -> Result<(), StoreError> {
        let (account_wide, pair) = (&keys::email_failures(email), &keys::pair(email, ip));
        let a = retry_once(&self.conn, move |mut c| async move {
            c.del::<_, i64>(account_wide).await
        });
        let p = retry_once(&self.conn, move |mut c| async move {
            c.del::<_, i64>(pair).await
        });
        tokio::try_join!(a, p)?;
        Ok(())
    }

    async fn record_refusal(&self, account: Id, entry: &Entry) -> Result<(), StoreError> {
        let _: i64 = self
            .run(&RECORD_REFUSAL.invocation(
                &[
                    ("account", keys::account(account)),
                    ("log", keys::log(account)),
                ],
                &[("entry", entry.encode())],
            )?)
            .await?;
        Ok(())
    }
}
