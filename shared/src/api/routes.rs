//! The route table: every route of the HTTP API, declared once.
//!
//! Routing ([`route`], in `routing.rs`), the guard in front of each route ([`Guard`], [`AUTHORIZERS`]), which Lambda
//! function serves a route ([`RouteSpec::function`]), `local-api`'s start-up banner and the
//! deployment checks against `template.yaml` and `openapi.yaml` all read [`ROUTES`]. Adding a
//! route to a feature is its handler in the feature's folder and a row here; the other places
//! it touches are listed in ARCHITECTURE.md and checked by `functions/lambda/tests/deployment.rs`.

use crate::activity;
use crate::dbsc;
use crate::discovery;
use crate::email;
use crate::federation;
use crate::kernel::authentication::RecentAuth;
use crate::mfa;
use crate::passkeys;
use crate::passports;
use crate::recent_auth;
use crate::sessions;
use http::Method;

pub use super::routing::{NoRoute, Route, route};

/// What runs for a route: a feature's route, which that feature's `http::serve` answers. The
/// route's [`Guard`] (the row's) is checked against the authorizer's verdict before the
/// feature's handler runs, and each handler takes the caller its guard establishes
/// (`kernel::http::Call::caller`, `visitor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Handler {
    /// Sign-in with a password, refresh, logout, the session list, `/me`, the password change.
    Sessions(sessions::Route),
    /// Passkeys: sign-in, registration, the list, removal.
    Passkeys(passkeys::Route),
    /// Device Bound Session Credentials: registration and renewal of the bound cookie.
    Dbsc(dbsc::Route),
    /// Web-app passports.
    Passports(passports::Route),
    /// `POST /reauthenticate`.
    RecentAuth(recent_auth::Route),
    /// The published keys and the discovery document.
    Discovery(discovery::Route),
    /// Sign-up, verification, reset, email-code sign-in and email change: what mail proves.
    Email(email::Route),
    /// The second factor: the sign-in's second step, setting up an authenticator app, the
    /// recovery codes.
    Mfa(mfa::Route),
    /// The account's security history.
    Activity(activity::Route),
    /// Sign-in with an identity provider (OpenID Connect), and connecting providers.
    Federation(federation::Route),
}

/// What a handler does with the signing keys, which decides what its function may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyUse {
    /// Nothing (it trusts an authorizer's verdict, or reads the published public keys).
    None,
    /// Verifies tokens: with HS256 it holds the secret, with ES256 only public keys.
    Verify,
    /// Signs tokens: it holds the secret.
    Sign,
}

impl Handler {
    /// What it does with the signing keys.
    pub fn key_use(self) -> KeyUse {
        match self {
            Handler::Sessions(sessions::Route::Login | sessions::Route::Refresh)
            | Handler::Passkeys(passkeys::Route::Login)
            | Handler::Email(email::Route::SignInWithCode)
            | Handler::Mfa(mfa::Route::SignIn)
            | Handler::Federation(federation::Route::Token)
            | Handler::Passports(passports::Route::Issue) => KeyUse::Sign,
            Handler::Sessions(sessions::Route::Logout)
            | Handler::Passports(passports::Route::End) => KeyUse::Verify,
            Handler::Sessions(_)
            | Handler::Passkeys(_)
            | Handler::Dbsc(_)
            | Handler::Passports(_)
            | Handler::RecentAuth(_)
            | Handler::Discovery(_)
            | Handler::Email(_)
            | Handler::Mfa(_)
            | Handler::Activity(_)
            | Handler::Federation(_) => KeyUse::None,
        }
    }
}

impl Handler {
    /// Whether a session that proved one factor (`aal1`) may use it when `MFA=required`: what
    /// sets a second factor up (an authenticator app, a passkey), who it is, its sessions, and
    /// proving itself again.
    pub fn open_to_one_factor(self) -> bool {
        matches!(
            self,
            Handler::Mfa(_)
                | Handler::Activity(_)
                | Handler::Passkeys(_)
                | Handler::RecentAuth(_)
                | Handler::Discovery(_)
                | Handler::Sessions(
                    sessions::Route::Me
                        | sessions::Route::ListSessions
                        | sessions::Route::RevokeSession
                        | sessions::Route::Logout
                )
        )
    }
}

