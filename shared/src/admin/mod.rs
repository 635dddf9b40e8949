//! Operators' commands on the account directory (the `accounts` function: no HTTP route,
//! invoked with IAM). A command is JSON such as `{"command": "create", "email": "…",
//! "password": "…"}`; the answer is JSON too.

use crate::api::Service;
pub use crate::kernel::error::AdminError;
use crate::kernel::store::AccountStatus;
use serde::Deserialize;
use serde_json::{Value, json};

mod accounts;
mod apps;

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
    /// Removes an account's second factor (an owner who lost the app and the recovery codes).
    RemoveSecondFactor {
        /// Account email.
        email: String,
    },
    /// Shows an account's security history, newest first.
    Activity {
        /// Account email.
        email: String,
        /// Entries numbered below this one (the answer's `next`); the newest when absent.
        #[serde(default)]
        before: Option<u64>,
        /// At most this many (1–50, default 20).
        #[serde(default)]
        limit: Option<usize>,
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
        // Never print a password: the command's name alone.
        crate::kernel::redact::shown(
            f,
            match self {
                Command::Create { .. } => "Create",
                Command::SetPassword { .. } => "SetPassword",
                Command::Disable { .. } => "Disable",
                Command::Enable { .. } => "Enable",
                Command::Delete { .. } => "Delete",
                Command::Get { .. } => "Get",
                Command::ListSessions { .. } => "ListSessions",
                Command::Activity { .. } => "Activity",
                Command::RemoveSecondFactor { .. } => "RemoveSecondFactor",
                Command::RevokeSessions { .. } => "RevokeSessions",
                Command::CreateApp { .. } => "CreateApp",
                Command::GetApp { .. } => "GetApp",
                Command::ListApps {} => "ListApps",
                Command::DisableApp { .. } => "DisableApp",
                Command::EnableApp { .. } => "EnableApp",
                Command::DeleteApp { .. } => "DeleteApp",
            },
            &[],
        )
    }
}

/// Parses a command from its JSON event.
pub fn parse(event: Value) -> Result<Command, AdminError> {
    serde_json::from_value(event).map_err(|e| AdminError::InvalidCommand(e.to_string()))
}

/// Runs a command and returns its JSON answer.
pub async fn execute(service: &Service, command: Command) -> Result<Value, AdminError> {
    tracing::info!(command = ?command, "accounts command");
    match command {
        Command::Create { email, password } => accounts::create(service, &email, password).await,
        Command::SetPassword {
            email,
            password,
            keep_sessions,
        } => accounts::set_password(service, &email, password, keep_sessions).await,
        Command::Disable { email } => {
            accounts::set_status(service, &email, AccountStatus::Disabled).await
        }
        Command::Enable { email } => {
            accounts::set_status(service, &email, AccountStatus::Active).await
        }
        Command::Delete { email } => accounts::delete(service, &email).await,
        Command::Get { email } => accounts::get(service, &email).await,
        Command::ListSessions { email } => accounts::list_sessions(service, &email).await,
        Command::Activity {
            email,
            before,
            limit,
        } => accounts::activity(service, &email, before, limit).await,
        Command::RemoveSecondFactor { email } => {
            accounts::remove_second_factor(service, &email).await
        }
        Command::RevokeSessions { email, session_id } => {
            accounts::revoke_sessions(service, &email, session_id).await
        }
        Command::CreateApp {
            code,
            name,
            access,
            passport_ttl_seconds,
        } => apps::create(service, code, name, &access, passport_ttl_seconds).await,
        Command::GetApp { code } => {
            let found = apps::find(service, &code).await?;
            Ok(json!({"ok": true, "app": apps::to_json(&found)}))
        }
        Command::ListApps {} => apps::list(service).await,
        Command::DisableApp { code } => apps::set_enabled(service, &code, false).await,
        Command::EnableApp { code } => apps::set_enabled(service, &code, true).await,
        Command::DeleteApp { code } => apps::delete(service, &code).await,
    }
}
