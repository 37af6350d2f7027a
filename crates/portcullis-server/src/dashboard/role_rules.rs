//! Settings → Roles from the IdP: the rules that give members a role from their SCIM
//! groups or their SSO claims. The same use cases as `/api/v1/role-rules`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use portcullis_app::role_rules::{self, NewRule};
use portcullis_domain::{Role, RoleSource};
use serde::Deserialize;

use super::{csrf_field, page, CsrfOnly, Ctx, Done, Flash};
use crate::error::{AppError, PageError};
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(add).service(remove);
}

const SECTION: &str = "role-rules";

async fn render(state: &AppState, ctx: &Ctx, flash: Flash) -> Result<HttpResponse, PageError> {
    let rules = ctx.read(state, role_rules::list).await?;
    let body = html! {
        p { "Let the identity provider decide who is an admin. A member takes the highest role the rules give them, or member when none does; the account always keeps an admin." }
        ul {
            li { strong { "SCIM group" } ": applied at once when the identity provider adds people to the group, removes them, renames or deletes it (letter case aside)." }
            li { strong { "SSO claim" } ": applied at each sign-in, from the groups and roles claims (Okta's groups attribute, Entra ID's group and role claims), or from the claim or attribute you name." }
        }
        @if rules.is_empty() {
            p { "No rules yet: roles are set by hand on the Members page." }
        } @else {
            table {
                thead { tr { th { "Source" } th { "Claim" } th { "Value" } th { "Role" } th { "" } } }
                tbody {
                    @for r in &rules {
                        tr {
                            td { (r.source) }
                            td { (r.claim.as_deref().unwrap_or("")) }
                            td { (r.value) }
                            td { (r.role) }
                            td {
                                form method="post" action={ (ctx.url(SECTION)) "/" (r.id) "/delete" } {
                                    (csrf_field(ctx))
                                    button.danger type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add a rule" }
        form method="post" action=(ctx.url(SECTION)) {
            (csrf_field(ctx))
            label { "Source" select name="source" {
                option value="scim_group" { "SCIM group" }
                option value="sso_claim" { "SSO claim" }
            } }
            label { "Claim or attribute (SSO claim only; empty for the usual ones)" input type="text" name="claim"; }
            label { "Group name or claim value" input type="text" name="value" required placeholder="Portcullis Admins"; }
            label { "Role" select name="role" { option value="admin" { "Admin" } option value="member" { "Member" } } }
            button type="submit" { "Add rule" }
        }
    };
    Ok(page(ctx, SECTION, &flash, body))
}

/// The page.
#[get("/a/{slug}/settings/role-rules")]
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

/// The new-rule form.
#[derive(Debug, Deserialize)]
struct RuleForm {
    csrf: String,
    source: String,
    #[serde(default)]
    claim: String,
    value: String,
    role: String,
}

/// Makes a rule.
#[post("/a/{slug}/settings/role-rules")]
async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let parsed: Result<NewRule, AppError> = (|| {
        let source: RoleSource = form.source.parse()?;
        let claim = Some(form.claim.trim())
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        Ok(NewRule {
            source,
            claim,
            value: form.value.clone(),
            role: form.role.parse::<Role>()?,
        })
    })();
    let result = match parsed {
        Ok(new) => {
            ctx.write(&state, move |store, caller| {
                role_rules::create(store, caller, new, Utc::now())
            })
            .await
        }
        Err(e) => Err(e),
    };
    ctx.answer(SECTION, "rule-added", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// Removes a rule.
#[post("/a/{slug}/settings/role-rules/{id}/delete")]
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
            role_rules::delete(store, caller, id, Utc::now())
        })
        .await;
    ctx.answer(SECTION, "deleted", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}
