//! Settings → Members: the member list (status, origin, role), invitations (the link is
//! shown once), deactivation, role changes, deletion, and bot users.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::html;
use portcullis_app::members::{self, MemberChange};
use portcullis_app::{bots, invitations};
use portcullis_domain::Role;
use serde::Deserialize;

use super::{copy_field, csrf_field, page, CsrfOnly, Ctx, Flash};
use crate::admin::invitations as admin_invitations;
use crate::admin::members::parse_id;
use crate::error::PageError;
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(invite)
        .service(change)
        .service(remove)
        .service(add_bot)
        .service(remove_bot)
        .service(revoke_invitation);
}

const SECTION: &str = "members";
const PAGE: i64 = 50;

/// Search and paging.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    search: Option<String>,
    offset: Option<i64>,
    done: Option<String>,
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    flash: Flash,
    q: &ListQuery,
    invite_link: Option<String>,
) -> Result<HttpResponse, PageError> {
    let offset = q.offset.unwrap_or(0).max(0);
    let search = q.search.clone();
    let ((people, total), pending, bot_list) = ctx
        .read(state, move |store, caller| {
            Ok((
                members::list(store, caller, search, offset, PAGE)?,
                invitations::list(store, caller)?,
                bots::list(store, caller)?,
            ))
        })
        .await?;
    let now = chrono::Utc::now();
    let body = html! {
        @if let Some(link) = &invite_link {
            section.secret {
                p.warning { "Copy the invitation link now: it is shown only this once. It works once, for seven days." }
                (copy_field("Invitation link", link))
            }
        }
        section {
            form.inline method="get" action=(ctx.url(SECTION)) {
                label { "Search" input type="search" name="search" value=(q.search.clone().unwrap_or_default()); }
                button.secondary type="submit" { "Search" }
            }
            p { (total) " member(s)." }
            table {
                thead { tr { th { "Email" } th { "Name" } th { "Role" } th { "Status" } th { "Origin" } th { "Actions" } } }
                tbody {
                    @for u in &people {
                        tr {
                            td { (u.email) } td { (u.display_name) } td { (u.role.as_str()) }
                            td { @if u.active { "active" } @else { span.tag.off { "deactivated" } } }
                            td { (origin_text(u.origin.as_str())) }
                            td.actions {
                                form method="post" action={ (ctx.url(SECTION)) "/" (u.id) } {
                                    (csrf_field(ctx))
                                    @if u.active { input type="hidden" name="active" value="false"; button.secondary type="submit" { "Deactivate" } }
                                    @else { input type="hidden" name="active" value="true"; button.secondary type="submit" { "Reactivate" } }
                                }
                                form method="post" action={ (ctx.url(SECTION)) "/" (u.id) } {
                                    (csrf_field(ctx))
                                    @if u.role == Role::Admin { input type="hidden" name="role" value="member"; button.secondary type="submit" { "Make member" } }
                                    @else { input type="hidden" name="role" value="admin"; button.secondary type="submit" { "Make admin" } }
                                }
                                form method="post" action={ (ctx.url(SECTION)) "/" (u.id) "/delete" } {
                                    (csrf_field(ctx)) button.danger type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
            @if offset > 0 { a href={ (ctx.url(SECTION)) "?offset=" ((offset - PAGE).max(0)) } { "← Previous" } " " }
            @if offset + PAGE < total { a href={ (ctx.url(SECTION)) "?offset=" (offset + PAGE) } { "Next →" } }
        }
        section {
            h2 { "Invite a member" }
            form method="post" action={ (ctx.url(SECTION)) "/invite" } {
                (csrf_field(ctx))
                label { "Email" input type="email" name="email" required; }
                label { "Role" select name="role" { option value="member" { "Member" } option value="admin" { "Admin" } } }
                button type="submit" { "Invite" }
            }
            @if !pending.is_empty() {
                h3 { "Invitations" }
                ul { @for i in &pending { li { (i.email) " (" (i.role.as_str()) ") — "
                    @if i.accepted_at.is_some() { "accepted" }
                    @else if i.revoked_at.is_some() { "revoked" }
                    @else if i.is_usable(now) {
                        "expires " (i.expires_at.format("%Y-%m-%d %H:%M UTC")) " "
                        form.inline method="post" action={ (ctx.url(SECTION)) "/invitations/" (i.id) "/revoke" } {
                            (csrf_field(ctx)) button.danger type="submit" { "Revoke" }
                        }
                    }
                    @else { "expired" } } } }
            }
        }
        section {
            h2 { "Bot users" }
            p.hint { "Bots own API keys (for SCIM or automation) and are never deactivated when a person leaves. They cannot sign in to the dashboard." }
            ul { @for b in &bot_list { li { (b.display_name) " "
                form.inline method="post" action={ (ctx.url(SECTION)) "/bots/" (b.id) "/delete" } { (csrf_field(ctx)) button.danger type="submit" { "Delete bot" } } } } }
            form method="post" action={ (ctx.url(SECTION)) "/bots" } {
                (csrf_field(ctx))
                label { "New bot name" input type="text" name="name" required; }
                button type="submit" { "Add bot" }
            }
        }
    };
    Ok(page(ctx, SECTION, &flash, body))
}

fn origin_text(origin: &str) -> &'static str {
    match origin {
        "invite" => "invited",
        "just_in_time" => "just-in-time (SSO)",
        "scim" => "SCIM",
        _ => "account creation",
    }
}

/// The page.
#[get("/a/{slug}/settings/members")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    let flash = super::Done {
        done: q.done.clone(),
    }
    .flash();
    render(&state, &ctx, flash, &q, None).await
}

/// The invitation form.
#[derive(Debug, Deserialize)]
struct InviteForm {
    csrf: String,
    email: String,
    role: String,
}

/// Handles the form posted to `/a/{slug}/settings/members/invite`.
#[post("/a/{slug}/settings/members/invite")]
async fn invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result = async {
        let role: Role = form.role.parse()?;
        admin_invitations::invite(&state, &ctx.caller, &form.email, role).await
    }
    .await;
    match result {
        Ok((invitation, url)) => {
            let mailed =
                admin_invitations::mail_invitation(&state, &ctx.caller, &invitation, &url).await;
            let flash = Flash::notice(match mailed {
                Ok(true) => format!("{} is invited; the link was emailed.", invitation.email),
                Ok(false) => format!(
                    "{} is invited. No mail server is configured: send the link yourself.",
                    invitation.email
                ),
                Err(e) => format!(
                    "{} is invited, but the mail failed ({e}): send the link yourself.",
                    invitation.email
                ),
            });
            render(&state, &ctx, flash, &ListQuery::default(), Some(url)).await
        }
        Err(e) => render(&state, &ctx, Flash::error(e), &ListQuery::default(), None).await,
    }
}

/// A change of role or status.
#[derive(Debug, Deserialize)]
struct ChangeForm {
    csrf: String,
    role: Option<String>,
    active: Option<String>,
}

/// Handles the form posted to `/a/{slug}/settings/members/{id}`.
#[post("/a/{slug}/settings/members/{id}")]
async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result = async {
        let role = match form.role.as_deref() {
            Some(r) => Some(r.parse::<Role>()?),
            None => None,
        };
        let change = MemberChange {
            role,
            active: form.active.as_deref().map(|a| a == "true"),
        };
        let id = parse_id(&id)?;
        ctx.write(&state, move |store, caller| {
            members::update(store, caller, id, change, Utc::now())
        })
        .await
    }
    .await;
    let page = ListQuery::default();
    ctx.answer(SECTION, "saved", result, |flash| {
        render(&state, &ctx, flash, &page, None)
    })
    .await
}

/// Handles the form posted to `/a/{slug}/settings/members/{id}/delete`.
#[post("/a/{slug}/settings/members/{id}/delete")]
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
            members::delete(store, caller, id, Utc::now())
        })
        .await;
    let page = ListQuery::default();
    ctx.answer(SECTION, "deleted", result, |flash| {
        render(&state, &ctx, flash, &page, None)
    })
    .await
}

