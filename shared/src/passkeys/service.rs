//! Passkeys' use cases on a signed-in account: registering, listing and removing them (signing
//! in with one is `sign_in`). The ceremonies are `webauthn-rs`'s (`webauthn`); this keeps their
//! state in the store, single-use, and ties them to Passport's sessions.

use super::store::{AddedBy, Grant, PasskeyAdded, PasskeyRemoved, PasskeyStore, StoredPasskey};
use super::webauthn::{
    CEREMONY_SECONDS, Ceremony, MAX_PASSKEY_NAME_CHARS, MAX_PASSKEYS, Passkey,
    RegisterPublicKeyCredential, RelyingParty, discoverable_options,
};
use crate::kernel::activity::{Activity, Entry};
use crate::kernel::caller::Caller;
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::kernel::mail::Message;
use crate::kernel::service::{ClientInfo, Core};
use crate::kernel::store::KernelStore;
use crate::kernel::user_agent;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::Uuid;

impl<S: ?Sized + KernelStore + PasskeyStore> Core<S> {
    pub(super) fn relying_party(&self) -> Result<&Webauthn, ApiError> {
        self.extension::<RelyingParty>()
            .and_then(|rp| rp.0.as_deref())
            .ok_or(ApiError::PasskeysDisabled)
    }

    /// Keeps a ceremony's state, counted toward `client`'s ceremonies, and answers the
    /// browser's options with its id.
    pub(super) async fn open_ceremony(
        &self,
        ceremony: &Ceremony,
        mut options: Value,
        client: &ClientInfo,
    ) -> Result<Value, ApiError> {
        self.limit_ceremonies(client).await?;
        let id = self.keep_state(ceremony, CEREMONY_SECONDS).await?;
        if let Some(o) = options.as_object_mut() {
            o.insert("ceremony".into(), json!(id.to_string()));
        }
        Ok(options)
    }

    /// `POST /passkeys/registration/options`: a registration challenge for the caller's account,
    /// excluding the passkeys it has, asking for a discoverable credential.
    pub async fn passkey_registration_options(
        &self,
        caller: &Caller,
        client: &ClientInfo,
    ) -> Result<Value, ApiError> {
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
        self.open_ceremony(&ceremony, discoverable_options(&ccr), client)
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
        client: &ClientInfo,
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
            added_by: Some(AddedBy {
                session: caller.session,
                agent: client.user_agent.as_deref().and_then(user_agent::describe),
            }),
        };
        let grant = Grant {
            session: caller.session,
            now,
        };
        let entry = Entry {
            device: stored.added_by.as_ref().and_then(|b| b.agent.clone()),
            ip: client.kept_address(),
            ..Entry::new(Activity::PasskeyAdded, now)
        }
        .with_detail(&stored.name);
        match self
            .store()
            .add_passkey(caller.account, &stored, MAX_PASSKEYS, grant, &entry)
            .await?
        {
            PasskeyAdded::Added => {}
            PasskeyAdded::NotReauthenticated => return Err(ApiError::ReauthenticationRequired),
            PasskeyAdded::Exists => return Err(ApiError::PasskeyExists),
            PasskeyAdded::Full => return Err(ApiError::TooManyPasskeys { max: MAX_PASSKEYS }),
            PasskeyAdded::NoAccount => return Err(ApiError::Unauthorized),
        }
        tracing::info!(account = %caller.account, session = %caller.session, passkey = %stored.id, "passkey added");
        if let Some(to) = self.owner_address(caller).await {
            let name = stored.name.clone();
            self.notify(caller.account, &to, |link| Message::PasskeyAdded {
                name,
                link,
            })
            .await;
        }
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
        let entry = Entry::new(Activity::PasskeyRemoved, self.clock().now());
        match self
            .store()
            .remove_passkey(caller.account, id, &entry)
            .await?
        {
            PasskeyRemoved::Removed => {
                tracing::info!(account = %caller.account, session = %caller.session, passkey = %id, "passkey removed");
                if let Some(to) = self.owner_address(caller).await {
                    self.notify(caller.account, &to, |link| Message::PasskeyRemoved { link })
                        .await;
                }
                Ok(())
            }
            PasskeyRemoved::Missing => Err(ApiError::NotFound),
            PasskeyRemoved::Last => Err(ApiError::LastSignInMethod),
        }
    }

    /// The caller's address, for a notice: the session's copy, else the account's (best effort:
    /// `None` when neither can be read).
    async fn owner_address(&self, caller: &Caller) -> Option<String> {
        match &caller.email {
            Some(email) => Some(email.clone()),
            None => self
                .store()
                .account(caller.account)
                .await
                .ok()
                .flatten()
                .map(|a| a.email),
        }
    }
}

/// A passkey as its owner sees it.
fn passkey_json(p: &StoredPasskey) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "created_at": crate::kernel::clock::rfc3339(p.created_at),
        "last_used_at": (p.last_used_at > 0).then(|| crate::kernel::clock::rfc3339(p.last_used_at)),
        "added_by": p.added_by.as_ref().map(|b| json!({
            "session_id": b.session.to_string(),
            "agent": b.agent,
        })),
    })
}
