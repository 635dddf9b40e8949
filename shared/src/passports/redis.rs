//! The passports feature's store slice on Redis (its scripts in `lua/`).

use super::store::{
    App, AppAccess, NEW_VISITOR_WINDOW, PassportOf, PassportOutcome, PassportStart, PassportStore,
    PrivatePassport, VisitorCount,
};
use crate::kernel::error::StoreError;
use crate::kernel::ids::Id;
use crate::kernel::store::connection::retry_once;
use crate::kernel::store::directory::PROVISIONAL_SECONDS;
use crate::kernel::store::redis::{field, int};
use crate::kernel::store::{Counter, RedisStore, keys};
use async_trait::async_trait;
use redis::AsyncCommands;

crate::lua_scripts! {
    CREATE_APP = "create_app",
    SET_APP_ENABLED = "set_app_enabled",
    DELETE_APP = "delete_app",
    START_PASSPORT = "start_passport",
    TRACK_PASSPORT = "track_passport",
}

#[async_trait]
impl PassportStore for RedisStore {
    async fn create_app(&self, app: &App) -> Result<bool, StoreError> {
        // As `create_account`: the record first, provisional; then the code claimed with the
        // email's compare-and-set script (`claim`); the loser deletes its record.
        let record = keys::app(app.id);
        let index = keys::app_code(&app.code);
        let id = app.id.to_string();
        let _: i64 = self
            .run(&CREATE_APP.invocation(
                &[("app", record.clone())],
                &[
                    ("code", app.code.clone()),
                    ("name", app.name.clone()),
                    ("access", app.access.as_str().to_string()),
                    ("passport_ttl", app.passport_ttl.to_string()),
                    ("created_at", app.created_at.to_string()),
                    ("provisional_seconds", PROVISIONAL_SECONDS.to_string()),
                ],
            )?)
            .await?;
        if !self.claim(&index, &id, &record, keys::app).await? {
            return Ok(false);
        }
        let _: i64 = self.write_cmd(redis::Cmd::sadd(keys::APPS, &id)).await?;
        Ok(true)
    }

    async fn app_by_code(&self, code: &str) -> Result<Option<App>, StoreError> {
        let id = self.string(&keys::app_code(code)).await?;
        match id.and_then(|s| s.parse::<Id>().ok()) {
            Some(id) => app(self, id).await,
            None => Ok(None),
        }
    }

    async fn list_apps(&self) -> Result<Vec<App>, StoreError> {
        let ids: Vec<String> = retry_once(&self.conn, move |mut c| async move {
            c.smembers(keys::APPS).await
        })
        .await?;
        let mut apps = Vec::new();
        for id in ids.iter().filter_map(|s| s.parse::<Id>().ok()) {
            if let Some(app) = app(self, id).await? {
                apps.push(app);
            }
        }
        apps.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(apps)
    }

    async fn set_app_enabled(&self, id: Id, enabled: bool) -> Result<bool, StoreError> {
        let n: i64 = self
            .write(&SET_APP_ENABLED.invocation(
                &[("app", keys::app(id))],
                &[("enabled", if enabled { "1" } else { "0" }.to_string())],
            )?)
            .await?;
        Ok(n == 1)
    }

    async fn delete_app(&self, id: Id) -> Result<bool, StoreError> {
        let code: Option<String> = self
            .write(&DELETE_APP.invocation(
                &[("app", keys::app(id)), ("users", keys::app_users(id))],
                &[],
            )?)
            .await?;
        let Some(code) = code else {
            return Ok(false);
        };
        self.unindex(keys::app_code(&code), id).await?;
        let _: i64 = self
            .write_cmd(redis::Cmd::srem(keys::APPS, id.to_string()))
            .await?;
        Ok(true)
    }

