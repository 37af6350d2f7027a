//! Traces exported over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: the exporter, its batch processor and
//! resource read the standard `OTEL_*` variables; this module decides whether to export,
//! which spans go out, and joins a request's span to the trace its caller sent.

use std::sync::OnceLock;

use actix_web::http::header::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::Targets;

/// The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES`
/// names one.
pub const DEFAULT_SERVICE_NAME: &str = "portcullis";

/// Whether spans are exported, decided once when logging starts. Requests read it to
/// skip the work only exported spans need (the parent from `traceparent`, the span's
/// OpenTelemetry name and attributes) when nothing would send them.
static EXPORTING: OnceLock<bool> = OnceLock::new();

/// Whether this process exports spans.
pub fn exporting() -> bool {
    EXPORTING.get().copied().unwrap_or(false)
}

/// Whether the environment asks for traces to be exported.
pub fn requested(var: impl Fn(&str) -> Option<String>) -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| var(name).is_some_and(|v| !v.trim().is_empty()))
}

/// The tracer provider sending spans to the OTLP endpoint the environment names, in
/// batches from a thread of its own (`OTEL_BSP_*` tune it). Marks the process as
/// exporting.
pub fn provider() -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::new("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    let resource = if named {
        detected
    } else {
        Resource::builder()
            .with_service_name(DEFAULT_SERVICE_NAME)
            .build()
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let _ = EXPORTING.set(true);
    Ok(provider)
}

/// The tracing layer that turns spans into OpenTelemetry spans.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::filter::FilterExt as _;
    use tracing_subscriber::Layer as _;
    // Store calls are traced inside a request; those of the background work (the webhook
    // worker polls every second) would each be a trace of one span, noise.
    let in_a_request = tracing_subscriber::filter::DynFilterFn::new(
        |meta: &tracing::Metadata<'_>, cx: &tracing_subscriber::layer::Context<'_, S>| {
            !(meta.is_span() && meta.name().starts_with("store.")) || cx.lookup_current().is_some()
        },
    );
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("portcullis"))
        .with_filter(filter().and(in_a_request))
}

/// What is exported: Portcullis's own spans down to `debug` (the store calls and the
/// outbound calls are `debug`, so that logs, whose filter is `info` by default, never
/// pay for them), and nothing of the libraries (the exporter's own HTTP client among
/// them).
pub fn filter() -> Targets {
    Targets::new().with_targets(
        [
            "portcullis_server",
            "portcullis_app",
            "portcullis_sso",
            "portcullis",
        ]
        .map(|target| (target, LevelFilter::DEBUG)),
    )
}

/// An actix header map as OpenTelemetry's propagators read one.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// Makes `span` the server span of a request: a child of the caller's span when the
/// request carries a W3C `traceparent`, named `METHOD route` (only `METHOD` when no
/// route matched), with the request's attributes; and records the trace id on it, so
/// log lines inside show it.
pub fn start_request(span: &tracing::Span, headers: &HeaderMap, method: &str, route: &str) {
    // The name and kind first: once the span is started (below, to read its trace id)
    // they can no longer change.
    span.record("otel.kind", "server");
    span.record("http.request.method", method);
    if route.is_empty() {
        span.record("otel.name", method);
    } else {
        span.record("otel.name", format!("{method} {route}"));
        span.record("http.route", route);
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if parent.span().span_context().is_valid() {
        // Fails only when the span is not exported (then there is nothing to join).
        let _ = span.set_parent(parent);
    }
    let trace = span.context().span().span_context().trace_id();
    if trace != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace));
    }
}
