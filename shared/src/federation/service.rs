//! The federated sign-in's use cases: starting at a provider, its callback, trading the one-time
//! code for a session, and connecting, listing and disconnecting identities.
//!
//! The flow (OpenID Connect Core §3.1, RFC 7636, RFC 9207):
//! 1. `start` keeps the flow's state under a random id (the OAuth `state`), single use, for
//!    [`FLOW_SECONDS`]: the provider, the PKCE verifier, the nonce, where to return, and the
//!    digest of a random value it sets in a `__Host-` cookie — the callback must come from the
//!    browser that started (no login CSRF: an attacker's finished flow cannot be fed to a victim).
//! 2. `callback` takes the state (once), checks the cookie and the provider (and `iss` when the
//!    provider sends it: no mix-up), exchanges the code and checks the ID token
//!    ([`client::exchange`]). The identity is its `(iss, sub)`, never its email: a connected one
//!    signs its account in; an unknown one with a verified email creates an account when sign-up
//!    is open, and **never** joins an existing account of that address (its owner signs in and
//!    connects the provider from the page: a provider asserting an address does not prove who
//!    holds the account). The browser goes back to `return_to` (an allow-list) with a one-time
//!    code in the fragment (never sent to a server, never in a `Referer`).
//! 3. `trade` turns that code, once and within [`CODE_SECONDS`], into a session, answered as
//!    any sign-in is (either transport; the second step when the account has a second factor).

use super::Providers;
use super::client::{self, Claims, Refused};
use super::providers::Provider;
use super::store::{FederationStore, Identity, Linked, Unlinked};
use crate::kernel::accounts::normalize_email;
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::authentication::Authentication;
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::security_events::SecurityEvent;
use crate::kernel::service::{ClientInfo, Core, SignIn, TokenPair};
use crate::kernel::store::{Account, AccountStatus, KernelStore};
use crate::kernel::tokens::digest::sha256_hex;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

/// How long a started flow waits for its callback (a person signing in at the provider).
pub const FLOW_SECONDS: i64 = 600;
/// How long the one-time code of a finished flow lives: the page trades it at once.
pub const CODE_SECONDS: i64 = 30;
/// How long a link ticket lives: the page navigates to `start` with it at once.
pub const TICKET_SECONDS: i64 = 120;
/// The flow cookie's name before the deployment's suffix.
pub const FLOW_COOKIE: &str = "passport_oauth";

/// A flow between `start` and its callback.
#[derive(Serialize, Deserialize)]
struct Flow {
    provider: String,
    pkce_verifier: String,
    nonce: String,
    return_to: String,
    /// SHA-256 of the flow cookie's value, hex.
    browser: String,
    /// The account this flow connects the identity to (a link ticket's), instead of signing in.
    link: Option<Id>,
}

/// A link ticket: a signed-in account's leave to connect `provider`.
#[derive(Serialize, Deserialize)]
struct Ticket {
    account: Id,
    provider: String,
}

/// A finished flow's sign-in, waiting for its one-time code.
#[derive(Serialize, Deserialize)]
struct Finished {
    account: Id,
    provider: String,
    password_version: u64,
    time: i64,
}

/// What `start` answers: where to send the browser, and the flow cookie's value.
pub struct Started {
    /// The provider's authorization URL.
    pub location: String,
    /// The flow cookie's value (random; the state keeps its digest).
    pub cookie: String,
}

/// What the callback got from the provider.
pub struct CallbackQuery {
    /// `state`.
    pub state: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `error`, when the provider refused or the person cancelled.
    pub error: Option<String>,
    /// `iss` (RFC 9207), when the provider sends it.
    pub iss: Option<String>,
}

/// Where the callback sends the browser: `return_to` with a fragment.
pub struct Return {
    /// The URL, fragment included.
    pub location: String,
}

fn random_value() -> String {
    URL_SAFE_NO_PAD.encode(crate::kernel::ids::random_bytes::<32>())
}

/// `return_to` with the fragment `name=value`.
fn with_fragment(return_to: &str, name: &str, value: &str) -> String {
    format!("{return_to}#{name}={value}")
}

impl<S: ?Sized + KernelStore + FederationStore> Core<S> {
    fn providers(&self) -> Result<&Providers, ApiError> {
        self.extension::<Providers>()
            .filter(|p| !p.list.is_empty())
            .ok_or(ApiError::NotConfigured("OIDC_PROVIDERS"))
    }

    fn provider(&self, name: &str) -> Result<(&Providers, &Provider), ApiError> {
        let providers = self.providers()?;
        let p = providers
            .list
            .iter()
            .find(|p| p.name == name)
            .ok_or(ApiError::UnknownProvider)?;
        Ok((providers, p))
    }

