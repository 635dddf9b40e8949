//! Lambda glue for the HTTP functions (`login`, `refresh`, `logout`, `sessions`, `passports`):
//! start-up, and the translation of an API Gateway HTTP API request into what `passport::http`
//! takes.
//! The one library under `functions/`; it has no binary and no SAM function of its own.
//! `authorizer` holds the Lambda authorizer's event handling.

pub mod accounts;
pub mod authorizer;
pub mod logging;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt, Response};
use passport::api::{Function, KeyUse, NoRoute, Route, key_use_of, no_route, route};
use passport::kernel::caller::Verdict;
use passport::{Config, Service};
use std::sync::Arc;

/// Whether `function` signs or verifies tokens, and so may need the signing secret: the
/// authorizers, and the functions whose routes check or issue tokens themselves
/// (`passport::api::key_use_of`). With HS256 each of them reads it; with ES256 only those that
/// sign do, and `template.yaml` gives the verifiers no access to it (checked by
/// `tests/deployment.rs`). The others trust the authorizer's verdict or have no route.
pub fn needs_signing_key(function: &str) -> bool {
    key_use_of(function) != KeyUse::None
}

/// The first thing every function's process does: its log subscriber, then `ring` for ES256
/// before anything touches jsonwebtoken (`passport::kernel::keys::crypto`), and a line that
/// says which backend the process got (`es256_backend=ring`; the emulator tests read it).
pub fn start() {
    logging::init();
    let backend = passport::kernel::keys::crypto::install();
    tracing::info!(es256_backend = %backend.name(), "process start");
}

/// Cold-start initialisation of `function`: [`start`], configuration, the store connection, and
/// the keys its routes use (`passport::api::key_use_of`). A failure here is a fault Lambda
/// must see (the function fails its init). A signer publishes its public keys here (ES256), so
/// verifiers know them before its first token; a failure to publish is retried before it signs.
pub async fn init(function: &str) -> Result<Arc<Service>, lambda_http::Error> {
    start();
    let config = Config::from_env()?;
    let service = match key_use_of(function) {
        KeyUse::Sign => {
            let service = Service::from_config(config).await?;
            if let Err(e) = service.publish_keys().await {
                tracing::warn!(error = %e, "public keys not published at start");
            }
            service
        }
        KeyUse::Verify => Service::from_config_verifying(config).await?,
        KeyUse::None => Service::from_config_without_keys(config).await?,
    };
    Ok(Arc::new(service))
}

/// Whether two names are the same, at compile time: each function's `main` checks that the
/// dispatch it runs is the one named for its package.
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Runs the Lambda function `F`: it serves the routes that the route table
/// (`passport::api::ROUTES`) gives it, and links no other route's handler.
pub async fn run<F: Function>() -> Result<(), lambda_http::Error> {
    let service = init(F::NAME).await?;
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let service = Arc::clone(&service);
        async move { Ok::<_, std::convert::Infallible>(serve::<F>(&service, req).await) }
    }))
    .await
}

/// Answers one API Gateway request as the function `F`; a route the table gives another
/// function is a 404.
pub async fn serve<F: Function>(service: &Service, req: Request) -> Response<String> {
    match found(&req) {
        Ok((route, ip, verdict)) => {
            passport::api::functions::serve::<F, _>(service, route, &req, ip, verdict)
                .await
                .unwrap_or_else(|| no_route(NoRoute::NotFound))
        }
        Err(no) => no_route(no),
    }
}

/// The route a request asks for, with the client's address and the authorizer's verdict.
fn found(req: &Request) -> Result<(Route, Option<String>, Verdict), NoRoute> {
    let ctx = req.request_context_ref();
    let route = route(req.method(), api_path(ctx, req.uri().path()))?;
    Ok((route, source_ip(ctx), verdict(ctx)))
}

/// The request path without the stage prefix lambda_http puts on non-default stages.
fn api_path<'a>(ctx: Option<&RequestContext>, path: &'a str) -> &'a str {
    let stage = match ctx {
        Some(RequestContext::ApiGatewayV2(c)) => c.stage.as_deref(),
        _ => None,
    };
    match stage {
        Some(s) if s != "$default" => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(s))
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(path),
        _ => path,
    }
}

/// The client's address as API Gateway saw it.
fn source_ip(ctx: Option<&RequestContext>) -> Option<String> {
    match ctx {
        Some(RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
        _ => None,
    }
}

/// The caller the authorizer in front put in the request context (`passport::kernel::caller`);
/// `Verdict::None` for an open route, or a context that names no caller (which a guarded route
/// refuses).
fn verdict(ctx: Option<&RequestContext>) -> Verdict {
    match ctx {
        Some(RequestContext::ApiGatewayV2(c)) => c
            .authorizer
            .as_ref()
            .map_or(Verdict::None, |a| Verdict::from_context(&a.fields)),
        _ => Verdict::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Request {
        lambda_http::request::from_str(json).unwrap()
    }

    const EVENT: &str = r#"{
      "version": "2.0", "routeKey": "GET /me", "rawPath": "/prod/me", "rawQueryString": "",
      "headers": {"user-agent": "curl/8"},
      "requestContext": {
        "accountId": "123456789012", "apiId": "api", "domainName": "x", "domainPrefix": "x",
        "http": {"method": "GET", "path": "/prod/me", "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.7", "userAgent": "curl/8"},
        "requestId": "r", "routeKey": "GET /me", "stage": "prod", "time": "t", "timeEpoch": 0,
        "authorizer": {"lambda": {"user_id": "AAAAAAAAAAAAAAAAAAAAAA", "session_id": "AQEBAQEBAQEBAQEBAQEBAQ"}}
      },
      "isBase64Encoded": false
    }"#;

    #[test]
    fn reads_stage_path_source_ip_and_authorizer_context() {
        let req = request(EVENT);
        let ctx = req.request_context_ref();
        assert_eq!(api_path(ctx, req.uri().path()), "/me");
        assert_eq!(source_ip(ctx).as_deref(), Some("203.0.113.7"));
        let Verdict::Account(caller) = verdict(ctx) else {
            panic!("no caller")
        };
        assert_eq!(caller.account.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(caller.session.to_string(), "AQEBAQEBAQEBAQEBAQEBAQ");
    }

    #[test]
    fn missing_or_malformed_authorizer_context_is_no_caller() {
        let no_ctx = EVENT.replace(r#""user_id": "AAAAAAAAAAAAAAAAAAAAAA", "#, "");
        assert_eq!(
            verdict(request(&no_ctx).request_context_ref()),
            Verdict::None
        );
        let bad = EVENT.replace("AAAAAAAAAAAAAAAAAAAAAA", "not-an-id");
        assert_eq!(verdict(request(&bad).request_context_ref()), Verdict::None);
    }

    #[test]
    fn only_the_authorizer_and_open_routes_need_the_signing_key() {
        let authorizers = passport::api::AUTHORIZERS.iter().map(|a| a.function);
        for f in authorizers.chain(["login", "refresh", "logout", "passports"]) {
            assert!(needs_signing_key(f), "{f}");
        }
        for f in ["sessions", "accounts"] {
            assert!(!needs_signing_key(f), "{f}");
        }
    }

    #[tokio::test]
    async fn a_function_without_the_key_starts_without_any_key_setting() {
        let none = passport::Config::default();
        assert!(Service::from_config(none.clone()).await.is_err());
        assert!(Service::from_config_without_keys(none).await.is_ok());
    }

    #[test]
    fn default_stage_paths_are_kept() {
        assert_eq!(api_path(None, "/login"), "/login");
    }
}
