//! The floor of an authorizer under AWS's Runtime Interface Emulator (`make bench`,
//! infra/bench/peers.py): a Rust Lambda handler that does nothing but one Redis round trip (`EXISTS`
//! of a fixed key) and allows. What any authorizer that asks a store pays for the runtime, the
//! emulator and the round trip; Passport's warm invocations are reported as ratios to it.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // `REDIS_URL`, read as every function reads it.
    let url = passport::Config::from_env()?
        .redis_url
        .ok_or("REDIS_URL is not set")?;
    let conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Box<RawValue>>| {
        let mut c = conn.clone();
        async move {
            let _: bool = redis::cmd("EXISTS")
                .arg("pp:{floor}:s:x")
                .query_async(&mut c)
                .await?;
            Ok::<Value, lambda_runtime::Error>(json!({"isAuthorized": true}))
        }
    }))
    .await
}
