//! The reauth demo server: the page in `www/`, the built package in `pkg/`, a login and a
//! token endpoint with rotating refresh tokens, and a protected API that answers 401s with
//! RFC 6750 challenges. With `--demo` it also serves knobs (expire, revoke, slow or failing
//! refresh, latency) and counters; without it, those routes do not exist.
//!
//! Usage: `reauth-demo [--port N] [--demo] [--access-ttl SECONDS] [--root DIR]`
//! (or `PORT`, `ACCESS_TTL`). Port 0 picks a free port; the URL is printed on stdout.

mod tokens;

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use tokens::{Access, RefreshError, Tokens};

/// Counters of what the server saw, for the page and the tests.
#[derive(Default, Clone, serde::Serialize)]
struct Stats {
    api_requests: u64,
    api_ok: u64,
    unauthorized: u64,
    forbidden: u64,
    refreshes: u64,
    refresh_ok: u64,
    refresh_failed: u64,
    reuse_detected: u64,
    logins: u64,
}

/// The demo knobs.
#[derive(Default, Clone, Copy, serde::Serialize)]
struct Knobs {
    refresh_delay_ms: u64,
    refresh_fail: bool,
    latency_ms: u64,
}

struct Inner {
    tokens: Tokens,
    stats: Stats,
    knobs: Knobs,
}

#[derive(Clone)]
struct App {
    inner: Arc<Mutex<Inner>>,
    root: Arc<PathBuf>,
}

impl App {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

struct Args {
    port: u16,
    demo: bool,
    access_ttl: u64,
    root: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(8080),
        demo: false,
        access_ttl: std::env::var("ACCESS_TTL")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(20),
        root: std::env::current_dir().map_err(|e| e.to_string())?,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--port" => args.port = value("--port")?.parse().map_err(|_| "--port: a number")?,
            "--access-ttl" => {
                args.access_ttl = value("--access-ttl")?
                    .parse()
                    .map_err(|_| "--access-ttl: seconds")?
            }
            "--root" => args.root = PathBuf::from(value("--root")?),
            "--demo" => args.demo = true,
            "-h" | "--help" => {
                return Err(
                    "usage: reauth-demo [--port N] [--demo] [--access-ttl SECONDS] [--root DIR]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let app = App {
        inner: Arc::new(Mutex::new(Inner {
            tokens: Tokens::new(Duration::from_secs(args.access_ttl)),
            stats: Stats::default(),
            knobs: Knobs::default(),
        })),
        root: Arc::new(args.root),
    };
    let mut router = Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/api/data", get(api_data))
        .route("/api/admin", get(api_admin))
        .route("/api/basic", get(api_basic));
    if args.demo {
        router = router
            .route("/demo/expire", post(knob_expire))
            .route("/demo/revoke", post(knob_revoke))
            .route("/demo/config", post(knob_config))
            .route("/demo/stats", get(knob_stats))
            .route("/demo/reset", post(knob_reset));
    }
    let router = router.fallback(static_file).with_state(app);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{}: {e}", args.port);
            std::process::exit(1);
        }
    };
    // Listen for Ctrl-C (and SIGTERM) before announcing the URL, so a stop sent right after
    // the announcement is not missed.
    let shutdown = shutdown_signal();
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);
    println!(
        "reauth demo: http://127.0.0.1:{port}/{}  (Ctrl-C stops)",
        if args.demo {
            ""
        } else {
            "  [knobs off: run with --demo]"
        }
    );
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
}

/// Resolves on SIGINT or SIGTERM; the handlers are installed when this is called.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    async move {
        tokio::select! {
            _ = async { if let Some(s) = &mut int { s.recv().await; } else { std::future::pending::<()>().await } } => {}
            _ = async { if let Some(s) = &mut term { s.recv().await; } else { std::future::pending::<()>().await } } => {}
        }
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

fn with_challenge(mut response: Response, challenge: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(State(app): State<App>, Json(body): Json<LoginBody>) -> Response {
    if body.username != "demo" || body.password != "demo" {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "use demo / demo",
        );
    }
    let issued = app.with(|s| {
        s.stats.logins += 1;
        s.tokens.login(Instant::now())
    });
    Json(issued).into_response()
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(State(app): State<App>, Json(body): Json<RefreshBody>) -> Response {
    let knobs = app.with(|s| {
        s.stats.refreshes += 1;
        s.knobs
    });
    if knobs.refresh_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(knobs.refresh_delay_ms)).await;
    }
    let result = app.with(|s| {
        if knobs.refresh_fail {
            return Err("the token endpoint is failing (demo knob)");
        }
        match s.tokens.refresh(&body.refresh_token, Instant::now()) {
            Ok(issued) => Ok(issued),
            Err(RefreshError::Reused) => {
                s.stats.reuse_detected += 1;
                Err("refresh token reused: every token of its family is revoked")
            }
            Err(RefreshError::Invalid) => Err("unknown or revoked refresh token"),
        }
    });
    app.with(|s| match &result {
        Ok(_) => s.stats.refresh_ok += 1,
        Err(_) => s.stats.refresh_failed += 1,
    });
    match result {
        Ok(issued) => Json(issued).into_response(),
        Err(why) => error(StatusCode::BAD_REQUEST, "invalid_grant", why),
    }
}

