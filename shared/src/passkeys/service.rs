//! Passkeys' use cases: registering them to a signed-in account, listing and removing them, and
//! signing in (or proving it is you again) with one. The ceremonies are `webauthn-rs`'s
//! (`webauthn`); this keeps their state in the store, single-use, and ties them to Passport's
//! sessions.

use super::store::{PasskeyAdded, PasskeyRemoved, PasskeyStore, StoredPasskey};
use super::webauthn::{
    CEREMONY_SECONDS, Ceremony, MAX_PASSKEY_NAME_CHARS, MAX_PASSKEYS, Passkey, PublicKeyCredential,
    RegisterPublicKeyCredential, RelyingParty, discoverable_options,
};
use crate::kernel::accounts;
use crate::kernel::authentication::Authentication;
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::service::signin::device_name;
use crate::kernel::service::{ClientInfo, Core, SignIn, TokenPair};
use crate::kernel::store::{AccountStatus, KernelStore};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{DiscoverableKey, Uuid};

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

impl<S: ?Sized + KernelStore + PasskeyStore> Core<S> {
    fn relying_party(&self) -> Result<&Webauthn, ApiError> {
        self.extension::<RelyingParty>()
            .and_then(|rp| rp.0.as_deref())
            .ok_or(ApiError::PasskeysDisabled)
    }

    /// Keeps a ceremony's state and answers the browser's options with its id.
    async fn open_ceremony(
        &self,
        ceremony: &Ceremony,
        mut options: Value,
    ) -> Result<Value, ApiError> {
        let id = self.keep_state(ceremony, CEREMONY_SECONDS).await?;
        if let Some(o) = options.as_object_mut() {
            o.insert("ceremony".into(), json!(id.to_string()));
        }
        Ok(options)
    }

