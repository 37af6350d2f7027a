//! Prometheus metrics, served at `/metrics` in the text exposition format: requests by
//! route and status with latency histograms, SCIM operations and SSO logins by outcome,
//! and database pool use.

use std::sync::atomic::AtomicI64;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{get, web, HttpResponse};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IdpLabels {
    idp: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    kind: String,
    outcome: String,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Every metric the server records.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    scim: Family<OutcomeLabels, Counter>,
    sso: Family<OutcomeLabels, Counter>,
    pool_connections: Gauge<i64, AtomicI64>,
    pool_idle: Gauge<i64, AtomicI64>,
    certificate_expiry: Family<IdpLabels, Gauge<i64, AtomicI64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let scim = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "scim_operations",
            "SCIM operations by kind and outcome",
            scim.clone(),
        );
        let sso = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "sso_logins",
            "SSO logins by IdP kind and outcome (ok or the refusal reason)",
            sso.clone(),
        );
        let pool_connections = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "db_pool_connections",
            "Database connections open",
            pool_connections.clone(),
        );
        let pool_idle = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "db_pool_idle_connections",
            "Database connections idle",
            pool_idle.clone(),
        );
        let certificate_expiry = Family::<IdpLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "idp_certificate_expiry_seconds",
            "Seconds until the first signing certificate of a SAML IdP expires (negative once it has)",
            certificate_expiry.clone(),
        );
        Self {
            registry,
            certificate_expiry,
            requests,
            latency,
            scim,
            sso,
            pool_connections,
            pool_idle,
        }
    }

    /// Sets the certificate expiry gauge to `expiries` (IdP id, seconds left), forgetting
    /// IdPs that are gone.
    pub fn set_certificate_expiries(&self, expiries: &[(String, i64)]) {
        self.certificate_expiry.clear();
        for (idp, seconds) in expiries {
            self.certificate_expiry
                .get_or_create(&IdpLabels { idp: idp.clone() })
                .set(*seconds);
        }
    }

    /// Records a SCIM operation (`kind` like `user.create`, `outcome` `ok` or an error type).
    pub fn scim_operation(&self, kind: &str, outcome: &str) {
        self.scim
            .get_or_create(&OutcomeLabels {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Records an SSO login (`kind` `saml` or `oidc`, `outcome` `ok` or the refusal reason).
    pub fn sso_login(&self, kind: &str, outcome: &str) {
        self.sso
            .get_or_create(&OutcomeLabels {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(seconds);
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Middleware recording every request. Routes are labelled by their pattern
/// (`/scim/v2/Users/{id}`), never by the raw path, so the label set stays bounded.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    // Asked after routing, actix names the pattern of the resource it matched from what
    // it recorded; asked before, it matches the path against the routes a second time.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = state {
        state.metrics.record(
            &route,
            &method,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(response)
}

/// Wires `/metrics`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(metrics);
}

/// The metrics in Prometheus' text format.
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (connections, idle) = state.store.pool_state();
    state.metrics.pool_connections.set(i64::from(connections));
    state.metrics.pool_idle.set(i64::from(idle));
    let now = chrono::Utc::now();
    let expiries = state
        .read(move |store| {
            Ok(store
                .all_idps()?
                .iter()
                .filter_map(|idp| {
                    let expires = portcullis_app::idps::certificate_expiry(idp)?;
                    Some((idp.id.to_string(), (expires - now).num_seconds()))
                })
                .collect::<Vec<_>>())
        })
        .await;
    match expiries {
        Ok(expiries) => state.metrics.set_certificate_expiries(&expiries),
        Err(e) => tracing::warn!(error = %e, "reading the IdPs' certificates for /metrics failed"),
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_and_labels() {
        let m = Metrics::new();
        m.record("/a/{slug}/login", "POST", 401, 0.01);
        m.scim_operation("user.create", "ok");
        m.sso_login("saml", "saml_expired");
        let text = m.encode();
        assert!(text.contains(r#"portcullis_http_requests_total{route="/a/{slug}/login",method="POST",status="401"} 1"#), "{text}");
        assert!(
            text.contains("portcullis_http_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains(r#"portcullis_scim_operations_total{kind="user.create",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"portcullis_sso_logins_total{kind="saml",outcome="saml_expired"} 1"#),
            "{text}"
        );
    }
}
