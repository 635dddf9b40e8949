//! `authorizer`: the Lambda authorizer in front of any API that trusts Passport's tokens.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let app = passport_lambda::init(env!("CARGO_PKG_NAME")).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        async move {
            Ok::<_, lambda_runtime::Error>(
                passport_lambda::authorizer::decide(&app, event.payload).await,
            )
        }
    }))
    .await
}
