//! The Portcullis HTTP server: a thin actix-web layer. No business rule lives here:
//! routes parse requests, call the use cases of `portcullis-app`, and render answers;
//! this crate holds the extractors, the rendering (JSON, HTML, SCIM), the one mapping
//! from failures to statuses ([`error`]) and how store work is run ([`state`]).

pub mod admin;
pub mod api_auth;
pub mod client_ip;
pub mod config;
pub mod daily;
pub mod dashboard;
pub mod dns;
pub mod encryption_key;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod operator_api;
pub mod pages;
pub mod routes;
pub mod scim;
pub mod session;
pub mod setup;
pub mod sso;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod webhook_sender;
pub mod writer;

use std::sync::Arc;

use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use portcullis_store::{Backend, Store};
use rand::RngCore;

use crate::config::Config;
use crate::error::{ApiError, AppError};
use crate::session::SessionKeys;
use crate::state::AppState;
use crate::writer::Writer;

/// Blocking threads each worker may run (store work that does not run inline, SAML
/// verification, password hashing), by backend.
///
/// - PostgreSQL: the database pool's connections shared out among the workers (at least
///   one each). More threads than the pool has connections would only queue on the pool,
///   and r2d2 does not hand a returned connection to the thread that has waited longest:
///   with twice as many threads as connections, PostgreSQL reads under load waited up to
///   0.8 s (p99) for one.
/// - SQLite: [`SQLITE_BLOCKING_THREADS_PER_WORKER`]. Its work there waits on the CPU,
///   never on the network (writes go to the writer thread), so more threads only run
///   more pages at once, each holding its rows, its rendered page and a filled page
///   cache. Against five a worker, two served the same pages a second with half the p99
///   and a peak 13 to 17 MiB lower; against two, one served the same pages, PATCHes and
///   creates a second with a peak about 8 MiB lower (`docs/benchmarks.md`). With one
///   worker per core, that is one thread per core; work for a worker whose thread is
///   busy waits in that worker's queue.
pub fn blocking_threads_per_worker(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => SQLITE_BLOCKING_THREADS_PER_WORKER,
        Backend::Postgres => (portcullis_store::DEFAULT_POOL_SIZE as usize / workers()).max(1),
    }
}

/// Blocking threads each worker may run on SQLite ([`blocking_threads_per_worker`]).
pub const SQLITE_BLOCKING_THREADS_PER_WORKER: usize = 1;

/// Largest JSON or form body accepted outside SCIM.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How many async workers the server runs: one per core.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Opens the database, applies migrations and builds the shared state.
pub fn prepare(config: Config) -> anyhow::Result<AppState> {
    let key = encryption_key::resolve(config.encryption_key.as_deref(), &config.database_url)?;
    let store = Store::connect(&config.database_url)
        .with_context(|| format!("opening the database {}", config.database_url))?
        .with_encryption_key(&key);
    store.migrate().context("applying database migrations")?;
    let inline_reads = store
        .readers(workers() as u32)
        .context("opening the read connections")?;
    let writer = match store.backend() {
        Backend::Sqlite => Some(Writer::start(store.clone()).context("starting the writer")?),
        Backend::Postgres => None,
    };
    let secret = match &config.session_key {
        Some(key) => key.clone(),
        None => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            store
                .get_or_create_secret("session_key", URL_SAFE_NO_PAD.encode(bytes))
                .context("reading the session key")?
        }
    };
    let dns = dns::Dns::new(&config.dns_servers).context("setting up the DNS resolver")?;
    let webhooks = webhook_sender::Sender::new(webhook_sender::Guard {
        allow_private: config.sso_allow_private_addresses,
    })
    .context("setting up the webhook client")?;
    Ok(AppState {
        store,
        inline_reads,
        writer,
        config: Arc::new(config),
        keys: Arc::new(SessionKeys::new(&secret)),
        metrics: Arc::new(metrics::Metrics::new()),
        throttle: Arc::new(throttle::LoginThrottle::default()),
        sso_providers: Arc::default(),
        scim_limiter: Arc::default(),
        dns,
        webhooks,
    })
}

/// Headers every answer carries.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
}

