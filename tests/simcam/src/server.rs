//! The HTTP server: the camera API (protocol v1) and the `/sim` control endpoints.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use axum::{Json, Router};
use bytes::{Bytes, BytesMut};
use dashkeep_core::protocol::{API_PREFIX, ApiError, is_safe_id};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::io::ReaderStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::camera::{Inner, Stored, VideoFaults, lock};
use crate::{Fault, Lie, SimCamera};
use dashkeep_core::camera::auth::{self, AuthRejection, SignedParts};

/// Video body chunks: large, so each read on the blocking pool moves a lot (a camera serving a
/// phone is disk-bound; the simulator should not be CPU-bound on thread hand-offs).
const CHUNK: usize = 1024 * 1024;
const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;
const DEFAULT_FEED_TIMEOUT_MS: u64 = 25_000;
const MAX_FEED_TIMEOUT_MS: u64 = 30_000;

type Shared = Arc<Inner>;

/// A running server: cancel the token to close the listener and every connection.
pub(crate) struct Server {
    token: CancellationToken,
    join: JoinHandle<()>,
}

impl Server {
    pub(crate) async fn stop(mut self) {
        self.token.cancel();
        if tokio::time::timeout(Duration::from_secs(2), &mut self.join).await.is_err() {
            self.join.abort();
        }
    }
}

pub(crate) fn spawn(inner: Shared, listener: TcpListener) -> Server {
    let token = CancellationToken::new();
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(accept_loop(listener, inner.tls.clone(), token.clone(), tx));
    let listener = CameraListener { rx };
    let app = router(inner).into_make_service_with_connect_info::<Peer>();
    let shutdown = token.clone().cancelled_owned();
    let join = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "server failed");
        }
    });
    Server { token, join }
}

/// Who is on the other end of a connection, and whether it speaks TLS.
#[derive(Clone, Copy, Debug)]
struct Peer {
    secure: bool,
}

impl Connected<IncomingStream<'_, CameraListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, CameraListener>) -> Self {
        *stream.remote_addr()
    }
}

/// The camera's port: HTTPS with its identity key, and plain HTTP on the same port (the `/sim`
/// controls; the API too, unless in paired mode). A connection's first byte tells them apart
/// (0x16 starts a TLS handshake). Handshakes run in their own tasks, so a slow client never
/// holds up the others.
struct CameraListener {
    rx: mpsc::Receiver<(CameraStream, Peer)>,
}

impl axum::serve::Listener for CameraListener {
    type Io = CameraStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(accepted) => accepted,
            // The accept loop ended with the power: shutdown is under way.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        // axum only logs it; the port serves both kinds of peer.
        Ok(Peer { secure: false })
    }
}

/// How long a new connection may take to send its first byte and finish a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The first byte of a TLS record carrying a handshake (RFC 8446 §5.1).
const TLS_HANDSHAKE: u8 = 0x16;

async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    token: CancellationToken,
    tx: mpsc::Sender<(CameraStream, Peer)>,
) {
    loop {
        let accepted = tokio::select! {
            () = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let off = Box::pin(token.clone().cancelled_owned());
                let (tls, tx) = (tls.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Some(accepted) = classify(stream, off, tls).await {
                        let _ = tx.send(accepted).await;
                    }
                });
            }
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Peeks at the first byte and completes a TLS handshake when the client starts one.
async fn classify(
    stream: TcpStream,
    off: Pin<Box<WaitForCancellationFutureOwned>>,
    tls: TlsAcceptor,
) -> Option<(CameraStream, Peer)> {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await;
    let stream = PoweredStream { stream, off };
    match peeked {
        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(tls)) => Some((CameraStream::Tls(Box::new(tls)), Peer { secure: true })),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    None
                }
                Err(_) => None,
            }
        }
        Ok(Ok(1)) => Some((CameraStream::Plain(stream), Peer { secure: false })),
        _ => None,
    }
}

/// One connection to the camera's port, in plain HTTP or TLS.
enum CameraStream {
    Plain(PoweredStream),
    Tls(Box<tokio_rustls::server::TlsStream<PoweredStream>>),
}

impl AsyncRead for CameraStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for CameraStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A TCP stream that fails every operation once the power goes off (and wakes up to do so).
struct PoweredStream {
    stream: TcpStream,
    off: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl PoweredStream {
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.off.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(io::ErrorKind::ConnectionReset, "power off")),
            Poll::Pending => Ok(()),
        }
    }
}

impl AsyncRead for PoweredStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for PoweredStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

