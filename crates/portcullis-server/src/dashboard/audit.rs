//! Settings → Audit log: who did what, when, from where; newest first, paged.

use actix_web::{get, web, HttpRequest, HttpResponse};
use maud::html;

use super::{page, Flash};
use portcullis_app::audit;

use crate::admin::audit::actor_text;
use crate::admin::Paging;
use crate::error::PageError;
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show);
}

const SECTION: &str = "audit";
const PAGE: i64 = 100;

/// The page.
#[get("/a/{slug}/settings/audit")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    q: web::Query<Paging>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    let offset = q.offset.unwrap_or(0).max(0);
    let events = ctx
        .read(&state, move |store, caller| {
            audit::list(store, caller, offset, PAGE)
        })
        .await?;
    let body = html! {
        table {
            thead { tr { th { "When (UTC)" } th { "Who" } th { "What" } th { "Target" } th { "From" } th { "Detail" } } }
            tbody {
                @for e in &events {
                    tr {
                        td { (e.at.format("%Y-%m-%d %H:%M:%S")) } td { (actor_text(&e.actor)) } td { code { (e.action) } }
                        td { (e.target.clone().unwrap_or_default()) } td { (e.ip.clone().unwrap_or_default()) }
                        td { @if e.detail != "{}" { code { (e.detail) } } }
                    }
                }
            }
        }
        @if offset > 0 { a href={ (ctx.url(SECTION)) "?offset=" ((offset - PAGE).max(0)) } { "← Newer" } " " }
        @if events.len() as i64 == PAGE { a href={ (ctx.url(SECTION)) "?offset=" (offset + PAGE) } { "Older →" } }
    };
    Ok(page(&ctx, SECTION, &Flash::default(), body))
}
