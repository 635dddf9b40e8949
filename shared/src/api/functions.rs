//! The Lambda functions that serve routes, each one's dispatch to the features it serves.
//!
//! A function's `bootstrap` links only the features its [`Function::serve`] names, so `refresh`
//! carries no WebAuthn (docs/performance.md, "Bootstrap size"). [`handle`](super::handle) —
//! `local-api`, the tests — reaches every route through these same dispatches, by the route
//! table's `function`. A new route of a feature a function already serves needs no change here.

use super::Service;
use super::routes::{Guard, Handler, Route};
use crate::activity;
use crate::dbsc;
use crate::discovery;
use crate::email;
use crate::federation;
use crate::kernel::authentication::{Acr, RecentAuth};
use crate::kernel::caller::Verdict;
use crate::kernel::error::ApiError;
use crate::kernel::http::{Call, error_response};
use crate::mfa;
use crate::passkeys;
use crate::passports;
use crate::recent_auth;
use crate::sessions;
use http::{Request, Response};
use std::future::Future;

/// A Lambda function with routes, named by its package (the route table's `function`).
///
/// A trait rather than a function passed around: each `main` names its function as a type, and
/// the features it reaches are then fixed when that binary is compiled (an async function
/// taking borrowed arguments cannot be a generic parameter on stable Rust).
pub trait Function {
    /// Its package (and the route table's `function`).
    const NAME: &'static str;

    /// The answer of the feature that serves `handler`; `None` for a feature this function
    /// does not serve (the one place a function names the features it links).
    fn answer<'a, B: AsRef<[u8]> + Sync>(
        service: &'a Service,
        handler: Handler,
        call: Call<'a, B>,
    ) -> impl Future<Output = Option<Result<Response<String>, ApiError>>> + Send + 'a;
}

/// `login`: sign-in (password, passkey, mailed code), sign-up and the mailed proofs.
pub struct Login;

/// `refresh`: rotation, and device binding's registration and renewal.
pub struct Refresh;

/// `logout`.
pub struct Logout;

/// `passports`: shared web apps' passports.
pub struct Passports;

/// `sessions`: the routes behind the authorizers, and the published keys.
pub struct Sessions;

/// `signup`: the routes that write the account directory's email index (a new account, an
/// account moved to another address, a first federated sign-in), apart so that no other
/// function's cache user may; and the only one that reaches out to identity providers.
pub struct Signup;

/// Whether an email route writes the directory's email index (`signup`'s routes).
fn writes_the_directory(route: email::Route) -> bool {
    matches!(route, email::Route::SignUp | email::Route::ConfirmEmail)
}

/// The answer of function `F` to `route`, whose guard has let `verdict` through; `None` when
/// the route table gives `route` to another function. Refused before any feature runs: a
/// verdict that is not the route's guard's (a misconfigured route), and a route that needs a
/// recent authentication the caller lacks.
pub async fn serve<F: Function, B: AsRef<[u8]> + Sync>(
    service: &Service,
    route: Route,
    req: &Request<B>,
    source_ip: Option<String>,
    verdict: Verdict,
) -> Option<Response<String>> {
    let spec = route.spec;
    if spec.function != F::NAME {
        return None;
    }
    let checked = match (spec.guard, &verdict) {
        (Guard::Open, _) => Ok(()),
        // `MFA=required`: a one-factor session only sets a second factor up.
        (Guard::Authorizer, Verdict::Account(caller))
            if service.config().mfa_required
                && caller.acr < Acr::Aal2
                && !spec.handler.open_to_one_factor() =>
        {
            Err(ApiError::SecondFactorEnrolmentRequired)
        }
        (Guard::Authorizer, Verdict::Account(caller))
            if matches!(
                spec.recent_auth,
                RecentAuth::Yes | RecentAuth::Reauthenticated
            ) =>
        {
            let rule = spec.recent_auth;
            service
                .check_recent(rule, caller.account, caller.session, false)
                .await
        }
        (Guard::Authorizer, Verdict::Account(_)) | (Guard::AppAuthorizer, Verdict::Visitor(_)) => {
            Ok(())
        }
        // A guarded route reached without its authorizer's verdict (a misconfigured route).
        (Guard::Authorizer | Guard::AppAuthorizer, _) => Err(ApiError::Unauthorized),
    };
    if let Err(e) = checked {
        return Some(error_response(&e));
    }
    let call = Call {
        req,
        source_ip,
        verdict,
        param: route.param,
        recent: spec.recent_auth,
    };
    let answer = F::answer(service, spec.handler, call).await?;
    Some(answer.unwrap_or_else(|e| error_response(&e)))
}

impl Function for Login {
    const NAME: &'static str = "login";

