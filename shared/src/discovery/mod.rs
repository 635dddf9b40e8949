//! The public, cacheable documents that let anyone verify Passport's tokens without its secret:
//! the JWK Set of `GET /.well-known/jwks.json` (RFC 7517 §5) and the discovery document of
//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3, of which only
//! `issuer` and `jwks_uri` apply: Passport is no OpenID provider). API Gateway's JWT authorizer
//! reads `{issuer}/.well-known/openid-configuration`, then `jwks_uri`
//! (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).

use crate::kernel::error::ApiError;
use crate::kernel::http::{Call, header_str, json_response};
use crate::kernel::service::Core;
use crate::kernel::store::KernelStore;
use http::header::{CACHE_CONTROL, HeaderValue};
use http::{Request, Response, StatusCode};
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
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + KernelStore,
{
    match route {
        Route::Jwks => jwks(service).await,
        Route::OpenIdConfiguration => Ok(openid_configuration(service, call.req)),
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
/// Discovery requires; any other issuer gets the URL this request came to.
pub fn openid_configuration<B, S: ?Sized>(service: &Core<S>, req: &Request<B>) -> Response<String> {
    let issuer = &service.config().token_issuer;
    let jwks_uri = if issuer.starts_with("https://") || issuer.starts_with("http://") {
        format!("{}{JWKS_PATH}", issuer.trim_end_matches('/'))
    } else {
        let h = req.headers();
        let scheme = header_str(h, "x-forwarded-proto").unwrap_or("https");
        let host = header_str(h, "host").unwrap_or("localhost");
        let path = req.uri().path();
        let base = path.strip_suffix(DISCOVERY_PATH).unwrap_or("");
        format!("{scheme}://{host}{base}{JWKS_PATH}")
    };
    let body = json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "id_token_signing_alg_values_supported": [service.config().signing_algorithm.name()],
    });
    cacheable(service, json_response(StatusCode::OK, &body))
}

fn cacheable<S: ?Sized>(service: &Core<S>, mut resp: Response<String>) -> Response<String> {
    let seconds = service.config().signing_key_cache.as_secs();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={seconds}")) {
        resp.headers_mut().insert(CACHE_CONTROL, v);
    }
    resp
}
