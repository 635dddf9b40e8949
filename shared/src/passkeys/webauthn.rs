//! The WebAuthn relying party (passkeys), built by `webauthn-rs` from the configured origins,
//! and the state a ceremony keeps in the store between its two requests.
//!
//! WebAuthn Level 3 (w3.org/TR/webauthn-3): the server hands out a challenge, the browser's
//! authenticator signs it for the relying-party id, and the server checks the signature,
//! origin, RP id hash, user verification and challenge. All of that is `webauthn-rs`'s; this
//! module decides only what Passport asks for: user verification always, discoverable
//! (resident) credentials so that a sign-in needs no email, and a ceremony that lives
//! [`CEREMONY_SECONDS`] and is taken from the store once.

use crate::kernel::ids::Id;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyRegistration, Url, Webauthn, WebauthnBuilder,
};

pub use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

/// How long a ceremony's challenge stays usable (and the browser's `timeout`).
pub const CEREMONY_SECONDS: i64 = 300;

/// Most passkeys one account keeps.
pub const MAX_PASSKEYS: u64 = 20;

/// Longest passkey name, in characters.
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;

/// The relying party for `origins` (the first one's host is the RP id unless `rp_id` names
/// one); `None` when there are no origins (passkeys off). `Err` says why the configuration
/// cannot work (checked at start).
pub fn relying_party(origins: &[String], rp_id: Option<&str>) -> Result<Option<Webauthn>, String> {
    let Some(first) = origins.first() else {
        return match rp_id {
            Some(_) => Err("PASSKEY_RP_ID is set but there are no passkey origins".into()),
            None => Ok(None),
        };
    };
    let parse = |o: &str| Url::parse(o).map_err(|e| format!("{o:?}: {e}"));
    let first_url = parse(first)?;
    let host = first_url
        .host_str()
        .ok_or_else(|| format!("{first:?} has no host"))?
        .to_string();
    let rp_id = rp_id.unwrap_or(&host);
    if rp_id.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "{rp_id:?}: a relying-party id is a domain, never an IP address (use localhost)"
        ));
    }
    let mut builder = WebauthnBuilder::new(rp_id, &first_url)
        .map_err(|e| format!("{first:?} does not fit relying-party id {rp_id:?}: {e}"))?
        .rp_name("Passport")
        .timeout(Duration::from_secs(CEREMONY_SECONDS as u64));
    for other in &origins[1..] {
        let url = parse(other)?;
        let fits = url
            .host_str()
            .is_some_and(|h| h == rp_id || h.ends_with(&format!(".{rp_id}")));
        if !fits {
            return Err(format!(
                "{other:?} is not within relying-party id {rp_id:?} (set PASSKEY_ORIGINS)"
            ));
        }
        builder = builder.append_allowed_origin(&url);
    }
    builder.build().map(Some).map_err(|e| e.to_string())
}

/// The registration options for the browser (`{publicKey: …}` as `webauthn-rs` writes them),
/// asking for a discoverable credential: a passkey that signs in with no email typed
/// (WebAuthn §5.4.6, `residentKey: "required"`).
pub fn discoverable_options(ccr: &CreationChallengeResponse) -> serde_json::Value {
    let mut options = serde_json::to_value(ccr).unwrap_or_default();
    if let Some(sel) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|v| v.as_object_mut())
    {
        sel.insert("residentKey".into(), "required".into());
        sel.insert("requireResidentKey".into(), true.into());
    }
    options
}

/// The relying party of this deployment, kept in the service (`Core::extension`): `None` when
/// passkeys are off (no `PASSKEY_ORIGINS`).
#[derive(Clone)]
pub struct RelyingParty(pub Option<std::sync::Arc<Webauthn>>);

impl RelyingParty {
    /// The relying party `config` names; `Err` says why it cannot work, naming the variable.
    pub fn from_config(
        config: &crate::kernel::config::Config,
    ) -> Result<Self, crate::kernel::config::ConfigError> {
        match relying_party(&config.passkey_origins, config.passkey_rp_id.as_deref()) {
            Ok(rp) => Ok(Self(rp.map(std::sync::Arc::new))),
            Err(why) => Err(crate::kernel::config::ConfigError::Invalid {
                name: if config.passkey_rp_id.is_some() {
                    "PASSKEY_RP_ID"
                } else {
                    "PASSKEY_ORIGINS"
                },
                reason: why,
            }),
        }
    }
}

/// A ceremony between its options and its answer, as the store keeps it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ceremony {
    /// A passkey being registered by a signed-in session.
    Register {
        /// The account.
        account: Id,
        /// The session that asked: only it may finish.
        session: Id,
        /// `webauthn-rs`'s state.
        state: PasskeyRegistration,
    },
    /// A sign-in (or a reauthentication) with any of the relying party's passkeys.
    Authenticate {
        /// `webauthn-rs`'s state.
        state: DiscoverableAuthentication,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_relying_party_comes_from_the_origins() {
        assert!(relying_party(&[], None).unwrap().is_none());
        assert!(relying_party(&[], Some("example.com")).is_err());
        assert!(
            relying_party(&origins(&["http://localhost:3000"]), None)
                .unwrap()
                .is_some()
        );
        let two = origins(&["https://app.example.com", "https://id.example.com"]);
        assert!(relying_party(&two, Some("example.com")).unwrap().is_some());
        assert!(
            relying_party(&two, None).is_err(),
            "id.example.com is outside app.example.com"
        );
        let err = relying_party(&origins(&["http://127.0.0.1:3000"]), None).unwrap_err();
        assert!(err.contains("IP address"), "{err}");
        assert!(relying_party(&origins(&["https://example.com"]), Some("other.org")).is_err());
    }
}
