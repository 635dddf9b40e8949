//! The Lambda functions that serve routes, each one's dispatch to the handlers of its own routes.
//!
//! A function's `bootstrap` links only the handlers its [`Function::serve`] names, so `refresh`
//! carries no WebAuthn and `sessions` no user-agent parser (docs/performance.md, "Bootstrap
//! sizes"). [`handle`](super::handle) — `local-api`, the tests — reaches every route through
//! these same dispatches, by the route table's `function`.

use super::routes::{AccountHandler, AppHandler, Handler, OpenHandler, Route};
use super::{Verdict, dbsc, discovery, passkeys, passports, recent};
use crate::kernel::error::ApiError;
use crate::service::Service;
use http::{Request, Response};
use std::future::Future;

/// A Lambda function with routes, named by its package (the route table's `function`).
///
/// A trait rather than a function passed around: each `main` names its function as a type, and
/// the dispatch it runs is then fixed when that binary is compiled (an async function taking
/// borrowed arguments cannot be a generic parameter on stable Rust).
pub trait Function {
    /// Its package (and the route table's `function`).
    const NAME: &'static str;

    /// The answer to `route`, whose guard has let `verdict` through; `None` when the route
    /// table gives `route` to another function.
    fn serve<'a, B: AsRef<[u8]> + Sync>(
        app: &'a Service,
        route: Route,
        req: &'a Request<B>,
        source_ip: Option<String>,
        verdict: Verdict,
    ) -> impl Future<Output = Option<Response<String>>> + Send + 'a;
}

/// `login`: password and passkey sign-in.
pub struct Login;

/// `refresh`: rotation, and device binding's registration and renewal.
pub struct Refresh;

/// `logout`.
pub struct Logout;

/// `passports`: shared web apps' passports.
pub struct Passports;

/// `sessions`: the routes behind the authorizers, and the published keys.
pub struct Sessions;

/// The answer a handler's result makes.
fn answer(result: Result<Response<String>, ApiError>) -> Option<Response<String>> {
    Some(result.unwrap_or_else(|e| super::error_response(&e)))
}

impl Function for Login {
    const NAME: &'static str = "login";

    async fn serve<'a, B: AsRef<[u8]> + Sync>(
        app: &'a Service,
        route: Route,
        req: &'a Request<B>,
        source_ip: Option<String>,
        _: Verdict,
    ) -> Option<Response<String>> {
        answer(match route.handler() {
            Handler::Open(OpenHandler::Login) => super::login(app, req, source_ip).await,
            Handler::Open(OpenHandler::PasskeyLoginOptions) => {
                passkeys::login_options(app, req).await
            }
            Handler::Open(OpenHandler::PasskeyLogin) => passkeys::login(app, req, source_ip).await,
            _ => return None,
        })
    }
}

impl Function for Refresh {
    const NAME: &'static str = "refresh";

    async fn serve<'a, B: AsRef<[u8]> + Sync>(
        app: &'a Service,
        route: Route,
        req: &'a Request<B>,
        _: Option<String>,
        _: Verdict,
    ) -> Option<Response<String>> {
        answer(match route.handler() {
            Handler::Open(OpenHandler::Refresh) => super::refresh(app, req).await,
            Handler::Open(OpenHandler::DbscRegister) => dbsc::register(app, req).await,
            Handler::Open(OpenHandler::DbscRefresh) => dbsc::refresh(app, req).await,
            _ => return None,
        })
    }
}

impl Function for Logout {
    const NAME: &'static str = "logout";

    async fn serve<'a, B: AsRef<[u8]> + Sync>(
        app: &'a Service,
        route: Route,
        req: &'a Request<B>,
        _: Option<String>,
        _: Verdict,
    ) -> Option<Response<String>> {
        answer(match route.handler() {
            Handler::Open(OpenHandler::Logout) => super::logout(app, route.spec, req).await,
            _ => return None,
        })
    }
}

impl Function for Passports {
    const NAME: &'static str = "passports";

