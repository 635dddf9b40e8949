//! The HTTP server: hyper on a loopback listener, translating each request into
//! `passport::http` calls, with the authorizer's decision in front of guarded routes.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use passport::Service;
use passport::api::{handle, no_route, route};
use passport::kernel::error::ApiError;
use passport::kernel::http::{MAX_BODY_BYTES, error_response, json_response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

use crate::web_app::WebApp;
use passport::api::gateway::{self, Cors};

/// Serves until the process ends.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    web: Arc<WebApp>,
    cors: Arc<Cors>,
) -> std::io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let service = Arc::clone(&service);
        let web = Arc::clone(&web);
        let cors = Arc::clone(&cors);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let service = Arc::clone(&service);
                let web = Arc::clone(&web);
                let cors = Arc::clone(&cors);
                async move {
                    Ok::<_, Infallible>(
                        answer(&service, &web, &cors, req, peer)
                            .await
                            .map(Full::new),
                    )
                }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

async fn answer(
    service: &Service,
    web: &WebApp,
    cors: &Cors,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Bytes> {
    let started = std::time::Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let resp = if WebApp::owns(&path) {
        web.answer(&method, &path)
    } else if let Some(preflight) = cors.preflight(&method, req.headers()) {
        // API Gateway answers preflights itself: no route, no authorizer, no function.
        preflight
    } else {
        let origin = cors.allowed(req.headers());
        let mut resp = route_request(service, req, peer).await;
        Cors::decorate(origin, &mut resp);
        resp
    };
    tracing::info!(%method, %path, status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64, "request");
    resp.map(Bytes::from)
}

async fn route_request(
    service: &Service,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<String> {
    if req.uri().path() == "/" && req.method() == http::Method::GET {
        let routes: Vec<String> = passport::api::ROUTES.iter().map(|r| r.key()).collect();
        return json_response(
            StatusCode::OK,
            &serde_json::json!({"service": "passport", "message": "Passport local API", "routes": routes}),
        );
    }
    let found = match route(req.method(), req.uri().path()) {
        Ok(r) => r,
        Err(e) => return no_route(e),
    };
    // What API Gateway does before the function runs: the authorizer on guarded routes, with
    // API Gateway's own answers when it refuses (`passport::api::gateway`).
    let verdict = match gateway::guard(service, found.guard(), req.headers()).await {
        Ok(verdict) => verdict,
        Err(refused) => return refused.answer(),
    };
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return error_response(&ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        Err(e) => {
            return error_response(&ApiError::InvalidRequest(format!(
                "could not read body: {e}"
            )));
        }
    };
    let mut req = Request::from_parts(parts, bytes);
    // API Gateway tells the function the scheme the client used (`X-Forwarded-Proto`, always
    // `https` there; docs.aws.amazon.com/apigateway/latest/developerguide/
    // http-api-develop-integrations-lambda.html); here it is plain http.
    req.headers_mut()
        .insert("x-forwarded-proto", http::HeaderValue::from_static("http"));
    handle(service, found, &req, Some(peer.ip().to_string()), verdict).await
}