    /// The redirect URI registered at the provider for `provider`.
    fn callback_url(&self, provider: &Provider) -> Result<String, ApiError> {
        let base = self
            .config()
            .public_base_url
            .as_ref()
            .ok_or(ApiError::NotConfigured(
                "PUBLIC_BASE_URL: a provider sends the browser back to it",
            ))?;
        Ok(format!("{base}/oauth/{}/callback", provider.name))
    }

    /// Whether `url` is a page a flow may return to: the mailed links' page, or one of
    /// `OIDC_RETURN_TO` (exact, ignoring a trailing `/`).
    fn return_to_allowed(&self, url: &str) -> bool {
        let url = url.trim_end_matches('/');
        if url.is_empty() || url.contains(['#', '?']) {
            return false;
        }
        let page = self.mail_page().ok();
        page.iter()
            .chain(self.config().oidc_return_to.iter())
            .any(|allowed| allowed.trim_end_matches('/') == url)
    }

    /// `GET /oauth/providers`: the providers' names and labels, for the page's buttons.
    pub fn oauth_providers(&self) -> Value {
        let list: Vec<Value> = self
            .extension::<Providers>()
            .map(|p| p.list.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|p| json!({"name": p.name, "label": p.label}))
            .collect();
        json!({ "providers": list })
    }

