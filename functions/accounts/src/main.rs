//! `accounts`: operators' commands on the account directory. No HTTP route: invoked with IAM
//! (`sam remote invoke`, `aws lambda invoke`, `cargo lambda invoke`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    passport_lambda::accounts::run(env!("CARGO_PKG_NAME")).await
}
