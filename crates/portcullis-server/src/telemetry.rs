//! Logs, request ids and traces: structured `tracing` logs as text or JSON, a request id
//! on every request that is logged with it and returned in `X-Request-Id`, and — when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set — every request's spans exported over OTLP
//! ([`otel`]).
//!
//! Every request runs in one `request` span. Work below it that is worth a span of its
//! own in a trace (store calls, calls to IdPs, DNS, webhook receivers) gets a `debug`
//! span: the log filter (`info` by default) leaves those disabled, so without an OTLP
//! endpoint they cost a check of a cached flag; with one, the exporting layer's own
//! filter enables them.

pub mod otel;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::field::Empty;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

/// The response header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// What [`init_logging`] started that must be stopped at exit: the span exporter, which
/// sends the spans still waiting when dropped.
#[must_use = "dropping it stops exporting spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "the last spans were not exported");
            }
        }
    }
}

/// The log layer: to standard error, filtered by `PORTCULLIS_LOG` (default `info`).
fn log_layer<S>(format: LogFormat) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let filter = env_filter();
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => layer.with_filter(filter).boxed(),
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_filter(filter)
            .boxed(),
    }
}

/// Sets up the global `tracing` subscriber: logs to standard error ([`log_layer`]) and,
/// when the environment names an OTLP endpoint, span export ([`otel`]). Keep the answer
/// until the process ends.
pub fn init_logging(format: LogFormat) -> anyhow::Result<Telemetry> {
    let provider = if otel::requested(|name| std::env::var(name).ok()) {
        Some(otel::provider()?)
    } else {
        None
    };
    match &provider {
        Some(provider) => exporting_subscriber(format, provider).try_init()?,
        None => plain_subscriber(format).try_init()?,
    }
    Ok(Telemetry { provider })
}

fn env_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// The subscriber without export: the formatter with one global filter, as before
/// tracing existed, so that nothing below `info` (by default) is enabled and the `debug`
/// spans are disabled where they are written, at no cost.
fn plain_subscriber(format: LogFormat) -> Box<dyn tracing::Subscriber + Send + Sync> {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .finish(),
        ),
    }
}

/// The subscriber with export: the log layer with its own filter, and the exporting
/// layer with its own.
fn exporting_subscriber(
    format: LogFormat,
    provider: &SdkTracerProvider,
) -> impl tracing::Subscriber + Send + Sync + 'static {
    tracing_subscriber::registry()
        .with(log_layer(format))
        .with(otel::layer(provider))
}

/// Records the account a request acts in on its span, once it is known (from an API
/// key, a session or the IdP a sign-in arrives from). Call it from the request's own
/// task, outside store calls.
pub fn record_account(account: impl std::fmt::Display) {
    if otel::exporting() {
        tracing::Span::current().record("account.id", tracing::field::display(account));
    }
}

/// A request id the client (or a proxy) sent is kept when it is short and plain, so ids
/// can be followed across services; anything else is replaced by a fresh one.
fn usable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new request id: a random (v4) UUID from the thread's generator, which is seeded from
/// the operating system but, unlike `Uuid::new_v4`, does not ask it again (a system call)
/// on every request.
fn fresh_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .simple()
        .to_string()
}

/// Middleware: gives the request an id, logs the request inside a span carrying it, and
/// returns it in `X-Request-Id`. Secrets (headers, bodies) are never logged.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| usable(v))
        .map_or_else(fresh_id, str::to_owned);
    let route = req.match_pattern().unwrap_or_default();
    let exporting = otel::exporting();
    let span = if exporting {
        // The fields after `route` are for exported spans.
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %req.method(),
            route = %route,
            trace_id = Empty,
            otel.name = Empty,
            otel.kind = Empty,
            otel.status_code = Empty,
            http.request.method = Empty,
            http.route = Empty,
            http.response.status_code = Empty,
            account.id = Empty,
        );
        otel::start_request(&span, req.headers(), req.method().as_str(), &route);
        span
    } else {
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route)
    };
    let started = std::time::Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    if exporting {
        span.record("http.response.status_code", status);
        if status >= 500 {
            span.record("otel.status_code", "error");
        }
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_endpoint_the_trace_only_spans_are_disabled() {
        // `PORTCULLIS_LOG` as the tests run is `info` unless someone asks for more.
        if std::env::var_os("PORTCULLIS_LOG").is_some() {
            return;
        }
        tracing::subscriber::with_default(plain_subscriber(LogFormat::Json), || {
            assert!(tracing::debug_span!("store.read").is_disabled());
            assert!(!tracing::info_span!("request").is_disabled());
        });
    }

    #[test]
    fn an_endpoint_variable_asks_for_export() {
        let check = |vars: &[(&str, &str)], expected: bool| {
            let var = |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            };
            assert_eq!(otel::requested(var), expected, "{vars:?}");
        };
        check(&[], false);
        check(&[("OTEL_SERVICE_NAME", "x")], false);
        check(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")], false);
        check(
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")],
            true,
        );
        check(
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c/v1/traces")],
            true,
        );
    }

    #[test]
    fn only_plain_ids_are_kept() {
        assert!(usable("abc-123_DEF"));
        assert!(!usable(""));
        assert!(!usable("a b"));
        assert!(!usable("x\r\ny"));
        assert!(!usable(&"a".repeat(65)));
    }

    #[test]
    fn fresh_ids_are_random_v4_uuids_the_id_filter_keeps() {
        let (a, b) = (fresh_id(), fresh_id());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version(), Some(uuid::Version::Random));
        assert!(usable(&a));
    }
}
