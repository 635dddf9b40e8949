//! The accounts and shared apps `local-api` makes at start: those of `--account` and `--app`, or
//! a demo account and the two demo apps. A restart on Redis finds them there and keeps their
//! sessions and passports.

use crate::args::Args;
use passport::Service;
use passport::admin::{self, AdminError, Command};

/// What was made: the accounts (email, password) and apps (code, access), and whether each is
/// the demo's.
pub struct Seeded {
    /// Email and password of each account.
    pub accounts: Vec<(String, String)>,
    /// Whether `accounts` is the demo account.
    pub demo_accounts: bool,
    /// Code and access of each app.
    pub apps: Vec<(String, String)>,
    /// Whether `apps` are the demo apps.
    pub demo_apps: bool,
}

/// Makes the accounts and apps `args` name, or the demo ones.
pub async fn seed(service: &Service, args: &Args) -> Result<Seeded, String> {
    let mut accounts = args.accounts.clone();
    let demo_accounts = accounts.is_empty();
    if demo_accounts {
        let password: String = passport::kernel::ids::Id::random().to_string();
        accounts.push(("demo@passport.local".to_string(), password));
    }
    for (email, password) in &accounts {
        account(service, email, password).await?;
    }
    let mut apps = args.apps.clone();
    let demo_apps = apps.is_empty();
    if demo_apps {
        apps.push(("demo-public".to_string(), "public".to_string()));
        apps.push(("demo-private".to_string(), "private".to_string()));
    }
    for (code, access) in &apps {
        let cmd = Command::CreateApp {
            code: Some(code.clone()),
            name: format!("{code} ({access})"),
            access: access.clone(),
            passport_ttl_seconds: None,
        };
        match admin::execute(service, cmd).await {
            // A restart on Redis finds its apps there, with their passports.
            Ok(_) | Err(AdminError::AppExists) => {}
            Err(e) => return Err(format!("app {code}: {e}")),
        }
    }
    Ok(Seeded {
        accounts,
        demo_accounts,
        apps,
        demo_apps,
    })
}

/// Makes the account, or sets its password again when it exists.
async fn account(service: &Service, email: &str, password: &str) -> Result<(), String> {
    let cmd = Command::Create {
        email: email.to_string(),
        password: password.to_string(),
    };
    match admin::execute(service, cmd).await {
        Ok(_) => Ok(()),
        Err(AdminError::AccountExists) => {
            // A restart with the same accounts keeps their sessions (on Redis).
            let cmd = Command::SetPassword {
                email: email.to_string(),
                password: password.to_string(),
                keep_sessions: true,
            };
            admin::execute(service, cmd)
                .await
                .map(drop)
                .map_err(|e| format!("account {email}: {e}"))
        }
        Err(e) => Err(format!("account {email}: {e}")),
    }
}
