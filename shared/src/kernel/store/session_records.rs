//! Session records, as every sign-in starts them and every guarded request reads them: the
//! record itself, how the session last authenticated, and its device binding. Rotation,
//! revocation and the session list are the sessions feature's; binding a device, DBSC's.

use super::keys;
use super::memory::{MemoryStore, SessionRecord};
use super::redis::{LONG_PARTS, RedisStore, int, long_joined, long_names, stored_authentication};
use super::scripts::{REAUTHENTICATE, START_SESSION};
use crate::kernel::activity::{self, Activity, Entry, MAX_DETAIL_BYTES};
use crate::kernel::authentication::Authentication;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::tokens::refresh::TokenDigest;
use crate::kernel::user_agent::cut_bytes;
use async_trait::async_trait;

/// A live session, as the authorizer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// The account's normalised email, copied into the session when it started; `None` for a
    /// session started before sessions kept it.
    pub email: Option<String>,
}

/// A session to create at sign-in.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Owner.
    pub account: Id,
    /// The new session's id.
    pub session: Id,
    /// Digest of its first refresh token.
    pub digest: TokenDigest,
    /// Digest of its token family (`RefreshToken::family_digest`), for reuse detection.
    pub family: TokenDigest,
    /// Device name the client gave.
    pub device: Option<String>,
    /// The start of the sign-in request's `User-Agent`, when the server could not name the
    /// browser from it (the agent given beside it is `None`).
    pub user_agent: Option<String>,
    /// Source IP of the sign-in request.
    pub ip: Option<String>,
    /// Now (Unix seconds).
    pub now: i64,
    /// Idle expiry (already capped by `absolute_expires_at`).
    pub expires_at: i64,
    /// Absolute expiry.
    pub absolute_expires_at: i64,
    /// The account's password version when the password was checked: a change since then
    /// refuses the session.
    pub password_version: u64,
    /// The account's session cap: beyond it, the least recently used sessions end.
    pub max_sessions: u64,
    /// The identity provider that signed it in (a federated sign-in): unlinking that provider
    /// ends it.
    pub via: Option<String>,
}

impl NewSession {
    /// The history's entry for this sign-in: how (`amr`), from what device (the server's
    /// description of its user agent, else the name the client gave, else the start of its
    /// user agent) and from where.
    pub fn history_entry(&self, authentication: &Authentication, agent: Option<&str>) -> Entry {
        let device = agent
            .or(self.device.as_deref())
            .or(self.user_agent.as_deref())
            .map(|d| cut_bytes(d, MAX_DETAIL_BYTES));
        Entry {
            methods: Some(authentication.methods_text()),
            device,
            ip: self.ip.clone(),
            ..Entry::new(Activity::SignIn, self.now)
        }
    }
}

/// What creating a session found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    /// Created; `new_device` when the account's history has earlier sign-ins and none from
    /// this device ([`crate::kernel::activity::new_device`]).
    Started {
        /// A device the history has not seen signing in.
        new_device: bool,
    },
    /// The account was disabled meanwhile; nothing was created.
    AccountDisabled,
    /// The account was deleted meanwhile; nothing was created.
    AccountMissing,
    /// The password changed after it was checked; nothing was created.
    PasswordChanged,
}

/// A live session as listed to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Session id.
    pub id: Id,
    /// Device name the client gave at sign-in.
    pub device: Option<String>,
    /// The start of the `User-Agent` at sign-in, kept when `agent` is `None` (and by sessions
    /// started before a named browser was kept by its name alone).
    pub user_agent: Option<String>,
    /// Source IP at sign-in.
    pub ip: Option<String>,
    /// Sign-in time.
    pub created_at: i64,
    /// Last refresh (or sign-in).
    pub last_used_at: i64,
    /// When it ends unless refreshed.
    pub expires_at: i64,
    /// What the server made of the `User-Agent` at sign-in ("Chrome 156 on Linux"), if anything.
    pub agent: Option<String>,
    /// When and how the session last authenticated.
    pub authentication: Authentication,
}

impl SessionInfo {
    /// The JSON shape of a session in answers (times in RFC 3339).
    pub fn to_json(&self) -> serde_json::Value {
        use crate::kernel::clock::rfc3339;
        serde_json::json!({
            "session_id": self.id.to_string(),
            "device": self.device.as_ref().or(self.agent.as_ref()),
            "agent": self.agent,
            "user_agent": self.user_agent,
            "auth_time": rfc3339(self.authentication.time),
            "amr": self.authentication.methods,
            "ip": self.ip,
            "created_at": rfc3339(self.created_at),
            "last_used_at": rfc3339(self.last_used_at),
            "expires_at": rfc3339(self.expires_at),
        })
    }
}

/// A session's device binding (DBSC), as the store keeps it with the session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionBinding {
    /// The public key (JWK, JSON) the session is bound to; `None` while unbound.
    pub key: Option<String>,
    /// The SHA-256 digest (hex) of the bound cookie in force.
    pub cookie: Option<String>,
    /// When that cookie stops counting (Unix seconds).
    pub cookie_expires_at: i64,
    /// The digest (hex) of the bound cookie the last renewal replaced, still honoured until its
    /// own expiry: a browser renews ahead of expiry (Chromium's proactive refresh), and a request
    /// it sent meanwhile carries the cookie it had.
    pub previous: Option<String>,
    /// When that previous cookie stops counting (Unix seconds).
    pub previous_expires_at: i64,
}

