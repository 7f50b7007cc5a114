//! The HTTP listener: `/metrics` (OpenMetrics text), `/healthz` (200 while the process runs)
//! and `/readyz` (200 when [`super::health::readiness`] says so, else 503 with the reason).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{debug, info};

use super::health::readiness;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// Binds `address` and serves until the returned task is aborted. The bound address is logged
/// (`http listening`), which tells the port when 0 was asked for.
pub(crate) async fn serve(address: SocketAddr) -> std::io::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    info!(address = %bound, "http listening");
    Ok(tokio::spawn(accept(listener)))
}

async fn accept(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                debug!(error = %err, "http accept failed");
                continue;
            }
        };
        tokio::spawn(async move {
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
            if let Err(err) = served {
                debug!(error = %err, "http connection ended with an error");
            }
        });
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::GET {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT,
            "GET only\n".into(),
        ));
    }
    let metrics = super::get();
    let response = match request.uri().path() {
        "/metrics" => reply(StatusCode::OK, OPENMETRICS, metrics.encode()),
        "/healthz" => reply(StatusCode::OK, TEXT, "ok\n".into()),
        "/readyz" => match readiness(&metrics.health.snapshot()) {
            Ok(()) => reply(StatusCode::OK, TEXT, "ready\n".into()),
            Err(reason) => reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, format!("{reason}\n")),
        },
        "/status" => reply(StatusCode::OK, JSON, status_json(metrics)),
        _ => reply(
            StatusCode::NOT_FOUND,
            TEXT,
            "not found: /metrics, /healthz, /readyz, /status\n".into(),
        ),
    };
    Ok(response)
}

/// What `pg2es status` asks a running worker: readiness, what is being retried, and the lag
/// of each pipeline that measured one.
fn status_json(metrics: &super::Metrics) -> String {
    let health = &metrics.health;
    let ready = readiness(&health.snapshot());
    serde_json::json!({
        "ready": ready.is_ok(),
        "reason": ready.err(),
        "retrying": health.retried(),
        "stopped": health.stopped_pipelines(),
        "lag_seconds": metrics.lags(),
    })
    .to_string()
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
