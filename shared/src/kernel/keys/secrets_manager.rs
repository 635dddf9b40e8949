//! The Secrets Manager key source: `AWSCURRENT` signs (its `VersionId` is the `kid`),
//! `AWSPREVIOUS`, when there is one, only verifies.

use super::{Key, KeyError, KeyRing};
use crate::kernel::config::{SecretBytes, SigningAlgorithm};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use serde::Deserialize;

/// Reads the HS256 ring from secret `secret_id` (ARN or name).
pub async fn load(client: &Client, secret_id: &str) -> Result<KeyRing, KeyError> {
    load_for(SigningAlgorithm::Hs256, client, secret_id).await
}

/// Reads the ring of `algorithm` keys from secret `secret_id` (ARN or name). The ring's
/// creation time is `AWSCURRENT`'s `CreatedDate`: the order its published keys take.
pub async fn load_for(
    algorithm: SigningAlgorithm,
    client: &Client,
    secret_id: &str,
) -> Result<KeyRing, KeyError> {
    let (current, created_ms) = version(algorithm, client, secret_id, "AWSCURRENT")
        .await?
        .ok_or_else(|| secret_error(secret_id, "it has no AWSCURRENT version"))?;
    let previous = version(algorithm, client, secret_id, "AWSPREVIOUS").await?;
    let ring = KeyRing::new(current, previous.into_iter().map(|(k, _)| k).collect());
    Ok(match created_ms {
        Some(ms) => ring.created_at(ms),
        None => ring,
    })
}

async fn version(
    algorithm: SigningAlgorithm,
    client: &Client,
    secret_id: &str,
    stage: &str,
) -> Result<Option<(Key, Option<i64>)>, KeyError> {
    let out = match client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(stage)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let service = e.as_service_error();
            // A secret that has never been rotated has no AWSPREVIOUS version.
            if stage != "AWSCURRENT"
                && service.is_some_and(GetSecretValueError::is_resource_not_found_exception)
            {
                return Ok(None);
            }
            let reason = match service {
                Some(s) => format!(
                    "{stage}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(s)
                ),
                None => format!(
                    "{stage}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                ),
            };
            return Err(secret_error(secret_id, &reason));
        }
    };
    let kid = out
        .version_id()
        .ok_or_else(|| secret_error(secret_id, &format!("{stage} has no version id")))?
        .to_string();
    let raw = match (out.secret_string(), out.secret_binary()) {
        (Some(s), _) => key_from_string(s),
        (None, Some(b)) => b.as_ref().to_vec(),
        (None, None) => return Err(secret_error(secret_id, &format!("{stage} has no value"))),
    };
    let name = format!("secret {secret_id} ({stage})");
    let created_ms = out.created_date().and_then(|d| d.to_millis().ok());
    Key::for_algorithm(algorithm, kid, &SecretBytes::new(raw), &name).map(|k| Some((k, created_ms)))
}

/// A secret string is the key itself, or JSON `{"key": "..."}`.
fn key_from_string(s: &str) -> Vec<u8> {
    #[derive(Deserialize)]
    struct Wrapped {
        key: String,
    }
    match serde_json::from_str::<Wrapped>(s) {
        Ok(w) => w.key.into_bytes(),
        Err(_) => s.as_bytes().to_vec(),
    }
}

fn secret_error(secret: &str, reason: &str) -> KeyError {
    KeyError::Secret {
        secret: secret.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_json_values() {
        assert_eq!(key_from_string("plain-key"), b"plain-key");
        assert_eq!(key_from_string(r#"{"key": "wrapped"}"#), b"wrapped");
        // JSON without a `key` field is taken as the key itself.
        assert_eq!(key_from_string(r#"{"other": 1}"#), br#"{"other": 1}"#);
    }
}
