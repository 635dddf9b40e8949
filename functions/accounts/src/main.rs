//! `accounts`: operators' commands on the account directory. No HTTP route: invoked with IAM
//! (`sam remote invoke`, `aws lambda invoke`, `cargo lambda invoke`).

mod handler;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let app = passport_lambda::init(env!("CARGO_PKG_NAME")).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        async move { handler::handle(&app, event.payload).await }
    }))
    .await
}
