//! The page's HTTP server: HTTP/1.1 on the listener, three routes (`/`, `/page.js`,
//! `/class.json`), nothing else (the handouts are never served); a request whose Host is not the
//! address served is refused, so that a web page elsewhere cannot read the class through the
//! browser (DNS rebinding).

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};

use super::Latest;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");

/// Serves the page until the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, address: SocketAddr, latest: Latest) -> Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let latest = latest.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let latest = latest.clone();
                async move { Ok::<_, Infallible>(answer(&req, address, &latest)) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

/// The answer to one request.
fn answer<B>(req: &Request<B>, address: SocketAddr, latest: &Latest) -> Response<Full<Bytes>> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let served = [address.to_string(), format!("localhost:{}", address.port())];
    if !served.iter().any(|s| s == host) {
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers its own address only",
        );
    }
    if req.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET only");
    }
    match req.uri().path() {
        "/" => respond(StatusCode::OK, "text/html; charset=utf-8", PAGE.to_owned()),
        "/page.js" => respond(StatusCode::OK, "text/javascript; charset=utf-8", SCRIPT.to_owned()),
        "/class.json" => {
            let json = latest.read().map(|j| j.clone()).unwrap_or_default();
            respond(StatusCode::OK, "application/json", json)
        }
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    respond(status, "text/plain; charset=utf-8", text.to_owned())
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let set = |name: &'static str, value: &str| (hyper::header::HeaderName::from_static(name), value.parse());
    for (name, value) in [
        set("content-type", content_type),
        set("cache-control", "no-store"),
        set("x-content-type-options", "nosniff"),
        set(
            "content-security-policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'",
        ),
        set("referrer-policy", "no-referrer"),
    ] {
        if let Ok(value) = value {
            headers.insert(name, value);
        }
    }
    response
}