    async fn start_passport(
        &self,
        p: &PassportStart,
        _now: i64,
    ) -> Result<PassportOutcome, StoreError> {
        let new_session = keys::passport(p.app, p.session);
        let old_session = p
            .renew
            .map_or_else(|| new_session.clone(), |s| keys::passport(p.app, s));
        let (outcome, end_user): (String, Option<String>) = self
            .write::<Vec<String>>(&START_PASSPORT.invocation(
                &[
                    ("app", keys::app(p.app)),
                    ("users", keys::app_users(p.app)),
                    ("old_session", old_session),
                    ("new_session", new_session),
                ],
                &[
                    (
                        "account",
                        p.account.map(|a| a.to_string()).unwrap_or_default(),
                    ),
                    ("end_user", p.end_user.to_string()),
                    ("create", if p.create { "1" } else { "0" }.to_string()),
                    ("expires_at", p.expires_at.to_string()),
                    ("keep_until", p.keep_until.to_string()),
                ],
            )?)
            .await
            .map(|v| {
                let mut it = v.into_iter();
                (it.next().unwrap_or_default(), it.next())
            })?;
        let end_user = || {
            end_user
                .as_deref()
                .and_then(|e| e.parse::<Id>().ok())
                .ok_or_else(|| StoreError::Corrupt("passport session without end user".into()))
        };
        Ok(match outcome.as_str() {
            "renewed" => PassportOutcome::Renewed {
                end_user: end_user()?,
            },
            "started" => PassportOutcome::Started {
                end_user: end_user()?,
            },
            "gone" => PassportOutcome::Gone,
            _ => PassportOutcome::AppOff,
        })
    }

    async fn passport_live(&self, app: Id, session: Id, _now: i64) -> Result<bool, StoreError> {
        // Both keys carry the app's hash tag: one pipeline to one node, one round trip.
        let mut pipe = redis::pipe();
        pipe.hget(keys::app(app), "enabled")
            .exists(keys::passport(app, session));
        let pipe = &pipe;
        let (enabled, exists): (Option<String>, bool) =
            retry_once(&self.conn, move |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await?;
        Ok(enabled.as_deref() == Some("1") && exists)
    }

    async fn end_passport(&self, app: Id, session: Id, _now: i64) -> Result<bool, StoreError> {
        let n: i64 = self
            .write_cmd(redis::Cmd::del(keys::passport(app, session)))
            .await?;
        Ok(n == 1)
    }

    async fn track_private_passport(&self, p: &PrivatePassport) -> Result<bool, StoreError> {
        let passports = keys::private_passports(p.account);
        let sequence = keys::private_passports_sequence(p.account);
        let outcome: String = self
            .write(&TRACK_PASSPORT.invocation(
                &[("passports", passports), ("sequence", sequence)],
                &[
                    ("app", p.app.to_string()),
                    ("renew", p.renew.map(|s| s.to_string()).unwrap_or_default()),
                    ("session", p.session.to_string()),
                    ("keep_until", p.keep_until.to_string()),
                    ("cap", p.cap.max(1).to_string()),
                    ("now", p.now.to_string()),
                ],
            )?)
            .await?;
        Ok(outcome == "renew")
    }

    async fn private_passport_live(&self, p: PassportOf, now: i64) -> Result<bool, StoreError> {
        // Both keys carry the account's hash tag: one pipeline to one node.
        let mut pipe = redis::pipe();
        pipe.zscore(
            keys::private_passports(p.account),
            format!("{}:{}", p.app, p.session),
        )
        .hget(keys::session(p.account, p.account_session), "exp");
        let pipe = &pipe;
        let (until, session_until): (Option<f64>, Option<i64>) =
            retry_once(&self.conn, move |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await?;
        Ok(until.is_some_and(|u| u > now as f64) && session_until.is_some_and(|e| e > now))
    }

    async fn count_new_visitor(
        &self,
        by: VisitorCount<'_>,
        _now: i64,
    ) -> Result<Counter, StoreError> {
        let key = match by {
            VisitorCount::Address(ip) => keys::visitors(ip),
            VisitorCount::Network(ip) => keys::network_visitors(ip),
            VisitorCount::App(app) => keys::app_visitors(app),
        };
        self.count(key, NEW_VISITOR_WINDOW).await
    }
}

/// The app with this id.
async fn app(store: &RedisStore, id: Id) -> Result<Option<App>, StoreError> {
    let h = store.hash(&keys::app(id)).await?;
    if h.is_empty() {
        return Ok(None);
    }
    Ok(Some(App {
        id,
        code: field(&h, "code")?.to_string(),
        name: field(&h, "name")?.to_string(),
        access: AppAccess::parse(field(&h, "access")?)
            .ok_or_else(|| StoreError::Corrupt("unknown app access".into()))?,
        passport_ttl: int(field(&h, "ttl")?)?,
        enabled: field(&h, "enabled")? == "1",
        created_at: int(field(&h, "created")?)?,
    }))
}