    async fn serve<'a, B: AsRef<[u8]> + Sync>(
        app: &'a Service,
        route: Route,
        req: &'a Request<B>,
        source_ip: Option<String>,
        _: Verdict,
    ) -> Option<Response<String>> {
        answer(match route.handler() {
            Handler::Open(OpenHandler::IssuePassport) => {
                passports::issue(app, req, source_ip).await
            }
            Handler::Open(OpenHandler::EndPassport) => passports::end(app, req).await,
            _ => return None,
        })
    }
}

impl Function for Sessions {
    const NAME: &'static str = "sessions";

    async fn serve<'a, B: AsRef<[u8]> + Sync>(
        app: &'a Service,
        route: Route,
        req: &'a Request<B>,
        source_ip: Option<String>,
        verdict: Verdict,
    ) -> Option<Response<String>> {
        // One match, its groups inline: each async fn in between would deepen every caller's
        // future type (the bench harness hit the compiler's query depth limit).
        answer(match (route.handler(), verdict) {
            (Handler::Open(OpenHandler::Jwks), _) => discovery::jwks(app).await,
            (Handler::Open(OpenHandler::OpenIdConfiguration), _) => {
                Ok(discovery::openid_configuration(app, req))
            }
            (Handler::Open(_), _) => return None,
            (Handler::Account(h), Verdict::Account(caller)) => {
                let param = route.param.as_deref().unwrap_or_default();
                // Ends another session: the one request whose need depends on what it asks.
                let ends_others = h == AccountHandler::RevokeSession
                    && param.parse::<crate::kernel::ids::Id>().ok() != Some(caller.session);
                match recent::check(app, route.spec, caller.account, caller.session, ends_others)
                    .await
                {
                    Err(e) => Err(e),
                    Ok(()) => match h {
                        AccountHandler::ListSessions => super::list_sessions(app, caller).await,
                        AccountHandler::RevokeSession => app
                            .revoke(&caller, param)
                            .await
                            .map(|()| super::no_content()),
                        AccountHandler::Me => super::me(app, caller).await,
                        AccountHandler::ChangePassword => {
                            super::change_password(app, caller, req, source_ip).await
                        }
                        AccountHandler::Reauthenticate => {
                            passkeys::reauthenticate(app, caller, req, source_ip).await
                        }
                        AccountHandler::PasskeyRegistrationOptions => {
                            passkeys::registration_options(app, caller).await
                        }
                        AccountHandler::RegisterPasskey => {
                            passkeys::register(app, caller, req).await
                        }
                        AccountHandler::ListPasskeys => passkeys::list(app, caller).await,
                        AccountHandler::RemovePasskey => passkeys::remove(app, caller, param).await,
                    },
                }
            }
            (Handler::App(AppHandler::AppMe), Verdict::Visitor(caller)) => {
                Ok(passports::app_me(&caller))
            }
            // A guarded route reached without its authorizer's verdict (a misconfigured route).
            (Handler::Account(_) | Handler::App(_), _) => Err(ApiError::Unauthorized),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ROUTES;

    /// Whether `F` answers `route` (an empty request: the handlers refuse it, but answer).
    async fn serves<F: Function>(app: &Service, route: Route) -> bool {
        let req = Request::new(Vec::<u8>::new());
        F::serve(app, route, &req, None, Verdict::None)
            .await
            .is_some()
    }

    #[tokio::test]
    async fn each_route_is_served_by_the_function_the_table_names_and_no_other() {
        let app = crate::testing::memory_app();
        for spec in ROUTES {
            let route = || Route {
                spec,
                param: Some("x".into()),
            };
            let serving = [
                (Login::NAME, serves::<Login>(&app, route()).await),
                (Refresh::NAME, serves::<Refresh>(&app, route()).await),
                (Logout::NAME, serves::<Logout>(&app, route()).await),
                (Passports::NAME, serves::<Passports>(&app, route()).await),
                (Sessions::NAME, serves::<Sessions>(&app, route()).await),
            ];
            let by: Vec<&str> = serving.iter().filter(|s| s.1).map(|s| s.0).collect();
            assert_eq!(by, [spec.function], "{} {}", spec.method, spec.path);
        }
    }
}