fn router(inner: Shared) -> Router {
    let api = Router::new()
        .route("/status", get(status))
        .route("/drives", get(drives))
        .route("/segments", get(segments))
        .route("/feed", get(feed))
        .route("/segments/{id}/video", get(video))
        .route("/segments/{id}/telemetry", get(telemetry))
        .layer(middleware::from_fn_with_state(inner.clone(), api_faults));
    let camera = match inner.cfg.dialect {
        crate::Dialect::Dashkeep => Router::new().nest(API_PREFIX, api),
        crate::Dialect::Novatek => Router::new()
            .route("/", get(crate::novatek::command))
            .route(&format!("{}/{{name}}", crate::novatek::MOVIE_DIR), get(crate::novatek::movie))
            .route(
                &format!("{}/{{name}}", crate::novatek::LOCKED_DIR),
                get(crate::novatek::locked_movie),
            ),
        crate::Dialect::BlackVueLegacy => {
            use crate::blackvue as bv;
            Router::new()
                .route("/blackvue_vod.cgi", get(bv::legacy_list))
                .route(&format!("{}/{{name}}", bv::RECORD_DIR), get(bv::record))
        }
        crate::Dialect::BlackVue1009 => {
            use crate::blackvue as bv;
            Router::new()
                .route("/accessible", get(bv::accessible))
                .route("/vodList", get(bv::vod_list))
                .route("/blackvue_vod.cgi", get(bv::legacy_refused))
                .route(&format!("{}/{{name}}", bv::RECORD_DIR), get(bv::record_refused))
                .route("/{name}", get(bv::root_file))
        }
    };
    camera
        .route("/sim/faults", post(sim_fault))
        .route("/sim/faults/clear", post(sim_clear))
        .route("/sim/power", post(sim_power))
        .route("/sim/pairing-button", post(sim_pairing_button))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed")
        })
        .with_state(inner.clone())
        .layer(middleware::from_fn_with_state(inner, api_auth))
}

/// Paired mode: every `/api/v1` request must come over HTTPS (else 403) and be signed by a
/// paired phone (else 401), and gets no data otherwise.
async fn api_auth(State(inner): State<Shared>, req: Request, next: Next) -> Response {
    let secure = req.extensions().get::<ConnectInfo<Peer>>().is_some_and(|c| c.0.secure);
    let verdict = {
        let path = req.uri().path();
        let is_api = path == API_PREFIX || path.starts_with(&format!("{API_PREFIX}/"));
        if !inner.cfg.paired_mode || !is_api {
            None
        } else if !secure {
            inner.count(|c| c.unauthorized += 1);
            tracing::info!(path, "unauthorized request: plain HTTP in paired mode");
            return error(StatusCode::FORBIDDEN, "https_required", "the camera API needs HTTPS");
        } else {
            let text = |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
            let parts = SignedParts {
                method: req.method().as_str(),
                path,
                query: req.uri().query().unwrap_or(""),
                range: text(header::RANGE).unwrap_or(""),
                // The API has no request bodies (GETs): the signature covers an empty one.
                body: b"",
            };
            let v = lock(&inner.pairing).verify_request(
                text(header::AUTHORIZATION),
                &parts,
                inner.wall_ms(),
            );
            let v = v.map_err(|reason| (reason, path.to_string()));
            if let (Err((AuthRejection::Stale, _)), Some(header_value)) =
                (&v, text(header::AUTHORIZATION))
            {
                // Signed by a paired phone, only outside the window: tell it the camera's time,
                // signed, so it corrects its clock offset instead of reading this as revoked.
                let answer = lock(&inner.pairing).clock_answer(header_value, inner.wall_ms());
                if let Some((time, mac)) = answer {
                    inner.count(|c| c.unauthorized += 1);
                    let mut r = error(
                        StatusCode::UNAUTHORIZED,
                        "clock",
                        "request outside the camera's clock window",
                    );
                    for (name, value) in
                        [(auth::CAMERA_TIME_HEADER, time), (auth::CAMERA_MAC_HEADER, mac)]
                    {
                        if let Ok(value) = HeaderValue::from_str(&value) {
                            r.headers_mut().insert(name, value);
                        }
                    }
                    return r;
                }
            }
            Some(v)
        }
    };
    match verdict {
        None | Some(Ok(_)) => next.run(req).await,
        Some(Err((AuthRejection::Rebooted, path))) => {
            // Nonces were lost at the reboot: a request signed before it may be a replay. A
            // fresh one passes a few seconds later, so this is "retry", not "unauthorized".
            tracing::info!(path, "request signed before the reboot; retry");
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, "rebooting", "retry in a moment");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        Some(Err((reason, path))) => {
            inner.count(|c| c.unauthorized += 1);
            tracing::info!(%reason, path, "unauthorized request");
            error(StatusCode::UNAUTHORIZED, "unauthorized", "request not signed by a paired phone")
        }
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(ApiError { code: code.into(), message: message.into() })).into_response()
}