    /// `POST /passkeys/registration/options`: a registration challenge for the caller's account,
    /// excluding the passkeys it has, asking for a discoverable credential.
    pub async fn passkey_registration_options(&self, caller: &Caller) -> Result<Value, ApiError> {
        let rp = self.relying_party()?;
        let account = self
            .store()
            .account(caller.account)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let exclude = self
            .store()
            .passkeys(account.id)
            .await?
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.credential).ok())
            .map(|p| p.cred_id().clone())
            .collect();
        let user = Uuid::from_bytes(*account.id.as_bytes());
        let (ccr, state) = rp
            .start_passkey_registration(user, &account.email, &account.email, Some(exclude))
            .map_err(|e| ApiError::Internal(format!("passkey registration: {e}")))?;
        let ceremony = Ceremony::Register {
            account: account.id,
            session: caller.session,
            state,
        };
        self.open_ceremony(&ceremony, discoverable_options(&ccr))
            .await
    }

    /// `POST /passkeys`: verifies the browser's new credential against the caller's ceremony
    /// and registers it.
    pub async fn register_passkey(
        &self,
        caller: &Caller,
        ceremony: Id,
        credential: &RegisterPublicKeyCredential,
        name: Option<String>,
    ) -> Result<Value, ApiError> {
        let rp = self.relying_party()?;
        let name = match name.map(|n| n.trim().to_string()) {
            Some(n) if n.chars().count() > MAX_PASSKEY_NAME_CHARS => {
                return Err(ApiError::InvalidRequest(format!(
                    "name must be at most {MAX_PASSKEY_NAME_CHARS} characters"
                )));
            }
            Some(n) if !n.is_empty() => n,
            _ => "Passkey".to_string(),
        };
        let now = self.clock().now();
        let state = match self.take_state::<Ceremony>(ceremony).await? {
            Some(Ceremony::Register {
                account,
                session,
                state,
            }) if account == caller.account && session == caller.session => state,
            _ => return Err(ApiError::PasskeyNotVerified),
        };
        let passkey = rp
            .finish_passkey_registration(credential, &state)
            .map_err(|e| {
                tracing::debug!(error = %e, "passkey registration refused");
                ApiError::PasskeyNotVerified
            })?;
        let stored = StoredPasskey {
            id: URL_SAFE_NO_PAD.encode::<&[u8]>(passkey.cred_id().as_ref()),
            name,
            created_at: now,
            last_used_at: 0,
            credential: serde_json::to_string(&passkey)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        };
        match self
            .store()
            .add_passkey(caller.account, &stored, MAX_PASSKEYS)
            .await?
        {
            PasskeyAdded::Added => {}
            PasskeyAdded::Exists => return Err(ApiError::PasskeyExists),
            PasskeyAdded::Full => return Err(ApiError::TooManyPasskeys { max: MAX_PASSKEYS }),
            PasskeyAdded::NoAccount => return Err(ApiError::Unauthorized),
        }
        tracing::info!(account = %caller.account, session = %caller.session, passkey = %stored.id, "passkey added");
        Ok(passkey_json(&stored))
    }

    /// `GET /passkeys`: the caller's passkeys (never their keys).
    pub async fn list_passkeys(&self, caller: &Caller) -> Result<Value, ApiError> {
        let list: Vec<Value> = self
            .store()
            .passkeys(caller.account)
            .await?
            .iter()
            .map(passkey_json)
            .collect();
        Ok(json!({ "passkeys": list }))
    }

    /// `DELETE /passkeys/{id}`: removes one of the caller's passkeys, unless it is the account's
    /// last way to sign in.
    pub async fn remove_passkey(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        if id.is_empty() || id.len() > 1400 {
            return Err(ApiError::NotFound);
        }
        match self.store().remove_passkey(caller.account, id).await? {
            PasskeyRemoved::Removed => {
                tracing::info!(account = %caller.account, session = %caller.session, passkey = %id, "passkey removed");
                Ok(())
            }
            PasskeyRemoved::Missing => Err(ApiError::NotFound),
            PasskeyRemoved::Last => Err(ApiError::LastSignInMethod),
        }
    }

    /// `POST /login/passkey/options`: a sign-in challenge for any passkey of this relying party
    /// (discoverable credentials: no email needed, and none is looked up, so the answer says
    /// nothing about which accounts exist).
    pub async fn passkey_login_options(&self) -> Result<Value, ApiError> {
        let rp = self.relying_party()?;
        let (mut rcr, state) = rp
            .start_discoverable_authentication()
            .map_err(|e| ApiError::Internal(format!("passkey sign-in: {e}")))?;
        // `webauthn-rs` asks for conditional mediation (autofill); the client picks how it
        // shows the prompt.
        rcr.mediation = None;
        let options = serde_json::to_value(&rcr).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.open_ceremony(&Ceremony::Authenticate { state }, options)
            .await
    }

    /// `POST /login/passkey`: a session pair for the account whose passkey answered, as a
    /// password login gives.
    pub async fn login_with_passkey(
        &self,
        login: PasskeyLogin,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let device = device_name(login.device)?;
        let typed = match &login.email {
            Some(e) => Some(
                accounts::normalize_email(e)
                    .map_err(|e| ApiError::InvalidRequest(e.to_string()))?,
            ),
            None => None,
        };
        let now = self.clock().now();
        // A typed email names the account the passkey must be for: another's is refused before
        // its assertion is checked (and its counter moved).
        let expected = match &typed {
            Some(email) => Some(
                self.store()
                    .account_id(email)
                    .await?
                    .ok_or(ApiError::InvalidCredentials)?,
            ),
            None => None,
        };
        let (account_id, authentication) = self
            .assert_passkey(login.ceremony, &login.credential, expected, now)
            .await?;
        let account = self
            .store()
            .account(account_id)
            .await?
            .ok_or(ApiError::InvalidCredentials)?;
        if account.status == AccountStatus::Disabled {
            return Err(ApiError::AccountDisabled);
        }
        let sign_in = SignIn {
            account: &account,
            email: &account.email,
            device,
            client,
            authentication,
        };
        self.start_session(sign_in, now).await
    }

    /// Checks a passkey assertion against a sign-in ceremony: the account it proves (which must
    /// be `expected`, when given), and how. Every failure is `invalid_credentials`, as a wrong
    /// password is. The passkey's counter and backup flags are written back as `webauthn-rs`
    /// says (`Passkey::update_credential`).
    pub async fn assert_passkey(
        &self,
        ceremony: Id,
        credential: &PublicKeyCredential,
        expected: Option<Id>,
        now: i64,
    ) -> Result<(Id, Authentication), ApiError> {
        let rp = self.relying_party()?;
        let Some(Ceremony::Authenticate { state }) = self.take_state::<Ceremony>(ceremony).await?
        else {
            return Err(ApiError::InvalidCredentials);
        };
        let (user, cred_id) = rp
            .identify_discoverable_authentication(credential)
            .map_err(|_| ApiError::InvalidCredentials)?;
        let account = Id::from_bytes(user.into_bytes());
        if expected.is_some_and(|e| e != account) {
            return Err(ApiError::InvalidCredentials);
        }
        let id = URL_SAFE_NO_PAD.encode(cred_id);
        let Some(mut stored) = self
            .store()
            .passkeys(account)
            .await?
            .into_iter()
            .find(|p| p.id == id)
        else {
            return Err(ApiError::InvalidCredentials);
        };
        let mut passkey: Passkey = serde_json::from_str(&stored.credential)
            .map_err(|e| ApiError::Internal(format!("stored passkey: {e}")))?;
        #[allow(deprecated)] // `_v2` takes a `Credential`, which a `Passkey` does not hand out.
        let result = rp
            .finish_discoverable_authentication(
                credential,
                state,
                &[DiscoverableKey::from(&passkey)],
            )
            .map_err(|e| {
                tracing::debug!(error = %e, "passkey assertion refused");
                ApiError::InvalidCredentials
            })?;
        passkey.update_credential(&result);
        stored.last_used_at = now;
        stored.credential =
            serde_json::to_string(&passkey).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.store().update_passkey(account, &stored).await?;
        Ok((
            account,
            Authentication::passkey(now, result.backup_eligible()),
        ))
    }
}

/// A passkey as its owner sees it.
fn passkey_json(p: &StoredPasskey) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "created_at": crate::kernel::clock::rfc3339(p.created_at),
        "last_used_at": (p.last_used_at > 0).then(|| crate::kernel::clock::rfc3339(p.last_used_at)),
    })
}
