//! Settings → API keys: list (prefix, owner, description, last use), create (the secret
//! is shown once), revoke.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use portcullis_app::api_keys;
use portcullis_domain::{Scopes, UserKind};
use serde::Deserialize;

use super::{copy_field, csrf_field, page, ticked, CsrfOnly, Ctx, Done, Flash};
use crate::error::{AppError, PageError};
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(create).service(revoke);
}

const SECTION: &str = "api-keys";

async fn render(
    state: &AppState,
    ctx: &Ctx,
    flash: Flash,
    secret: Option<String>,
) -> Result<HttpResponse, PageError> {
    let (keys, owners) = ctx
        .read(state, |store, caller| {
            Ok((
                api_keys::list(store, caller)?,
                api_keys::possible_owners(store, caller)?,
            ))
        })
        .await?;
    let me = ctx.caller.user().map(|u| u.id);
    let body = html! {
        @if let Some(secret) = &secret {
            section.secret {
                p.warning { "Copy the key now: it is shown only this once." }
                (copy_field("API key", secret))
            }
        }
        table {
            thead { tr { th { "Prefix" } th { "Description" } th { "Owner" } th { "Scopes" } th { "Created" } th { "Last used" } th { "" } } }
            tbody {
                @for k in &keys {
                    @let (owner, k) = (&k.owner, &k.key);
                    tr {
                        td { code { (k.prefix) "…" } } td { (k.description) } td { (owner) }
                        td {
                            (k.scopes.to_stored())
                            @if k.legacy_full_access { " " span.tag.off { "full access: replace with a scoped key" } }
                        }
                        td { (k.created_at.format("%Y-%m-%d")) }
                        td { @match k.last_used_at { Some(t) => (t.format("%Y-%m-%d %H:%M UTC")), None => "never" } }
                        td { @if k.revoked_at.is_some() { span.tag.off { "revoked" } } @else {
                            form method="post" action={ (ctx.url(SECTION)) "/" (k.id) "/revoke" } { (csrf_field(ctx)) button.danger type="submit" { "Revoke" } } } }
                    }
                }
            }
        }
        section {
            h2 { "Create an API key" }
            form method="post" action=(ctx.url(SECTION)) {
                (csrf_field(ctx))
                label { "Description" input type="text" name="description" required; }
                fieldset {
                    legend { "Scopes: what the key may call" }
                    label.check { input type="checkbox" name="scope_scim" value="on"; "scim — the SCIM API, for an identity provider" }
                    label.check { input type="checkbox" name="scope_admin" value="on"; "admin — the admin API (members, keys, identity providers, policy)" }
                }
                label { "Owner" select name="owner" {
                    @for u in &owners { option value=(u.id) selected[Some(u.id) == me] { (u.display_name) @if u.kind == UserKind::Bot { " (bot)" } } }
                } }
                button type="submit" { "Create key" }
            }
        }
    };
    Ok(page(ctx, SECTION, &flash, body))
}

/// The page.
#[get("/a/{slug}/settings/api-keys")]
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

/// The new-key form.
#[derive(Debug, Deserialize)]
struct KeyForm {
    csrf: String,
    description: String,
    owner: String,
    scope_scim: Option<String>,
    scope_admin: Option<String>,
}

/// Handles the form posted to `/a/{slug}/settings/api-keys`.
#[post("/a/{slug}/settings/api-keys")]
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<KeyForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let ticked: Vec<&str> = [
        (ticked(&form.scope_scim), "scim"),
        (ticked(&form.scope_admin), "admin"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    let scopes = Scopes::parse(&ticked)
        .map_err(|_| AppError::BadRequest("choose at least one scope for the key".into()));
    let result = match (form.owner.parse(), scopes) {
        (Ok(owner), Ok(scopes)) => {
            let description = form.description.clone();
            ctx.write(&state, move |store, caller| {
                api_keys::create(store, caller, &description, Some(owner), scopes, Utc::now())
            })
            .await
        }
        (Err(_), _) => Err(AppError::BadRequest("choose the key's owner".into())),
        (_, Err(e)) => Err(e),
    };
    match result {
        Ok((_, _, secret)) => {
            render(
                &state,
                &ctx,
                Flash::notice("The key was created."),
                Some(secret.expose().to_owned()),
            )
            .await
        }
        Err(e) => render(&state, &ctx, Flash::error(e), None).await,
    }
}

/// Handles the form posted to `/a/{slug}/settings/api-keys/{id}/revoke`.
#[post("/a/{slug}/settings/api-keys/{id}/revoke")]
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
            api_keys::revoke(store, caller, id, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "revoked", result, |flash| {
        render(&state, &ctx, flash, None)
    })
    .await
}
