//! Operators' commands on the account directory (the `accounts` function: no HTTP route,
//! invoked with IAM). A command is JSON such as `{"command": "create", "email": "…",
//! "password": "…"}`; the answer is JSON too.

use crate::api::Service;
use crate::kernel::accounts;
use crate::kernel::clock;
pub use crate::kernel::error::AdminError;
use crate::kernel::ids::Id;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::store::{Account, AccountStatus};
use crate::sessions::store::SessionsAfter;
use serde::Deserialize;

mod apps;
use serde_json::{Value, json};

/// An operator's command.
#[derive(Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Creates an active account.
    Create {
        /// Email (normalised before use).
        email: String,
        /// Initial password.
        password: String,
    },
    /// Replaces an account's password and ends every session of it, unless `keep_sessions`.
    SetPassword {
        /// Account email.
        email: String,
        /// New password.
        password: String,
        /// Leave the sessions be (default false: a new password ends them all).
        #[serde(default)]
        keep_sessions: bool,
    },
    /// Disables an account and revokes every session of it at once.
    Disable {
        /// Account email.
        email: String,
    },
    /// Re-enables an account.
    Enable {
        /// Account email.
        email: String,
    },
    /// Deletes an account and revokes its sessions.
    Delete {
        /// Account email.
        email: String,
    },
    /// Shows an account (never its password hash).
    Get {
        /// Account email.
        email: String,
    },
    /// Lists an account's live sessions.
    ListSessions {
        /// Account email.
        email: String,
    },
    /// Revokes one session of an account, or all of them when `session_id` is absent.
    RevokeSessions {
        /// Account email.
        email: String,
        /// The session to revoke; all when absent.
        #[serde(default)]
        session_id: Option<String>,
    },
    /// Adds a shared web app (see `apps`).
    CreateApp {
        /// Its code: 8–32 URL-safe characters; generated when absent.
        #[serde(default)]
        code: Option<String>,
        /// A display name.
        name: String,
        /// `public` or `private`.
        access: String,
        /// Lifetime of its passports (default 86400).
        #[serde(default)]
        passport_ttl_seconds: Option<i64>,
    },
    /// Shows an app.
    GetApp {
        /// Its code.
        code: String,
    },
    /// Lists every app.
    ListApps {},
    /// Disables an app: its passports are refused at once, and no new one is issued.
    DisableApp {
        /// Its code.
        code: String,
    },
    /// Re-enables an app: passports of it that have not expired are accepted again.
    EnableApp {
        /// Its code.
        code: String,
    },
    /// Deletes an app: its passports are refused at once, for good.
    DeleteApp {
        /// Its code.
        code: String,
    },
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a password.
        f.write_str(match self {
            Command::Create { .. } => "Create",
            Command::SetPassword { .. } => "SetPassword",
            Command::Disable { .. } => "Disable",
            Command::Enable { .. } => "Enable",
            Command::Delete { .. } => "Delete",
            Command::Get { .. } => "Get",
            Command::ListSessions { .. } => "ListSessions",
            Command::RevokeSessions { .. } => "RevokeSessions",
            Command::CreateApp { .. } => "CreateApp",
            Command::GetApp { .. } => "GetApp",
            Command::ListApps {} => "ListApps",
            Command::DisableApp { .. } => "DisableApp",
            Command::EnableApp { .. } => "EnableApp",
            Command::DeleteApp { .. } => "DeleteApp",
        })
    }
}

/// Parses a command from its JSON event.
pub fn parse(event: Value) -> Result<Command, AdminError> {
    serde_json::from_value(event).map_err(|e| AdminError::InvalidCommand(e.to_string()))
}

