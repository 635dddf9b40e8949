//! The top: the features assembled into one service over one store, the route table and each
//! Lambda function's dispatch to the features it serves, start-up, and what the deployment
//! derives from them (the cache users, the CORS policy).

pub mod acl;
pub mod cors;
pub mod functions;
pub mod gateway;
pub mod routes;
pub mod routing;
pub mod startup;

use crate::activity::ActivityStore;
use crate::dbsc::DbscStore;
use crate::email::EmailStore;
use crate::federation::{FederationStore, Providers};
use crate::kernel::caller::Verdict;
use crate::kernel::config::{Config, ConfigError};
use crate::kernel::error::ApiError;
use crate::kernel::http::error_response;
use crate::kernel::keys::{KeyProvider, KeyRing};
use crate::kernel::service::Core;
use crate::kernel::service::public_keys::PublishedKeys;
use crate::kernel::store::KernelStore;
use crate::kernel::store::lua::LuaScript;
use crate::mfa::MfaStore;
use crate::passkeys::PasskeyStore;
use crate::passkeys::webauthn::RelyingParty;
use crate::passports::PassportStore;
use crate::sessions::SessionStore;
use http::header::HeaderValue;
use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

pub use functions::{Function, Login, Logout, Passports, Refresh, Sessions, Signup};
pub use routes::{
    AUTHORIZERS, AuthorizerSpec, Guard, Handler, KeyUse, NoRoute, ROUTES, Route, RouteSpec,
    key_use_of, route,
};
pub use startup::InitError;

/// The whole store: the kernel's slices and every feature's, as the Redis and in-memory stores
/// both implement them.
pub trait Store:
    KernelStore
    + SessionStore
    + PasskeyStore
    + DbscStore
    + PassportStore
    + EmailStore
    + MfaStore
    + ActivityStore
    + FederationStore
{
}

impl<T> Store for T where
    T: ?Sized
        + KernelStore
        + SessionStore
        + PasskeyStore
        + DbscStore
        + PassportStore
        + EmailStore
        + MfaStore
        + ActivityStore
        + FederationStore
{
}

/// The service: every use case of Passport (the product) is a method, the kernel's and each
/// feature's, on the whole store. Not to be confused with a web-app passport, the token
/// (`kernel::tokens::app_passport`).
pub type Service = Core<dyn Store>;

impl Core<dyn Store> {
    /// Assembles the service from its parts, with a fixed key ring.
    pub fn new(config: Config, keys: KeyRing, store: Arc<dyn Store>) -> Self {
        Self::with_keys(config, KeyProvider::fixed(keys), store)
    }

    /// Assembles the service from its parts. A feature's setting that cannot work leaves the
    /// feature off here; [`Service::checked`] (start-up) refuses it instead.
    pub fn with_keys(config: Config, keys: KeyProvider, store: Arc<dyn Store>) -> Self {
        let relying_party = RelyingParty::from_config(&config).unwrap_or(RelyingParty(None));
        let providers = configured_providers(&config).unwrap_or_default();
        Core::assemble(config, keys, store)
            .with_extension(relying_party)
            .with_extension(providers)
    }

    /// [`Service::with_keys`], refusing a feature's setting that cannot work (naming the
    /// variable), as a function's start does.
    pub fn checked(
        config: Config,
        keys: KeyProvider,
        store: Arc<dyn Store>,
    ) -> Result<Self, ConfigError> {
        let relying_party = RelyingParty::from_config(&config)?;
        let providers = configured_providers(&config)?;
        Ok(Core::assemble(config, keys, store)
            .with_extension(relying_party)
            .with_extension(providers))
    }

    /// The same service with the identity providers `OIDC_PROVIDERS` names, their client
    /// secrets read from `secrets` (the JSON of `OIDC_CLIENT_SECRETS_ARN`'s value).
    pub fn with_provider_secrets(self, secrets: &str) -> Result<Self, ConfigError> {
        let list = crate::federation::providers::parse(self.config(), Some(secrets))?;
        Ok(self.with_extension(Providers::new(list)))
    }

    /// The service of a function that only verifies, on `store`, with the public keys the
    /// signers published there (read now) and a ring of one random key that signs nothing
    /// anyone accepts.
    pub async fn with_published_keys(config: Config, store: Arc<dyn Store>) -> Self {
        let ttl = config.signing_key_cache;
        let published = PublishedKeys::load(store.clone(), ttl).await;
        Self::new(config, KeyRing::random(), store).verifying_with(published)
    }
}

