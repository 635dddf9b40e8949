//! Signing in with a passkey, or proving it is you again with one: the discoverable ceremony,
//! spent on every path, counted toward the login limits as a password attempt is, and never
//! asking whether a typed email has an account.

use super::store::PasskeyStore;
use super::webauthn::{Ceremony, Passkey, PublicKeyCredential};
use crate::kernel::accounts;
use crate::kernel::authentication::Authentication;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::service::signin::device_name;
use crate::kernel::service::{ClientInfo, Core, SignIn, TokenPair};
use crate::kernel::store::{AccountStatus, KernelStore};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{DiscoverableAuthentication, DiscoverableKey};

/// What `POST /login/passkey` asks.
pub struct PasskeyLogin {
    /// The ceremony `POST /login/passkey/options` named.
    pub ceremony: Id,
    /// The browser's `PublicKeyCredential`.
    pub credential: Box<PublicKeyCredential>,
    /// The email, when one was typed: the passkey must be that account's.
    pub email: Option<String>,
    /// Optional device name.
    pub device: Option<String>,
}

/// What the login counters count a passkey attempt under when the credential names no account
/// and no email was typed (no normalised email is `-`).
const NO_EMAIL: &str = "-";

impl<S: ?Sized + KernelStore + PasskeyStore> Core<S> {
    /// `POST /login/passkey/options`: a sign-in challenge for any passkey of this relying party
    /// (discoverable credentials: no email needed, and none is looked up, so the answer says
    /// nothing about which accounts exist). Counted toward `client`'s ceremonies.
    pub async fn passkey_login_options(&self, client: &ClientInfo) -> Result<Value, ApiError> {
        let rp = self.relying_party()?;
        let (mut rcr, state) = rp
            .start_discoverable_authentication()
            .map_err(|e| ApiError::Internal(format!("passkey sign-in: {e}")))?;
        // `webauthn-rs` asks for conditional mediation (autofill); the client picks how it
        // shows the prompt.
        rcr.mediation = None;
        let options = serde_json::to_value(&rcr).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.open_ceremony(&Ceremony::Authenticate { state }, options, client)
            .await
    }

    /// `POST /login/passkey`: a session pair for the account whose passkey answered, as a
    /// password login gives. In this order, so that no answer depends on whether a typed email
    /// has an account: the ceremony is spent; the account the credential names is read (a typed
    /// email is compared with it, never looked up); the attempt is counted as a password
    /// attempt is (under that account's email, else the typed one); then the assertion is
    /// checked. Every refusal is `invalid_credentials`.
    pub async fn login_with_passkey(
        &self,
        login: PasskeyLogin,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let device = device_name(login.device)?;
        let typed = login
            .email
            .as_deref()
            .map(accounts::normalize_email)
            .transpose()
            .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        let rp = self.relying_party()?;
        let now = self.clock().now();
        let ceremony = self.take_state::<Ceremony>(login.ceremony).await?;
        let named = match rp.identify_discoverable_authentication(&login.credential) {
            Ok((user, _)) => {
                self.store()
                    .account(Id::from_bytes(user.into_bytes()))
                    .await?
            }
            Err(_) => None,
        };
        let counted = named
            .as_ref()
            .map(|a| a.email.clone())
            .or_else(|| typed.clone())
            .unwrap_or_else(|| NO_EMAIL.to_string());
        let ip = client.kept_address();
        let limited = self.limit_key(ip.as_deref());
        self.begin_attempt(&counted, limited.as_deref(), now)
            .await?;
        let account = named.filter(|a| typed.as_ref().is_none_or(|t| *t == a.email));
        let authentication = match (ceremony, &account) {
            (Some(Ceremony::Authenticate { state }), Some(a)) => {
                self.verify_assertion(rp, state, &login.credential, a.id, now)
                    .await?
            }
            _ => None,
        };
        // A refusal stays counted toward the address, as a wrong password does.
        let (Some(account), Some(authentication)) = (account, authentication) else {
            return Err(ApiError::InvalidCredentials);
        };
        if let Some(ip) = &limited {
            self.store().release_ip_attempt(ip, now).await?;
        }
        if account.status == AccountStatus::Disabled {
            return Err(ApiError::AccountDisabled);
        }
        let sign_in = SignIn {
            account: &account,
            email: &account.email,
            device,
            client,
            authentication,
            via: None,
        };
        let pair = self.start_session(sign_in, now).await?;
        if limited != ip {
            // start_session cleared the counts under the address itself; an IPv6 client's
            // are under its network.
            self.store()
                .clear_attempts(&account.email, limited.as_deref())
                .await?;
        }
        Ok(pair)
    }

    /// Checks a passkey assertion of `account` against a sign-in ceremony, which is spent
    /// whatever the outcome (`POST /reauthenticate`). Every failure is `invalid_credentials`.
    pub async fn assert_passkey(
        &self,
        ceremony: Id,
        credential: &PublicKeyCredential,
        account: Id,
        now: i64,
    ) -> Result<Authentication, ApiError> {
        let rp = self.relying_party()?;
        let Some(Ceremony::Authenticate { state }) = self.take_state::<Ceremony>(ceremony).await?
        else {
            return Err(ApiError::InvalidCredentials);
        };
        self.verify_assertion(rp, state, credential, account, now)
            .await?
            .ok_or(ApiError::InvalidCredentials)
    }

    /// The authentication an assertion by one of `account`'s passkeys proves; `None` when it
    /// proves nothing. The passkey's counter and backup flags are written back as `webauthn-rs`
    /// says (`Passkey::update_credential`).
    async fn verify_assertion(
        &self,
        rp: &Webauthn,
        state: DiscoverableAuthentication,
        credential: &PublicKeyCredential,
        account: Id,
        now: i64,
    ) -> Result<Option<Authentication>, ApiError> {
        let Ok((user, cred_id)) = rp.identify_discoverable_authentication(credential) else {
            return Ok(None);
        };
        if Id::from_bytes(user.into_bytes()) != account {
            return Ok(None);
        }
        let id = URL_SAFE_NO_PAD.encode(cred_id);
        let Some(mut stored) = self
            .store()
            .passkeys(account)
            .await?
            .into_iter()
            .find(|p| p.id == id)
        else {
            return Ok(None);
        };
        let mut passkey: Passkey = serde_json::from_str(&stored.credential)
            .map_err(|e| ApiError::Internal(format!("stored passkey: {e}")))?;
        #[allow(deprecated)] // `_v2` takes a `Credential`, which a `Passkey` does not hand out.
        let result = match rp.finish_discoverable_authentication(
            credential,
            state,
            &[DiscoverableKey::from(&passkey)],
        ) {
            Ok(result) => result,
            Err(e) => {
                tracing::debug!(error = %e, "passkey assertion refused");
                return Ok(None);
            }
        };
        passkey.update_credential(&result);
        stored.last_used_at = now;
        stored.credential =
            serde_json::to_string(&passkey).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.store().update_passkey(account, &stored).await?;
        Ok(Some(Authentication::passkey(now)))
    }
}
