//! Every setting, declared once: its variable, default, what it means (README's configuration
//! table is made from these), and where `template.yaml` sets it. `Config::from_lookup` reads
//! each through [`SETTINGS`]' default, and tests hold README and the template to this table.

/// Where the deployed stack (`template.yaml`) sets a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// From a parameter of this name, listed under the parameter group `group`.
    Parameter {
        /// The parameter.
        name: &'static str,
        /// Its `ParameterGroups` label.
        group: &'static str,
    },
    /// From something else than one parameter, for the reason given.
    Set(&'static str),
}

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable.
    pub name: &'static str,
    /// Its default as the environment would spell it; `None`: unset.
    pub default: Option<&'static str>,
    /// Where the template sets it.
    pub template: Template,
    /// What it means (README's "meaning" cell).
    pub doc: &'static str,
}

/// Every setting `Config` reads.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "REDIS_URL",
        default: None,
        template: Template::Set("the created cache's endpoint, or ExistingRedisUrl"),
        doc: "unset = embedded in-memory store (local only); `redis://` or `rediss://` (TLS, certificates checked against the system's CA store); with `REDIS_CLUSTER`, several seed nodes, comma-separated",
    },
    Setting {
        name: "REDIS_CLUSTER",
        default: Some("false"),
        template: Template::Set("true for the created cache, or ExistingRedisIsCluster"),
        doc: "`true` for a Redis Cluster (ElastiCache Serverless is one): a cluster client that follows slot redirections",
    },
    Setting {
        name: "REDIS_CONNECT_TIMEOUT_MS",
        default: Some("1000"),
        template: Template::Parameter {
            name: "RedisConnectTimeoutMs",
            group: "Network",
        },
        doc: "a connection that takes longer fails (503, or a deny)",
    },
    Setting {
        name: "REDIS_RESPONSE_TIMEOUT_MS",
        default: Some("1000"),
        template: Template::Parameter {
            name: "RedisResponseTimeoutMs",
            group: "Network",
        },
        doc: "a store call that takes longer fails (503, or a deny)",
    },
    Setting {
        name: "REDIS_REPLICA_ACKS",
        default: Some("auto"),
        template: Template::Parameter {
            name: "RedisReplicaAcks",
            group: "Network",
        },
        doc: "replicas that must confirm each write (Redis `WAIT`) before it is acknowledged, else 503 with `Retry-After`; `auto`: one where every master has a replica at start, none on a store without replicas; `0`: never wait; a count above what the store has refuses to start. See docs/durability.md",
    },
    Setting {
        name: "REDIS_REPLICA_ACK_TIMEOUT_MS",
        default: Some("500"),
        template: Template::Parameter {
            name: "RedisReplicaAckTimeoutMs",
            group: "Network",
        },
        doc: "how long a write waits for them (`WAIT`) before it answers 503; when left unset under a `REDIS_RESPONSE_TIMEOUT_MS` of 500 or less, half of that; set explicitly, it must be shorter",
    },
    Setting {
        name: "SIGNING_ALGORITHM",
        default: Some("ES256"),
        template: Template::Parameter {
            name: "SigningAlgorithm",
            group: "Tokens and sessions",
        },
        doc: "`ES256`: keys derived from the secret, public halves published (`/.well-known/jwks.json`); only signers hold the secret. `HS256`: the secret is the HMAC key, every verifier holds it (stacks from before ES256). Unset with a literal `SIGNING_SECRET` alone, it is `HS256`, as before",
    },
    Setting {
        name: "SIGNING_SECRET_ARN",
        default: None,
        template: Template::Set("the stack's own secret"),
        doc: "Secrets Manager secret holding the signing key (deployed); wins over `SIGNING_SECRET`",
    },
    Setting {
        name: "SIGNING_KEY_CACHE_SECONDS",
        default: Some("300"),
        template: Template::Parameter {
            name: "SigningKeyCacheSeconds",
            group: "Tokens and sessions",
        },
        doc: "how long loaded keys are used before a background reload",
    },
    Setting {
        name: "SIGNING_SECRET",
        default: None,
        template: Template::Set("local runs and tests only; deployed keys come from the secret"),
        doc: "a literal key for local runs and tests; refused if shorter than 32 bytes",
    },
    Setting {
        name: "ACCESS_TOKEN_TTL_SECONDS",
        default: Some("900"),
        template: Template::Parameter {
            name: "AccessTokenTtlSeconds",
            group: "Tokens and sessions",
        },
        doc: "access-token lifetime",
    },
    Setting {
        name: "REFRESH_TOKEN_TTL_SECONDS",
        default: Some("2592000"),
        template: Template::Parameter {
            name: "RefreshTokenTtlSeconds",
            group: "Tokens and sessions",
        },
        doc: "(30 d) idle lifetime of a session; each refresh slides it",
    },
    Setting {
        name: "SESSION_MAX_AGE_SECONDS",
        default: Some("7776000"),
        template: Template::Parameter {
            name: "SessionMaxAgeSeconds",
            group: "Tokens and sessions",
        },
        doc: "(90 d) absolute lifetime of a session",
    },
    Setting {
        name: "REFRESH_REUSE_GRACE_SECONDS",
        default: Some("10"),
        template: Template::Parameter {
            name: "RefreshReuseGraceSeconds",
            group: "Tokens and sessions",
        },
        doc: "window in which a just-rotated token still gets its successor: at least this many seconds, counted in whole seconds (0 turns it off)",
    },
    Setting {
        name: "TOKEN_ISSUER",
        default: Some("passport"),
        template: Template::Parameter {
            name: "TokenIssuer",
            group: "Tokens and sessions",
        },
        doc: "the `iss` claim",
    },
    Setting {
        name: "PUBLIC_BASE_URL",
        default: None,
        template: Template::Parameter {
            name: "PublicBaseUrl",
            group: "Tokens and sessions",
        },
        doc: "the `https://` URL clients reach this API at, with any path prefix (`https://auth.example.com`): the discovery document's `jwks_uri` when `TOKEN_ISSUER` is not a URL. Never taken from a request's `Host`: unset, and with an issuer that is not a URL, `/.well-known/openid-configuration` answers 404 `not_configured`",
    },
    Setting {
        name: "TOKEN_AUDIENCE",
        default: None,
        template: Template::Parameter {
            name: "TokenAudience",
            group: "Tokens and sessions",
        },
        doc: "the `aud` claim (none when unset)",
    },
    Setting {
        name: "LOGIN_MAX_FAILURES",
        default: Some("5"),
        template: Template::Parameter {
            name: "LoginMaxFailures",
            group: "Login limits",
        },
        doc: "login attempts per account and source address within the window before that address is locked out of that account",
    },
    Setting {
        name: "LOGIN_LOCKOUT_SECONDS",
        default: Some("900"),
        template: Template::Parameter {
            name: "LoginLockoutSeconds",
            group: "Login limits",
        },
        doc: "the window failed logins are counted in",
    },
    Setting {
        name: "LOGIN_IP_MAX_FAILURES",
        default: Some("50"),
        template: Template::Parameter {
            name: "LoginIpMaxFailures",
            group: "Login limits",
        },
        doc: "failed logins per source IP within the same window; a refused address counts against no account",
    },
    Setting {
        name: "LOGIN_ACCOUNT_MAX_FAILURES",
        default: Some("100"),
        template: Template::Parameter {
            name: "LoginAccountMaxFailures",
            group: "Login limits",
        },
        doc: "login attempts per account from all addresses within the window: the loose limit only a distributed attack reaches",
    },
    Setting {
        name: "MAX_SESSIONS_PER_ACCOUNT",
        default: Some("100"),
        template: Template::Parameter {
            name: "MaxSessionsPerAccount",
            group: "Login limits",
        },
        doc: "a login beyond it ends the account's least recently used session",
    },
    Setting {
        name: "ALLOWED_ORIGINS",
        default: None,
        template: Template::Parameter {
            name: "AllowedOrigins",
            group: "API",
        },
        doc: "exact origins (`https://app.example.com`, comma-separated, no wildcard) whose pages may call the API with credentials (CORS) and pass the cookie transport's CSRF check; unset: same-origin only. Plain `http://` is refused at start except on loopback",
    },
    Setting {
        name: "REDIS_AUTH_SECRET_ARN",
        default: None,
        template: Template::Set("the created cache's user secret"),
        doc: "a Secrets Manager secret `{\"username\", \"password\"}`: the cache user the function connects as (the stack creates one per function, with a generated password, for its cache)",
    },
    Setting {
        name: "COOKIE_NAME_SUFFIX",
        default: None,
        template: Template::Parameter {
            name: "CookieNameSuffix",
            group: "API",
        },
        doc: "appended to the session cookie's name (`__Host-passport_refresh<suffix>`; up to 32 of `A-Z a-z 0-9 - _`), so two deployments on one host never share it; `local-api` sets `_<port>`",
    },
    Setting {
        name: "COOKIE_PATH_PREFIX",
        default: None,
        template: Template::Parameter {
            name: "CookiePathPrefix",
            group: "API",
        },
        doc: "the base path the API is served under (`/auth`, a REST stage); the cookie is then `__Secure-passport_refresh<suffix>` on that path",
    },
    Setting {
        name: "PASSPORT_RETENTION_SECONDS",
        default: Some("2592000"),
        template: Template::Parameter {
            name: "PassportRetentionSeconds",
            group: "Web-app passports",
        },
        doc: "(30 d) how long after its expiry a web-app passport still renews into one for the same end user (its session record lives that long); then the visitor is a new end user",
    },
    Setting {
        name: "PASSPORT_IP_MAX_PER_HOUR",
        default: Some("60"),
        template: Template::Parameter {
            name: "PassportIpMaxPerHour",
            group: "Web-app passports",
        },
        doc: "new anonymous end users (passports to public apps that keep no identity) per source address per hour; beyond it `POST /passport` answers 429 `rate_limited`",
    },
    Setting {
        name: "PASSPORT_NETWORK_MAX_PER_HOUR",
        default: Some("600"),
        template: Template::Parameter {
            name: "PassportNetworkMaxPerHour",
            group: "Web-app passports",
        },
        doc: "new anonymous end users per IPv6 /48 per hour (one attacker's allocation holds 65,536 /64s); beyond it 429 `rate_limited`",
    },
    Setting {
        name: "PASSPORT_APP_MAX_PER_HOUR",
        default: Some("3600"),
        template: Template::Parameter {
            name: "PassportAppMaxPerHour",
            group: "Web-app passports",
        },
        doc: "new anonymous end users per public app per hour, from everywhere: the bound on what visitors can make the store keep (docs/scale.md); beyond it 429 `rate_limited` for new visitors, while renewals go on",
    },
    Setting {
        name: "TRUSTED_ORIGIN_SECRET",
        default: None,
        template: Template::Parameter {
            name: "TrustedOriginSecret",
            group: "Login limits",
        },
        doc: "behind the deployment's CloudFront: the `X-Passport-Origin-Secret` value its origin adds (at least 32 bytes); a request carrying it is counted by `CloudFront-Viewer-Address` in per-address limits (docs/deploy.md, \"Behind CloudFront\")",
    },
    Setting {
        name: "IPV6_LIMIT_PREFIX",
        default: Some("64"),
        template: Template::Parameter {
            name: "Ipv6LimitPrefix",
            group: "Login limits",
        },
        doc: "per-address limits (failed logins, new anonymous visitors) count an IPv6 client by this many leading bits of its address",
    },
    Setting {
        name: "PRIVATE_PASSPORTS_PER_APP",
        default: Some("5"),
        template: Template::Parameter {
            name: "PrivatePassportsPerApp",
            group: "Web-app passports",
        },
        doc: "live passport sessions one account keeps in one private app; a new one ends the oldest beyond it",
    },
    Setting {
        name: "PRIVATE_PASSPORT_MAX_TTL_SECONDS",
        default: Some("86400"),
        template: Template::Parameter {
            name: "PrivatePassportMaxTtlSeconds",
            group: "Web-app passports",
        },
        doc: "(1 d) the longest a private app's passport lives, whatever the app's `passport_ttl` (up to 30 d); renewing needs a live account session",
    },
    Setting {
        name: "REAUTH_MAX_AGE_SECONDS",
        default: Some("600"),
        template: Template::Parameter {
            name: "ReauthMaxAgeSeconds",
            group: "Passkeys and recent authentication",
        },
        doc: "(10 min) the routes that need a recent authentication (see Routes) answer 403 `reauthentication_required` when the session's last sign-in or `POST /reauthenticate` is older",
    },
    Setting {
        name: "PASSKEY_ORIGINS",
        default: None,
        template: Template::Parameter {
            name: "PasskeyOrigins",
            group: "Passkeys and recent authentication",
        },
        doc: "origins of the pages where passkeys are registered and used (unset: those of `ALLOWED_ORIGINS` within the first one's relying-party id); none turns passkeys off (404 `passkeys_disabled`). `local-api` uses `http://localhost:<port>` unless set",
    },
    Setting {
        name: "PASSKEY_RP_ID",
        default: None,
        template: Template::Parameter {
            name: "PasskeyRpId",
            group: "Passkeys and recent authentication",
        },
        doc: "the WebAuthn relying-party id (unset: the first passkey origin's host): a registrable suffix of every passkey origin's host (never an IP address), checked at start",
    },
    Setting {
        name: "DBSC_BINDING",
        default: Some("offered"),
        template: Template::Parameter {
            name: "DbscBinding",
            group: "Device-bound sessions (DBSC)",
        },
        doc: "Device Bound Session Credentials for the cookie transport: `offered` (each cookie login offers binding; a browser without DBSC keeps the plain cookie), `required` (a session bound once refreshes only with its live bound cookie), `off` (docs/browser.md, \"Device-bound sessions\")",
    },
    Setting {
        name: "DBSC_COOKIE_SECONDS",
        default: Some("600"),
        template: Template::Parameter {
            name: "DbscCookieSeconds",
            group: "Device-bound sessions (DBSC)",
        },
        doc: "(10 min) the device-bound cookie's lifetime; the browser renews it with a proof signed by its device key",
    },
    Setting {
        name: "SIGNUP",
        default: Some("open"),
        template: Template::Parameter {
            name: "Signup",
            group: "Accounts and mail",
        },
        doc: "`open`: anyone may create an account with `POST /signup` (a verification mail follows); `off`: accounts are made by operators only (403 `signup_closed`)",
    },
    Setting {
        name: "REQUIRE_VERIFIED_EMAIL",
        default: Some("true"),
        template: Template::Parameter {
            name: "RequireVerifiedEmail",
            group: "Accounts and mail",
        },
        doc: "`true`: an account whose email is not verified cannot sign in (403 `email_not_verified`, after the password checked); operators' accounts count as verified",
    },
    Setting {
        name: "APP_URL",
        default: None,
        template: Template::Parameter {
            name: "AppUrl",
            group: "Accounts and mail",
        },
        doc: "the page mailed links open (`https://app.example.com/account/`): a link is this URL with `#verify=`, `#reset=` or `#email=` and the token (a fragment: never sent to a server, and the page asks before it POSTs). Unset: `PUBLIC_BASE_URL` + `/app/`",
    },
    Setting {
        name: "MAIL_QUEUE_URL",
        default: None,
        template: Template::Set("the created mail queue's URL"),
        doc: "the SQS queue mail-sending routes enqueue to (the `mailer` function sends through SES). Unset on AWS: those routes answer 404 `not_configured`; `local-api` sends in-process instead",
    },
    Setting {
        name: "MAIL_FROM",
        default: None,
        template: Template::Parameter {
            name: "MailFrom",
            group: "Accounts and mail",
        },
        doc: "the sender of every mail (`Passport <no-reply@example.com>`): an SES verified identity on AWS; required by the `mailer`",
    },
    Setting {
        name: "SMTP_URL",
        default: None,
        template: Template::Set("local-api only: deployed mail goes through SES"),
        doc: "`local-api` only: send mail through this SMTP server (`smtp://host:port`, `smtps://user:pass@host`); unset, each mail is printed in the terminal",
    },
    Setting {
        name: "MAIL_MAX_PER_EMAIL_PER_HOUR",
        default: Some("5"),
        template: Template::Parameter {
            name: "MailMaxPerEmailPerHour",
            group: "Accounts and mail",
        },
        doc: "mail-sending requests (sign-up, resend, forgot, email code, email change) per address mailed per hour, counted whether or not an account has it; beyond it 429 `rate_limited`",
    },
    Setting {
        name: "MAIL_MAX_PER_CLIENT_PER_HOUR",
        default: Some("30"),
        template: Template::Parameter {
            name: "MailMaxPerClientPerHour",
            group: "Accounts and mail",
        },
        doc: "mail-sending requests per client address (an IPv6 client by its `IPV6_LIMIT_PREFIX`) per hour; beyond it 429 `rate_limited`",
    },
    Setting {
        name: "CEREMONIES_MAX_PER_CLIENT",
        default: Some("300"),
        template: Template::Parameter {
            name: "CeremoniesMaxPerClient",
            group: "Accounts and mail",
        },
        doc: "ceremonies one client address (an IPv6 client by its `IPV6_LIMIT_PREFIX`) may start per 10 minutes — passkey sign-in and registration options, \"Sign in with …\" starts — each of which the store keeps for up to 10 minutes; beyond it 429 `rate_limited`",
    },
    Setting {
        name: "MFA_SECRET_ARN",
        default: None,
        template: Template::Set(
            "the created second-factor secret, for `login` and `sessions` only",
        ),
        doc: "the Secrets Manager secret (a string of at least 32 bytes, never rotated) from which each account's authenticator-app secret is derived: the store keeps only a random salt, so a copy of the cache alone yields no TOTP secret. Unset (and no `MFA_SECRET`): the second-factor routes answer 404 `not_configured`",
    },
    Setting {
        name: "MFA_SECRET",
        default: None,
        template: Template::Set(
            "local runs and tests only; deployed, the key comes from the secret",
        ),
        doc: "a literal second-factor key for local runs and tests (at least 32 bytes); `local-api` makes one for its process when neither is set",
    },
    Setting {
        name: "TOTP_ISSUER",
        default: Some("Passport"),
        template: Template::Parameter {
            name: "TotpIssuer",
            group: "Second factor",
        },
        doc: "the name an authenticator app shows beside the account (the `otpauth://` URI's issuer; no colon)",
    },
    Setting {
        name: "MFA",
        default: Some("optional"),
        template: Template::Parameter {
            name: "Mfa",
            group: "Second factor",
        },
        doc: "`optional`: an account may set up an authenticator app; `required`: a session that proved one factor only (`aal1`) may reach nothing behind the authorizer but setting up a second factor (an authenticator app or a passkey), `/me`, its sessions and reauthentication (403 `mfa_enrolment_required`); APIs of your own check `acr` or sit behind the aal2 authorizer",
    },
    Setting {
        name: "OIDC_PROVIDERS",
        default: None,
        template: Template::Parameter {
            name: "OidcProviders",
            group: "Sign in with an identity provider",
        },
        doc: "the OpenID Providers of \"Sign in with …\", as JSON: `[{\"name\": \"google\", \"client_id\": \"…\"}, {\"name\": \"microsoft\", \"tenant\": \"<tenant id>\", \"client_id\": \"…\"}, {\"name\": \"corp\", \"issuer\": \"https://idp.example.com\", \"client_id\": \"…\", \"label\": \"Corp SSO\"}]` (`google` and `microsoft` are presets for their issuers; any other name needs its `issuer`, found by discovery). Each provider's redirect URI is `PUBLIC_BASE_URL/oauth/<name>/callback`. Unset: the `/oauth` routes answer 404 `not_configured`",
    },
    Setting {
        name: "OIDC_CLIENT_SECRETS_ARN",
        default: None,
        template: Template::Set(
            "the created identity-provider secret, for `signup` only (fill in its value)",
        ),
        doc: "the Secrets Manager secret holding each provider's client secret, as JSON (`{\"google\": \"…\"}`); read once per cold start, never in the environment",
    },
    Setting {
        name: "OIDC_CLIENT_SECRETS",
        default: None,
        template: Template::Set(
            "local runs and tests only; deployed, the secrets come from the secret",
        ),
        doc: "the providers' client secrets as literal JSON, for local runs and tests",
    },
    Setting {
        name: "OIDC_RETURN_TO",
        default: None,
        template: Template::Parameter {
            name: "OidcReturnTo",
            group: "Sign in with an identity provider",
        },
        doc: "where a federated sign-in may send the browser back to, comma-separated exact URLs (no query or fragment) beside the page (`APP_URL`, else `PUBLIC_BASE_URL/app/`); any other `return_to` is refused (no open redirect)",
    },
    Setting {
        name: "AUTHORIZER_REQUIRED_ACR",
        default: Some("aal1"),
        template: Template::Set(
            "`aal2` on the AAL2 authorizer (`Aal2Authorizer=true`); the default elsewhere",
        ),
        doc: "the lowest assurance level the account authorizer lets through: `aal1` (any live session) or `aal2` (two factors: a second factor after a password or mailed code, or a passkey with user verification); a token below it is denied (403)",
    },
];

/// The setting named `name`.
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// README's configuration table, made from [`SETTINGS`] (with `RUST_LOG`, which the log
/// subscriber reads): what README must show, word for word.
pub fn readme_table() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for s in SETTINGS {
        let default = s
            .default
            .map_or_else(|| "unset".to_string(), |d| format!("`{d}`"));
        out.push_str(&format!("| `{}` | {default} | {} |\n", s.name, s.doc));
    }
    out.push_str(
        "| `RUST_LOG` | `info` | log filter (`tracing`; read by the log subscriber, not by \
         `Config`) |\n",
    );
    out
}
