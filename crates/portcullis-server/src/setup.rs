//! The pages a setup link opens to the customer's IT admin, who is not a member: the
//! link `GET /setup/{token}` puts its secret in a cookie (path `/setup`, so it leaves the
//! address bar and history) and every page under `/setup` reads it from there. Each page
//! works only in a section the link opens (`Caller::open`), with the use cases the
//! dashboard calls; members, roles, the policy and other keys are not reachable. A
//! revoked or expired link answers 410.

mod guides;

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::{html, Markup};
use portcullis_app::idps::{self, IdpChange, NewIdp, OidcInput, SamlInput};
use portcullis_app::{domains, setup_links, sso as app_sso, Caller};
use portcullis_domain::sign_in_attempt::SignInAttempt;
use portcullis_domain::{IdentityProvider, SetupLink, SetupSection};
use portcullis_store::AttemptFilter;
use serde::Deserialize;

use crate::client_ip::client_ip;
use crate::dashboard::{copy_field, Flash};
use crate::error::{AppError, PageError};
use crate::state::AppState;

/// The cookie holding the link's secret.
pub const COOKIE: &str = "portcullis_setup";

/// Wires the routes; the fixed paths come before `/setup/{token}`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(overview)
        .service(sso_page)
        .service(add_saml)
        .service(add_oidc)
        .service(edit_idp)
        .service(test_sign_in)
        .service(scim_page)
        .service(scim_key)
        .service(domains_page)
        .service(add_domain)
        .service(verify_domain)
        .service(open_link);
}

/// The IT admin on a setup page: the link, its caller and the forms' CSRF token.
struct SetupCtx {
    caller: Caller,
    link: SetupLink,
    csrf: String,
}

/// Who is on a setup page: the link in the cookie, still usable; for a form post, the
/// CSRF token it carried must be the link's.
async fn access(
    state: &AppState,
    req: &HttpRequest,
    csrf: Option<&str>,
) -> Result<SetupCtx, PageError> {
    let token = req
        .cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| {
            AppError::Unauthorized("open the setup link you were given to continue".into())
        })?;
    let ip = client_ip(req, &state.config.trusted_proxies);
    let (caller, link) = state
        .read(move |store| setup_links::open(store, &token, ip, Utc::now()))
        .await
        .map_err(|e| match e {
            AppError::NotFound => {
                AppError::Unauthorized("open the setup link you were given to continue".into())
            }
            other => other,
        })?;
    if let Some(presented) = csrf {
        if !state.keys.check_link_csrf(link.id, presented) {
            return Err(AppError::Forbidden(
                "this form expired or did not come from this site; reload the page and try again"
                    .into(),
            )
            .into());
        }
    }
    let csrf = state.keys.link_csrf_token(link.id);
    Ok(SetupCtx { caller, link, csrf })
}

/// The form field carrying the CSRF token.
fn csrf_field(ctx: &SetupCtx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

fn title(section: Option<SetupSection>) -> &'static str {
    match section {
        None => "Set up single sign-on",
        Some(SetupSection::Sso) => "Identity provider",
        Some(SetupSection::Scim) => "User provisioning (SCIM)",
        Some(SetupSection::Domains) => "Email domains",
    }
}

/// A setup page in the settings frame: the sections the link opens, the flash, the body,
/// and until when the link works.
fn page(
    ctx: &SetupCtx,
    section: Option<SetupSection>,
    flash: &Flash,
    body: Markup,
) -> HttpResponse {
    let account = &ctx.caller.account.name;
    let nav = html! {
        a href="/setup" { strong { (account) } }
        @for s in &ctx.link.sections {
            a class=[(Some(*s) == section).then_some("current")] href={ "/setup/" (s.as_str()) } { (title(Some(*s))) }
        }
    };
    let body = html! {
        (body)
        p.hint { "This setup link for " (account) " works until "
            (ctx.link.expires_at.format("%Y-%m-%d %H:%M UTC")) "." }
    };
    crate::dashboard::frame(title(section), account, nav, flash, body)
}

/// Back to a setup page announcing `done`.
fn done(section: SetupSection, done: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/setup/{}?done={done}", section.as_str()),
        ))
        .finish()
}

/// The `?done=` of a page after a successful post.
#[derive(Debug, Deserialize)]
struct Done {
    done: Option<String>,
}

impl Done {
    fn flash(&self) -> Flash {
        match self.done.as_deref() {
            Some("idp-added") => {
                Flash::notice("The identity provider was added. Run a test sign-in below.")
            }
            Some("saved") => Flash::notice("Saved."),
            Some("domain-added") => {
                Flash::notice("The domain was added. Publish its TXT record, then verify it.")
            }
            Some("domain-verified") => {
                Flash::notice("The record is there: the domain is verified.")
            }
            _ => Flash::default(),
        }
    }
}

