//! Settings → Sign-in attempts: the sign-in debugger. Every SSO attempt of the last 7
//! days with the step that failed; an attempt's page shows each step with what it
//! expected and received, and the IdP's answer with its secrets blanked out.

use actix_web::{get, web, HttpRequest, HttpResponse};
use maud::html;
use portcullis_app::sign_in_attempts;
use portcullis_domain::sign_in_attempt::StepOutcome;

use super::{page, Flash};
use crate::admin::sign_in_attempts::{AttemptJson, AttemptParams};
use crate::error::{AppError, PageError};
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(detail);
}

const SECTION: &str = "sign-in-attempts";

/// The list.
#[get("/a/{slug}/settings/sign-in-attempts")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    q: web::Query<AttemptParams>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    let filter = q.filter();
    let offset = q.offset.unwrap_or(0).max(0);
    let result = match filter {
        Ok(filter) => {
            ctx.read(&state, move |store, caller| {
                sign_in_attempts::list(store, caller, &filter, offset, 100)
            })
            .await
        }
        Err(e) => Err(e),
    };
    let (attempts, flash) = match result {
        Ok(a) => (a, Flash::default()),
        Err(e) => (Vec::new(), Flash::error(e)),
    };
    let email = q.email.clone().unwrap_or_default();
    let body = html! {
        p { "Every single sign-on attempt of the last 7 days. Open one to see each step: what was expected, what the identity provider sent, and where it failed." }
        form.filters method="get" action=(ctx.url(SECTION)) {
            label { "Email" input type="text" name="email" value=(email); }
            label { "Outcome" select name="outcome" {
                option value="" { "All" }
                option value="failed" selected[q.outcome.as_deref() == Some("failed")] { "Failed" }
                option value="succeeded" selected[q.outcome.as_deref() == Some("succeeded")] { "Succeeded" }
            } }
            button type="submit" { "Filter" }
        }
        table {
            thead { tr { th { "When (UTC)" } th { "Email" } th { "Protocol" } th { "Outcome" } th { "Failed at" } th { "" } } }
            tbody {
                @for a in attempts.iter().map(|a| AttemptJson::of(a, false)) {
                    tr {
                        td { (a.at.format("%Y-%m-%d %H:%M:%S")) }
                        td { (a.email.clone().unwrap_or_default()) }
                        td { (a.protocol) }
                        td { (a.outcome) }
                        td { (a.failed_step.clone().unwrap_or_default()) }
                        td { a href={ (ctx.url(SECTION)) "/" (a.id) } { "Details" } }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, SECTION, &flash, body))
}

/// One attempt.
#[get("/a/{slug}/settings/sign-in-attempts/{id}")]
async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    let attempt = ctx
        .read(&state, move |store, caller| {
            sign_in_attempts::get(store, caller, id)
        })
        .await?;
    let body = html! {
        p { (attempt.at.format("%Y-%m-%d %H:%M:%S")) " UTC · " (attempt.protocol) " · "
            (attempt.email.clone().unwrap_or_else(|| "no email yet".into())) " · "
            @if attempt.succeeded { "succeeded" } @else { "failed (" (attempt.reason) ")" } }
        table.steps {
            thead { tr { th { "Step" } th { "Outcome" } th { "Detail" } } }
            tbody {
                @for s in &attempt.steps {
                    tr class=[(s.outcome == StepOutcome::Failed).then_some("failed")] {
                        td { (s.name) } td { (s.outcome) } td { (s.detail) }
                    }
                }
            }
        }
        @if let Some(response) = &attempt.response {
            details.panel {
                summary { "The identity provider's answer (signature values and certificates blanked out)" }
                pre { (response) }
            }
        }
        p { a href=(ctx.url(SECTION)) { "← All attempts" } }
    };
    Ok(page(&ctx, SECTION, &Flash::default(), body))
}