/// The identity providers with their literal secrets (`OIDC_CLIENT_SECRETS`); none yet when
/// the secrets are in Secrets Manager (start-up reads them: [`Service::with_provider_secrets`]).
fn configured_providers(config: &Config) -> Result<Providers, ConfigError> {
    if config.oidc_client_secrets_arn.is_some() && config.oidc_client_secrets.is_none() {
        return Ok(Providers::default());
    }
    let literal = config
        .oidc_client_secrets
        .as_ref()
        .map(|s| String::from_utf8_lossy(s.expose()).into_owned());
    Ok(Providers::new(crate::federation::providers::parse(
        config,
        literal.as_deref(),
    )?))
}

/// Every Lua script the store runs, the kernel's and each feature's.
pub fn scripts() -> Vec<&'static LuaScript> {
    static ALL: LazyLock<Vec<&'static LuaScript>> = LazyLock::new(|| {
        [
            crate::kernel::store::scripts::SCRIPTS,
            crate::sessions::redis::SCRIPTS,
            crate::passkeys::redis::SCRIPTS,
            crate::dbsc::redis::SCRIPTS,
            crate::passports::redis::SCRIPTS,
            crate::email::redis::SCRIPTS,
            crate::mfa::redis::SCRIPTS,
            crate::federation::redis::SCRIPTS,
        ]
        .into_iter()
        .flatten()
        .map(|s| &***s)
        .collect()
    });
    ALL.clone()
}

/// The answer to a request that matched no route.
pub fn no_route(no: NoRoute) -> Response<String> {
    match no {
        NoRoute::NotFound => error_response(&ApiError::NotFound),
        NoRoute::MethodNotAllowed(allow) => {
            let value = HeaderValue::from_str(&allow).ok();
            let mut r = error_response(&ApiError::MethodNotAllowed { allow });
            if let Some(v) = value {
                r.headers_mut().insert(http::header::ALLOW, v);
            }
            r
        }
    }
}

/// Runs the handler of `route`, whichever function the table gives it to (`local-api` and the
/// tests; a Lambda function runs only its own [`functions::serve`]). `verdict` is the
/// authorizer's, for routes behind one: it is checked against the route's guard once, and each
/// handler gets the caller its guard establishes (an account route never a visitor, and the
/// reverse).
///
/// Boxed: the future of a dispatch that can reach every handler is deep, and whoever awaits it
/// (a test, the bench harness) would otherwise carry all of it in its own future's type, past
/// the compiler's query depth limit.
pub fn handle<'a, B: AsRef<[u8]> + Sync>(
    service: &'a Service,
    route: Route,
    req: &'a Request<B>,
    source_ip: Option<String>,
    verdict: Verdict,
) -> Pin<Box<dyn Future<Output = Response<String>> + Send + 'a>> {
    Box::pin(async move {
        let answer = match route.spec.function {
            Login::NAME => {
                functions::serve::<Login, B>(service, route, req, source_ip, verdict).await
            }
            Refresh::NAME => {
                functions::serve::<Refresh, B>(service, route, req, source_ip, verdict).await
            }
            Logout::NAME => {
                functions::serve::<Logout, B>(service, route, req, source_ip, verdict).await
            }
            Passports::NAME => {
                functions::serve::<Passports, B>(service, route, req, source_ip, verdict).await
            }
            Sessions::NAME => {
                functions::serve::<Sessions, B>(service, route, req, source_ip, verdict).await
            }
            Signup::NAME => {
                functions::serve::<Signup, B>(service, route, req, source_ip, verdict).await
            }
            _ => None,
        };
        // `None`: the table gives the route to a function whose dispatch does not serve it,
        // which `functions`' tests rule out.
        answer.unwrap_or_else(|| no_route(NoRoute::NotFound))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.lua` file under `src/` (but the prelude every script shares) is one script of
    /// [`scripts`], and the reverse: the list cannot drift from the files.
    #[test]
    fn every_lua_file_is_one_script_the_store_runs() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "lua") {
                    let name = p.file_stem().map(|s| s.to_string_lossy().to_string());
                    files.extend(name.filter(|n| n != "common"));
                }
            }
        }
        files.sort();
        let mut listed: Vec<String> = scripts().iter().map(|s| s.name.to_string()).collect();
        listed.sort();
        assert_eq!(listed, files);
    }
}
