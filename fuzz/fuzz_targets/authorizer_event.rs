//! Arbitrary JSON into the authorizer's three event shapes (HTTP API payload 2.0, REST TOKEN,
//! REST REQUEST): recognising the event and finding its token and `X-App-Code` never panics.
#![no_main]

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use libfuzzer_sys::fuzz_target;
use passport_lambda::authorizer::parse;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<ApiGatewayV2CustomAuthorizerV2Request>(data);
    let _ = serde_json::from_slice::<ApiGatewayCustomAuthorizerRequest>(data);
    let _ = serde_json::from_slice::<ApiGatewayCustomAuthorizerRequestTypeRequest>(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let event = parse(text);
    if let Some(header) = event.as_ref().and_then(|e| e.authorization()) {
        let _ = passport::kernel::service::bearer_token(header);
    }
    // The app authorizer's second identity source.
    if let Some(code) = event.as_ref().and_then(|e| e.app_code()) {
        let _ = passport::passports::valid_app_code(code);
    }
});
