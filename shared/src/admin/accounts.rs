//! The operators' commands on accounts: create, set a password, disable and enable, delete,
//! show, and list or revoke sessions.

use super::AdminError;
use crate::api::Service;
use crate::kernel::accounts as rules;
use crate::kernel::activity::{Activity, By, Entry};
use crate::kernel::clock;
use crate::kernel::ids::Id;
use crate::kernel::mail::Message;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::store::{Account, AccountStatus};
use crate::sessions::store::SessionsAfter;
use serde_json::{Value, json};

/// `create`.
pub async fn create(service: &Service, email: &str, password: String) -> Result<Value, AdminError> {
    let email = rules::normalize_email(email)?;
    rules::check_new_password(&password)?;
    let account = Account {
        id: Id::random(),
        email,
        password_hash: hash(password).await?,
        status: AccountStatus::Active,
        created_at: clock::now(),
        password_version: 0,
        email_verified: true,
        second_factor: false,
    };
    if !service.store().create_account(&account).await? {
        return Err(AdminError::AccountExists);
    }
    Ok(json!({"ok": true, "account": account_json(&account)}))
}

/// `set_password`: ends every session unless `keep_sessions`.
pub async fn set_password(
    service: &Service,
    email: &str,
    password: String,
    keep_sessions: bool,
) -> Result<Value, AdminError> {
    rules::check_new_password(&password)?;
    let id = find(service, email).await?;
    let phc = hash(password).await?;
    let sessions = if keep_sessions {
        SessionsAfter::KeepAll
    } else {
        SessionsAfter::EndAll
    };
    let entry = Entry::new(Activity::PasswordChanged, service.clock().now()).by(Some(By::Operator));
    if !service
        .store()
        .set_password(id, &phc, sessions, &entry)
        .await?
    {
        return Err(AdminError::AccountNotFound);
    }
    let by = [("by", json!("operator"))];
    service.security_event(SecurityEvent::PasswordChanged, Some(id), None, &by);
    if !keep_sessions {
        let reason = [("reason", json!("password_set"))];
        service.security_event(SecurityEvent::SessionsRevoked, Some(id), None, &reason);
    }
    Ok(json!({"ok": true, "sessions_ended": !keep_sessions}))
}

/// `delete`.
pub async fn delete(service: &Service, email: &str) -> Result<Value, AdminError> {
    let id = find(service, email).await?;
    if !service.store().delete_account(id).await? {
        return Err(AdminError::AccountNotFound);
    }
    Ok(json!({"ok": true}))
}

/// `get`: the account, never its password hash.
pub async fn get(service: &Service, email: &str) -> Result<Value, AdminError> {
    let id = find(service, email).await?;
    let account = service
        .store()
        .account(id)
        .await?
        .ok_or(AdminError::AccountNotFound)?;
    Ok(json!({"ok": true, "account": account_json(&account)}))
}

/// `remove_second_factor`: the account's authenticator app and recovery codes go (its owner
/// lost both); the owner is mailed, and the next sign-in takes the password alone.
pub async fn remove_second_factor(service: &Service, email: &str) -> Result<Value, AdminError> {
    let id = find(service, email).await?;
    let entry =
        Entry::new(Activity::SecondFactorRemoved, service.clock().now()).by(Some(By::Operator));
    let removed = service.store().remove_totp(id, &entry).await?;
    if removed {
        tracing::info!(account = %id, by = "operator", "second factor removed");
        if let Some(account) = service.store().account(id).await? {
            service
                .notify(account.id, &account.email, |link| {
                    Message::SecondFactorRemoved { link }
                })
                .await;
        }
    }
    Ok(json!({"ok": true, "removed": removed}))
}

/// `list_sessions`.
pub async fn list_sessions(service: &Service, email: &str) -> Result<Value, AdminError> {
    let id = find(service, email).await?;
    let sessions: Vec<Value> = service
        .store()
        .list_sessions(id, clock::now())
        .await?
        .into_iter()
        .map(|s| s.to_json())
        .collect();
    Ok(json!({"ok": true, "sessions": sessions}))
}

/// `activity`: the account's security history, a page at a time (as `GET /activity`).
pub async fn activity(
    service: &Service,
    email: &str,
    before: Option<u64>,
    limit: Option<usize>,
) -> Result<Value, AdminError> {
    let id = find(service, email).await?;
    let limit = limit.unwrap_or(crate::activity::DEFAULT_PAGE);
    if !(1..=crate::kernel::activity::MAX_ENTRIES).contains(&limit) {
        return Err(AdminError::InvalidCommand(format!(
            "limit must be 1 to {}",
            crate::kernel::activity::MAX_ENTRIES
        )));
    }
    let page = crate::activity::Page { before, limit };
    let mut answer = service.activity(id, page).await.map_err(|e| match e {
        crate::kernel::error::ApiError::Unavailable(e) => AdminError::Unavailable(e),
        other => AdminError::Internal(other.to_string()),
    })?;
    answer["ok"] = json!(true);
    Ok(answer)
}

/// `revoke_sessions`: one session, or every one.
pub async fn revoke_sessions(
    service: &Service,
    email: &str,
    session_id: Option<String>,
) -> Result<Value, AdminError> {
    let id = find(service, email).await?;
    let revoked = match session_id {
        None => {
            let entry = Entry::new(Activity::SignedOutEverywhere, service.clock().now())
                .by(Some(By::Operator));
            let n = service.store().revoke_all(id, &entry).await?;
            let fields = [("reason", json!("operator")), ("count", json!(n))];
            service.security_event(SecurityEvent::SessionsRevoked, Some(id), None, &fields);
            n
        }
        Some(sid) => {
            let sid: Id = sid.parse().map_err(|_| AdminError::SessionNotFound)?;
            if !service
                .store()
                .revoke_session(id, sid, clock::now())
                .await?
            {
                return Err(AdminError::SessionNotFound);
            }
            1
        }
    };
    Ok(json!({"ok": true, "revoked": revoked}))
}

async fn find(service: &Service, email: &str) -> Result<Id, AdminError> {
    let email = rules::normalize_email(email)?;
    service
        .store()
        .account_id(&email)
        .await?
        .ok_or(AdminError::AccountNotFound)
}

/// `disable` (every session ends at once) and `enable`.
pub async fn set_status(
    service: &Service,
    email: &str,
    status: AccountStatus,
) -> Result<Value, AdminError> {
    let id = find(service, email).await?;
    if !service.store().set_status(id, status).await? {
        return Err(AdminError::AccountNotFound);
    }
    if status == AccountStatus::Disabled {
        service.security_event(SecurityEvent::AccountDisabled, Some(id), None, &[]);
        let reason = [("reason", json!("account_disabled"))];
        service.security_event(SecurityEvent::SessionsRevoked, Some(id), None, &reason);
    }
    Ok(json!({"ok": true, "status": status.as_str()}))
}

async fn hash(password: String) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || rules::hash_password(&password))
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
        "email_verified": a.email_verified,
        "second_factor": a.second_factor,
    })
}
