//! `local-api`: Service's HTTP API on 127.0.0.1, for trying it out and for end-to-end tests.
//! The embedded store unless `REDIS_URL` is set; the authorizer's code in front of the routes
//! that API Gateway guards with it.

mod args;
mod server;
mod typescript;
mod web_app;

use passport::admin::{self, AdminError, Command};
use passport::api::startup::KeySource;
use passport::{Config, Service};
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-api: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args =
        args::parse(std::env::args().skip(1)).map_err(|e| format!("{e}\n\n{}", args::USAGE))?;
    if args.help {
        println!("{}", args::USAGE);
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Cookies do not isolate by port: two local-apis on one host would read (and rotate) each
    // other's session cookie. Each port gets its own name unless COOKIE_NAME_SUFFIX says.
    // Passkeys need a domain for their relying-party id (never an IP address): the page at
    // http://localhost:<port>/app/ is a secure context, so passkeys work there out of the box.
    let config = Config::from_env_or(|name| match name {
        "COOKIE_NAME_SUFFIX" => Some(format!("_{}", addr.port())),
        "PASSKEY_ORIGINS" => Some(format!("http://localhost:{}", addr.port())),
        _ => None,
    })
    .map_err(|e| format!("configuration: {e}"))?;
    let algorithm = config.signing_algorithm;
    let store_note = if config.redis_url.is_some() {
        "Redis (REDIS_URL)"
    } else {
        "embedded, in memory"
    };
    let cors = passport::api::gateway::Cors::new(config.allowed_origins.clone());
    // The same start-up as a function's, but for a key made for this run when none is set.
    let (app, source) = Service::from_config_or_generated(config)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    let key_note = match source {
        KeySource::SecretsManager => "from SIGNING_SECRET_ARN (Secrets Manager)",
        KeySource::Literal => "from SIGNING_SECRET",
        KeySource::Generated => {
            "generated for this run (set SIGNING_SECRET to keep tokens valid across restarts)"
        }
    };
    let app = Arc::new(app);
    app.publish_keys()
        .await
        .map_err(|e| format!("cannot publish the public keys: {e}"))?;

    let mut accounts = args.accounts.clone();
    let demo = accounts.is_empty();
    if demo {
        let password: String = passport::kernel::ids::Id::random().to_string();
        accounts.push(("demo@passport.local".to_string(), password));
    }
    for (email, password) in &accounts {
        let cmd = Command::Create {
            email: email.clone(),
            password: password.clone(),
        };
        match admin::execute(&app, cmd).await {
            Ok(_) => {}
            Err(AdminError::AccountExists) => {
                // A restart with the same accounts keeps their sessions (on Redis).
                let cmd = Command::SetPassword {
                    email: email.clone(),
                    password: password.clone(),
                    keep_sessions: true,
                };
                admin::execute(&app, cmd)
                    .await
                    .map_err(|e| format!("account {email}: {e}"))?;
            }
            Err(e) => return Err(format!("account {email}: {e}")),
        }
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
        match admin::execute(&app, cmd).await {
            // A restart on Redis finds its apps there, with their passports.
            Ok(_) | Err(AdminError::AppExists) => {}
            Err(e) => return Err(format!("app {code}: {e}")),
        }
    }

    let base = format!("http://{addr}");
    // The first line is read by scripts and tests: keep its shape.
    println!("Passport local API listening on {base}");
    println!("Sessions page: {base}/app/");
    println!(
        "Store: {store_note}. Signing key: {key_note}. Tokens: {}.",
        algorithm.name()
    );
    println!("Durability: {}.", app.store().durability());
    println!(
        "Session cookie (\"transport\": \"cookie\"): {}",
        app.config().session_cookie.name()
    );
    for (email, password) in &accounts {
        let label = if demo { "Demo account" } else { "Account" };
        println!("{label}: {email}  password: {password}");
    }
    for (code, access) in &apps {
        let label = if demo_apps { "Demo app" } else { "App" };
        println!("{label} ({access}): X-App-Code: {code}");
    }
    println!("Routes:");
    for r in passport::api::ROUTES {
        let guard = match r.guard {
            passport::api::Guard::Open => "",
            passport::api::Guard::Authorizer => " (bearer token, checked by the authorizer)",
            passport::api::Guard::AppAuthorizer => {
                " (passport + X-App-Code, checked by the app authorizer)"
            }
        };
        println!(
            "  {:6} {:16} {}{guard}",
            r.method.as_str(),
            r.path,
            r.summary
        );
    }
    let (email, password) = &accounts[0];
    let body = serde_json::json!({"email": email, "password": password}).to_string();
    println!(
        "Try:\n  curl -s -X POST {base}/login -H 'content-type: application/json' -d '{body}'"
    );
    if let Some((code, _)) = apps.iter().find(|(_, a)| a == "public") {
        println!("  curl -s -X POST {base}/passport -H 'x-app-code: {code}'");
    }
    let web = web_app::WebApp::new(args.web_dir.as_deref().unwrap_or(web_app::DEFAULT_DIR));
    server::serve(listener, app, Arc::new(web), Arc::new(cors))
        .await
        .map_err(|e| e.to_string())
}
