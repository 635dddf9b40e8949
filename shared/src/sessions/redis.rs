//! The sessions feature's store slice on Redis (its scripts in `lua/`).

use super::store::{
    Carried, CheckToken, PREVIOUS_PASSWORD_SECONDS, Rotate, Rotation, SessionStore, SessionsAfter,
    TokenCheck,
};
use crate::kernel::activity::Entry;
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::connection::retry_once;
use crate::kernel::store::keys;
use crate::kernel::store::redis::{
    int, long_joined, long_names, opt, parse, stored_authentication,
};
use crate::kernel::store::{RedisStore, SessionInfo};
use crate::kernel::tokens::refresh::TokenDigest;
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::Value;

crate::lua_scripts! {
    ROTATE = "rotate",
    CHECK_TOKEN = "check_token",
    REVOKE_SESSION = "revoke_session",
    REVOKE_ALL = "revoke_all",
    LIST_SESSIONS = "list_sessions",
    SET_PASSWORD = "set_password",
}

/// A presented refresh token's digests by the names `rotate.lua` and `check_token.lua` take
/// them: the token's and its family's, each in every form a live session may keep
/// (`TokenDigest::stored_forms`).
pub fn presented_digest_args(
    presented: &TokenDigest,
    family: &TokenDigest,
) -> [(&'static str, String); 6] {
    let [p, p_whole, p_legacy] = presented.stored_forms();
    let [f, f_whole, f_legacy] = family.stored_forms();
    [
        ("presented_digest", p),
        ("presented_whole_digest", p_whole),
        ("presented_legacy_digest", p_legacy),
        ("family_digest", f),
        ("family_whole_digest", f_whole),
        ("family_legacy_digest", f_legacy),
    ]
}

/// A successor's digest by the names `rotate.lua` takes it: the stored form, and the whole
/// digest a rotation written before that form wrote (its replay still matches).
pub fn successor_digest_args(successor: &TokenDigest) -> [(&'static str, String); 2] {
    let [s, s_whole, _] = successor.stored_forms();
    [("successor_digest", s), ("successor_whole_digest", s_whole)]
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn rotate(&self, r: &Rotate) -> Result<(Rotation, Option<Carried>), StoreError> {
        // Idempotent within the grace window: run again after a first run that did rotate,
        // the script finds the presented token as `prev` and the successor as `cur`, and
        // answers `replayed` with the same successor.
        let answer: Vec<Value> = self
            .write(
                &ROTATE.invocation(
                    &keys::session_keys(r.account, r.session),
                    &[
                        &presented_digest_args(&r.presented, &r.family)[..],
                        &successor_digest_args(&r.successor)[..],
                        &[
                            ("sid", r.session.to_string()),
                            ("request_id", URL_SAFE_NO_PAD.encode(r.request_id)),
                            ("now", r.now.to_string()),
                            ("idle_ttl", r.idle_ttl.to_string()),
                            ("grace", r.grace.to_string()),
                            (
                                "device",
                                if r.device.is_some() { "1" } else { "0" }.to_string(),
                            ),
                            (
                                "by_cookie",
                                if r.device.as_ref().is_some_and(|d| d.by_cookie) {
                                    "1"
                                } else {
                                    "0"
                                }
                                .to_string(),
                            ),
                            (
                                "bound_digest",
                                r.device
                                    .as_ref()
                                    .and_then(|d| d.bound_cookie.clone())
                                    .unwrap_or_default(),
                            ),
                            ("deadline_ms", deadline_ms(self.answer_within).to_string()),
                        ][..],
                    ]
                    .concat(),
                )?,
            )
            .await?;
        let mut it = answer.into_iter();
        let outcome: String = match it.next() {
            Some(v) => parse(v)?,
            None => String::new(),
        };
        let expires_at: Option<i64> = match it.next() {
            Some(v) => Some(parse(v)?),
            None => None,
        };
        let exp =
            || expires_at.ok_or_else(|| StoreError::Corrupt("rotation without expiry".into()));
        let rotation = match outcome.as_str() {
            "rotated" => Rotation::Rotated { expires_at: exp()? },
            "replayed" => Rotation::Replayed { expires_at: exp()? },
            "reused" => Rotation::Reused,
            "unbound" => Rotation::Unbound,
            "late" => return Err(StoreError::Late),
            _ => Rotation::Invalid,
        };
        let authentication = match rotation {
            Rotation::Rotated { .. } | Rotation::Replayed { .. } => {
                let mut field = || -> Result<Option<String>, StoreError> {
                    it.next().map_or(Ok(None), parse::<Option<String>>)
                };
                let (at, amr, created, ev) = (field()?, field()?, field()?, field()?);
                Some(Carried {
                    authentication: stored_authentication(
                        at.as_deref(),
                        amr.as_deref(),
                        created.as_deref(),
                    )?,
                    // No `ev`: a session started before addresses were verified.
                    email_verified: ev.as_deref() != Some("0"),
                })
            }
            Rotation::Reused | Rotation::Invalid | Rotation::Unbound => None,
        };
        Ok((rotation, authentication))
    }

    async fn check_token(&self, c: &CheckToken) -> Result<TokenCheck, StoreError> {
        let outcome: String = self
            .write(
                &CHECK_TOKEN.invocation(
                    &keys::session_keys(c.account, c.session),
                    &[
                        &presented_digest_args(&c.presented, &c.family)[..],
                        &[
                            ("sid", c.session.to_string()),
                            ("now", c.now.to_string()),
                            ("grace", c.grace.to_string()),
                        ][..],
                    ]
                    .concat(),
                )?,
            )
            .await?;
        match outcome.as_str() {
            "current" => Ok(TokenCheck::Current),
            "previous" => Ok(TokenCheck::Previous),
            "reused" => Ok(TokenCheck::Reused),
            "invalid" => Ok(TokenCheck::Invalid),
            other => Err(StoreError::Corrupt(format!(
                "check_token answered {other:?}"
            ))),
        }
    }

    async fn revoke_session(&self, account: Id, session: Id, now: i64) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&REVOKE_SESSION.invocation(
                &[
                    ("session", keys::session(account, session)),
                    ("sessions", keys::sessions(account)),
                ],
                &[("sid", session.to_string()), ("now", now.to_string())],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn revoke_all(&self, account: Id, entry: &Entry) -> Result<u64, StoreError> {
        Ok(self
            .write(&REVOKE_ALL.invocation(
                &[
                    ("sessions", keys::sessions(account)),
                    ("log", keys::log(account)),
                ],
                &[
                    ("session_prefix", keys::session_prefix(account)),
                    ("entry", entry.encode()),
                ],
            )?)
            .await?)
    }

    async fn list_sessions(&self, account: Id, now: i64) -> Result<Vec<SessionInfo>, StoreError> {
        let flat: Vec<String> = self
            .run(&LIST_SESSIONS.invocation(
                &[("sessions", keys::sessions(account))],
                &[
                    ("now", now.to_string()),
                    ("session_prefix", keys::session_prefix(account)),
                ],
            )?)
            .await?;
        let mut list = flat
            .chunks(10)
            .map(|t| match t {
                [id, dev, ua, ip, created, last, exp, agent, at, amr] => Ok(SessionInfo {
                    id: id
                        .parse()
                        .map_err(|_| StoreError::Corrupt("bad session id".into()))?,
                    device: opt(dev),
                    user_agent: opt(ua),
                    ip: opt(ip),
                    created_at: int(created)?,
                    last_used_at: int(last)?,
                    expires_at: int(exp)?,
                    agent: opt(agent),
                    authentication: stored_authentication(
                        opt(at).as_deref(),
                        opt(amr).as_deref(),
                        Some(created),
                    )?,
                }),
                _ => Err(StoreError::Corrupt("short session tuple".into())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        list.sort_by_key(|s| (s.created_at, s.id));
        Ok(list)
    }

    async fn previous_password_hash(&self, id: Id, now: i64) -> Result<Option<String>, StoreError> {
        let key = &keys::account(id);
        let fields = &long_names("pwprev");
        let (until, parts): (Option<i64>, Vec<Option<String>>) =
            retry_once(&self.conn, move |mut c| async move {
                redis::pipe()
                    .cmd("HGET")
                    .arg(key)
                    .arg("pwprev_until")
                    .cmd("HMGET")
                    .arg(key)
                    .arg(fields)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(long_joined(&parts).filter(|_| until.is_some_and(|u| u > now)))
    }

    async fn set_password(
        &self,
        id: Id,
        password_hash: &str,
        sessions: SessionsAfter,
        entry: &Entry,
    ) -> Result<bool, StoreError> {
        let keep = match sessions {
            SessionsAfter::EndAll => String::new(),
            SessionsAfter::KeepOnly(sid) => sid.to_string(),
            SessionsAfter::KeepAll => "*".to_string(),
        };
        let n: i64 = self
            .write(&SET_PASSWORD.invocation(
                &[
                    ("account", keys::account(id)),
                    ("sessions", keys::sessions(id)),
                    ("log", keys::log(id)),
                ],
                &[
                    ("password_hash", password_hash.to_string()),
                    ("keep", keep),
                    ("session_prefix", keys::session_prefix(id)),
                    ("now", crate::kernel::clock::now().to_string()),
                    ("previous_for", PREVIOUS_PASSWORD_SECONDS.to_string()),
                    ("entry", entry.encode()),
                ],
            )?)
            .await?;
        Ok(n == 1)
    }
}

/// The wall-clock time (Unix milliseconds) after which a rotation sent now must not run: its
/// caller will have answered 503 by then, and its retry may already have rotated. Redis's clock
/// judges it (`TIME` in the script): the machines' clocks agree to well under the margin (the
/// response timeout) on AWS (NTP, Amazon Time Sync Service).
fn deadline_ms(answer_within: std::time::Duration) -> u128 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now + answer_within).as_millis()
}