/// Registers every route on an actix app.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let separate_metrics = state.config.metrics_bind.is_some();
        cfg.app_data(web::Data::new(state))
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(|err, _req| {
                        let app = match &err {
                            actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
                            | actix_web::error::JsonPayloadError::Overflow { .. } => {
                                AppError::PayloadTooLarge
                            }
                            other => AppError::BadRequest(format!("invalid JSON body: {other}")),
                        };
                        ApiError(app).into()
                    }),
            )
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(|err, _req| {
                        crate::error::PageError(AppError::BadRequest(format!(
                            "invalid form: {err}"
                        )))
                        .into()
                    }),
            )
            // SCIM first: it is what IdPs call all day, and actix tries the routes in
            // the order they are registered (a regular expression for each one with a
            // `{segment}`). No other route's path starts with `/scim/v2`.
            .configure(scim::config)
            .configure(routes::health::config)
            .configure(|cfg| {
                // With a metrics address of its own, the public listener has no /metrics.
                if !separate_metrics {
                    metrics::config(cfg);
                }
            })
            .configure(routes::home::config)
            .configure(routes::auth::config)
            .configure(routes::email_first::config)
            .configure(routes::me::config)
            .configure(sso::config)
            .configure(admin::config)
            .configure(operator_api::config)
            .configure(setup::config)
            .configure(dashboard::config)
            .default_service(web::to(not_found));
    }
}

/// Registers only `GET /metrics`, for the listener at `PORTCULLIS_METRICS_BIND`.
pub fn configure_metrics(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .configure(metrics::config)
            .default_service(web::to(not_found));
    }
}

async fn not_found() -> Result<HttpResponse, crate::error::PageError> {
    Err(AppError::NotFound.into())
}

/// Serves until SIGTERM or Ctrl-C; in-flight requests finish first.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let bind = state.config.bind.clone();
    let public_url = state.config.public_url.clone();
    tracing::info!(%bind, %public_url, "starting");
    // Webhook deliveries, every second, on a thread of their own.
    let deliverer = state.clone();
    std::thread::Builder::new()
        .name("webhooks".into())
        .spawn(move || {
            let sender = deliverer.webhooks.clone();
            actix_web::rt::System::new().block_on(webhook_sender::run(
                deliverer,
                sender,
                std::time::Duration::from_secs(1),
            ))
        })
        .context("starting the webhook deliveries")?;
    // The daily work (metadata refresh, domain re-check) on a thread of its own.
    let daily = state.clone();
    std::thread::Builder::new()
        .name("daily".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(daily::run(
                daily,
                std::time::Duration::from_secs(24 * 60 * 60),
            ))
        })
        .context("starting the daily work")?;
    let store = state.store.clone();
    let retention = state.config.audit_retention_days;
    std::thread::Builder::new()
        .name("housekeeping".into())
        .spawn(move || {
            match portcullis_app::housekeeping::fill_scim_views(&store) {
                Ok(0) => {}
                Ok(n) => tracing::info!(members = n, "wrote the SCIM views of older members"),
                Err(e) => {
                    tracing::warn!(error = %e, "writing the SCIM views of older members failed")
                }
            }
            portcullis_app::housekeeping::purge_loop(
                store,
                portcullis_app::housekeeping::PURGE_EVERY,
                retention,
            )
        })
        .context("starting the housekeeping")?;
    if let Some(metrics_bind) = state.config.metrics_bind.clone() {
        let metrics_state = state.clone();
        let metrics_server =
            HttpServer::new(move || App::new().configure(configure_metrics(metrics_state.clone())))
                .workers(1)
                .bind(&metrics_bind)
                .with_context(|| format!("binding the metrics address {metrics_bind}"))?
                .run();
        actix_web::rt::spawn(metrics_server);
        println!("Metrics are served on {metrics_bind}");
    }
    let backend = state.store.backend();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(security_headers())
            .wrap(actix_web::middleware::from_fn(metrics::record))
            .wrap(actix_web::middleware::from_fn(telemetry::request_id))
            .configure(configure(state.clone()))
    })
    .workers(workers())
    .worker_max_blocking_threads(blocking_threads_per_worker(backend))
    .shutdown_timeout(30)
    .bind(&bind)
    .with_context(|| format!("binding {bind}"))?;
    // Printed (not only logged) so operators and scripts see when the server is up.
    println!("Portcullis is listening on {bind} ({})", public_url);
    server.run().await.context("running the server")
}