/// Session records: started at sign-in, read by the authorizer and the guarded routes.
#[async_trait]
pub trait SessionRecords: Send + Sync {
    /// Creates a session if the account is still active and its password version is the one
    /// checked, ends the least recently used sessions beyond the cap, records how it
    /// authenticated and what the server made of its user agent (`agent`), and clears `email`'s
    /// attempt counters (whatever the outcome: the owner proved who they are). On Redis these go
    /// out together. A started session is recorded in the account's history
    /// ([`NewSession::history_entry`]) in the same step.
    async fn start_session(
        &self,
        session: &NewSession,
        email: &str,
        authentication: &Authentication,
        agent: Option<&str>,
    ) -> Result<SessionStart, StoreError>;
    /// The session, if it exists and has not expired: what the authorizer reads, in one round
    /// trip, so that routes behind it (`GET /me`) need no store call of their own.
    async fn live_session(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<LiveSession>, StoreError>;
    /// When and how a live session last authenticated; `None` if it has ended.
    async fn session_authentication(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<Authentication>, StoreError>;
    /// When a live session last made a `POST /reauthenticate` that no action has spent since
    /// ([`crate::kernel::authentication::RecentAuth::Reauthenticated`]); `None` if never, or if
    /// the session has ended. A sign-in leaves none.
    async fn reauthenticated_at(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Records a new authentication of a live session (`POST /reauthenticate`) and its grant
    /// (`reauthenticated_at`); `false` if the session has ended.
    async fn reauthenticate(
        &self,
        account: Id,
        session: Id,
        authentication: &Authentication,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// A live session's binding (default when unbound); `None` if the session has ended.
    async fn session_binding(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<SessionBinding>, StoreError>;
}

#[async_trait]
impl SessionRecords for MemoryStore {
    async fn start_session(
        &self,
        s: &NewSession,
        email: &str,
        authentication: &Authentication,
        agent: Option<&str>,
    ) -> Result<SessionStart, StoreError> {
        use super::AccountStatus;
        let mut g = self.lock();
        g.clear_attempts(email, s.ip.as_deref());
        let account_email = match g
            .accounts
            .get(&s.account)
            .map(|a| (a.status, a.password_version, a.email.clone()))
        {
            None => return Ok(SessionStart::AccountMissing),
            Some((AccountStatus::Disabled, _, _)) => return Ok(SessionStart::AccountDisabled),
            Some((_, v, _)) if v != s.password_version => {
                return Ok(SessionStart::PasswordChanged);
            }
            Some((AccountStatus::Active, _, e)) => e,
        };
        let record = SessionRecord {
            current: s.digest,
            previous: None,
            family: s.family,
            rotated_by: None,
            info: SessionInfo {
                id: s.session,
                device: s.device.clone(),
                user_agent: s.user_agent.clone(),
                ip: s.ip.clone(),
                created_at: s.now,
                last_used_at: s.now,
                expires_at: s.expires_at,
                agent: agent.map(str::to_string),
                authentication: authentication.clone(),
            },
            absolute_expires_at: s.absolute_expires_at,
            email: account_email,
            binding: SessionBinding::default(),
            reauthenticated_at: None,
            via: s.via.clone(),
        };
        let entry = s.history_entry(authentication, agent);
        // A retry of a sign-in already applied is recorded once (as `start_session.lua`).
        let again = g
            .sessions
            .get(&s.account)
            .is_some_and(|m| m.contains_key(&s.session));
        let new_device = !again
            && g.activity
                .entry(s.account)
                .or_default()
                .record_sign_in(entry);
        let sessions = g.sessions.entry(s.account).or_default();
        sessions.retain(|_, r| r.info.expires_at > s.now);
        sessions.insert(s.session, record);
        // Beyond the cap, the sessions that expire first end: the least recently used, since
        // each refresh moves a session's expiry on (the same rule as the Redis store's).
        let over = sessions.len().saturating_sub(s.max_sessions as usize);
        if over > 0 {
            // Ties go by the id's text, as Redis orders equal scores; the new one never ends.
            let mut by_expiry: Vec<(i64, String, Id)> = sessions
                .iter()
                .filter(|(id, _)| **id != s.session)
                .map(|(id, r)| (r.info.expires_at, id.to_string(), *id))
                .collect();
            by_expiry.sort_unstable();
            for (_, _, id) in by_expiry.into_iter().take(over) {
                sessions.remove(&id);
            }
        }
        Ok(SessionStart::Started { new_device })
    }

    async fn live_session(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        Ok(self
            .lock()
            .live_session(account, session, now)
            .map(|r| LiveSession {
                email: Some(r.email.clone()),
            }))
    }

    async fn session_authentication(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<Authentication>, StoreError> {
        Ok(self
            .lock()
            .live_session(account, session, now)
            .map(|rec| rec.info.authentication.clone()))
    }

    async fn reauthenticated_at(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .lock()
            .live_session(account, session, now)
            .and_then(|rec| rec.reauthenticated_at))
    }

    async fn reauthenticate(
        &self,
        account: Id,
        session: Id,
        authentication: &Authentication,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        Ok(match g.live_session(account, session, now) {
            Some(rec) => {
                rec.info.authentication = authentication.clone();
                rec.reauthenticated_at = Some(authentication.time);
                true
            }
            None => false,
        })
    }

    async fn session_binding(
        &self,
        account: Id,
        session: Id,
        now: i64,
    ) -> Result<Option<SessionBinding>, StoreError> {
        Ok(self
            .lock()
            .live_session(account, session, now)
            .map(|rec| rec.binding.clone()))
    }
}

#[async_trait]
impl SessionRecords for RedisStore {
    async fn start_session(
        &self,
        s: &NewSession,
        email: &str,
        authentication: &Authentication,
        agent: Option<&str>,
    ) -> Result<SessionStart, StoreError> {
        use super::Attempts;
        let entry = s.history_entry(authentication, agent);
        let start = START_SESSION.invocation(
            &[
                ("account", keys::account(s.account)),
                ("session", keys::session(s.account, s.session)),
                ("sessions", keys::sessions(s.account)),
                ("log", keys::log(s.account)),
            ],
            &[
                ("sid", s.session.to_string()),
                ("digest", s.digest.to_stored()),
                ("family_digest", s.family.to_stored()),
                ("device", s.device.clone().unwrap_or_default()),
                ("user_agent", s.user_agent.clone().unwrap_or_default()),
                ("ip", s.ip.clone().unwrap_or_default()),
                ("now", s.now.to_string()),
                ("expires_at", s.expires_at.to_string()),
                ("absolute_expires_at", s.absolute_expires_at.to_string()),
                ("password_version", s.password_version.to_string()),
                ("max_sessions", s.max_sessions.to_string()),
                ("auth_time", authentication.time.to_string()),
                ("amr", authentication.methods_text()),
                ("agent", agent.unwrap_or_default().to_string()),
                ("entry", entry.encode()),
                ("seen", activity::device_member(entry.device.as_deref())),
                ("via", s.via.clone().unwrap_or_default()),
            ],
        )?;
        let clear = self.clear_attempts(email, s.ip.as_deref());
        let (outcome, ()): (String, ()) = tokio::try_join!(self.write::<String>(&start), clear)?;
        Ok(match outcome.as_str() {
            "started" => SessionStart::Started { new_device: false },
            "started_new" => SessionStart::Started { new_device: true },
            "missing" => SessionStart::AccountMissing,
            "stale" => SessionStart::PasswordChanged,
            _ => SessionStart::AccountDisabled,
        })
    }

    async fn live_session(
        &self,
        account: Id,
        session: Id,
        _now: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        let live = self
            .live_field_list(account, session, &long_names("email"))
            .await?;
        Ok(live.map(|parts| LiveSession {
            email: long_joined(&parts).filter(|e| !e.is_empty()),
        }))
    }

    async fn session_authentication(
        &self,
        account: Id,
        session: Id,
        _now: i64,
    ) -> Result<Option<Authentication>, StoreError> {
        let Some([at, amr, created]) = self
            .live_fields(account, session, ["at", "amr", "created"])
            .await?
        else {
            return Ok(None);
        };
        stored_authentication(at.as_deref(), amr.as_deref(), created.as_deref()).map(Some)
    }

    async fn reauthenticated_at(
        &self,
        account: Id,
        session: Id,
        _now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let Some([sup]) = self.live_fields(account, session, ["sup"]).await? else {
            return Ok(None);
        };
        sup.as_deref().map(int).transpose()
    }

    async fn reauthenticate(
        &self,
        account: Id,
        session: Id,
        authentication: &Authentication,
        _now: i64,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&REAUTHENTICATE.invocation(
                &[("session", keys::session(account, session))],
                &[
                    ("auth_time", authentication.time.to_string()),
                    ("amr", authentication.methods_text()),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn session_binding(
        &self,
        account: Id,
        session: Id,
        _now: i64,
    ) -> Result<Option<SessionBinding>, StoreError> {
        let mut fields = long_names("dbk");
        fields.extend(["dbc", "dbce", "dbp", "dbpe"].map(String::from));
        let Some(mut values) = self.live_field_list(account, session, &fields).await? else {
            return Ok(None);
        };
        let [dbc, dbce, dbp, dbpe]: [Option<String>; 4] =
            values.split_off(LONG_PARTS).try_into().map_err(|_| {
                StoreError::Corrupt("HMGET answered another number of fields".into())
            })?;
        let dbk = long_joined(&values);
        Ok(Some(SessionBinding {
            key: dbk,
            cookie: dbc,
            cookie_expires_at: dbce.as_deref().map(int).transpose()?.unwrap_or(0),
            previous: dbp.filter(|p| !p.is_empty()),
            previous_expires_at: dbpe.as_deref().map(int).transpose()?.unwrap_or(0),
        }))
    }
}