    async fn answer<'a, B: AsRef<[u8]> + Sync>(
        service: &'a Service,
        handler: Handler,
        call: Call<'a, B>,
    ) -> Option<Result<Response<String>, ApiError>> {
        Some(match handler {
            Handler::Sessions(r) => sessions::http::serve(service, r, call).await,
            Handler::Passkeys(r) => passkeys::http::serve(service, r, call).await,
            Handler::Email(r) if !writes_the_directory(r) && r != email::Route::ChangeEmail => {
                email::http::serve(service, r, call).await
            }
            Handler::Mfa(r @ mfa::Route::SignIn) => mfa::http::serve(service, r, call).await,
            _ => return None,
        })
    }
}

impl Function for Refresh {
    const NAME: &'static str = "refresh";

    async fn answer<'a, B: AsRef<[u8]> + Sync>(
        service: &'a Service,
        handler: Handler,
        call: Call<'a, B>,
    ) -> Option<Result<Response<String>, ApiError>> {
        Some(match handler {
            Handler::Sessions(r) => sessions::http::serve(service, r, call).await,
            Handler::Dbsc(r) => dbsc::http::serve(service, r, call).await,
            _ => return None,
        })
    }
}

impl Function for Logout {
    const NAME: &'static str = "logout";

    async fn answer<'a, B: AsRef<[u8]> + Sync>(
        service: &'a Service,
        handler: Handler,
        call: Call<'a, B>,
    ) -> Option<Result<Response<String>, ApiError>> {
        match handler {
            Handler::Sessions(r) => Some(sessions::http::serve(service, r, call).await),
            _ => None,
        }
    }
}

impl Function for Passports {
    const NAME: &'static str = "passports";

    async fn answer<'a, B: AsRef<[u8]> + Sync>(
        service: &'a Service,
        handler: Handler,
        call: Call<'a, B>,
    ) -> Option<Result<Response<String>, ApiError>> {
        match handler {
            Handler::Passports(r) => Some(passports::http::serve(service, r, call).await),
            _ => None,
        }
    }
}

impl Function for Sessions {
    const NAME: &'static str = "sessions";

    async fn answer<'a, B: AsRef<[u8]> + Sync>(
        service: &'a Service,
        handler: Handler,
        call: Call<'a, B>,
    ) -> Option<Result<Response<String>, ApiError>> {
        Some(match handler {
            Handler::Sessions(r) => sessions::http::serve(service, r, call).await,
            Handler::Passkeys(r) => passkeys::http::serve(service, r, call).await,
            Handler::Passports(r) => passports::http::serve(service, r, call).await,
            Handler::RecentAuth(r) => recent_auth::http::serve(service, r, call).await,
            Handler::Discovery(r) => discovery::serve(service, r, call).await,
            Handler::Email(email::Route::ChangeEmail) => email::http::change(service, call).await,
            Handler::Mfa(r) if r != mfa::Route::SignIn => mfa::http::serve(service, r, call).await,
            Handler::Activity(r) => activity::http::serve(service, r, call).await,
            Handler::Dbsc(_) | Handler::Email(_) | Handler::Mfa(_) | Handler::Federation(_) => {
                return None;
            }
        })
    }
}

impl Function for Signup {
    const NAME: &'static str = "signup";

    async fn answer<'a, B: AsRef<[u8]> + Sync>(
        service: &'a Service,
        handler: Handler,
        call: Call<'a, B>,
    ) -> Option<Result<Response<String>, ApiError>> {
        match handler {
            Handler::Email(r) if writes_the_directory(r) => {
                Some(email::http::serve(service, r, call).await)
            }
            Handler::Federation(r) => Some(federation::http::serve(service, r, call).await),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ROUTES;

    /// Whether `F` answers `route` (an empty request: the handlers refuse it, but answer).
    async fn serves<F: Function>(service: &Service, route: Route) -> bool {
        let req = Request::new(Vec::<u8>::new());
        serve::<F, _>(service, route, &req, None, Verdict::None)
            .await
            .is_some()
    }

    #[tokio::test]
    async fn each_route_is_served_by_the_function_the_table_names_and_no_other() {
        let service = crate::testing::memory_service();
        for spec in ROUTES {
            let route = || Route {
                spec,
                param: Some("x".into()),
            };
            let serving = [
                (Login::NAME, serves::<Login>(&service, route()).await),
                (Refresh::NAME, serves::<Refresh>(&service, route()).await),
                (Logout::NAME, serves::<Logout>(&service, route()).await),
                (
                    Passports::NAME,
                    serves::<Passports>(&service, route()).await,
                ),
                (Sessions::NAME, serves::<Sessions>(&service, route()).await),
                (Signup::NAME, serves::<Signup>(&service, route()).await),
            ];
            let by: Vec<&str> = serving.iter().filter(|s| s.1).map(|s| s.0).collect();
            assert_eq!(by, [spec.function], "{} {}", spec.method, spec.path);
        }
    }
}