/// What stands in front of a route's handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guard {
    /// Nothing: the handler checks whatever credential the route takes (`Auth: NONE` in
    /// `template.yaml`).
    Open,
    /// The Lambda authorizer, run by API Gateway (and by `local-api` the same way); the
    /// handler gets its verdict in the request context.
    Authorizer,
    /// The app authorizer (`app-authorizer`): a live passport for the app `X-App-Code` names,
    /// never an account's access token. The routes of shared web apps.
    AppAuthorizer,
}

/// One route of the HTTP API.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// The HTTP method.
    pub method: Method,
    /// The path, `{name}` standing for one path segment (as in `template.yaml` and OpenAPI).
    pub path: &'static str,
    /// What runs.
    pub handler: Handler,
    /// What runs first.
    pub guard: Guard,
    /// Whether it needs a recent authentication.
    pub recent_auth: RecentAuth,
    /// The package (and `bootstrap` binary) of the Lambda function that serves it.
    pub function: &'static str,
    /// Its `operationId` in `openapi.yaml`.
    pub operation_id: &'static str,
    /// One line saying what it does (the banner of `local-api`).
    pub summary: &'static str,
}

/// Every route of the HTTP API.
pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: Method::POST,
        path: "/login",
        handler: Handler::Sessions(sessions::Route::Login),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "login",
        summary: "email and password for a token pair",
    },
    RouteSpec {
        method: Method::POST,
        path: "/refresh-token",
        handler: Handler::Sessions(sessions::Route::Refresh),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "refresh",
        operation_id: "refresh",
        summary: "a refresh token for a new pair",
    },
    RouteSpec {
        method: Method::POST,
        path: "/logout",
        handler: Handler::Sessions(sessions::Route::Logout),
        guard: Guard::Open,
        recent_auth: RecentAuth::ToEndOthers,
        function: "logout",
        operation_id: "logout",
        summary: "end this session, or all with {\"all\": true}",
    },
    RouteSpec {
        method: Method::GET,
        path: "/sessions",
        handler: Handler::Sessions(sessions::Route::ListSessions),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "listSessions",
        summary: "the caller's live sessions",
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/sessions/{id}",
        handler: Handler::Sessions(sessions::Route::RevokeSession),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::ToEndOthers,
        function: "sessions",
        operation_id: "revokeSession",
        summary: "end one of the caller's sessions",
    },
    RouteSpec {
        method: Method::GET,
        path: "/me",
        handler: Handler::Sessions(sessions::Route::Me),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "me",
        summary: "the caller's identity",
    },
    RouteSpec {
        method: Method::POST,
        path: "/password",
        handler: Handler::Sessions(sessions::Route::ChangePassword),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Yes,
        function: "sessions",
        operation_id: "changePassword",
        summary: "change the password; every other session ends",
    },
    RouteSpec {
        method: Method::POST,
        path: "/passport",
        handler: Handler::Passports(passports::Route::Issue),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "passports",
        operation_id: "issuePassport",
        summary: "a passport to the shared app of X-App-Code",
    },
    RouteSpec {
        method: Method::POST,
        path: "/passport/logout",
        handler: Handler::Passports(passports::Route::End),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "passports",
        operation_id: "endPassport",
        summary: "end a passport's session",
    },
    RouteSpec {
        method: Method::GET,
        path: "/apps/me",
        handler: Handler::Passports(passports::Route::AppMe),
        guard: Guard::AppAuthorizer,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "appMe",
        summary: "a shared app's demo route: the passport's context",
    },
    RouteSpec {
        method: Method::GET,
        path: "/.well-known/jwks.json",
        handler: Handler::Discovery(discovery::Route::Jwks),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "jwks",
        summary: "the public keys that verify access tokens (ES256)",
    },
    RouteSpec {
        method: Method::GET,
        path: "/.well-known/openid-configuration",
        handler: Handler::Discovery(discovery::Route::OpenIdConfiguration),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "openidConfiguration",
        summary: "the issuer and where its public keys are",
    },
    RouteSpec {
        method: Method::POST,
        path: "/login/passkey/options",
        handler: Handler::Passkeys(passkeys::Route::LoginOptions),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "passkeyLoginOptions",
        summary: "a passkey sign-in's challenge",
    },
    RouteSpec {
        method: Method::POST,
        path: "/login/passkey",
        handler: Handler::Passkeys(passkeys::Route::Login),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "passkeyLogin",
        summary: "a passkey assertion for a token pair",
    },
    RouteSpec {
        method: Method::POST,
        path: "/reauthenticate",
        handler: Handler::RecentAuth(recent_auth::Route::Reauthenticate),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "reauthenticate",
        summary: "prove it is you again (password, with a second-factor code if set up; or passkey)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/passkeys/registration/options",
        handler: Handler::Passkeys(passkeys::Route::RegistrationOptions),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Reauthenticated,
        function: "sessions",
        operation_id: "passkeyRegistrationOptions",
        summary: "a passkey registration's challenge",
    },
    RouteSpec {
        method: Method::POST,
        path: "/passkeys",
        handler: Handler::Passkeys(passkeys::Route::Register),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Reauthenticated,
        function: "sessions",
        operation_id: "registerPasskey",
        summary: "register the browser's new passkey",
    },
    RouteSpec {
        method: Method::GET,
        path: "/passkeys",
        handler: Handler::Passkeys(passkeys::Route::List),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "listPasskeys",
        summary: "the caller's passkeys",
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/passkeys/{id}",
        handler: Handler::Passkeys(passkeys::Route::Remove),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Yes,
        function: "sessions",
        operation_id: "removePasskey",
        summary: "remove one of the caller's passkeys",
    },
    RouteSpec {
        method: Method::POST,
        path: "/dbsc/register",
        handler: Handler::Dbsc(dbsc::Route::Register),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "refresh",
        operation_id: "dbscRegister",
        summary: "bind a cookie session to the browser's device key (DBSC)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/dbsc/refresh",
        handler: Handler::Dbsc(dbsc::Route::Refresh),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "refresh",
        operation_id: "dbscRefresh",
        summary: "renew the device-bound cookie with a proof of the device key (DBSC)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/signup",
        handler: Handler::Email(email::Route::SignUp),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "signup",
        operation_id: "signUp",
        summary: "a new account and a verification mail (202 either way)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/email/verify",
        handler: Handler::Email(email::Route::Verify),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "verifyEmail",
        summary: "a verification link's token: the address is verified",
    },
    RouteSpec {
        method: Method::POST,
        path: "/email/verify/resend",
        handler: Handler::Email(email::Route::ResendVerification),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "resendVerification",
        summary: "another verification mail (202 either way)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/password/forgot",
        handler: Handler::Email(email::Route::ForgotPassword),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "forgotPassword",
        summary: "a password reset mail (202 either way)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/password/reset",
        handler: Handler::Email(email::Route::ResetPassword),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "resetPassword",
        summary: "a reset link's token and a new password; every session ends",
    },
    RouteSpec {
        method: Method::POST,
        path: "/login/email-code",
        handler: Handler::Email(email::Route::RequestCode),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "requestEmailCode",
        summary: "a sign-in code by mail (202 either way)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/login/email-code/verify",
        handler: Handler::Email(email::Route::SignInWithCode),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "signInWithEmailCode",
        summary: "email and mailed code for a token pair",
    },
    RouteSpec {
        method: Method::POST,
        path: "/login/mfa",
        handler: Handler::Mfa(mfa::Route::SignIn),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "signInSecondFactor",
        summary: "a sign-in's challenge and a second-factor code for a token pair",
    },
    RouteSpec {
        method: Method::GET,
        path: "/mfa",
        handler: Handler::Mfa(mfa::Route::Status),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "secondFactor",
        summary: "the caller's second factor: an authenticator app, recovery codes left",
    },
    RouteSpec {
        method: Method::POST,
        path: "/mfa/totp",
        handler: Handler::Mfa(mfa::Route::BeginTotp),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Yes,
        function: "sessions",
        operation_id: "beginTotp",
        summary: "a new authenticator-app secret (QR code), pending until a code confirms it",
    },
    RouteSpec {
        method: Method::POST,
        path: "/mfa/totp/confirm",
        handler: Handler::Mfa(mfa::Route::ConfirmTotp),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Yes,
        function: "sessions",
        operation_id: "confirmTotp",
        summary: "the app's first code: the second factor is on; ten recovery codes, shown once",
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/mfa/totp",
        handler: Handler::Mfa(mfa::Route::RemoveTotp),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Yes,
        function: "sessions",
        operation_id: "removeTotp",
        summary: "remove the authenticator app and its recovery codes (two factors, recently)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/mfa/recovery-codes",
        handler: Handler::Mfa(mfa::Route::RecoveryCodes),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Yes,
        function: "sessions",
        operation_id: "replaceRecoveryCodes",
        summary: "a new set of recovery codes, the old void (two factors, recently)",
    },
    RouteSpec {
        method: Method::GET,
        path: "/activity",
        handler: Handler::Activity(activity::Route::List),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::No,
        function: "sessions",
        operation_id: "activity",
        summary: "the caller's security history, newest first (`before`, `limit`)",
    },
    RouteSpec {
        method: Method::GET,
        path: "/oauth/providers",
        handler: Handler::Federation(federation::Route::Providers),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "signup",
        operation_id: "oauthProviders",
        summary: "the identity providers configured for \"Sign in with …\"",
    },
    RouteSpec {
        method: Method::GET,
        path: "/oauth/{provider}/start",
        handler: Handler::Federation(federation::Route::Start),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "signup",
        operation_id: "oauthStart",
        summary: "to the provider's sign-in (`return_to`; `link` with a ticket connects it instead)",
    },
    RouteSpec {
        method: Method::GET,
        path: "/oauth/{provider}/callback",
        handler: Handler::Federation(federation::Route::Callback),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "signup",
        operation_id: "oauthCallback",
        summary: "the provider's answer: back to the page with a one-time code",
    },
    RouteSpec {
        method: Method::POST,
        path: "/oauth/token",
        handler: Handler::Federation(federation::Route::Token),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "signup",
        operation_id: "oauthToken",
        summary: "a federated sign-in's one-time code for a token pair",
    },
    RouteSpec {
        method: Method::GET,
        path: "/oauth/links",
        handler: Handler::Federation(federation::Route::Links),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::No,
        function: "signup",
        operation_id: "oauthLinks",
        summary: "the caller's connected identity providers",
    },
    RouteSpec {
        method: Method::POST,
        path: "/oauth/{provider}/link",
        handler: Handler::Federation(federation::Route::LinkTicket),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Yes,
        function: "signup",
        operation_id: "oauthLink",
        summary: "a ticket to connect a provider to the caller's account",
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/oauth/links/{provider}",
        handler: Handler::Federation(federation::Route::Unlink),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Yes,
        function: "signup",
        operation_id: "oauthUnlink",
        summary: "disconnect a provider, ending the sessions it started",
    },
    RouteSpec {
        method: Method::POST,
        path: "/email/not-me",
        handler: Handler::Email(email::Route::NotMe),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "login",
        operation_id: "notMe",
        summary: "a notice's \"this wasn't me\" token: every session of its account ends",
    },
    RouteSpec {
        method: Method::POST,
        path: "/email",
        handler: Handler::Email(email::Route::ChangeEmail),
        guard: Guard::Authorizer,
        recent_auth: RecentAuth::Reauthenticated,
        function: "sessions",
        operation_id: "changeEmail",
        summary: "move the account to another address (a confirmation mail)",
    },
    RouteSpec {
        method: Method::POST,
        path: "/email/confirm",
        handler: Handler::Email(email::Route::ConfirmEmail),
        guard: Guard::Open,
        recent_auth: RecentAuth::No,
        function: "signup",
        operation_id: "confirmEmail",
        summary: "a confirmation link's token: the account moves to its address",
    },
];

