//! `signup`: the Lambda function that creates accounts and moves them to another address — the
//! routes that write the directory's email index (its routes: `function: "signup"` in
//! `passport::api::ROUTES`).

/// This function's dispatch: the handlers of its routes, and no other's.
type This = passport::api::Signup;

// The dispatch named for this package, or the build fails.
const _: () = assert!(passport_lambda::same_name(
    <This as passport::api::Function>::NAME,
    env!("CARGO_PKG_NAME")
));

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passport_lambda::run::<This>().await
}