/// `GET /setup/{token}`: keeps the link's secret in a cookie and opens the overview.
#[get("/setup/{token}")]
async fn open_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let secret = token.clone();
    let (_, link) = state
        .read(move |store| setup_links::open(store, &secret, ip, Utc::now()))
        .await?;
    let lasts = (link.expires_at - Utc::now()).num_seconds().max(0);
    let cookie = Cookie::build(COOKIE, token)
        .path("/setup")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(lasts))
        .finish();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, "/setup"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .finish())
}

/// `GET /setup`: what the link opens.
#[get("/setup")]
async fn overview(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, None).await?;
    let body = html! {
        p { "An admin of " strong { (ctx.caller.account.name) } " asked you to connect its identity provider to Portcullis. This link opens only these steps:" }
        ol {
            @for s in &ctx.link.sections {
                li { a href={ "/setup/" (s.as_str()) } { (title(Some(*s))) } }
            }
        }
        p.hint { "It does not show the account's members, roles, policy or other API keys." }
    };
    Ok(page(&ctx, None, &Flash::default(), body))
}

/// The link's IdP (if added yet) and the last sign-in attempt through it.
async fn sso_state(
    state: &AppState,
    ctx: &SetupCtx,
) -> Result<(Option<IdentityProvider>, Option<SignInAttempt>), AppError> {
    let caller = ctx.caller.open(SetupSection::Sso)?;
    let idp_id = ctx.link.idp;
    state
        .read(move |store| {
            let idp = store.idp(caller.account.id, idp_id)?;
            let filter = AttemptFilter {
                idp: Some(idp_id),
                ..AttemptFilter::default()
            };
            let last = store
                .sign_in_attempts(caller.account.id, &filter, 1, 0)?
                .pop();
            Ok((idp, last))
        })
        .await
}

async fn render_sso(
    state: &AppState,
    ctx: &SetupCtx,
    flash: Flash,
) -> Result<HttpResponse, PageError> {
    let (idp, last) = sso_state(state, ctx).await?;
    let values = guides::Values::new(&state.config.public_url, ctx.link.idp);
    let body = html! {
        (guides::sso(&values, idp.as_ref()))
        @match &idp {
            None => (add_forms(ctx)),
            Some(idp) => {
                section {
                    h2 { "3. Test it" }
                    p { "Sign in through " (idp.description) " as any user assigned to the application. Nobody is signed in to Portcullis; the result shows here." }
                    form method="post" action="/setup/sso/test" {
                        (csrf_field(ctx))
                        button type="submit" { "Test sign-in" }
                    }
                    (last_attempt(last.as_ref()))
                }
                (edit_form(ctx, idp))
            }
        }
    };
    Ok(page(ctx, Some(SetupSection::Sso), &flash, body))
}

fn last_attempt(last: Option<&SignInAttempt>) -> Markup {
    html! {
        @if let Some(a) = last {
            @if a.succeeded {
                p.notice role="status" { "The last test sign-in, at " (a.at.format("%H:%M:%S UTC")) ", worked" @if let Some(e) = &a.email { " for " (e) } "." }
            } @else {
                p.error role="alert" { "The last sign-in, at " (a.at.format("%H:%M:%S UTC")) ", failed (" (a.reason) ")." }
            }
            table {
                thead { tr { th { "Step" } th { "Outcome" } th { "Detail" } } }
                tbody {
                    @for s in &a.steps {
                        tr { td { (s.name) } td { (s.outcome.as_str()) } td { (s.detail) } }
                    }
                }
            }
        }
    }
}

fn add_forms(ctx: &SetupCtx) -> Markup {
    html! {
        section {
            h2 { "2. Add the identity provider here" }
            details.panel open {
                summary { "SAML (Okta, Entra ID, others)" }
                form method="post" action="/setup/sso/saml" {
                    (csrf_field(ctx))
                    label { "Name shown at sign-in" input type="text" name="description" required value="Single sign-on"; }
                    label { "IdP metadata URL" input type="url" name="metadata_url"; }
                    label { "or the IdP metadata XML" textarea name="metadata_xml" rows="6" {} }
                    button type="submit" { "Add SAML identity provider" }
                }
            }
            details.panel {
                summary { "OpenID Connect" }
                form method="post" action="/setup/sso/oidc" {
                    (csrf_field(ctx))
                    label { "Name shown at sign-in" input type="text" name="description" required value="Single sign-on"; }
                    label { "Issuer URL" input type="url" name="issuer" required; }
                    label { "Client id" input type="text" name="client_id" required; }
                    label { "Client secret" input type="password" name="client_secret" required autocomplete="off"; }
                    button type="submit" { "Add OpenID Connect identity provider" }
                }
            }
        }
    }
}

