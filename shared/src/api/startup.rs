//! Start-up wiring: the service as a deployed function (or `local-api`) builds it from its
//! configuration — the signing keys (Secrets Manager or a literal), the AWS client, the Redis
//! connection (as its cache user) — and what can fail on the way.

use super::Service;
use super::Store;
use crate::email::not_me::NotMeTokens;
use crate::kernel::config::Config;
use crate::kernel::config::{ConfigError, SecretBytes};
use crate::kernel::error::StoreError;
use crate::kernel::keys::{self, KeyError, KeyProvider, KeyRing};
use crate::kernel::mail::sqs::SqsOutbox;
use crate::kernel::mail::{MailOutbox, NotMeLinks};
use crate::kernel::store::{MemoryStore, RedisCredentials, RedisStore};
use crate::mfa::MfaKey;
use std::sync::Arc;

/// Passport could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// No usable signing key.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// A feature's setting cannot work (it names the variable).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be reached.
    #[error("cannot connect to the session store: {0}")]
    Store(#[from] StoreError),
    /// The second factor's key could not be read.
    #[error("MFA_SECRET_ARN {secret}: {reason}")]
    MfaKey {
        /// The secret named.
        secret: String,
        /// Why it could not be used (never its value).
        reason: String,
    },
    /// The identity providers' client secrets could not be read.
    #[error("OIDC_CLIENT_SECRETS_ARN {secret}: {reason}")]
    ProviderSecrets {
        /// The secret named.
        secret: String,
        /// Why it could not be used (never its value).
        reason: String,
    },
    /// The cache user's credentials could not be read.
    #[error("REDIS_AUTH_SECRET_ARN {secret}: {reason}")]
    RedisAuth {
        /// The secret named.
        secret: String,
        /// Why it could not be used (never its value).
        reason: String,
    },
}

/// Where a signing service's keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `SIGNING_SECRET_ARN`: Secrets Manager, reloaded.
    SecretsManager,
    /// `SIGNING_SECRET`: a literal key.
    Literal,
    /// Neither: a ring made for this process alone (`local-api` only; a function refuses to
    /// start without a key).
    Generated,
}

impl Service {
    /// Builds the service as a deployed function does: keys from `SIGNING_SECRET_ARN` (Secrets
    /// Manager, credentials and region from the environment) or else `SIGNING_SECRET`; the Redis
    /// store when `REDIS_URL` is set, the in-memory store otherwise.
    pub async fn from_config(config: Config) -> Result<Self, InitError> {
        if config.signing_secret_arn.is_none() && config.signing_secret.is_none() {
            return Err(KeyError::Missing.into());
        }
        Ok(Self::from_config_or_generated(config).await?.0)
    }

    /// [`Service::from_config`], with a ring generated for this process when no key is
    /// configured (`local-api`, which thus starts as a function does), and where its keys came
    /// from.
    pub async fn from_config_or_generated(config: Config) -> Result<(Self, KeySource), InitError> {
        // One AWS configuration per cold start, shared by the key and the cache user's secret.
        let client = match (
            &config.signing_secret_arn,
            &config.redis_auth_secret_arn,
            &config.mfa_secret_arn,
            &config.oidc_client_secrets_arn,
        ) {
            (None, None, None, None) => None,
            _ => Some(secrets_manager().await),
        };
        let (keys, source) = match (&config.signing_secret_arn, &config.signing_secret, &client) {
            (Some(arn), _, Some(client)) => (
                managed_keys(&config, client.clone(), arn).await?,
                KeySource::SecretsManager,
            ),
            (None, Some(secret), _) => (
                KeyProvider::fixed(KeyRing::from_literal_for(config.signing_algorithm, secret)?),
                KeySource::Literal,
            ),
            _ => (
                KeyProvider::fixed(KeyRing::generated(config.signing_algorithm)),
                KeySource::Generated,
            ),
        };
        let store = connect_configured_store(&config, client.as_ref()).await?;
        let outbox = mail_queue(&config).await;
        let mfa = second_factor_key(&config, client.as_ref()).await?;
        let provider_secrets = provider_secrets(&config, client.as_ref()).await?;
        let mut service = Self::checked(config, keys, store)?
            .with_mail(outbox)
            .with_second_factor(mfa);
        if let Some(secrets) = provider_secrets {
            service = service.with_provider_secrets(&secrets)?;
        }
        Ok((service, source))
    }

