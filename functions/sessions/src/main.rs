//! `sessions`: the Lambda function for the caller's sessions and identity (its routes:
//! `function: "sessions"` in `passport::api::ROUTES`), behind the authorizer, whose verdict
//! arrives in the request context; and for the public keys and discovery document (open), read
//! from the store: it holds no key.

/// This function's dispatch: the handlers of its routes, and no other's.
type This = passport::api::Sessions;

// The dispatch named for this package, or the build fails.
const _: () = assert!(passport_lambda::same_name(
    <This as passport::api::Function>::NAME,
    env!("CARGO_PKG_NAME")
));

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passport_lambda::run::<This>().await
}
