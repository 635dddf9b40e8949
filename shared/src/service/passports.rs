//! Web-app passports: `POST /passport` (issue or renew), `POST /passport/logout`, and the app
//! authorizer's decision. A passport names a shared app and one of its end users; a public app
//! gives one to anyone (a new anonymous end user, rate-limited per address), a private app only
//! to a signed-in account (always the same end user per account and app).

use super::{AppCaller, ClientInfo, Denied, Service, bearer_token};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::store::{
    App, AppAccess, PassportOf, PassportOutcome, PassportStart, PrivatePassport,
};
use crate::kernel::tokens::app_passport::Visitor;

/// Shortest app code.
pub const MIN_APP_CODE_CHARS: usize = 8;
/// Longest app code.
pub const MAX_APP_CODE_CHARS: usize = 32;

/// Whether `code` has an app code's form: 8–32 of `A-Z a-z 0-9 - _` (URL-safe).
pub fn valid_app_code(code: &str) -> bool {
    (MIN_APP_CODE_CHARS..=MAX_APP_CODE_CHARS).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl From<Visitor> for AppCaller {
    fn from(v: Visitor) -> Self {
        Self {
            app: v.app,
            app_code: v.app_code,
            end_user: v.end_user,
            account: v.account,
        }
    }
}

/// What `POST /passport` asks.
#[derive(Clone, Copy)]
pub struct PassportRequest<'a> {
    /// `X-App-Code`.
    pub app_code: Option<&'a str>,
    /// The `Authorization` header (a private app needs an account's bearer token).
    pub authorization: Option<&'a str>,
    /// The visitor's previous passport (body `passport`), to keep its end user.
    pub previous: Option<&'a str>,
}

/// What `POST /passport` answers.
#[derive(Clone, PartialEq, Eq)]
pub struct PassportGrant {
    /// The passport (a JWT).
    pub passport: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The end user it names.
    pub end_user: Id,
    /// The app's code.
    pub app_code: String,
}