fn edit_form(ctx: &SetupCtx, idp: &IdentityProvider) -> Markup {
    html! {
        section {
            h2 { "Change it" }
            form method="post" action="/setup/sso/edit" {
                (csrf_field(ctx))
                label { "Name shown at sign-in" input type="text" name="description" value=(idp.description) required; }
                @if idp.kind() == "saml" {
                    label { "New IdP metadata XML (leave empty to keep)" textarea name="metadata_xml" rows="4" {} }
                } @else {
                    label { "New client secret (leave empty to keep)" input type="password" name="client_secret" autocomplete="off"; }
                }
                button type="submit" { "Save" }
            }
        }
    }
}

/// `GET /setup/sso`.
#[get("/setup/sso")]
async fn sso_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    done_q: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, None).await?;
    render_sso(&state, &ctx, done_q.flash()).await
}

fn some(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The SAML form.
#[derive(Debug, Deserialize)]
struct SamlForm {
    csrf: String,
    description: String,
    #[serde(default)]
    metadata_url: String,
    #[serde(default)]
    metadata_xml: String,
}

/// The OIDC form.
#[derive(Debug, Deserialize)]
struct OidcForm {
    csrf: String,
    description: String,
    issuer: String,
    client_id: String,
    client_secret: String,
}

/// Adds the link's IdP (under the id the guides showed) and answers the SSO page.
async fn add(state: &AppState, ctx: &SetupCtx, new: NewIdp) -> Result<HttpResponse, PageError> {
    let result = async {
        let caller = ctx.caller.open(SetupSection::Sso)?;
        idps::create_with_id(state, &state.http_policy(), &caller, ctx.link.idp, new).await
    }
    .await;
    match result {
        Ok(_) => Ok(done(SetupSection::Sso, "idp-added")),
        Err(e) => render_sso(state, ctx, Flash::error(e)).await,
    }
}

/// `POST /setup/sso/saml`.
#[post("/setup/sso/saml")]
async fn add_saml(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SamlForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, Some(&form.csrf)).await?;
    let f = form.into_inner();
    let new = NewIdp {
        description: f.description,
        enabled: Some(true),
        idp_initiated: None,
        sign_authn_requests: None,
        encrypted_assertions: None,
        trust_unverified_email: None,
        saml: Some(SamlInput {
            metadata_url: some(&f.metadata_url),
            metadata_xml: some(&f.metadata_xml),
            ..SamlInput::default()
        }),
        oidc: None,
    };
    add(&state, &ctx, new).await
}

/// `POST /setup/sso/oidc`.
#[post("/setup/sso/oidc")]
async fn add_oidc(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<OidcForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, Some(&form.csrf)).await?;
    let f = form.into_inner();
    let new = NewIdp {
        description: f.description,
        enabled: Some(true),
        idp_initiated: None,
        sign_authn_requests: None,
        encrypted_assertions: None,
        trust_unverified_email: None,
        saml: None,
        oidc: Some(OidcInput {
            issuer: Some(f.issuer),
            client_id: Some(f.client_id),
            client_secret: Some(f.client_secret),
            scopes: None,
        }),
    };
    add(&state, &ctx, new).await
}

/// The edit form.
#[derive(Debug, Deserialize)]
struct EditForm {
    csrf: String,
    description: String,
    #[serde(default)]
    metadata_xml: String,
    #[serde(default)]
    client_secret: String,
}

/// `POST /setup/sso/edit`: changes the link's own IdP, never another.
#[post("/setup/sso/edit")]
async fn edit_idp(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<EditForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, Some(&form.csrf)).await?;
    let f = form.into_inner();
    let change = IdpChange {
        description: Some(f.description),
        saml: some(&f.metadata_xml).map(|xml| SamlInput {
            metadata_xml: Some(xml),
            ..SamlInput::default()
        }),
        oidc: some(&f.client_secret).map(|secret| OidcInput {
            client_secret: Some(secret),
            ..OidcInput::default()
        }),
        ..IdpChange::default()
    };
    let result = async {
        let caller = ctx.caller.open(SetupSection::Sso)?;
        idps::update(
            &**state,
            &state.http_policy(),
            &state.sso_providers,
            &caller,
            ctx.link.idp,
            change,
        )
        .await
    }
    .await;
    match result {
        Ok(_) => Ok(done(SetupSection::Sso, "saved")),
        Err(e) => render_sso(&state, &ctx, Flash::error(e)).await,
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf: String,
}

