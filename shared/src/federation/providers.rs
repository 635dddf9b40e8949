//! The configured identity providers (`OIDC_PROVIDERS`, the client secrets): parsed and checked
//! at start, with the presets for Google and Microsoft Entra ID.

use crate::kernel::config::{Config, ConfigError};
use serde::Deserialize;
use std::collections::HashMap;

/// Google's issuer ([Google Identity: OpenID Connect](https://developers.google.com/identity/openid-connect/openid-connect#discovery)).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Microsoft Entra ID's issuer for one tenant
/// ([Microsoft identity platform: OpenID Connect](https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri)):
/// the `common` endpoint's documents name a templated issuer no ID token carries, so a tenant
/// is required.
pub fn microsoft_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

/// Longest provider name (it is a path segment and a field name in the store).
pub const MAX_NAME_LEN: usize = 32;

/// One identity provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Provider {
    /// Its name in paths (`/oauth/<name>/start`) and in the store.
    pub name: String,
    /// What the page's button says ("Google").
    pub label: String,
    /// Its issuer: discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// This deployment's client id there.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    client_id: String,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// The providers `OIDC_PROVIDERS` names, with their secrets from `secrets` (the JSON of
/// `OIDC_CLIENT_SECRETS_ARN`'s value or `OIDC_CLIENT_SECRETS`). Empty when none is configured.
pub fn parse(config: &Config, secrets: Option<&str>) -> Result<Vec<Provider>, ConfigError> {
    let Some(text) = config.oidc_providers.as_deref() else {
        return Ok(Vec::new());
    };
    let entries: Vec<Entry> = serde_json::from_str(text)
        .map_err(|e| invalid("OIDC_PROVIDERS", format!("not the expected JSON: {e}")))?;
    let secrets: HashMap<String, String> = match secrets {
        Some(s) => serde_json::from_str(s).map_err(|_| {
            invalid(
                "OIDC_CLIENT_SECRETS",
                "must be a JSON object of provider names to client secrets",
            )
        })?,
        None => HashMap::new(),
    };
    let mut out: Vec<Provider> = Vec::new();
    for e in entries {
        let name_ok = !e.name.is_empty()
            && e.name.len() <= MAX_NAME_LEN
            && e.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(invalid(
                "OIDC_PROVIDERS",
                format!("a provider's name is 1 to {MAX_NAME_LEN} of a-z, 0-9 and -"),
            ));
        }
        if out.iter().any(|p| p.name == e.name) {
            return Err(invalid(
                "OIDC_PROVIDERS",
                format!("{} is named twice", e.name),
            ));
        }
        let (issuer, label) = match (e.name.as_str(), e.issuer, e.tenant) {
            (_, Some(issuer), None) => (issuer.trim_end_matches('/').to_string(), e.name.clone()),
            ("google", None, None) => (GOOGLE_ISSUER.to_string(), "Google".to_string()),
            ("microsoft", None, Some(tenant))
                if !tenant.is_empty()
                    && tenant
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
            {
                (microsoft_issuer(&tenant), "Microsoft".to_string())
            }
            ("microsoft", None, _) => {
                return Err(invalid(
                    "OIDC_PROVIDERS",
                    "microsoft needs its \"tenant\" (the directory's id or domain)",
                ));
            }
            (name, _, _) => {
                return Err(invalid(
                    "OIDC_PROVIDERS",
                    format!("{name} needs its \"issuer\" (and no \"tenant\")"),
                ));
            }
        };
        if !crate::kernel::config::https_or_loopback(&issuer) {
            return Err(invalid(
                "OIDC_PROVIDERS",
                format!(
                    "{}'s issuer must be an https:// URL (http:// only for localhost)",
                    e.name
                ),
            ));
        }
        let client_secret = secrets.get(&e.name).cloned().ok_or_else(|| {
            invalid(
                "OIDC_CLIENT_SECRETS_ARN",
                format!("holds no client secret for {}", e.name),
            )
        })?;
        out.push(Provider {
            label: e.label.unwrap_or(label),
            name: e.name,
            issuer,
            client_id: e.client_id,
            client_secret,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(providers: &str) -> Config {
        Config::from_lookup(|k| (k == "OIDC_PROVIDERS").then(|| providers.to_string())).unwrap()
    }

    #[test]
    fn presets_and_any_issuer_are_read_with_their_secrets() {
        let c = config(
            r#"[{"name":"google","client_id":"g"},{"name":"microsoft","tenant":"contoso.com","client_id":"m"},
                {"name":"corp","issuer":"https://idp.example.com/","client_id":"c","label":"Corp SSO"}]"#,
        );
        let p = parse(&c, Some(r#"{"google":"a","microsoft":"b","corp":"c"}"#)).unwrap();
        assert_eq!(p[0].issuer, GOOGLE_ISSUER);
        assert_eq!(p[0].label, "Google");
        assert_eq!(
            p[1].issuer,
            "https://login.microsoftonline.com/contoso.com/v2.0"
        );
        assert_eq!(p[2].issuer, "https://idp.example.com");
        assert_eq!(p[2].label, "Corp SSO");
        assert_eq!(p[2].client_secret, "c");
        assert!(!format!("{:?}", p[2]).contains("client_secret"));
    }

    #[test]
    fn what_cannot_work_is_refused_at_start() {
        let secrets = Some(r#"{"x":"s","google":"s","microsoft":"s"}"#);
        for bad in [
            r#"[{"name":"x","client_id":"c"}]"#,
            r#"[{"name":"microsoft","client_id":"c"}]"#,
            r#"[{"name":"x","issuer":"http://idp.example.com","client_id":"c"}]"#,
            r#"[{"name":"X","issuer":"https://idp.example.com","client_id":"c"}]"#,
            r#"[{"name":"google","client_id":"c"},{"name":"google","client_id":"d"}]"#,
            r#"[{"name":"y","issuer":"https://idp.example.com","client_id":"c"}]"#,
            r#"{"name":"x"}"#,
        ] {
            assert!(parse(&config(bad), secrets).is_err(), "{bad}");
        }
        assert!(
            parse(
                &config(r#"[{"name":"google","client_id":"c"}]"#),
                Some("[]")
            )
            .is_err()
        );
    }
}