impl std::fmt::Debug for PassportGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassportGrant")
            .field("end_user", &self.end_user)
            .field("app_code", &self.app_code)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// `POST /passport`.
    pub async fn issue_passport(
        &self,
        req: PassportRequest<'_>,
        client: &ClientInfo,
    ) -> Result<PassportGrant, ApiError> {
        let now = self.clock.now();
        let app = self.live_app(req.app_code).await?;
        let account = match app.access {
            AppAccess::Public => None,
            AppAccess::Private => match self.authorize(req.authorization).await {
                Ok(caller) => Some(caller.account),
                Err(Denied::Store(e)) => return Err(e.into()),
                Err(_) => return Err(ApiError::SignInRequired),
            },
        };
        let retention = self.config.passport_retention;
        // A previous passport that does not verify (forged, too old, another app's) is as if
        // none were sent: the visitor becomes a new end user.
        let previous = match req.previous {
            Some(p) => self
                .with_ring(|ring| self.passports.verify_within(ring, p, now, retention))
                .await
                .ok()
                .filter(|v| v.app == app.id && v.account == account),
            None => None,
        };
        let ttl = match account {
            Some(_) => app.passport_ttl.min(self.config.private_passport_max_ttl),
            None => app.passport_ttl,
        };
        let expires_at = now + ttl;
        // Before anything is recorded: keys that cannot be published fail the request whole.
        let ring = self.signing_ring().await?;
        let mut start = PassportStart {
            app: app.id,
            renew: previous.as_ref().map(|v| v.session),
            session: Id::random(),
            end_user: Id::random(),
            account,
            // An anonymous visitor is counted before a new end user is made for it.
            create: account.is_some(),
            expires_at,
            keep_until: expires_at + retention,
        };
        // A private passport's record under its account (`Store::track_private_passport`).
        let (app_id, keep_until) = (app.id, start.keep_until);
        let track = |account, renew, session| PrivatePassport {
            account,
            app: app_id,
            renew,
            session,
            keep_until,
            cap: self.config.private_passports_per_app,
            now,
        };
        if let Some(account) = account {
            // Recorded under the account first, so that a revocation racing this issue ends
            // the passport rather than missing it.
            if !self
                .store
                .track_private_passport(&track(account, start.renew, start.session))
                .await?
            {
                start.renew = None;
            }
        }
        let mut outcome = PassportOutcome::Gone;
        if start.renew.is_some() || start.create {
            outcome = self.store.start_passport(&start, now).await?;
        }
        if outcome == PassportOutcome::Gone {
            self.count_new_visitor(client, now).await?;
            start.renew = None;
            start.create = true;
            outcome = self.store.start_passport(&start, now).await?;
        }
        let (end_user, session) = match outcome {
            PassportOutcome::Renewed { end_user } => {
                (end_user, start.renew.unwrap_or(start.session))
            }
            PassportOutcome::Started { end_user } => (end_user, start.session),
            // Disabled or deleted since it was read.
            PassportOutcome::AppOff | PassportOutcome::Gone => return Err(ApiError::AppNotFound),
        };
        if let (Some(account), Some(renewed)) = (account, start.renew)
            && session != renewed
        {
            // The recorded session's record had expired on the app's slot: the new one is
            // recorded instead.
            self.store
                .track_private_passport(&track(account, None, session))
                .await?;
        }
        let visitor = Visitor {
            app: app.id,
            app_code: app.code.clone(),
            end_user,
            account,
            session,
            expires_at,
        };
        let passport = self
            .passports
            .issue(&ring, &visitor, now)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(PassportGrant {
            passport,
            expires_in: ttl,
            end_user,
            app_code: app.code,
        })
    }

    /// The app authorizer's decision: a live passport (never an access token) for the app that
    /// `X-App-Code` names, whose app is enabled and whose session has not ended (one store round
    /// trip).
    pub async fn authorize_visitor(
        &self,
        authorization: Option<&str>,
        app_code: Option<&str>,
    ) -> Result<AppCaller, Denied> {
        let token = super::presented(authorization)?;
        let now = self.clock.now();
        let visitor = self
            .with_ring(|ring| self.passports.verify(ring, token, now))
            .await?;
        if app_code != Some(visitor.app_code.as_str()) {
            return Err(Denied::WrongApp);
        }
        // A private app's passport also lives only while its account's sessions do (their
        // revocation ends its record under the account): two slots, asked at once.
        let on_app = self.store.passport_live(visitor.app, visitor.session, now);
        let live = match visitor.account {
            Some(account) => {
                let of = PassportOf {
                    account,
                    app: visitor.app,
                    session: visitor.session,
                };
                let on_account = self.store.private_passport_live(of, now);
                let (a, b) = tokio::try_join!(on_app, on_account)?;
                a && b
            }
            None => on_app.await?,
        };
        if !live {
            return Err(Denied::SessionEnded);
        }
        Ok(visitor.into())
    }

    /// `POST /passport/logout`: ends the passport's session, so neither it nor any passport of
    /// that session is accepted or renews again. A passport past its expiry but within the
    /// retention window still ends its session (it would otherwise renew). Idempotent.
    pub async fn end_passport(
        &self,
        authorization: Option<&str>,
        app_code: Option<&str>,
    ) -> Result<(), ApiError> {
        let token = authorization
            .and_then(bearer_token)
            .ok_or(ApiError::Unauthorized)?;
        let now = self.clock.now();
        let retention = self.config.passport_retention;
        let visitor = self
            .with_ring(|ring| self.passports.verify_within(ring, token, now, retention))
            .await
            .map_err(|_| ApiError::Unauthorized)?;
        if app_code != Some(visitor.app_code.as_str()) {
            return Err(ApiError::Unauthorized);
        }
        self.store
            .end_passport(visitor.app, visitor.session, now)
            .await?;
        Ok(())
    }

    /// The enabled app `code` names; an unknown, malformed or disabled code is the same
    /// `AppNotFound`.
    async fn live_app(&self, code: Option<&str>) -> Result<App, ApiError> {
        let code = code
            .filter(|c| valid_app_code(c))
            .ok_or(ApiError::AppNotFound)?;
        self.store
            .app_by_code(code)
            .await?
            .filter(|a| a.enabled)
            .ok_or(ApiError::AppNotFound)
    }

    async fn count_new_visitor(&self, client: &ClientInfo, now: i64) -> Result<(), ApiError> {
        let ip = self
            .limit_key(super::kept_address(client).as_deref())
            .unwrap_or_else(|| "-".into());
        let counter = self.store.count_new_visitor(&ip, now).await?;
        if counter.count > self.config.passport_ip_max_per_hour {
            return Err(ApiError::RateLimited {
                retry_after: counter.retry_after,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_codes_are_url_safe_and_8_to_32_characters() {
        for ok in ["demo-app", "A_b-9xyz", &"a".repeat(32)] {
            assert!(valid_app_code(ok), "{ok}");
        }
        for bad in [
            "short",
            &"a".repeat(33),
            "has space",
            "slash/app",
            "ünicode1",
            "",
        ] {
            assert!(!valid_app_code(bad), "{bad}");
        }
    }
}