    /// Builds the service for a function that verifies tokens and signs none (the authorizers,
    /// logout). With HS256 that takes the secret, as [`Service::from_config`]; with ES256 it
    /// reads only the public keys the signers published in the store, and never the secret
    /// (the template gives it no access to it).
    pub async fn from_config_verifying(config: Config) -> Result<Self, InitError> {
        if !config.signing_algorithm.is_asymmetric() {
            return Self::from_config(config).await;
        }
        let store = connect_configured_store(&config, None).await?;
        Ok(Self::with_published_keys(config, store).await)
    }

    /// Builds the service for a function that neither signs nor verifies tokens (it trusts the
    /// authorizer's verdict, or has no HTTP route): the store as `from_config` connects it, and
    /// a key ring of one random key that nobody else holds — so it can mint nothing anyone
    /// accepts, and it needs no access to the signing secret (least privilege in the template).
    pub async fn from_config_without_keys(config: Config) -> Result<Self, InitError> {
        // One client per cold start, shared by the cache user's secret and the MFA key.
        let client = match (&config.redis_auth_secret_arn, &config.mfa_secret_arn) {
            (None, None) => None,
            _ => Some(secrets_manager().await),
        };
        let store = connect_configured_store(&config, client.as_ref()).await?;
        let outbox = mail_queue(&config).await;
        let mfa = second_factor_key(&config, client.as_ref()).await?;
        Ok(
            Self::checked(config, KeyProvider::fixed(KeyRing::random()), store)?
                .with_mail(outbox)
                .with_second_factor(mfa),
        )
    }

    /// The same service, with the second factor's key (none: its routes answer 404
    /// `not_configured`).
    pub fn with_second_factor(self, key: Option<MfaKey>) -> Self {
        match key {
            Some(k) => self.with_extension(k),
            None => self,
        }
    }

    /// The same service, queueing mail to `outbox` (none: the mailing routes answer 404
    /// `not_configured`).
    pub fn with_mail(self, outbox: Option<MailOutbox>) -> Self {
        match outbox {
            Some(o) => {
                let links = NotMeTokens(Arc::clone(self.store()));
                self.with_extension(o)
                    .with_extension(NotMeLinks(Arc::new(links)))
            }
            None => self,
        }
    }
}

/// The second factor's key: `MFA_SECRET_ARN`'s value (Secrets Manager, through `client`, made
/// by the caller whenever that is set), else `MFA_SECRET`; `None` when neither is set.
async fn second_factor_key(
    config: &Config,
    client: Option<&aws_sdk_secretsmanager::Client>,
) -> Result<Option<MfaKey>, InitError> {
    let (Some(arn), Some(client)) = (&config.mfa_secret_arn, client) else {
        return Ok(config.mfa_secret.clone().map(MfaKey));
    };
    let failed = |reason: String| InitError::MfaKey {
        secret: arn.clone(),
        reason,
    };
    let text = secret_string(client, arn).await.map_err(failed)?;
    if text.len() < crate::kernel::config::MIN_KEY_BYTES {
        return Err(failed(format!(
            "the value must be at least {} bytes",
            crate::kernel::config::MIN_KEY_BYTES
        )));
    }
    Ok(Some(MfaKey(SecretBytes::new(text.as_bytes().to_vec()))))
}

/// `OIDC_CLIENT_SECRETS_ARN`'s value (the providers' client secrets, JSON), when it is set.
async fn provider_secrets(
    config: &Config,
    client: Option<&aws_sdk_secretsmanager::Client>,
) -> Result<Option<String>, InitError> {
    let (Some(arn), Some(client)) = (&config.oidc_client_secrets_arn, client) else {
        return Ok(None);
    };
    secret_string(client, arn)
        .await
        .map(Some)
        .map_err(|reason| InitError::ProviderSecrets {
            secret: arn.clone(),
            reason,
        })
}

/// The SQS outbox of `MAIL_QUEUE_URL`, if set: a client made as the Secrets Manager one is
/// (credentials and region from the environment, `AWS_ENDPOINT_URL` for tests).
async fn mail_queue(config: &Config) -> Option<MailOutbox> {
    let url = config.mail_queue_url.clone()?;
    Some(MailOutbox(Arc::new(SqsOutbox::new(
        sqs_client().await,
        url,
    ))))
}

/// An SQS client ([`aws_sdk_config`]).
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_sdk_config().await)
}

