//! Settings → Audit log: who did what, when, from where, in sentences with names;
//! filtered by actor, action and time, paged, and exported as CSV or JSON (through
//! `GET /api/v1/audit`, which the session may call).

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use maud::html;
use portcullis_app::audit_text::{self, AuditQuery};
use serde::Deserialize;

use super::{page, Flash};
use crate::error::PageError;
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show);
}

const SECTION: &str = "audit";
const PAGE: i64 = 100;

/// The filter form and paging.
#[derive(Debug, Default, Deserialize)]
struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    /// A day, `YYYY-MM-DD` (from its start).
    #[serde(default)]
    from: String,
    /// A day, `YYYY-MM-DD` (to its end).
    #[serde(default)]
    to: String,
    offset: Option<i64>,
}

fn day(text: &str, end: bool) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    let date = if end { date.succ_opt()? } else { date };
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The page.
#[get("/a/{slug}/settings/audit")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    q: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    let offset = q.offset.unwrap_or(0).max(0);
    let query = AuditQuery {
        actor: Some(q.actor.clone()),
        action: Some(q.action.clone()),
        since: day(&q.from, false),
        until: day(&q.to, true),
    };
    let result = ctx
        .read(&state, move |store, caller| {
            audit_text::search(store, caller, &query, offset, PAGE)
        })
        .await;
    let (events, flash) = match result {
        Ok(events) => (events, Flash::default()),
        Err(e) => (Vec::new(), Flash::error(e)),
    };
    let mut api = format!(
        "/api/v1/audit?actor={}&action={}&limit=1000",
        encode(&q.actor),
        encode(&q.action)
    );
    if let Some(since) = day(&q.from, false) {
        api.push_str(&format!("&since={}", encode(&since.to_rfc3339())));
    }
    if let Some(until) = day(&q.to, true) {
        api.push_str(&format!("&until={}", encode(&until.to_rfc3339())));
    }
    let filters = format!(
        "actor={}&action={}&from={}&to={}",
        encode(&q.actor),
        encode(&q.action),
        encode(&q.from),
        encode(&q.to)
    );
    let body = html! {
        form.filters method="get" action=(ctx.url(SECTION)) {
            label { "Who (email, system, anonymous)" input type="text" name="actor" value=(q.actor); }
            label { "What (an action, or a family such as member.)" input type="text" name="action" value=(q.action); }
            label { "From" input type="date" name="from" value=(q.from); }
            label { "To" input type="date" name="to" value=(q.to); }
            button type="submit" { "Filter" }
        }
        p { "Export: " a href={ (api) "&format=csv" } { "CSV" } " · " a href=(api) { "JSON" } }
        table {
            thead { tr { th { "When (UTC)" } th { "What happened" } th { "Who" } th { "Action" } th { "From" } } }
            tbody {
                @for r in &events {
                    tr {
                        td { (r.event.at.format("%Y-%m-%d %H:%M:%S")) }
                        td { (r.sentence) }
                        td { (r.actor_name) }
                        td { code { (r.event.action) } }
                        td { (r.event.ip.clone().unwrap_or_default()) }
                    }
                }
            }
        }
        @if offset > 0 { a href={ (ctx.url(SECTION)) "?" (filters) "&offset=" ((offset - PAGE).max(0)) } { "← Newer" } " " }
        @if events.len() as i64 == PAGE { a href={ (ctx.url(SECTION)) "?" (filters) "&offset=" (offset + PAGE) } { "Older →" } }
    };
    Ok(page(&ctx, SECTION, &flash, body))
}
