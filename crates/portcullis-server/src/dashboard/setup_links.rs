//! Settings → Setup links: make a link for the customer's IT admin (which sections, how
//! long; its URL is shown once), see the account's links, revoke one.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use portcullis_app::setup_links;
use portcullis_domain::SetupSection;
use serde::Deserialize;

use super::{copy_field, csrf_field, page, ticked, CsrfOnly, Ctx, Done, Flash};
use crate::error::PageError;
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(create).service(revoke);
}

const SECTION: &str = "setup-links";

async fn render(
    state: &AppState,
    ctx: &Ctx,
    flash: Flash,
    url: Option<String>,
) -> Result<HttpResponse, PageError> {
    let links = ctx.read(state, setup_links::list).await?;
    let now = Utc::now();
    let body = html! {
        p { "Give the person who runs your identity provider (Okta, Entra ID) a link to set it up without becoming a member. The link opens only the steps you choose, for the time you choose, and can be revoked." }
        @if let Some(url) = &url {
            section.secret {
                p.warning { "Copy the link now: it is shown only this once." }
                (copy_field("Setup link", url))
            }
        }
        section {
            h2 { "Make a setup link" }
            form method="post" action=(ctx.url(SECTION)) {
                (csrf_field(ctx))
                fieldset {
                    legend { "What it opens" }
                    label.check { input type="checkbox" name="sso" value="on" checked; "Identity provider: guides for Okta and Entra ID, adding the IdP, a test sign-in" }
                    label.check { input type="checkbox" name="scim" value="on"; "SCIM: a SCIM key (the account then provisions over SCIM)" }
                    label.check { input type="checkbox" name="domains" value="on"; "Domains: adding and verifying email domains" }
                }
                label { "Valid for (hours, 1 to 168)" input type="number" name="hours" min="1" max="168" value="72" required; }
                button type="submit" { "Make link" }
            }
        }
        table {
            thead { tr { th { "Opens" } th { "Made" } th { "Until" } th { "" } } }
            tbody {
                @for l in &links {
                    tr {
                        td { (l.sections.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                        td { (l.created_at.format("%Y-%m-%d %H:%M UTC")) }
                        td { (l.expires_at.format("%Y-%m-%d %H:%M UTC")) }
                        td {
                            @if l.revoked_at.is_some() { span.tag.off { "revoked" } }
                            @else if !l.is_usable(now) { span.tag.off { "expired" } }
                            @else {
                                form method="post" action={ (ctx.url(SECTION)) "/" (l.id) "/revoke" } { (csrf_field(ctx)) button.danger type="submit" { "Revoke" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(ctx, SECTION, &flash, body))
}

/// The page.
#[get("/a/{slug}/settings/setup-links")]
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

/// The new-link form.
#[derive(Debug, Deserialize)]
struct LinkForm {
    csrf: String,
    sso: Option<String>,
    scim: Option<String>,
    domains: Option<String>,
    hours: String,
}

/// Handles the form posted to `/a/{slug}/settings/setup-links`.
#[post("/a/{slug}/settings/setup-links")]
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let sections: Vec<String> = [
        (&form.sso, SetupSection::Sso),
        (&form.scim, SetupSection::Scim),
        (&form.domains, SetupSection::Domains),
    ]
    .into_iter()
    .filter(|(on, _)| ticked(on))
    .map(|(_, s)| s.as_str().to_owned())
    .collect();
    // Not a number: out of range, refused with the same message.
    let hours = form.hours.trim().parse().unwrap_or(0);
    let made = ctx
        .write(&state, move |store, caller| {
            setup_links::create(store, caller, &sections, hours, Utc::now())
        })
        .await;
    match made {
        Ok((_, token)) => {
            let url = format!("{}/setup/{token}", state.config.public_url);
            render(&state, &ctx, Flash::notice("The link was made."), Some(url)).await
        }
        Err(e) => render(&state, &ctx, Flash::error(e), None).await,
    }
}

/// Handles the form posted to `/a/{slug}/settings/setup-links/{id}/revoke`.
#[post("/a/{slug}/settings/setup-links/{id}/revoke")]
async fn revoke(
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
            setup_links::revoke(store, caller, id, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "link-revoked", result, |flash| {
        render(&state, &ctx, flash, None)
    })
    .await
}