/// The keys of secret `secret_id` (`SIGNING_SECRET_ARN`) for `config`'s algorithm, reloaded
/// after `SIGNING_KEY_CACHE_SECONDS`; `client` is [`secrets_manager_client`]'s, or a test's.
pub async fn managed_keys(
    config: &Config,
    client: aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<KeyProvider, KeyError> {
    KeyProvider::secrets_manager_for(
        config.signing_algorithm,
        client,
        secret_id,
        config.signing_key_cache,
        keys::provider::UNKNOWN_KID_RELOAD_INTERVAL,
    )
    .await
}

/// The Secrets Manager client a deployed function, and `local-api` given `SIGNING_SECRET_ARN`,
/// use (see `secrets_manager` below: credentials and region from the environment).
pub async fn secrets_manager_client() -> aws_sdk_secretsmanager::Client {
    secrets_manager().await
}

/// The AWS configuration every client a function makes shares (Secrets Manager, SQS; SES in the
/// mailer).
///
/// Credentials and region come from the environment alone (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`), which is where Lambda puts them
/// (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-runtime.html), and the endpoint
/// from `AWS_ENDPOINT_URL` when set (the tests' `moto_server`). `aws_config::defaults` would
/// also bring the profile, SSO, web-identity (STS) and instance-metadata providers none of
/// which a function uses: leaving them out keeps each bootstrap under 8 MB (docs/performance.md).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::{
        EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
    };
    use aws_config::meta::region::ProvideRegion;
    use aws_sdk_secretsmanager::config::SharedCredentialsProvider;
    let provider = aws_config::provider_config::ProviderConfig::without_region();
    let mut conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(EnvironmentVariableRegionProvider::new().region().await)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(aws_http_client());
    if let Some(url) =
        aws_config::default_provider::endpoint_url::endpoint_url_provider(&provider).await
    {
        conf = conf.endpoint_url(url);
    }
    conf.build()
}

/// A Secrets Manager client ([`aws_sdk_config`]).
async fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&aws_sdk_config().await)
}

/// The AWS SDK's HTTPS client: hyper with rustls on `ring`, the TLS stack the Redis connection
/// uses too (the SDK's default client would add aws-lc, a second crypto library).
pub fn aws_http_client() -> aws_sdk_secretsmanager::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The store as a deployed function connects it: as the cache user of
/// `REDIS_AUTH_SECRET_ARN` when that is set.
/// `client` is the Secrets Manager client already made, if any.
async fn connect_configured_store(
    config: &Config,
    client: Option<&aws_sdk_secretsmanager::Client>,
) -> Result<Arc<dyn Store>, InitError> {
    let credentials = match (&config.redis_auth_secret_arn, client) {
        (Some(arn), Some(client)) => Some(load_redis_credentials(client, arn).await?),
        (Some(arn), None) => Some(load_redis_credentials(&secrets_manager().await, arn).await?),
        (None, _) => None,
    };
    Ok(connect_store_as(config, credentials.as_ref()).await?)
}

/// Connects the store the configuration names: Redis when `REDIS_URL` is set, else in-memory.
pub async fn connect_store(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    connect_store_as(config, None).await
}

/// `connect_store`, as the cache user `credentials` when given.
pub async fn connect_store_as(
    config: &Config,
    credentials: Option<&RedisCredentials>,
) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match &config.redis_url {
        Some(url) => Arc::new(
            RedisStore::connect(
                url,
                config.redis_cluster,
                credentials,
                config.redis_connect_timeout,
                config.redis_response_timeout,
            )
            .await?
            .with_durability(config.redis_replica_acks, config.redis_replica_ack_timeout)
            .await?,
        ),
        None => Arc::new(MemoryStore::new()),
    };
    tracing::info!(durability = %store.durability(), "session store");
    Ok(store)
}

/// The cache user's credentials from Secrets Manager: JSON `{"username": …, "password": …}`
/// (what `template.yaml`'s generated secret holds).
pub async fn load_redis_credentials(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<RedisCredentials, InitError> {
    #[derive(serde::Deserialize)]
    struct Stored {
        username: String,
        password: String,
    }
    let failed = |reason: String| InitError::RedisAuth {
        secret: secret_id.to_string(),
        reason,
    };
    let text = secret_string(client, secret_id).await.map_err(failed)?;
    let stored: Stored = serde_json::from_str(&text)
        .map_err(|_| failed("the value is not JSON {\"username\", \"password\"}".into()))?;
    Ok(RedisCredentials {
        username: stored.username,
        password: stored.password,
    })
}

/// The current string value of secret `secret_id`, or why there is none (never the value).
async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<String, String> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string())?;
    out.secret_string()
        .map(str::to_string)
        .ok_or_else(|| "the secret has no string value".to_string())
}