/// A 400 answer, small enough to pass around in a `Result`.
struct BadRequest {
    code: &'static str,
    message: String,
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        error(StatusCode::BAD_REQUEST, self.code, self.message)
    }
}

/// Counts API requests and fires `Http500` faults.
async fn api_faults(State(inner): State<Shared>, req: Request, next: Next) -> Response {
    inner.count(|c| c.total += 1);
    if inner.take_http500() {
        inner.count(|c| c.injected_500 += 1);
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "injected fault: HTTP 500");
    }
    next.run(req).await
}

/// Reads `key` from a query string as a number; `Err` holds the 400 response.
fn query_u64(q: &Option<String>, key: &str) -> Result<Option<u64>, BadRequest> {
    let Some(q) = q else { return Ok(None) };
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == key {
            return v.parse().map(Some).map_err(|_| BadRequest {
                code: "bad_request",
                message: format!("{key} must be a number"),
            });
        }
    }
    Ok(None)
}

async fn status(State(inner): State<Shared>) -> Response {
    inner.count(|c| c.status += 1);
    Json(inner.status()).into_response()
}

async fn drives(State(inner): State<Shared>) -> Response {
    inner.count(|c| c.drives += 1);
    Json(inner.drives()).into_response()
}

fn limit(q: &Option<String>) -> Result<usize, BadRequest> {
    Ok(query_u64(q, "limit")?.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize)
}

async fn segments(State(inner): State<Shared>, RawQuery(q): RawQuery) -> Response {
    inner.count(|c| c.segments += 1);
    let (since, limit) = match (query_u64(&q, "since"), limit(&q)) {
        (Ok(s), Ok(l)) => (s.unwrap_or(0), l),
        (Err(r), _) | (_, Err(r)) => return r.into_response(),
    };
    Json(inner.list(since, limit)).into_response()
}

async fn feed(State(inner): State<Shared>, RawQuery(q): RawQuery) -> Response {
    inner.count(|c| c.feed += 1);
    let (after, timeout_ms, limit) =
        match (query_u64(&q, "after"), query_u64(&q, "timeout_ms"), limit(&q)) {
            (Ok(a), Ok(t), Ok(l)) => (a.unwrap_or(0), t.unwrap_or(DEFAULT_FEED_TIMEOUT_MS), l),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r.into_response(),
        };
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(timeout_ms.min(MAX_FEED_TIMEOUT_MS));
    let mut rx = inner.seq_tx.subscribe();
    loop {
        let list = inner.list(after, limit);
        if !list.segments.is_empty() {
            return Json(list).into_response();
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            // Timed out (or the camera is going away): an empty answer.
            _ => return Json(inner.list(after, limit)).into_response(),
        }
    }
}

/// Checks an id from the path; `Err` holds the 400 response.
fn safe_id(id: Result<Path<String>, PathRejection>) -> Result<String, BadRequest> {
    match id {
        Ok(Path(id)) if is_safe_id(&id) => Ok(id),
        _ => Err(BadRequest { code: "bad_id", message: "segment id is malformed".into() }),
    }
}

fn not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", format!("no segment {id} on the card"))
}

async fn telemetry(
    State(inner): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    inner.count(|c| c.telemetry += 1);
    let id = match safe_id(id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let Some(seg) = inner.find(&id) else { return not_found(&id) };
    match tokio::fs::read(&seg.telemetry).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (header::ETAG, etag(&seg.info.telemetry_sha256)),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(&id),
    }
}

