//! The relying party's side of OpenID Connect, through `openidconnect`: discovery (cached), the
//! authorization request (code flow, PKCE S256, `state`, `nonce`), and the code's exchange with
//! the ID token's checks (signature by the provider's published keys, `iss`, `aud`, `exp`,
//! `nonce`, an allow-list of algorithms). OpenID Connect Core 1.0, §3.1
//! (<https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth>); RFC 7636 (PKCE).
//!
//! Requests to the provider go through hyper on rustls with `ring` and the system's roots (the
//! client the AWS SDK already links), follow no redirect (as `openidconnect` advises, against
//! SSRF), and are bounded in time and size.

use super::providers::Provider;
use crate::kernel::error::ApiError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Longest a request to a provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read from a provider (a discovery document, its keys, a token response).
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// How long a provider's discovery document and keys are reused before they are read again
/// (a provider rotates its keys with overlap: Google publishes a new key days before use).
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// The signature algorithms an ID token may use: asymmetric ones only (no `none`, and no HS256,
/// whose key would be the client secret).
pub const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 4] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// An error talking to a provider.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

static CLIENT: LazyLock<Result<Client<Https, Full<Bytes>>, String>> = LazyLock::new(|| {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(Arc::new(rustls::crypto::ring::default_provider()))
        .map_err(|e| format!("system roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    // No idle connection is kept: a pooled connection's task lives on the runtime that opened
    // it, and fails requests once that runtime is gone (tests: one runtime each; `local-api`'s
    // are long-lived, but a provider's server also closes idle ones after its own keep-alive
    // timeout, racing the next request). A sign-in makes one or two requests, far apart.
    Ok(Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(https))
});

/// One request to a provider, as `openidconnect` hands it.
async fn send(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let client = CLIENT.as_ref().map_err(|e| HttpError(e.clone()))?;
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        let response = client
            .request(request)
            .await
            .map_err(|e| HttpError(format!("request: {e}")))?;
        let (parts, body) = response.into_parts();
        let bytes = Limited::new(body, MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| HttpError(format!("answer: {e}")))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, bytes.to_vec()))
    })
    .await
    .map_err(|_| HttpError("timed out".into()))?
}

/// A provider's discovery document (and keys), read at most once per [`DISCOVERY_TTL`].
#[derive(Default)]
pub struct Discovered(Mutex<Option<(Instant, CoreProviderMetadata)>>);

impl Discovered {
    async fn metadata(&self, provider: &Provider) -> Result<CoreProviderMetadata, ApiError> {
        if let Some((at, m)) = self.0.lock().map_err(poisoned)?.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(provider.issuer.clone())
            .map_err(|e| ApiError::Internal(format!("issuer of {}: {e}", provider.name)))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &send)
            .await
            .map_err(|e| unreachable_provider(provider, &e))?;
        *self.0.lock().map_err(poisoned)? = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }
}

fn poisoned<T>(_: T) -> ApiError {
    ApiError::Internal("discovery cache poisoned".into())
}

fn unreachable_provider(provider: &Provider, e: &dyn std::error::Error) -> ApiError {
    let text = chain(e);
    tracing::warn!(provider = %provider.name, error = %text, "identity provider unavailable");
    ApiError::ProviderUnavailable
}

/// What the authorization request needs kept until the callback.
pub struct Authorization {
    /// Where to send the browser.
    pub url: String,
    /// The PKCE verifier, for the exchange.
    pub pkce_verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
}

/// Who the provider says signed in, from a checked ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss`.
    pub issuer: String,
    /// `sub`: with `iss`, the identity (never the email).
    pub subject: String,
    /// `email`, if given.
    pub email: Option<String>,
    /// `email_verified`: whether the provider vouches for the address.
    pub email_verified: bool,
}

fn client(
    provider: &Provider,
    metadata: CoreProviderMetadata,
    redirect: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    ApiError,
> {
    let redirect = RedirectUrl::new(redirect.to_string())
        .map_err(|e| ApiError::Internal(format!("redirect URI: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// The authorization request for `provider`, carrying `state`.
pub async fn authorize(
    discovered: &Discovered,
    provider: &Provider,
    redirect: &str,
    state: String,
) -> Result<Authorization, ApiError> {
    let metadata = discovered.metadata(provider).await?;
    let client = client(provider, metadata, redirect)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = Nonce::new_random();
    let kept = nonce.clone();
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || nonce,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.to_string(),
        pkce_verifier: verifier.secret().clone(),
        nonce: kept.secret().clone(),
    })
}

/// Why an exchange gave no identity.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The provider refused the code (spent, expired, or another client's), or is unreachable.
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    /// The token response had no ID token.
    #[error("no ID token")]
    NoIdToken,
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce, algorithm).
    #[error("the ID token was refused: {0}")]
    IdToken(String),
}

/// Exchanges `code` (with the PKCE verifier) and checks the ID token against `nonce`, at the
/// time `now` (Unix seconds, the service's clock).
pub async fn exchange(
    discovered: &Discovered,
    provider: &Provider,
    redirect: &str,
    code: String,
    pkce_verifier: String,
    nonce: &str,
    now: i64,
) -> Result<Result<Claims, Refused>, ApiError> {
    let metadata = discovered.metadata(provider).await?;
    let client = client(provider, metadata, redirect)?;
    let request = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| ApiError::Internal(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier));
    let response = match request.request_async(&send).await {
        Ok(r) => r,
        Err(e) => return Ok(Err(Refused::Exchange(chain(&e)))),
    };
    let Some(id_token) = response.id_token() else {
        return Ok(Err(Refused::NoIdToken));
    };
    let time = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGS)
        .set_time_fn(move || time);
    let claims = match id_token.claims(&verifier, &Nonce::new(nonce.to_string())) {
        Ok(c) => c,
        Err(e) => return Ok(Err(Refused::IdToken(chain(&e)))),
    };
    Ok(Ok(Claims {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
    }))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
