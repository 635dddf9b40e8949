//! What `local-api` prints at start, after the listening line: where things are, what it runs
//! on, the accounts and apps it made, every route, and a `curl` line to try.

use crate::seed::Seeded;
use passport::Service;
use passport::api::Guard;
use passport::api::startup::KeySource;

/// Prints the banner.
pub fn print(service: &Service, base: &str, keys: KeySource, seeded: &Seeded, mail: &str) {
    let config = service.config();
    let store = if config.redis_url.is_some() {
        "Redis (REDIS_URL)"
    } else {
        "embedded, in memory"
    };
    let keys = match keys {
        KeySource::SecretsManager => "from SIGNING_SECRET_ARN (Secrets Manager)",
        KeySource::Literal => "from SIGNING_SECRET",
        KeySource::Generated => {
            "generated for this run (set SIGNING_SECRET to keep tokens valid across restarts)"
        }
    };
    println!("Sessions page: {base}/app/");
    println!(
        "Store: {store}. Signing key: {keys}. Tokens: {}.",
        config.signing_algorithm.name()
    );
    println!("Durability: {}.", service.store().durability());
    println!(
        "Mail: {mail}. Sign-up: {}.",
        if config.signup_open { "open" } else { "off" }
    );
    println!(
        "Session cookie (\"transport\": \"cookie\"): {}",
        config.session_cookie.name()
    );
    for (email, password) in &seeded.accounts {
        let label = if seeded.demo_accounts {
            "Demo account"
        } else {
            "Account"
        };
        println!("{label}: {email}  password: {password}");
    }
    for (code, access) in &seeded.apps {
        let label = if seeded.demo_apps { "Demo app" } else { "App" };
        println!("{label} ({access}): X-App-Code: {code}");
    }
    println!("Routes:");
    for r in passport::api::ROUTES {
        let guard = match r.guard {
            Guard::Open => "",
            Guard::Authorizer => " (bearer token, checked by the authorizer)",
            Guard::AppAuthorizer => " (passport + X-App-Code, checked by the app authorizer)",
        };
        println!(
            "  {:6} {:16} {}{guard}",
            r.method.as_str(),
            r.path,
            r.summary
        );
    }
    if let Some((email, password)) = seeded.accounts.first() {
        let body = serde_json::json!({"email": email, "password": password}).to_string();
        println!(
            "Try:\n  curl -s -X POST {base}/login -H 'content-type: application/json' -d '{body}'"
        );
    }
    if let Some((code, _)) = seeded.apps.iter().find(|(_, a)| a == "public") {
        println!("  curl -s -X POST {base}/passport -H 'x-app-code: {code}'");
    }
}