/// A Lambda authorizer: the function API Gateway runs as a route's guard.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthorizerSpec {
    /// The guard it is.
    pub guard: Guard,
    /// Its package (and `bootstrap` binary).
    pub function: &'static str,
    /// Its name under the `HttpApi`'s `Auth.Authorizers` in `template.yaml`.
    pub template_name: &'static str,
}

/// The two authorizers. Both verify tokens (`KeyUse::Verify`).
pub static AUTHORIZERS: &[AuthorizerSpec] = &[
    AuthorizerSpec {
        guard: Guard::Authorizer,
        function: "authorizer",
        template_name: "PassportAuthorizer",
    },
    AuthorizerSpec {
        guard: Guard::AppAuthorizer,
        function: "app-authorizer",
        template_name: "AppAuthorizer",
    },
];

impl Guard {
    /// The authorizer that is this guard; `None` for an open route.
    pub fn authorizer(self) -> Option<&'static AuthorizerSpec> {
        AUTHORIZERS.iter().find(|a| a.guard == self)
    }
}

/// What the function `function` does with the signing keys: the most any of its routes does,
/// and `Verify` for an authorizer.
pub fn key_use_of(function: &str) -> KeyUse {
    if AUTHORIZERS.iter().any(|a| a.function == function) {
        return KeyUse::Verify;
    }
    ROUTES
        .iter()
        .filter(|r| r.function == function)
        .map(|r| r.handler.key_use())
        .max()
        .unwrap_or(KeyUse::None)
}