fn etag(sha: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{sha}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

#[derive(Debug, PartialEq, Eq)]
enum RangeReq {
    Full,
    /// Inclusive byte range.
    Part(u64, u64),
    Unsatisfiable,
}

/// Parses a single `Range: bytes=...` header; anything it does not understand means the whole file
/// (RFC 9110 lets a server ignore a Range it does not support).
fn parse_range(headers: &HeaderMap, size: u64) -> RangeReq {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeReq::Full;
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else { return RangeReq::Full };
    let Some((a, b)) = spec.split_once('-').filter(|_| !spec.contains(',')) else {
        return RangeReq::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if size == 0 {
        return RangeReq::Unsatisfiable;
    }
    if a.is_empty() {
        return match b.parse::<u64>() {
            Ok(0) => RangeReq::Unsatisfiable,
            Ok(n) => RangeReq::Part(size - n.min(size), size - 1),
            Err(_) => RangeReq::Full,
        };
    }
    let Ok(start) = a.parse::<u64>() else { return RangeReq::Full };
    let end = if b.is_empty() {
        size - 1
    } else {
        match b.parse::<u64>() {
            Ok(e) => e.min(size - 1),
            Err(_) => return RangeReq::Full,
        }
    };
    if start >= size {
        RangeReq::Unsatisfiable
    } else if end < start {
        RangeReq::Full
    } else {
        RangeReq::Part(start, end)
    }
}

async fn video(
    State(inner): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    inner.count(|c| c.video += 1);
    let id = match safe_id(id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let Some(seg) = inner.find(&id) else { return not_found(&id) };
    serve_video(inner, seg, &headers).await
}

/// Serves a stored segment's video as a vendor camera configured without Range support does:
/// the `Range` header ignored (the whole file from byte 0) and no `Accept-Ranges` announced.
pub(crate) async fn serve_vendor_video(
    inner: Shared,
    seg: Stored,
    mut headers: HeaderMap,
) -> Response {
    if !inner.cfg.range_support {
        headers.remove(header::RANGE);
    }
    let mut resp = serve_video(inner.clone(), seg, &headers).await;
    if !inner.cfg.range_support {
        resp.headers_mut().remove(header::ACCEPT_RANGES);
    }
    resp
}

/// Serves a stored segment's video, honouring a `Range` header, with this download's faults.
pub(crate) async fn serve_video(inner: Shared, seg: Stored, headers: &HeaderMap) -> Response {
    let id = seg.info.id.clone();
    let size = seg.info.size;
    let (start, end, status) = match parse_range(headers, size) {
        RangeReq::Full => (0, size.saturating_sub(1), StatusCode::OK),
        RangeReq::Part(s, e) => (s, e, StatusCode::PARTIAL_CONTENT),
        RangeReq::Unsatisfiable => {
            let mut r = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("segment {id} is {size} bytes"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let len = end + 1 - start;
    let Ok(mut file) = tokio::fs::File::open(&seg.video).await else { return not_found(&id) };
    if start > 0 && file.seek(io::SeekFrom::Start(start)).await.is_err() {
        return not_found(&id);
    }
    let faults = inner.take_video_faults();
    let body = VideoBody {
        inner: inner.clone(),
        id: id.clone(),
        reader: ReaderStream::with_capacity(file.take(len), CHUNK),
        pending: None,
        sent: 0,
        corrupt_at: faults.corrupt.then_some(len / 2),
        faults,
        done: false,
    };
    let stream = futures_util::stream::unfold(body, VideoBody::next_chunk);
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ETAG, etag(&seg.info.sha256));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    resp
}

/// The body of one video download: the file in 1 MiB chunks, with this download's faults.
struct VideoBody {
    inner: Shared,
    id: String,
    reader: ReaderStream<tokio::io::Take<tokio::fs::File>>,
    pending: Option<Bytes>,
    sent: u64,
    corrupt_at: Option<u64>,
    faults: VideoFaults,
    done: bool,
}

impl VideoBody {
    async fn next_chunk(mut self) -> Option<(io::Result<Bytes>, Self)> {
        if self.done {
            return None;
        }
        if let Some((after, pause)) = self.faults.stall
            && self.sent >= after
        {
            tracing::info!(id = %self.id, ?pause, "injected stall");
            tokio::time::sleep(pause).await;
            self.faults.stall = None;
        }
        if let Some(limit) = self.faults.drop_after
            && self.sent >= limit
        {
            // Give the connection a moment to flush what was sent, then fail the body: hyper
            // closes the connection short of the Content-Length.
            tokio::time::sleep(Duration::from_millis(30)).await;
            tracing::info!(id = %self.id, sent = self.sent, "injected connection drop");
            self.done = true;
            return Some((
                Err(io::Error::new(io::ErrorKind::ConnectionAborted, "injected drop")),
                self,
            ));
        }
        let mut chunk = match self.pending.take() {
            Some(c) => c,
            None => match self.reader.next().await? {
                Ok(c) => c,
                Err(e) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
            },
        };
        // Stop the chunk at the next fault boundary; keep the rest for later.
        let mut cap = chunk.len() as u64;
        if let Some(limit) = self.faults.drop_after {
            cap = cap.min(limit - self.sent);
        }
        if let Some((after, _)) = self.faults.stall
            && after > self.sent
        {
            cap = cap.min(after - self.sent);
        }
        if (cap as usize) < chunk.len() {
            self.pending = Some(chunk.split_off(cap as usize));
        }
        if let Some(at) = self.corrupt_at
            && at >= self.sent
            && at < self.sent + chunk.len() as u64
        {
            let mut m = BytesMut::from(&chunk[..]);
            m[(at - self.sent) as usize] ^= 0xFF;
            chunk = m.freeze();
            self.corrupt_at = None;
            tracing::info!(id = %self.id, at, "injected corrupt byte");
        }
        self.sent += chunk.len() as u64;
        self.inner.add_served(&self.id, chunk.len() as u64);
        Some((Ok(chunk), self))
    }
}

/// `POST /sim/faults` body.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultJson {
    DropAfterBytes { bytes: u64, times: u32 },
    Stall { after_bytes: u64, duration_ms: u64 },
    Http500 { times: u32 },
    CorruptByte { times: u32 },
    Lie { lie: Lie },
}

fn sim_camera(inner: Shared) -> SimCamera {
    SimCamera::from_inner(inner)
}

async fn sim_fault(
    State(inner): State<Shared>,
    body: Result<Json<FaultJson>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(f)) = body else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "expected a fault as JSON");
    };
    let fault = match f {
        FaultJson::DropAfterBytes { bytes, times } => Fault::DropAfterBytes { bytes, times },
        FaultJson::Stall { after_bytes, duration_ms } => {
            Fault::Stall { after_bytes, duration: Duration::from_millis(duration_ms) }
        }
        FaultJson::Http500 { times } => Fault::Http500 { times },
        FaultJson::CorruptByte { times } => Fault::CorruptByte { times },
        FaultJson::Lie { lie } => Fault::Lie(lie),
    };
    sim_camera(inner).inject(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_clear(State(inner): State<Shared>) -> Response {
    sim_camera(inner).clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /sim/pairing-button`: the camera's pairing button, pressed. Opens a pairing window with
/// a fresh code, which the camera shows on its screen (here: the answer, `{"code": "…"}`, and
/// the program's stdout). Simulator only: a real camera has a physical button.
async fn sim_pairing_button(State(inner): State<Shared>) -> Response {
    let code = sim_camera(inner).press_pairing_button();
    println!("Pairing code on the camera's screen: {code}");
    (StatusCode::OK, Json(serde_json::json!({ "code": code }))).into_response()
}

/// `POST /sim/power` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PowerJson {
    on: bool,
    /// With `on: false`: power back on after this many ms (the API is unreachable meanwhile).
    #[serde(default)]
    off_ms: Option<u64>,
}

async fn sim_power(
    State(inner): State<Shared>,
    body: Result<Json<PowerJson>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(p)) = body else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "expected {\"on\": bool}");
    };
    if p.on {
        // Reaching this endpoint means the camera is already on.
        return StatusCode::NO_CONTENT.into_response();
    }
    let cam = sim_camera(inner);
    tokio::spawn(async move {
        // Let this response go out before the connections drop.
        tokio::time::sleep(Duration::from_millis(50)).await;
        cam.power_off().await;
        if let Some(ms) = p.off_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if let Err(e) = cam.power_on().await {
                tracing::error!(error = %e, "power on failed");
            }
        }
    });
    StatusCode::ACCEPTED.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
            m
        };
        assert_eq!(parse_range(&HeaderMap::new(), 10), RangeReq::Full);
        assert_eq!(parse_range(&h("bytes=2-"), 10), RangeReq::Part(2, 9));
        assert_eq!(parse_range(&h("bytes=2-4"), 10), RangeReq::Part(2, 4));
        assert_eq!(parse_range(&h("bytes=2-400"), 10), RangeReq::Part(2, 9));
        assert_eq!(parse_range(&h("bytes=-3"), 10), RangeReq::Part(7, 9));
        assert_eq!(parse_range(&h("bytes=10-"), 10), RangeReq::Unsatisfiable);
        assert_eq!(parse_range(&h("bytes=5-2"), 10), RangeReq::Full);
        assert_eq!(parse_range(&h("bytes=1-2,4-5"), 10), RangeReq::Full);
        assert_eq!(parse_range(&h("items=1-2"), 10), RangeReq::Full);
        assert_eq!(parse_range(&h("bytes=x-"), 10), RangeReq::Full);
    }
}