    /// `GET /oauth/{provider}/start`: the flow's state kept (counted toward `client`'s
    /// ceremonies), and where the browser goes.
    pub async fn oauth_start(
        &self,
        provider: &str,
        return_to: Option<&str>,
        link: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Started, ApiError> {
        let (providers, p) = self.provider(provider)?;
        let return_to = match return_to {
            Some(r) if self.return_to_allowed(r) => r.to_string(),
            Some(_) => return Err(ApiError::InvalidReturnTo),
            None => self.mail_page()?,
        };
        let link = match link {
            None => None,
            Some(t) => {
                let id = t.parse::<Id>().map_err(|_| ApiError::InvalidOAuthState)?;
                match self.take_state::<Ticket>(id).await? {
                    Some(t) if t.provider == p.name => Some(t.account),
                    _ => return Err(ApiError::InvalidOAuthState),
                }
            }
        };
        let redirect = self.callback_url(p)?;
        self.limit_ceremonies(client).await?;
        let cookie = random_value();
        // The state's id is the OAuth `state`; the verifier and nonce are made first.
        let state = Id::random();
        let auth = client::authorize(
            &providers.discovered(&p.name),
            p,
            &redirect,
            state.to_string(),
        )
        .await?;
        let flow = Flow {
            provider: p.name.clone(),
            pkce_verifier: auth.pkce_verifier,
            nonce: auth.nonce,
            return_to,
            browser: sha256_hex(cookie.as_bytes()),
            link,
        };
        let text = serde_json::to_string(&flow).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.store()
            .put_state(state, &text, FLOW_SECONDS, self.clock().now())
            .await?;
        Ok(Started {
            location: auth.url,
            cookie,
        })
    }

    /// `GET /oauth/{provider}/callback`: the flow finished at the provider. Without a live
    /// state from this browser the answer is [`ApiError::InvalidOAuthState`] (there is nowhere
    /// safe to send it); with one, the browser goes back to its page with `#oauth=<code>` (a
    /// sign-in), `#oauth_linked=<provider>`, or `#oauth_error=<code>`.
    pub async fn oauth_callback(
        &self,
        provider: &str,
        query: CallbackQuery,
        cookie: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Return, ApiError> {
        let (providers, p) = self.provider(provider)?;
        let state = query
            .state
            .as_deref()
            .and_then(|s| s.parse::<Id>().ok())
            .ok_or(ApiError::InvalidOAuthState)?;
        let flow = self
            .take_state::<Flow>(state)
            .await?
            .ok_or(ApiError::InvalidOAuthState)?;
        let same_browser = cookie.is_some_and(|c| {
            bool::from(
                sha256_hex(c.as_bytes())
                    .as_bytes()
                    .ct_eq(flow.browser.as_bytes()),
            )
        });
        if !same_browser || flow.provider != p.name {
            self.security_event(
                SecurityEvent::FederatedSignInRefused,
                None,
                None,
                &[
                    ("provider", json!(p.name)),
                    ("reason", json!("state_cookie")),
                ],
            );
            return Err(ApiError::InvalidOAuthState);
        }
        let back = |name: &str, value: &str| Return {
            location: with_fragment(&flow.return_to, name, value),
        };
        let refused = |reason: &str| {
            self.security_event(
                SecurityEvent::FederatedSignInRefused,
                None,
                None,
                &[("provider", json!(p.name)), ("reason", json!(reason))],
            );
            back("oauth_error", reason)
        };
        if query.error.is_some() {
            return Ok(back("oauth_error", "access_denied"));
        }
        if query
            .iss
            .as_deref()
            .is_some_and(|iss| iss.trim_end_matches('/') != p.issuer)
        {
            return Ok(refused("wrong_issuer"));
        }
        let Some(code) = query.code else {
            return Ok(refused("no_code"));
        };
        let now = self.clock().now();
        let redirect = self.callback_url(p)?;
        let claims = match client::exchange(
            &providers.discovered(&p.name),
            p,
            &redirect,
            code,
            flow.pkce_verifier,
            &flow.nonce,
            now,
        )
        .await?
        {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(provider = %p.name, error = %e, "federated sign-in refused");
                let reason = match e {
                    Refused::Exchange(_) => "code_refused",
                    Refused::NoIdToken | Refused::IdToken(_) => "id_token_refused",
                };
                return Ok(refused(reason));
            }
        };
        match flow.link {
            Some(account) => self.finish_link(p, account, claims, now, back).await,
            None => self.finish_sign_in(p, claims, now, client, back).await,
        }
    }

    async fn finish_link(
        &self,
        p: &Provider,
        account: Id,
        claims: Claims,
        now: i64,
        back: impl Fn(&str, &str) -> Return,
    ) -> Result<Return, ApiError> {
        let identity = identity(p, &claims, now);
        let entry = Entry::new(Activity::IdentityLinked, now).with_detail(&p.label);
        Ok(
            match self
                .store()
                .link_identity(account, &identity, &entry)
                .await?
            {
                Linked::Linked => {
                    self.security_event(
                        SecurityEvent::IdentityLinked,
                        Some(account),
                        None,
                        &[("provider", json!(p.name))],
                    );
                    back("oauth_linked", &p.name)
                }
                Linked::InUse => back("oauth_error", "identity_in_use"),
                Linked::ProviderTaken => back("oauth_error", "provider_already_linked"),
                Linked::NoAccount => back("oauth_error", "account_missing"),
            },
        )
    }

    async fn finish_sign_in(
        &self,
        p: &Provider,
        claims: Claims,
        now: i64,
        client: &ClientInfo,
        back: impl Fn(&str, &str) -> Return,
    ) -> Result<Return, ApiError> {
        let owner = self
            .store()
            .identity_owner(&claims.issuer, &claims.subject)
            .await?;
        let account = match owner {
            Some(id) => match self.store().account(id).await? {
                Some(a) => a,
                None => return Ok(back("oauth_error", "account_missing")),
            },
            None => match self.new_federated_account(p, &claims, now, client).await? {
                Ok(a) => a,
                Err(reason) => return Ok(back("oauth_error", reason)),
            },
        };
        if account.status == AccountStatus::Disabled {
            return Ok(back("oauth_error", "account_disabled"));
        }
        let finished = Finished {
            account: account.id,
            provider: p.name.clone(),
            password_version: account.password_version,
            time: now,
        };
        let code = self.keep_state(&finished, CODE_SECONDS).await?;
        Ok(back("oauth", &code.to_string()))
    }

    /// A first sign-in by an identity no account has: a new account for its verified address
    /// when sign-up is open. An address that has an account already is refused
    /// (`account_exists`): its owner signs in another way and connects the provider.
    async fn new_federated_account(
        &self,
        p: &Provider,
        claims: &Claims,
        now: i64,
        client: &ClientInfo,
    ) -> Result<Result<Account, &'static str>, ApiError> {
        let email = match (&claims.email, claims.email_verified) {
            (Some(e), true) => match normalize_email(e) {
                Ok(e) => e,
                Err(_) => return Ok(Err("email_unusable")),
            },
            _ => return Ok(Err("email_not_verified")),
        };
        if self.store().account_id(&email).await?.is_some() {
            return Ok(Err("account_exists"));
        }
        if !self.config().signup_open {
            return Ok(Err("signup_closed"));
        }
        let account = Account {
            id: Id::random(),
            email: email.clone(),
            // No password: the provider is its way in, until its owner sets one (a reset).
            password_hash: String::new(),
            status: AccountStatus::Active,
            created_at: now,
            password_version: 0,
            email_verified: true,
            second_factor: false,
        };
        if !self.store().create_account(&account).await? {
            return Ok(Err("account_exists"));
        }
        let identity = identity(p, claims, now);
        let entry = Entry::new(Activity::IdentityLinked, now).with_detail(&p.label);
        match self
            .store()
            .link_identity(account.id, &identity, &entry)
            .await?
        {
            Linked::Linked => {}
            // Another request connected this identity meanwhile: this account is not needed.
            _ => {
                self.store().delete_account(account.id).await?;
                return Ok(Err("identity_in_use"));
            }
        }
        self.security_event(
            SecurityEvent::AccountCreated,
            Some(account.id),
            None,
            &[
                ("by", json!("federation")),
                ("provider", json!(p.name)),
                ("ip", json!(client.kept_address())),
            ],
        );
        self.security_event(
            SecurityEvent::IdentityLinked,
            Some(account.id),
            None,
            &[("provider", json!(p.name))],
        );
        Ok(Ok(account))
    }

