//! The operators' commands on shared web apps: their checks, defaults and JSON shape.

use super::AdminError;
use crate::api::Service;
use crate::kernel::clock;
use crate::kernel::ids::{Id, random_bytes};
use crate::passports::store::{App, AppAccess};
use crate::passports::valid_app_code;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// A passport's lifetime when `create_app` names none: a day.
pub const DEFAULT_PASSPORT_TTL: i64 = 86_400;
/// The shortest and longest passport lifetimes accepted.
pub const PASSPORT_TTL_RANGE: std::ops::RangeInclusive<i64> = 60..=30 * 86_400;
/// The longest app name.
pub const MAX_NAME_CHARS: usize = 100;

/// `create_app`.
pub async fn create(
    service: &Service,
    code: Option<String>,
    name: String,
    access: &str,
    ttl: Option<i64>,
) -> Result<Value, AdminError> {
    let invalid = |m: String| Err(AdminError::InvalidCommand(m));
    // 12 random bytes: 16 URL-safe characters.
    let code = code.unwrap_or_else(|| URL_SAFE_NO_PAD.encode(random_bytes::<12>()));
    if !valid_app_code(&code) {
        return invalid("code must be 8 to 32 of A-Z a-z 0-9 - _".into());
    }
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return invalid(format!("name must be 1 to {MAX_NAME_CHARS} characters"));
    }
    let Some(access) = AppAccess::parse(access) else {
        return invalid("access must be \"public\" or \"private\"".into());
    };
    let passport_ttl = ttl.unwrap_or(DEFAULT_PASSPORT_TTL);
    if !PASSPORT_TTL_RANGE.contains(&passport_ttl) {
        return invalid(format!(
            "passport_ttl_seconds must be {} to {}",
            PASSPORT_TTL_RANGE.start(),
            PASSPORT_TTL_RANGE.end()
        ));
    }
    let new = App {
        id: Id::random(),
        code,
        name,
        access,
        passport_ttl,
        enabled: true,
        created_at: clock::now(),
    };
    if !service.store().create_app(&new).await? {
        return Err(AdminError::AppExists);
    }
    Ok(json!({"ok": true, "app": to_json(&new)}))
}

/// The app `code` names.
pub async fn find(service: &Service, code: &str) -> Result<App, AdminError> {
    if !valid_app_code(code) {
        return Err(AdminError::AppNotFound);
    }
    service
        .store()
        .app_by_code(code)
        .await?
        .ok_or(AdminError::AppNotFound)
}

/// `disable_app` and `enable_app`.
pub async fn set_enabled(
    service: &Service,
    code: &str,
    enabled: bool,
) -> Result<Value, AdminError> {
    let found = find(service, code).await?;
    if !service.store().set_app_enabled(found.id, enabled).await? {
        return Err(AdminError::AppNotFound);
    }
    Ok(json!({"ok": true, "enabled": enabled}))
}

/// An app as commands answer it.
pub fn to_json(a: &App) -> Value {
    json!({
        "id": a.id.to_string(),
        "code": a.code,
        "name": a.name,
        "access": a.access.as_str(),
        "passport_ttl_seconds": a.passport_ttl,
        "enabled": a.enabled,
        "created_at": clock::rfc3339(a.created_at),
    })
}

/// `list_apps`.
pub async fn list(service: &Service) -> Result<Value, AdminError> {
    let list: Vec<Value> = service
        .store()
        .list_apps()
        .await?
        .iter()
        .map(to_json)
        .collect();
    Ok(json!({"ok": true, "apps": list}))
}

/// `delete_app`.
pub async fn delete(service: &Service, code: &str) -> Result<Value, AdminError> {
    let found = find(service, code).await?;
    if !service.store().delete_app(found.id).await? {
        return Err(AdminError::AppNotFound);
    }
    Ok(json!({"ok": true}))
}