/// Checks the bearer token of an API request: the token's state, after the latency knob.
async fn check_api(app: &App, headers: &HeaderMap) -> Access {
    let latency = app.with(|s| {
        s.stats.api_requests += 1;
        s.knobs.latency_ms
    });
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    app.with(|s| s.tokens.check(auth, Instant::now()))
}

/// The 401 for a request without a valid token, with its RFC 6750 challenge.
fn unauthorized(app: &App, access: Access) -> Response {
    app.with(|s| s.stats.unauthorized += 1);
    let (challenge, description) = match access {
        Access::Missing => ("Bearer realm=\"demo\"", "no access token"),
        Access::Expired => (
            "Bearer realm=\"demo\", error=\"invalid_token\", error_description=\"The access token expired\"",
            "The access token expired",
        ),
        _ => (
            "Bearer realm=\"demo\", error=\"invalid_token\", error_description=\"Unknown access token\"",
            "Unknown access token",
        ),
    };
    with_challenge(
        error(StatusCode::UNAUTHORIZED, "invalid_token", description),
        challenge,
    )
}

async fn api_data(State(app): State<App>, headers: HeaderMap) -> Response {
    match check_api(&app, &headers).await {
        Access::Valid => {
            app.with(|s| s.stats.api_ok += 1);
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            Json(json!({ "message": "protected data", "served_at": ms })).into_response()
        }
        other => unauthorized(&app, other),
    }
}

async fn api_admin(State(app): State<App>, headers: HeaderMap) -> Response {
    match check_api(&app, &headers).await {
        Access::Valid => {
            app.with(|s| s.stats.forbidden += 1);
            with_challenge(
                error(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "this route needs the admin scope",
                ),
                "Bearer realm=\"demo\", error=\"insufficient_scope\", scope=\"admin\"",
            )
        }
        other => unauthorized(&app, other),
    }
}

/// A route guarded by Basic: a token refresh cannot answer it. (Browsers show their own
/// credentials dialog for it; demo / demo opens it.)
async fn api_basic(State(app): State<App>, headers: HeaderMap) -> Response {
    app.with(|s| s.stats.api_requests += 1);
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth == Some("Basic ZGVtbzpkZW1v") {
        app.with(|s| s.stats.api_ok += 1);
        return Json(json!({ "message": "basic-protected data" })).into_response();
    }
    app.with(|s| s.stats.unauthorized += 1);
    with_challenge(
        error(
            StatusCode::UNAUTHORIZED,
            "basic_required",
            "this route wants Basic credentials",
        ),
        "Basic realm=\"demo\"",
    )
}

async fn knob_expire(State(app): State<App>) -> Response {
    app.with(|s| s.tokens.expire_all(Instant::now()));
    Json(json!({ "expired": true })).into_response()
}

async fn knob_revoke(State(app): State<App>) -> Response {
    app.with(|s| s.tokens.revoke_all());
    Json(json!({ "revoked": true })).into_response()
}

#[derive(Deserialize)]
struct KnobsBody {
    refresh_delay_ms: Option<u64>,
    refresh_fail: Option<bool>,
    latency_ms: Option<u64>,
}

async fn knob_config(State(app): State<App>, Json(body): Json<KnobsBody>) -> Response {
    let knobs = app.with(|s| {
        if let Some(v) = body.refresh_delay_ms {
            s.knobs.refresh_delay_ms = v;
        }
        if let Some(v) = body.refresh_fail {
            s.knobs.refresh_fail = v;
        }
        if let Some(v) = body.latency_ms {
            s.knobs.latency_ms = v;
        }
        s.knobs
    });
    Json(knobs).into_response()
}

async fn knob_stats(State(app): State<App>) -> Response {
    let (stats, knobs) = app.with(|s| (s.stats.clone(), s.knobs));
    Json(json!({ "stats": stats, "knobs": knobs })).into_response()
}

async fn knob_reset(State(app): State<App>) -> Response {
    app.with(|s| {
        s.stats = Stats::default();
        s.knobs = Knobs::default();
    });
    Json(json!({ "reset": true })).into_response()
}

/// `www/` at the root and `pkg/` under `/pkg/`.
async fn static_file(State(app): State<App>, request: Request) -> Response {
    let path = request.uri().path();
    let (dir, rest) = match path.strip_prefix("/pkg/") {
        Some(rest) => ("pkg", rest),
        None => ("www", path.trim_start_matches('/')),
    };
    let rest = if rest.is_empty() || rest.ends_with('/') {
        format!("{rest}index.html")
    } else {
        rest.to_string()
    };
    let relative = Path::new(&rest);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let file = app.root.join(dir).join(relative);
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js" | "mjs") => "text/javascript; charset=utf-8",
                Some("wasm") => "application/wasm",
                Some("css") => "text/css; charset=utf-8",
                Some("json") => "application/json",
                Some("svg") => "image/svg+xml",
                _ => "application/octet-stream",
            };
            (
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                Body::from(bytes),
            )
                .into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
