//! `mailer`: sends the mail the routes queue (SQS event source → SES v2). Thin: the handler
//! and the SES sender are in the library, tested against `moto_server`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mailer::run().await
}