/// Runs a command and returns its JSON answer.
pub async fn execute(app: &Service, command: Command) -> Result<Value, AdminError> {
    tracing::info!(command = ?command, "accounts command");
    let store = app.store();
    match command {
        Command::Create { email, password } => {
            let email = accounts::normalize_email(&email)?;
            accounts::check_new_password(&password)?;
            let account = Account {
                id: Id::random(),
                email,
                password_hash: hash(password).await?,
                status: AccountStatus::Active,
                created_at: clock::now(),
                password_version: 0,
            };
            if !store.create_account(&account).await? {
                return Err(AdminError::AccountExists);
            }
            Ok(json!({"ok": true, "account": account_json(&account)}))
        }
        Command::SetPassword {
            email,
            password,
            keep_sessions,
        } => {
            accounts::check_new_password(&password)?;
            let id = find(app, &email).await?;
            let phc = hash(password).await?;
            let sessions = if keep_sessions {
                SessionsAfter::KeepAll
            } else {
                SessionsAfter::EndAll
            };
            if !store.set_password(id, &phc, sessions).await? {
                return Err(AdminError::AccountNotFound);
            }
            let by = [("by", json!("operator"))];
            app.security_event(SecurityEvent::PasswordChanged, Some(id), None, &by);
            if !keep_sessions {
                let reason = [("reason", json!("password_set"))];
                app.security_event(SecurityEvent::SessionsRevoked, Some(id), None, &reason);
            }
            Ok(json!({"ok": true, "sessions_ended": !keep_sessions}))
        }
        Command::Disable { email } => set_status(app, &email, AccountStatus::Disabled).await,
        Command::Enable { email } => set_status(app, &email, AccountStatus::Active).await,
        Command::Delete { email } => {
            let id = find(app, &email).await?;
            if !store.delete_account(id).await? {
                return Err(AdminError::AccountNotFound);
            }
            Ok(json!({"ok": true}))
        }
        Command::Get { email } => {
            let id = find(app, &email).await?;
            let account = store
                .account(id)
                .await?
                .ok_or(AdminError::AccountNotFound)?;
            Ok(json!({"ok": true, "account": account_json(&account)}))
        }
        Command::ListSessions { email } => {
            let id = find(app, &email).await?;
            let sessions: Vec<Value> = store
                .list_sessions(id, clock::now())
                .await?
                .into_iter()
                .map(|s| s.to_json())
                .collect();
            Ok(json!({"ok": true, "sessions": sessions}))
        }
        Command::RevokeSessions { email, session_id } => {
            let id = find(app, &email).await?;
            let revoked = match session_id {
                None => {
                    let n = store.revoke_all(id).await?;
                    let fields = [("reason", json!("operator")), ("count", json!(n))];
                    app.security_event(SecurityEvent::SessionsRevoked, Some(id), None, &fields);
                    n
                }
                Some(sid) => {
                    let sid: Id = sid.parse().map_err(|_| AdminError::SessionNotFound)?;
                    if !store.revoke_session(id, sid, clock::now()).await? {
                        return Err(AdminError::SessionNotFound);
                    }
                    1
                }
            };
            Ok(json!({"ok": true, "revoked": revoked}))
        }
        Command::CreateApp {
            code,
            name,
            access,
            passport_ttl_seconds,
        } => apps::create(app, code, name, &access, passport_ttl_seconds).await,
        Command::GetApp { code } => {
            let found = apps::find(app, &code).await?;
            Ok(json!({"ok": true, "app": apps::to_json(&found)}))
        }
        Command::ListApps {} => {
            let list: Vec<Value> = store.list_apps().await?.iter().map(apps::to_json).collect();
            Ok(json!({"ok": true, "apps": list}))
        }
        Command::DisableApp { code } => apps::set_enabled(app, &code, false).await,
        Command::EnableApp { code } => apps::set_enabled(app, &code, true).await,
        Command::DeleteApp { code } => {
            let found = apps::find(app, &code).await?;
            if !store.delete_app(found.id).await? {
                return Err(AdminError::AppNotFound);
            }
            Ok(json!({"ok": true}))
        }
    }
}

async fn find(app: &Service, email: &str) -> Result<Id, AdminError> {
    let email = accounts::normalize_email(email)?;
    app.store()
        .account_id(&email)
        .await?
        .ok_or(AdminError::AccountNotFound)
}

async fn set_status(
    app: &Service,
    email: &str,
    status: AccountStatus,
) -> Result<Value, AdminError> {
    let id = find(app, email).await?;
    if !app.store().set_status(id, status).await? {
        return Err(AdminError::AccountNotFound);
    }
    if status == AccountStatus::Disabled {
        app.security_event(SecurityEvent::AccountDisabled, Some(id), None, &[]);
        let reason = [("reason", json!("account_disabled"))];
        app.security_event(SecurityEvent::SessionsRevoked, Some(id), None, &reason);
    }
    Ok(json!({"ok": true, "status": status.as_str()}))
}

async fn hash(password: String) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || accounts::hash_password(&password))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
        .map_err(|e| AdminError::Internal(e.to_string()))
}

fn account_json(a: &Account) -> Value {
    json!({
        "id": a.id.to_string(),
        "email": a.email,
        "status": a.status.as_str(),
        "created_at": clock::rfc3339(a.created_at),
    })
}