impl RouteSpec {
    /// `"METHOD /path"`, the shape of API Gateway's route keys.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_served_by_exactly_its_method() {
        let methods = [
            Method::GET,
            Method::POST,
            Method::DELETE,
            Method::PUT,
            Method::PATCH,
        ];
        for s in ROUTES {
            let path = s.path.replace("{id}", "AAAAAAAAAAAAAAAAAAAAAA");
            for m in &methods {
                match route(m, &path) {
                    // Its own method finds its row; another finds that method's row of the path.
                    Ok(r) if *m == s.method => assert_eq!(r.spec, s, "{m} {path}"),
                    Ok(r) => assert_eq!((&r.spec.method, r.spec.path), (m, s.path), "{m} {path}"),
                    Err(NoRoute::MethodNotAllowed(allow)) => {
                        assert_ne!(*m, s.method, "{m} {path}");
                        assert!(allow.split(", ").any(|a| a == s.method.as_str()), "{allow}");
                    }
                    Err(NoRoute::NotFound) => panic!("{m} {path} not found"),
                }
            }
        }
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut keys = std::collections::BTreeSet::new();
        let mut handlers = std::collections::BTreeSet::new();
        let mut ops = std::collections::BTreeSet::new();
        for s in ROUTES {
            assert!(keys.insert(s.key()), "{} twice", s.key());
            assert!(
                handlers.insert(format!("{:?}", s.handler)),
                "{:?} twice",
                s.handler
            );
            assert!(ops.insert(s.operation_id), "{} twice", s.operation_id);
            assert!(
                s.path.starts_with('/') && !s.path.ends_with('/'),
                "{}",
                s.path
            );
            assert!(
                s.path.matches('{').count() <= 1,
                "{}: one parameter at most",
                s.path
            );
            assert!(!s.function.is_empty() && !s.summary.is_empty());
        }
    }
}