/// `POST /setup/sso/test`: a sign-in through the link's IdP that ends back on the SSO
/// page with its trace, signing nobody in.
#[post("/setup/sso/test")]
async fn test_sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, Some(&form.csrf)).await?;
    let (idp, _) = sso_state(&state, &ctx).await?;
    let idp = idp.ok_or(AppError::NotFound)?;
    crate::sso::start::begin(
        &state,
        &req,
        &ctx.caller.account,
        idp,
        app_sso::TEST_RETURN.to_owned(),
    )
    .await
}

async fn render_scim(
    state: &AppState,
    ctx: &SetupCtx,
    flash: Flash,
    secret: Option<String>,
) -> Result<HttpResponse, PageError> {
    ctx.caller.open(SetupSection::Scim)?;
    let base = format!("{}/scim/v2", state.config.public_url);
    let body = html! {
        (guides::scim(&base))
        section {
            h2 { "The SCIM key" }
            @if let Some(secret) = &secret {
                p.notice role="status" { "Copy this key into the identity provider now: it is shown only once." }
                (copy_field("SCIM API key (Bearer token)", secret))
            } @else {
                p { "Make a key for the identity provider. It can call the SCIM API only, and the account then takes its members from the identity provider." }
                form method="post" action="/setup/scim/key" {
                    (csrf_field(ctx))
                    button type="submit" { "Create SCIM key" }
                }
            }
        }
    };
    Ok(page(ctx, Some(SetupSection::Scim), &flash, body))
}

/// `GET /setup/scim`.
#[get("/setup/scim")]
async fn scim_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, None).await?;
    render_scim(&state, &ctx, Flash::default(), None).await
}

/// `POST /setup/scim/key`: makes the key and shows it once.
#[post("/setup/scim/key")]
async fn scim_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, Some(&form.csrf)).await?;
    let caller = ctx.caller.clone();
    let made = state
        .write(move |store| setup_links::create_scim_key(store, &caller, Utc::now()))
        .await;
    match made {
        Ok((_, _, secret)) => {
            render_scim(
                &state,
                &ctx,
                Flash::default(),
                Some(secret.expose().to_owned()),
            )
            .await
        }
        Err(e) => render_scim(&state, &ctx, Flash::error(e), None).await,
    }
}

async fn render_domains(
    state: &AppState,
    ctx: &SetupCtx,
    flash: Flash,
) -> Result<HttpResponse, PageError> {
    let caller = ctx.caller.open(SetupSection::Domains)?;
    let claims = state
        .read(move |store| domains::list(store, &caller))
        .await?;
    let body = html! {
        p { "Prove that the account owns your email domain: publish a DNS TXT record, then verify it. People with an email on a verified domain are sent to your identity provider when they sign in." }
        form method="post" action="/setup/domains/add" {
            (csrf_field(ctx))
            label { "Domain" input type="text" name="domain" required placeholder="example.com"; }
            button type="submit" { "Add domain" }
        }
        @for d in &claims {
            section.domain {
                h2 { (d.domain.as_str()) }
                @if d.is_verified() {
                    p.status { "Verified." }
                } @else {
                    p { "Publish this TXT record at your DNS provider:" }
                    (copy_field("Name", &d.domain.challenge_name()))
                    (copy_field("Value", &d.challenge_value()))
                    form method="post" action={ "/setup/domains/" (d.id) "/verify" } {
                        (csrf_field(ctx))
                        button type="submit" { "Verify" }
                    }
                }
            }
        }
    };
    Ok(page(ctx, Some(SetupSection::Domains), &flash, body))
}

/// `GET /setup/domains`.
#[get("/setup/domains")]
async fn domains_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    done_q: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, None).await?;
    render_domains(&state, &ctx, done_q.flash()).await
}

/// The add-domain form.
#[derive(Debug, Deserialize)]
struct DomainForm {
    csrf: String,
    domain: String,
}

/// `POST /setup/domains/add`.
#[post("/setup/domains/add")]
async fn add_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<DomainForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, Some(&form.csrf)).await?;
    let result = match ctx.caller.open(SetupSection::Domains) {
        Ok(caller) => {
            let name = form.into_inner().domain;
            state
                .write(move |store| domains::create(store, &caller, &name, Utc::now()))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(done(SetupSection::Domains, "domain-added")),
        Err(e) => render_domains(&state, &ctx, Flash::error(e)).await,
    }
}

/// `POST /setup/domains/{id}/verify`.
#[post("/setup/domains/{id}/verify")]
async fn verify_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let ctx = access(&state, &req, Some(&form.csrf)).await?;
    let result = async {
        let caller = ctx.caller.open(SetupSection::Domains)?;
        let id = crate::admin::members::parse_id(&id)?;
        domains::verify(&**state, &state.dns, &caller, id, Utc::now()).await
    }
    .await;
    match result {
        Ok(_) => Ok(done(SetupSection::Domains, "domain-verified")),
        Err(e) => render_domains(&state, &ctx, Flash::error(e)).await,
    }
}
