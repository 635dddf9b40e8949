//! `authorizer`: the Lambda authorizer in front of any API that trusts Passport's tokens.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    passport_lambda::authorizer::run(
        passport_lambda::authorizer::Kind::Account,
        env!("CARGO_PKG_NAME"),
    )
    .await
}