    /// `POST /oauth/token`: a finished flow's one-time code, once and within [`CODE_SECONDS`],
    /// for a session — the second step first when the account has a second factor.
    pub async fn oauth_trade(
        &self,
        code: &str,
        device: Option<String>,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let device = crate::kernel::service::signin::device_name(device)?;
        let id = code.parse::<Id>().map_err(|_| ApiError::InvalidOAuthCode)?;
        let finished = self
            .take_state::<Finished>(id)
            .await?
            .ok_or(ApiError::InvalidOAuthCode)?;
        let now = self.clock().now();
        let account = self
            .store()
            .account(finished.account)
            .await?
            .filter(|a| a.password_version == finished.password_version)
            .ok_or(ApiError::InvalidOAuthCode)?;
        if account.status == AccountStatus::Disabled {
            return Err(ApiError::AccountDisabled);
        }
        let sign_in = SignIn {
            account: &account,
            email: &account.email,
            device,
            client,
            authentication: Authentication::federated(finished.time),
            via: Some(finished.provider),
        };
        self.start_session(sign_in, now).await
    }

    /// `POST /oauth/{provider}/link`: a ticket that lets `start` connect `provider` to the
    /// caller's account (the page navigates there with it; a navigation carries no bearer
    /// token).
    pub async fn oauth_link_ticket(
        &self,
        caller: &Caller,
        provider: &str,
    ) -> Result<Value, ApiError> {
        let (_, p) = self.provider(provider)?;
        let ticket = Ticket {
            account: caller.account,
            provider: p.name.clone(),
        };
        let id = self.keep_state(&ticket, TICKET_SECONDS).await?;
        Ok(json!({ "ticket": id.to_string(), "expires_in": TICKET_SECONDS }))
    }

    /// `GET /oauth/links`: the caller's connected identities.
    pub async fn oauth_links(&self, caller: &Caller) -> Result<Value, ApiError> {
        let labels = self.extension::<Providers>();
        let list: Vec<Value> = self
            .store()
            .identities(caller.account)
            .await?
            .into_iter()
            .map(|i| {
                let label = labels
                    .and_then(|l| l.list.iter().find(|p| p.name == i.provider))
                    .map_or(i.provider.clone(), |p| p.label.clone());
                json!({
                    "provider": i.provider,
                    "label": label,
                    "email": i.email,
                    "linked_at": i.at,
                })
            })
            .collect();
        Ok(json!({ "links": list }))
    }

    /// `DELETE /oauth/links/{provider}`: disconnects the caller's identity of `provider`, and
    /// ends every session it signed in; never the account's last way to sign in.
    pub async fn oauth_unlink(&self, caller: &Caller, provider: &str) -> Result<(), ApiError> {
        let now = self.clock().now();
        let label = self
            .extension::<Providers>()
            .and_then(|l| l.list.iter().find(|p| p.name == provider))
            .map_or(provider.to_string(), |p| p.label.clone());
        let entry = Entry::new(Activity::IdentityUnlinked, now).with_detail(&label);
        match self
            .store()
            .unlink_identity(caller.account, provider, &entry)
            .await?
        {
            Unlinked::Unlinked => {
                self.security_event(
                    SecurityEvent::IdentityUnlinked,
                    Some(caller.account),
                    Some(caller.session),
                    &[("provider", json!(provider))],
                );
                Ok(())
            }
            Unlinked::Missing => Err(ApiError::NotFound),
            Unlinked::Last => Err(ApiError::LastSignInMethod),
        }
    }
}

fn identity(p: &Provider, claims: &Claims, now: i64) -> Identity {
    Identity {
        provider: p.name.clone(),
        iss: claims.issuer.clone(),
        sub: claims.subject.clone(),
        email: claims
            .email
            .as_deref()
            .map(|e| crate::kernel::user_agent::cut_bytes(e, 254)),
        at: now,
    }
}
