//! Settings → Webhooks: where the account's events go, the secret shown once, a test
//! ping, and each webhook's delivery log with "send again". The same use cases as
//! `/api/v1/webhooks`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use portcullis_app::webhooks::{self, NewWebhook};
use portcullis_domain::webhook::EVENT_TYPES;
use serde::Deserialize;

use super::{copy_field, csrf_field, page, CsrfOnly, Ctx, Done, Flash};
use crate::admin::members::parse_id;
use crate::error::{AppError, PageError};
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(add)
        .service(ping)
        .service(resend)
        .service(remove);
}

const SECTION: &str = "webhooks";

async fn render(
    state: &AppState,
    ctx: &Ctx,
    flash: Flash,
    secret: Option<String>,
) -> Result<HttpResponse, PageError> {
    let hooks = ctx
        .read(state, |store, caller| {
            let hooks = webhooks::list(store, caller)?;
            hooks
                .into_iter()
                .map(|h| {
                    let log = webhooks::deliveries(store, caller, h.id)?;
                    Ok((h, log))
                })
                .collect::<Result<Vec<_>, AppError>>()
        })
        .await?;
    let body = html! {
        p { "Portcullis sends the account's events to these URLs, signed the Standard Webhooks way (see docs/webhooks.md for how to verify them)." }
        @if let Some(secret) = &secret {
            p.notice { "Copy the signing secret now: it is not shown again." }
            (copy_field("Signing secret", secret))
        }
        @for (hook, log) in &hooks {
            section.webhook {
                h2 { (hook.url) }
                p { (hook.description) " · events: " (hook.events.join(", ")) }
                form method="post" action={ (ctx.url(SECTION)) "/" (hook.id) "/test" } {
                    (csrf_field(ctx))
                    button type="submit" { "Send a test event" }
                }
                form method="post" action={ (ctx.url(SECTION)) "/" (hook.id) "/delete" } {
                    (csrf_field(ctx))
                    button.danger type="submit" { "Remove" }
                }
                @if log.is_empty() {
                    p { "Nothing sent yet." }
                } @else {
                    table {
                        thead { tr { th { "Event" } th { "Status" } th { "Attempts" } th { "Attempt times" } th { "Answer" } th { "Next retry" } th { "" } } }
                        tbody {
                            @for d in log {
                                tr {
                                    td { (d.event_type) }
                                    td { (d.status) }
                                    td { (d.attempts) }
                                    td { (d.attempt_log.iter().map(|a| a.at.format("%Y-%m-%d %H:%M:%S").to_string()).collect::<Vec<_>>().join(", ")) }
                                    td { (d.last_status.map(|s| s.to_string()).or(d.last_error.clone()).unwrap_or_default()) }
                                    td { @if d.status == portcullis_domain::DeliveryStatus::Pending { (d.next_attempt_at.format("%Y-%m-%d %H:%M:%S")) } }
                                    td {
                                        form method="post" action={ (ctx.url(SECTION)) "/" (hook.id) "/deliveries/" (d.id) "/resend" } {
                                            (csrf_field(ctx))
                                            button type="submit" { "Send again" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add a webhook" }
        form method="post" action=(ctx.url(SECTION)) {
            (csrf_field(ctx))
            label { "URL" input type="url" name="url" required placeholder="https://hooks.example.com/portcullis"; }
            label { "Events (comma-separated, or * for all: " (EVENT_TYPES.join(", ")) ")" input type="text" name="events" required value="*"; }
            label { "Description" input type="text" name="description"; }
            button type="submit" { "Add webhook" }
        }
    };
    Ok(page(ctx, SECTION, &flash, body))
}

/// The page.
#[get("/a/{slug}/settings/webhooks")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    q: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    render(&state, &ctx, q.flash(), None).await
}

/// The new-webhook form.
#[derive(Debug, Deserialize)]
struct WebhookForm {
    csrf: String,
    url: String,
    events: String,
    #[serde(default)]
    description: String,
}

/// Makes a webhook and shows its secret once.
#[post("/a/{slug}/settings/webhooks")]
async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<WebhookForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let new = NewWebhook {
        url: form.url.clone(),
        events: form
            .events
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        description: form.description.clone(),
    };
    match webhooks::create(
        &**state,
        &state.webhook_guard(),
        &ctx.caller,
        new,
        Utc::now(),
    )
    .await
    {
        Ok(hook) => {
            let secret = hook.secret.expose().to_owned();
            render(
                &state,
                &ctx,
                Flash::notice("The webhook was added."),
                Some(secret),
            )
            .await
        }
        Err(e) => render(&state, &ctx, Flash::error(e), None).await,
    }
}

/// Sends a test event.
#[post("/a/{slug}/settings/webhooks/{id}/test")]
async fn ping(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result = ctx
        .write_on(&state, &id, move |store, caller, id| {
            webhooks::ping(store, caller, id, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "ping-queued", result, |flash| {
        render(&state, &ctx, flash, None)
    })
    .await
}

/// Sends a delivery again.
#[post("/a/{slug}/settings/webhooks/{id}/deliveries/{delivery}/resend")]
async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (slug, id, delivery) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result = match (parse_id(&id), parse_id(&delivery)) {
        (Ok(id), Ok(delivery)) => {
            ctx.write(&state, move |store, caller| {
                webhooks::resend(store, caller, id, delivery, Utc::now())
            })
            .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    ctx.answer(SECTION, "resend-queued", result, |flash| {
        render(&state, &ctx, flash, None)
    })
    .await
}

/// Removes a webhook.
#[post("/a/{slug}/settings/webhooks/{id}/delete")]
async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result = ctx
        .write_on(&state, &id, move |store, caller, id| {
            webhooks::delete(store, caller, id, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "deleted", result, |flash| {
        render(&state, &ctx, flash, None)
    })
    .await
}
