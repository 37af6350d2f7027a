//! Settings → IP restrictions: the networks API calls (SCIM included) may come from.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use portcullis_app::accounts;
use serde::Deserialize;

use super::{csrf_field, page, Ctx, Done, Flash};
use crate::admin::ip_restrictions::IpRestrictionsJson;
use crate::error::PageError;
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(save);
}

const SECTION: &str = "ip-restrictions";

fn render(ctx: &Ctx, flash: Flash, text: &str) -> HttpResponse {
    let body = html! {
        p { "API calls, SCIM included, are accepted only from these networks. Leave empty to accept calls from anywhere. Remember to include your identity provider's SCIM addresses." }
        form method="post" action=(ctx.url(SECTION)) {
            (csrf_field(ctx))
            label { "One CIDR range or address per line" textarea name="ranges" rows="8" { (text) } }
            button type="submit" { "Save" }
        }
    };
    page(ctx, SECTION, &flash, body)
}

/// The page.
#[get("/a/{slug}/settings/ip-restrictions")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    q: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    let current = IpRestrictionsJson::of(&ctx.caller.account)
        .ranges
        .join("\n");
    Ok(render(&ctx, q.flash(), &current))
}

/// The form.
#[derive(Debug, Deserialize)]
struct RangesForm {
    csrf: String,
    #[serde(default)]
    ranges: String,
}

/// Handles the form posted to `/a/{slug}/settings/ip-restrictions`.
#[post("/a/{slug}/settings/ip-restrictions")]
async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<RangesForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let ranges: Vec<String> = form
        .ranges
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let result = ctx
        .write(&state, move |store, caller| {
            accounts::set_ip_restrictions(store, caller, &ranges, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "saved", result, |flash| async {
        Ok(render(&ctx, flash, &form.ranges))
    })
    .await
}
