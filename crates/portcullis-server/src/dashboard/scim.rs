//! Settings → User provisioning / SCIM: switching SCIM on opens a panel that creates a
//! dedicated API key (owner chosen among admins and bots, bots recommended), then shows
//! the secret once with the SCIM base URL to paste into Okta or Entra ID.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use portcullis_app::accounts::{self, AccountChange};
use portcullis_app::api_keys;
use portcullis_app::provisioning::{self, KeyOwner};
use portcullis_domain::{ProvisioningMode, UserKind};
use serde::Deserialize;

use super::{copy_field, csrf_field, page, CsrfOnly, Ctx, Done, Flash};
use crate::error::{AppError, PageError};
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(switch_on).service(switch_off);
}

const SECTION: &str = "scim";

/// `?setup=1` opens the panel.
#[derive(Debug, Deserialize)]
struct ShowQuery {
    setup: Option<String>,
    done: Option<String>,
}

/// A key just made, to show once.
struct Shown {
    secret: String,
    owner: String,
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    flash: Flash,
    panel: bool,
    shown: Option<Shown>,
) -> Result<HttpResponse, PageError> {
    let (account, mut owners) = ctx
        .read(state, |store, caller| {
            let account = store
                .account(caller.account.id)?
                .ok_or(AppError::NotFound)?;
            Ok((account, api_keys::possible_owners(store, caller)?))
        })
        .await?;
    let on = account.provisioning == ProvisioningMode::Scim;
    let base_url = format!("{}/scim/v2", state.config.public_url);
    owners.sort_by_key(|u| u.kind != UserKind::Bot);
    let body = html! {
        @if let Some(shown) = &shown {
            section.secret {
                h2 { "SCIM is on: paste these into your identity provider" }
                p.warning { "Copy the API key now: it is shown only this once." }
                (copy_field("SCIM base URL", &base_url))
                (copy_field("API key (Authorization: Bearer …)", &shown.secret))
                p.hint { "Owner: " (shown.owner) ". In Okta choose \"HTTP Header\" authentication; in Entra ID paste the key as the secret token." }
            }
        }
        section {
            p { "SCIM provisioning is " strong { @if on { "on" } @else { "off" } } "." }
            @if on {
                (copy_field("SCIM base URL", &base_url))
                p.hint { "Manage or revoke its keys under API keys." }
                form method="post" action=(format!("{}/off", ctx.url(SECTION))) {
                    (csrf_field(ctx))
                    button.secondary type="submit" { "Switch SCIM off (back to invitations)" }
                }
            } @else if !panel {
                a.button href=(format!("{}?setup=1", ctx.url(SECTION))) { "Switch SCIM on" }
            }
        }
        @if panel && shown.is_none() {
            section.panel {
                h2 { "Switch SCIM on" }
                p { "Your identity provider calls Portcullis with a dedicated API key. Choose who owns it: a bot user is recommended, because bots are never deactivated when a person leaves." }
                form method="post" action=(ctx.url(SECTION)) {
                    (csrf_field(ctx))
                    label { "Key description" input type="text" name="description" value="SCIM provisioning" required; }
                    fieldset {
                        legend { "Owner" }
                        label.check { input type="radio" name="owner" value="new-bot" checked; "A new bot user named " input.inline type="text" name="bot_name" value="scim-provisioning"; " (recommended)" }
                        @for u in &owners {
                            label.check { input type="radio" name="owner" value=(u.id);
                                (u.display_name) " — " @if u.kind == UserKind::Bot { "bot (recommended)" } @else { "admin " (u.email) } }
                        }
                    }
                    button type="submit" { "Create the key and switch SCIM on" }
                }
            }
        }
    };
    Ok(page(ctx, SECTION, &flash, body))
}

/// The page.
#[get("/a/{slug}/settings/scim")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    let flash = Done {
        done: q.done.clone(),
    }
    .flash();
    render(&state, &ctx, flash, q.setup.is_some(), None).await
}

/// The panel's form.
#[derive(Debug, Deserialize)]
struct OnForm {
    csrf: String,
    description: String,
    owner: String,
    #[serde(default)]
    bot_name: String,
}

async fn turn_on(state: &AppState, ctx: &Ctx, f: OnForm) -> Result<Shown, AppError> {
    let owner = if f.owner == "new-bot" {
        KeyOwner::NewBot(f.bot_name)
    } else {
        KeyOwner::Existing(
            f.owner
                .parse()
                .map_err(|_| AppError::BadRequest("choose the key's owner".into()))?,
        )
    };
    let (_, owner, secret) = ctx
        .write(state, move |store, caller| {
            provisioning::switch_on_scim(store, caller, &f.description, owner, Utc::now())
        })
        .await?;
    Ok(Shown {
        secret: secret.expose().to_owned(),
        owner: owner.display_name,
    })
}

/// Handles the form posted to `/a/{slug}/settings/scim`.
#[post("/a/{slug}/settings/scim")]
async fn switch_on(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<OnForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    match turn_on(&state, &ctx, form.into_inner()).await {
        Ok(shown) => render(&state, &ctx, Flash::default(), false, Some(shown)).await,
        Err(e) => render(&state, &ctx, Flash::error(e), true, None).await,
    }
}

/// Handles the form posted to `/a/{slug}/settings/scim/off`.
#[post("/a/{slug}/settings/scim/off")]
async fn switch_off(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let change = AccountChange {
        provisioning: Some(ProvisioningMode::Invite),
        ..AccountChange::default()
    };
    let result = ctx
        .write(&state, move |store, caller| {
            accounts::update(store, caller, change, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "scim-off", result, |flash| {
        render(&state, &ctx, flash, false, None)
    })
    .await
}
