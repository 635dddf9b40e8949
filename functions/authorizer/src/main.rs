//! `authorizer`: the Lambda authorizer in front of any API that trusts Passport's tokens.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let app = passport_lambda::init(env!("CARGO_PKG_NAME")).await?;
    // The event as JSON text (checked, not parsed into a tree): the handler reads only the
    // fields it needs, and any event at all gets an answer (a deny), never an invocation error.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let app = Arc::clone(&app);
        async move {
            Ok::<_, lambda_runtime::Error>(
                passport_lambda::authorizer::decide(&app, event.payload.get()).await,
            )
        }
    }))
    .await
}
