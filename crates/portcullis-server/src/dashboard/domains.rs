//! Settings → Domains: the email domains the account claims, the TXT record to publish,
//! verification, each domain's status, IdP and "SSO required" policy, and the account's
//! "provision only verified domains" rule. The same use cases as `/api/v1/domains`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use portcullis_app::accounts::{self, AccountChange};
use portcullis_app::{domains, idps};
use portcullis_domain::email_domain::GRACE;
use portcullis_domain::{AccountDomain, IdpId};
use serde::Deserialize;

use super::{copy_field, csrf_field, page, ticked, CsrfOnly, Ctx, Done, Flash};
use crate::admin::members::parse_id;
use crate::error::{AppError, PageError};
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(add)
        .service(provisioning)
        .service(verify)
        .service(save_policy)
        .service(remove);
}

const SECTION: &str = "domains";

/// What a domain's status reads as.
fn status(d: &AccountDomain) -> String {
    match (d.verified_at, d.missing_since) {
        (Some(_), Some(since)) => format!(
            "Verified, but its record has been missing since {}; it stops being verified on {} unless the record is back",
            since.format("%Y-%m-%d"),
            (since + GRACE).format("%Y-%m-%d")
        ),
        (Some(at), None) => format!("Verified since {}", at.format("%Y-%m-%d")),
        (None, _) => "Not verified: publish the record, then verify".into(),
    }
}

async fn render(state: &AppState, ctx: &Ctx, flash: Flash) -> Result<HttpResponse, PageError> {
    let (claims, providers) = ctx
        .read(state, |store, caller| {
            Ok((domains::list(store, caller)?, idps::list(store, caller)?))
        })
        .await?;
    let strict = ctx.caller.account.provision_only_verified_domains;
    let body = html! {
        p { "Prove that the account owns an email domain with a DNS TXT record. People with an email on a verified domain are sent to its identity provider from the sign-in page, and can be held to single sign-on." }
        form method="post" action={ (ctx.url(SECTION)) "/add" } {
            (csrf_field(ctx))
            label { "Domain" input type="text" name="domain" required placeholder="acme.com"; }
            button type="submit" { "Add domain" }
        }
        @for d in &claims {
            section.domain {
                h2 { (d.domain.as_str()) }
                p.status { (status(d)) }
                @if !d.is_verified() {
                    p { "Publish this TXT record at your DNS provider:" }
                    (copy_field("Name", &d.domain.challenge_name()))
                    (copy_field("Value", &d.challenge_value()))
                }
                form method="post" action={ (ctx.url(SECTION)) "/" (d.id) "/verify" } {
                    (csrf_field(ctx))
                    button type="submit" { @if d.is_verified() { "Check the record now" } @else { "Verify" } }
                }
                form method="post" action={ (ctx.url(SECTION)) "/" (d.id) } {
                    (csrf_field(ctx))
                    label { "Identity provider" select name="idp" {
                        option value="" selected[d.idp.is_none()] { "The account's (its only one, or the chooser)" }
                        @for p in &providers {
                            option value=(p.id) selected[d.idp == Some(p.id)] { (p.description) @if !p.enabled { " (disabled)" } }
                        }
                    } }
                    label.check { input type="checkbox" name="sso_required" value="on" checked[d.sso_required]; " SSO required: members on this domain cannot sign in with a password" }
                    button type="submit" { "Save" }
                }
                form method="post" action={ (ctx.url(SECTION)) "/" (d.id) "/delete" } {
                    (csrf_field(ctx))
                    button.danger type="submit" { "Remove" }
                }
            }
        }
        h2 { "Provisioning" }
        form method="post" action={ (ctx.url(SECTION)) "/provisioning" } {
            (csrf_field(ctx))
            label.check { input type="checkbox" name="only_verified" value="on" checked[strict]; " Provision only verified domains: SCIM, just-in-time sign-in and invitations add no one whose email is elsewhere" }
            button type="submit" { "Save" }
        }
    };
    Ok(page(ctx, SECTION, &flash, body))
}

/// The page.
#[get("/a/{slug}/settings/domains")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    q: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    render(&state, &ctx, q.flash()).await
}

/// The add form.
#[derive(Debug, Deserialize)]
struct AddForm {
    csrf: String,
    domain: String,
}

/// Claims a domain.
#[post("/a/{slug}/settings/domains/add")]
async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let domain = form.domain.clone();
    let result = ctx
        .write(&state, move |store, caller| {
            domains::create(store, caller, &domain, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "domain-added", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// The account's rule.
#[derive(Debug, Deserialize)]
struct ProvisioningForm {
    csrf: String,
    only_verified: Option<String>,
}

/// Saves "provision only verified domains".
#[post("/a/{slug}/settings/domains/provisioning")]
async fn provisioning(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<ProvisioningForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let change = AccountChange {
        provision_only_verified_domains: Some(ticked(&form.only_verified)),
        ..AccountChange::default()
    };
    let result = ctx
        .write(&state, move |store, caller| {
            accounts::update(store, caller, change, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "saved", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// Looks the record up now.
#[post("/a/{slug}/settings/domains/{id}/verify")]
async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result = match parse_id(&id) {
        Ok(id) => domains::verify(&**state, &state.dns, &ctx.caller, id, Utc::now()).await,
        Err(e) => Err(e),
    };
    ctx.answer(SECTION, "domain-verified", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// A domain's policy form.
#[derive(Debug, Deserialize)]
struct PolicyForm {
    csrf: String,
    #[serde(default)]
    idp: String,
    sso_required: Option<String>,
}

/// Saves a domain's IdP and "SSO required".
#[post("/a/{slug}/settings/domains/{id}")]
async fn save_policy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<PolicyForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let idp: Result<Option<IdpId>, AppError> = match form.idp.trim() {
        "" => Ok(None),
        text => parse_id(text).map(Some),
    };
    let sso_required = ticked(&form.sso_required);
    let result = match idp {
        Ok(idp) => {
            ctx.write_on(&state, &id, move |store, caller, id| {
                let change = domains::DomainChange {
                    sso_required: Some(sso_required),
                    idp: Some(idp),
                };
                domains::update(store, caller, id, change, Utc::now())
            })
            .await
        }
        Err(e) => Err(e),
    };
    ctx.answer(SECTION, "saved", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// Gives a domain up.
#[post("/a/{slug}/settings/domains/{id}/delete")]
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
            domains::delete(store, caller, id, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "deleted", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}