/// The new-bot form.
#[derive(Debug, Deserialize)]
struct BotForm {
    csrf: String,
    name: String,
}

/// Handles the form posted to `/a/{slug}/settings/members/bots`.
#[post("/a/{slug}/settings/members/bots")]
async fn add_bot(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<BotForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let name = form.into_inner().name;
    let result = ctx
        .write(&state, move |store, caller| {
            bots::create(store, caller, &name, Utc::now())
        })
        .await;
    let page = ListQuery::default();
    ctx.answer(SECTION, "saved", result, |flash| {
        render(&state, &ctx, flash, &page, None)
    })
    .await
}

/// Handles the form posted to `/a/{slug}/settings/members/bots/{id}/delete`.
#[post("/a/{slug}/settings/members/bots/{id}/delete")]
async fn remove_bot(
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
            bots::delete(store, caller, id, Utc::now())
        })
        .await;
    let page = ListQuery::default();
    ctx.answer(SECTION, "deleted", result, |flash| {
        render(&state, &ctx, flash, &page, None)
    })
    .await
}

/// Handles the form posted to `/a/{slug}/settings/members/invitations/{id}/revoke`.
#[post("/a/{slug}/settings/members/invitations/{id}/revoke")]
async fn revoke_invitation(
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
            invitations::revoke(store, caller, id, Utc::now())
        })
        .await;
    let page = ListQuery::default();
    ctx.answer(SECTION, "invitation-revoked", result, |flash| {
        render(&state, &ctx, flash, &page, None)
    })
    .await
}
