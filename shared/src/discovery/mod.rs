//! The public, cacheable documents that let anyone verify Passport's tokens without its secret:
//! the JWK Set of `GET /.well-known/jwks.json` (RFC 7517 §5) and the discovery document of
//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3, of which only
//! `issuer` and `jwks_uri` apply: Passport is no OpenID provider). API Gateway's JWT authorizer
//! reads `{issuer}/.well-known/openid-configuration`, then `jwks_uri`
//! (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).

use crate::kernel::error::ApiError;
use crate::kernel::http::{Call, json_response};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use http::header::{CACHE_CONTROL, HeaderValue};
use http::{Response, StatusCode};
use serde_json::json;

/// The discovery feature's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The public keys tokens are verified with (JWK Set, RFC 7517).
    Jwks,
    /// The discovery document: `issuer` and `jwks_uri` (what API Gateway's JWT authorizer and
    /// JWT libraries look up).
    OpenIdConfiguration,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    _call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore,
{
    match route {
        Route::Jwks => jwks(service).await,
        Route::OpenIdConfiguration => openid_configuration(service),
    }
}

/// The path of the JWK Set.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The path of the discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// `GET /.well-known/jwks.json`: the access-token keys in force (current and previous
/// versions), cacheable for `SIGNING_KEY_CACHE_SECONDS` — the time a new or dropped key takes
/// to reach the functions too. Empty under HS256, whose key is secret.
pub async fn jwks<S: ?Sized + KernelStore>(
    service: &Core<S>,
) -> Result<Response<String>, ApiError> {
    let set = service.public_key_set().await?;
    let body = serde_json::to_value(&set).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(cacheable(service, json_response(StatusCode::OK, &body)))
}

/// `GET /.well-known/openid-configuration`: `issuer` (`TOKEN_ISSUER`) and `jwks_uri`. An issuer
/// that is an `https://` (or `http://`) URL is where the JWK Set lives, as OpenID Connect
/// Discovery requires; any other issuer takes `PUBLIC_BASE_URL`. Never the request's `Host` or
/// `X-Forwarded-*`: the document is publicly cacheable, and a shared cache that keys without
/// `Host` would hand every verifier the key URL one request named. Neither configured: 404
/// `not_configured`.
pub fn openid_configuration<S: ?Sized>(service: &Core<S>) -> Result<Response<String>, ApiError> {
    let config = service.config();
    let issuer = &config.token_issuer;
    let base = if issuer.starts_with("https://") || issuer.starts_with("http://") {
        issuer.trim_end_matches('/')
    } else {
        config
            .public_base_url
            .as_deref()
            .ok_or(ApiError::NotConfigured(
                "PUBLIC_BASE_URL (or a TOKEN_ISSUER that is a URL) says where the JWK Set is",
            ))?
    };
    let body = json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "id_token_signing_alg_values_supported": [config.signing_algorithm.name()],
    });
    Ok(cacheable(service, json_response(StatusCode::OK, &body)))
}

fn cacheable<S: ?Sized>(service: &Core<S>, mut resp: Response<String>) -> Response<String> {
    let seconds = service.config().signing_key_cache.as_secs();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={seconds}")) {
        resp.headers_mut().insert(CACHE_CONTROL, v);
    }
    resp
}
