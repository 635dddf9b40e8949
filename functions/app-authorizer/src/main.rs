//! `app-authorizer`: the Lambda authorizer in front of shared web apps' routes. It accepts only
//! web-app passports, for the app the request's `X-App-Code` names, whose app is enabled and
//! whose passport session lives; its context is `{app_id, app_code, end_user_id, account_id?}`.

use passport_lambda::authorizer::{Kind, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Kind::App, env!("CARGO_PKG_NAME")).await
}
