//! `local-api`: Service's HTTP API on 127.0.0.1, for trying it out and for end-to-end tests.
//! The embedded store unless `REDIS_URL` is set; the authorizer's code in front of the routes
//! that API Gateway guards with it.

mod args;
mod banner;
mod first_write;
mod mail;
mod seed;
mod server;
mod typescript;
mod web_app;

use passport::kernel::config::SecretBytes;
use passport::mfa::MfaKey;
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Before anything touches jsonwebtoken, as every function does (passport_lambda::start).
    let backend = passport::kernel::keys::crypto::install();
    tracing::info!(es256_backend = %backend.name(), "process start");
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
    // The public URL is where this listens (the discovery document's `jwks_uri`).
    let (providers, secrets) = args::oidc_settings(&args.oidc);
    let config = Config::from_env_or(|name| match name {
        "OIDC_PROVIDERS" => providers.clone(),
        "OIDC_CLIENT_SECRETS" => secrets.clone(),
        "COOKIE_NAME_SUFFIX" => Some(format!("_{}", addr.port())),
        "PUBLIC_BASE_URL" => Some(format!("http://{addr}")),
        "PASSKEY_ORIGINS" => Some(format!("http://localhost:{}", addr.port())),
        _ => None,
    })
    .map_err(|e| format!("configuration: {e}"))?;
    let cors = passport::api::gateway::Cors::new(config.allowed_origins.clone());
    // The same start-up as a function's, but for a key made for this run when none is set.
    let (service, keys) = Service::from_config_or_generated(config)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    // Mail goes through SQS only if MAIL_QUEUE_URL says so; otherwise this process sends it.
    let (service, mail_goes) = if service.config().mail_queue_url.is_some() {
        (service, "to MAIL_QUEUE_URL's queue".to_string())
    } else {
        let smtp = service
            .config()
            .smtp_url
            .as_ref()
            .map(|u| String::from_utf8_lossy(u.expose()).into_owned());
        let from = service.config().mail_from.clone();
        let (outbox, goes) = mail::outbox(smtp.as_deref(), from.as_deref())?;
        (service.with_mail(Some(outbox)), goes)
    };
    // A second-factor key for this run when none is set (the embedded store forgets the
    // authenticators with it; against Redis, set MFA_SECRET to keep them across runs).
    let service = if service.extension::<MfaKey>().is_none() {
        let key = SecretBytes::new(passport::kernel::ids::random_bytes::<32>().to_vec());
        service.with_second_factor(Some(MfaKey(key)))
    } else {
        service
    };
    let service = Arc::new(service);
    first_write::publish_keys(&service, first_write::REPLICAS_WAIT).await?;
    let base = format!("http://{addr}");
    // The first line is read by scripts and tests: keep its shape, and print it before seeding
    // (an account made again logs its security event on standard output).
    println!("Passport local API listening on {base}");
    let seeded = seed::seed(&service, &args).await?;
    banner::print(&service, &base, keys, &seeded, &mail_goes);
    let web = web_app::WebApp::new(args.web_dir.as_deref().unwrap_or(web_app::DEFAULT_DIR));
    server::serve(listener, service, Arc::new(web), Arc::new(cors))
        .await
        .map_err(|e| e.to_string())
}
