//! Sign in with an identity provider (OpenID Connect): the code flow with PKCE through
//! `openidconnect`, identities connected to accounts by the provider's `(iss, sub)` and never by
//! email alone, the one-time code a page trades for its session, and connecting and
//! disconnecting providers from a signed-in session.

pub mod client;
pub mod http;
mod memory;
pub mod providers;
pub mod redis;
pub mod service;
pub mod store;

pub use http::Route;
pub use providers::Provider;
pub use store::FederationStore;

use client::Discovered;
use std::collections::HashMap;
use std::sync::Arc;

/// The configured providers, a service extension, with each one's discovery cache.
#[derive(Default)]
pub struct Providers {
    /// The providers, in `OIDC_PROVIDERS`' order.
    pub list: Vec<Provider>,
    discovered: HashMap<String, Arc<Discovered>>,
}

impl Providers {
    /// The providers `list`, none discovered yet.
    pub fn new(list: Vec<Provider>) -> Self {
        let discovered = list
            .iter()
            .map(|p| (p.name.clone(), Arc::new(Discovered::default())))
            .collect();
        Self { list, discovered }
    }

    /// `name`'s discovery cache.
    fn discovered(&self, name: &str) -> Arc<Discovered> {
        self.discovered.get(name).cloned().unwrap_or_default()
    }
}
