//! Settings → Single sign-on: the IdPs (add, edit, disable, delete, refresh metadata,
//! sign AuthnRequests and rotate the SP key), what to copy into each, the enforcement
//! policy and the provisioning mode.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::{html, Markup};
use portcullis_app::accounts::{self, AccountChange};
use portcullis_app::idps::{self, IdpChange, NewIdp, OidcInput, SamlInput};
use portcullis_domain::{
    AssertionEncryption, EnforcementPolicy, IdentityProvider, IdpProtocol, ProvisioningMode,
};
use serde::Deserialize;

use super::{copy_field, csrf_field, page, ticked, CsrfOnly, Ctx, Done, Flash};
use crate::admin::idps::SpJson;
use crate::admin::members::parse_id;
use crate::error::{AppError, PageError};
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(add_saml)
        .service(add_oidc)
        .service(edit)
        .service(remove)
        .service(refresh)
        .service(rotate_sp_key)
        .service(rotate_sp_encryption_key)
        .service(set_policy);
}

const SECTION: &str = "sso";

async fn render(state: &AppState, ctx: &Ctx, flash: Flash) -> Result<HttpResponse, PageError> {
    let (account, idps, expiring) = ctx
        .read(state, |store, caller| {
            let account = store
                .account(caller.account.id)?
                .ok_or(AppError::NotFound)?;
            let expiring = idps::expiring_certificates(store, caller, chrono::Utc::now())?;
            Ok((account, idps::list(store, caller)?, expiring))
        })
        .await?;
    let public = &state.config.public_url;
    let enforced = account.enforcement == EnforcementPolicy::Enforced;
    let body = html! {
        (super::certificate_banner(&expiring))
        section {
            h2 { "Identity providers" }
            @if idps.is_empty() {
                p { "No identity provider yet. Add one below; the account stays in mixed mode until you enforce single sign-on." }
            }
            @for idp in &idps { (idp_card(ctx, idp, public)) }
        }
        section {
            h2 { "Add an identity provider" }
            details.panel {
                summary { "Add a SAML identity provider" }
                form method="post" action=(format!("{}/saml", ctx.url(SECTION))) {
                    (csrf_field(ctx))
                    label { "Description (shown at sign-in)" input type="text" name="description" required; }
                    p.hint { "Paste the IdP's metadata XML, or give its metadata URL, or enter the entity id, SSO URL and certificate by hand." }
                    label { "IdP metadata XML" textarea name="metadata_xml" rows="6" {} }
                    label { "or metadata URL (HTTPS; fetched now and refreshed daily)" input type="url" name="metadata_url"; }
                    fieldset {
                        legend { "or by hand" }
                        label { "IdP entity id" input type="text" name="entity_id"; }
                        label { "SSO URL (HTTP-Redirect binding)" input type="url" name="sso_url"; }
                        label { "Signing certificate (PEM)" textarea name="certificate" rows="4" {} }
                        label { "Single logout URL (HTTP-Redirect binding; optional)" input type="url" name="slo_url"; }
                    }
                    label.check { input type="checkbox" name="idp_initiated" value="on"; "Allow IdP-initiated sign-in (from the IdP's app dashboard)" }
                    label.check { input type="checkbox" name="sign_authn_requests" value="on"; "Sign AuthnRequests (Portcullis makes a key pair; give the IdP the SP metadata or certificate shown after saving)" }
                    (encryption_select(AssertionEncryption::Off))
                    button type="submit" { "Add SAML identity provider" }
                }
            }
            details.panel {
                summary { "Add an OpenID Connect identity provider" }
                form method="post" action=(format!("{}/oidc", ctx.url(SECTION))) {
                    (csrf_field(ctx))
                    label { "Description (shown at sign-in)" input type="text" name="description" required; }
                    label { "Issuer URL" input type="url" name="issuer" required; }
                    label { "Client id" input type="text" name="client_id" required; }
                    label { "Client secret" input type="password" name="client_secret" required autocomplete="off"; }
                    label { "Scopes besides openid" input type="text" name="scopes" value="email profile"; }
                    label.check { input type="checkbox" name="trust_unverified_email" value="on"; "Trust its emails without email_verified (only for an identity provider of your own organisation, such as your Entra ID tenant: a multi-tenant issuer would let anyone claim any address)" }
                    p.hint { "The issuer is checked by fetching its discovery document before saving. OpenID Connect has no IdP-initiated sign-in." }
                    button type="submit" { "Add OpenID Connect identity provider" }
                }
            }
        }
        section {
            h2 { "Policy" }
            form method="post" action=(format!("{}/policy", ctx.url(SECTION))) {
                (csrf_field(ctx))
                fieldset {
                    legend { "Single sign-on enforcement" }
                    label.check { input type="radio" name="enforcement" value="mixed" checked[!enforced]; "Mixed: members who had a password keep it; new members use SSO" }
                    label.check { input type="radio" name="enforcement" value="enforced" checked[enforced]; "Enforced: everyone must sign in through an identity provider" }
                    p.warning { "Warning: once enforced, passwords stop working for everyone, including you. Make sure you have signed in through an identity provider in this session; otherwise enforcing is refused to keep you from locking yourself out." }
                    label.check { input type="checkbox" name="confirm" value="on"; "I understand that enforcing disables every password sign-in" }
                }
                fieldset {
                    legend { "Provisioning" }
                    @for (value, text, mode) in [("invite", "Invitation: admins invite each member", ProvisioningMode::Invite), ("just_in_time", "Just-in-time: members are created on their first SSO sign-in", ProvisioningMode::JustInTime), ("scim", "SCIM: the identity provider manages members (set up the key under User provisioning / SCIM)", ProvisioningMode::Scim)] {
                        label.check { input type="radio" name="provisioning" value=(value) checked[account.provisioning == mode]; (text) }
                    }
                }
                button type="submit" { "Save policy" }
            }
        }
    };
    Ok(page(ctx, SECTION, &flash, body))
}

fn idp_card(ctx: &Ctx, idp: &IdentityProvider, public: &str) -> maud::Markup {
    let copy = SpJson::of(idp, public);
    let base = format!("{}/idps/{}", ctx.url(SECTION), idp.id);
    html! {
        article.idp id={ "idp-" (idp.id) } {
            h3 { (idp.description) " " span.tag { (idp.kind().to_uppercase()) } @if !idp.enabled { " " span.tag.off { "disabled" } } }
            div.copy {
                p.hint { "Copy these into the identity provider:" }
                @if let Some(v) = &copy.acs_url { (copy_field("ACS URL (single sign-on URL)", v)) }
                @if let Some(v) = &copy.entity_id { (copy_field("SP entity id (audience)", v)) }
                @if let Some(v) = &copy.metadata_url { (copy_field("SP metadata URL", v)) }
                @if let Some(v) = &copy.redirect_uri { (copy_field("Redirect URI", v)) }
                @if let Some(v) = &copy.post_logout_redirect_uri { (copy_field("Post-logout redirect URI (sign-out)", v)) }
                @if let Some(v) = &copy.slo_url { (copy_field("SP single logout URL (HTTP-Redirect)", v)) }
                @if let Some(pem) = &copy.signing_certificate {
                    label.copy { "SP signing certificate (AuthnRequests and logout messages are signed with its key)" textarea readonly rows="4" { (pem) } }
                }
                @if let Some(pem) = &copy.encryption_certificate {
                    label.copy { "SP encryption certificate (the IdP encrypts assertions to it)" textarea readonly rows="4" { (pem) } }
                }
            }
            @match &idp.protocol {
                IdpProtocol::Saml(s) => {
                    p { "IdP entity id: " code { (s.idp_entity_id) } br; "SSO URL: " code { (s.sso_url) } br;
                        (s.signing_certificates.len()) " signing certificate(s)"
                        @if let Some(url) = &s.metadata_url { br; "Metadata from " code { (url) } }
                        br; "Encrypted assertions: " (s.encrypted_assertions.as_str())
                        br; "Single logout: " @if let Some(url) = &s.slo_url { code { (url) } } @else { "off (the IdP's metadata lists no HTTP-Redirect SingleLogoutService)" } }
                }
                IdpProtocol::Oidc(o) => {
                    p { "Issuer: " code { (o.issuer) } br; "Client id: " code { (o.client_id) } br; "Client secret: stored (never shown)" br; "Scopes: openid " (o.scopes.join(" "))
                        br; "Emails: " @if o.trust_unverified_email { "trusted without email_verified" } @else { "only when email_verified" } }
                }
            }
            details {
                summary { "Edit" }
                form method="post" action=(base) {
                    (csrf_field(ctx))
                    label { "Description" input type="text" name="description" value=(idp.description) required; }
                    label.check { input type="checkbox" name="enabled" value="on" checked[idp.enabled]; "Enabled" }
                    @match &idp.protocol {
                        IdpProtocol::Saml(s) => {
                            label.check { input type="checkbox" name="idp_initiated" value="on" checked[s.idp_initiated]; "Allow IdP-initiated sign-in" }
                            label.check { input type="checkbox" name="sign_authn_requests" value="on" checked[s.sign_authn_requests]; "Sign AuthnRequests (give the IdP the SP metadata or certificate again after switching on)" }
                            (encryption_select(s.encrypted_assertions))
                            label { "Replace with new metadata XML (leave empty to keep)" textarea name="metadata_xml" rows="4" {} }
                        }
                        IdpProtocol::Oidc(o) => {
                            label { "Client id" input type="text" name="client_id" value=(o.client_id); }
                            label { "New client secret (leave empty to keep)" input type="password" name="client_secret" autocomplete="off"; }
                            label { "Scopes besides openid" input type="text" name="scopes" value=(o.scopes.join(" ")); }
                            label.check { input type="checkbox" name="trust_unverified_email" value="on" checked[o.trust_unverified_email]; "Trust its emails without email_verified" }
                        }
                    }
                    button type="submit" { "Save" }
                }
            }
            div.actions {
                @if matches!(&idp.protocol, IdpProtocol::Saml(s) if s.metadata_url.is_some()) {
                    form method="post" action={ (base) "/refresh" } { (csrf_field(ctx)) button.secondary type="submit" { "Fetch metadata again" } }
                }
                @if matches!(&idp.protocol, IdpProtocol::Saml(s) if s.sign_authn_requests) {
                    form method="post" action={ (base) "/rotate-sp-key" } { (csrf_field(ctx)) button.secondary type="submit" title="The IdP refuses signed requests until it has the new certificate" { "Replace the SP signing key" } }
                }
                @if matches!(&idp.protocol, IdpProtocol::Saml(s) if s.sp_encryption_keys.is_some()) {
                    form method="post" action={ (base) "/rotate-sp-encryption-key" } { (csrf_field(ctx)) button.secondary type="submit" title="The replaced key still decrypts for 7 days; give the IdP the new certificate within them" { "Replace the SP encryption key" } }
                }
                form method="post" action={ (base) "/delete" } { (csrf_field(ctx)) button.danger type="submit" { "Delete" } }
            }
        }
    }
}

/// The settings page.
#[get("/a/{slug}/settings/sso")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    done_q: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, None);
    render(&state, &ctx, done_q.flash()).await
}

/// The add-SAML form.
#[derive(Debug, Deserialize)]
struct SamlForm {
    csrf: String,
    description: String,
    #[serde(default)]
    metadata_xml: String,
    #[serde(default)]
    metadata_url: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    sso_url: String,
    #[serde(default)]
    certificate: String,
    #[serde(default)]
    slo_url: String,
    idp_initiated: Option<String>,
    sign_authn_requests: Option<String>,
    encrypted_assertions: Option<String>,
}

/// The encrypted-assertions choice of a SAML form.
fn encryption_select(current: AssertionEncryption) -> Markup {
    html! {
        label { "Encrypted assertions (Portcullis makes an encryption key pair and publishes its certificate)"
            select name="encrypted_assertions" {
                @for v in AssertionEncryption::ALL {
                    option value=(v.as_str()) selected[v == current] { (match v {
                        AssertionEncryption::Off => "off: clear assertions only",
                        AssertionEncryption::Accept => "accept: encrypted or clear",
                        AssertionEncryption::Require => "require: encrypted only",
                    }) }
                }
            }
        }
    }
}

/// The encrypted-assertions choice posted, when the form had one.
fn encryption_choice(posted: Option<&str>) -> Result<Option<AssertionEncryption>, AppError> {
    posted
        .map(|v| AssertionEncryption::parse(v).map_err(|e| AppError::BadRequest(e.to_string())))
        .transpose()
}

fn some(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Handles the form posted to `/a/{slug}/settings/sso/saml`.
#[post("/a/{slug}/settings/sso/saml")]
async fn add_saml(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<SamlForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let f = form.into_inner();
    let result = async {
        let new = NewIdp {
            description: f.description,
            enabled: Some(true),
            idp_initiated: Some(ticked(&f.idp_initiated)),
            sign_authn_requests: Some(ticked(&f.sign_authn_requests)),
            encrypted_assertions: encryption_choice(f.encrypted_assertions.as_deref())?,
            trust_unverified_email: None,
            saml: Some(SamlInput {
                metadata_xml: some(&f.metadata_xml),
                metadata_url: some(&f.metadata_url),
                entity_id: some(&f.entity_id),
                sso_url: some(&f.sso_url),
                certificates: some(&f.certificate).map(|c| vec![c]),
                slo_url: some(&f.slo_url),
                ..SamlInput::default()
            }),
            oidc: None,
        };
        idps::create(&**state, &state.http_policy(), &ctx.caller, new).await
    }
    .await;
    ctx.answer(SECTION, "idp-added", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// The add-OIDC form.
#[derive(Debug, Deserialize)]
struct OidcForm {
    csrf: String,
    description: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scopes: String,
    trust_unverified_email: Option<String>,
}

fn split_scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Handles the form posted to `/a/{slug}/settings/sso/oidc`.
#[post("/a/{slug}/settings/sso/oidc")]
async fn add_oidc(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<OidcForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let f = form.into_inner();
    let new = NewIdp {
        description: f.description,
        enabled: Some(true),
        idp_initiated: None,
        sign_authn_requests: None,
        encrypted_assertions: None,
        trust_unverified_email: Some(ticked(&f.trust_unverified_email)),
        saml: None,
        oidc: Some(OidcInput {
            issuer: Some(f.issuer),
            client_id: Some(f.client_id),
            client_secret: Some(f.client_secret),
            scopes: Some(split_scopes(&f.scopes)),
        }),
    };
    let result = idps::create(&**state, &state.http_policy(), &ctx.caller, new).await;
    ctx.answer(SECTION, "idp-added", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// The edit form of one IdP.
#[derive(Debug, Deserialize)]
struct EditForm {
    csrf: String,
    description: String,
    enabled: Option<String>,
    idp_initiated: Option<String>,
    sign_authn_requests: Option<String>,
    encrypted_assertions: Option<String>,
    #[serde(default)]
    metadata_xml: String,
    client_id: Option<String>,
    #[serde(default)]
    client_secret: String,
    scopes: Option<String>,
    trust_unverified_email: Option<String>,
}

/// Handles the form posted to `/a/{slug}/settings/sso/idps/{id}`.
#[post("/a/{slug}/settings/sso/idps/{id}")]
async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<EditForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let f = form.into_inner();
    let is_oidc = f.client_id.is_some();
    let result = async {
        let update = IdpChange {
            description: Some(f.description),
            enabled: Some(ticked(&f.enabled)),
            idp_initiated: (!is_oidc).then(|| ticked(&f.idp_initiated)),
            sign_authn_requests: (!is_oidc).then(|| ticked(&f.sign_authn_requests)),
            encrypted_assertions: encryption_choice(f.encrypted_assertions.as_deref())?,
            trust_unverified_email: is_oidc.then(|| ticked(&f.trust_unverified_email)),
            saml: some(&f.metadata_xml).map(|xml| SamlInput {
                metadata_xml: Some(xml),
                ..SamlInput::default()
            }),
            oidc: is_oidc.then(|| OidcInput {
                issuer: None,
                client_id: f.client_id.clone(),
                client_secret: some(&f.client_secret),
                scopes: f.scopes.as_deref().map(split_scopes),
            }),
        };
        let (id, net) = (parse_id(&id)?, state.http_policy());
        idps::update(
            &**state,
            &net,
            &state.sso_providers,
            &ctx.caller,
            id,
            update,
        )
        .await
    }
    .await;
    ctx.answer(SECTION, "saved", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// Handles the form posted to `/a/{slug}/settings/sso/idps/{id}/delete`.
#[post("/a/{slug}/settings/sso/idps/{id}/delete")]
async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let providers = state.sso_providers.clone();
    let result = ctx
        .write_on(&state, &id, move |store, caller, id| {
            idps::delete(store, &providers, caller, id)
        })
        .await;
    ctx.answer(SECTION, "idp-deleted", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// Handles the form posted to `/a/{slug}/settings/sso/idps/{id}/refresh`.
#[post("/a/{slug}/settings/sso/idps/{id}/refresh")]
async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result = async {
        idps::refresh_metadata(&**state, &state.http_policy(), &ctx.caller, parse_id(&id)?).await
    }
    .await;
    ctx.answer(SECTION, "refreshed", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// Handles the form posted to `/a/{slug}/settings/sso/idps/{id}/rotate-sp-key`.
#[post("/a/{slug}/settings/sso/idps/{id}/rotate-sp-key")]
async fn rotate_sp_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result = async { idps::rotate_sp_key(&**state, &ctx.caller, parse_id(&id)?).await }.await;
    ctx.answer(SECTION, "sp-key-rotated", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// Handles the form posted to `/a/{slug}/settings/sso/idps/{id}/rotate-sp-encryption-key`.
#[post("/a/{slug}/settings/sso/idps/{id}/rotate-sp-encryption-key")]
async fn rotate_sp_encryption_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let result =
        async { idps::rotate_sp_encryption_key(&**state, &ctx.caller, parse_id(&id)?).await }.await;
    ctx.answer(SECTION, "sp-encryption-key-rotated", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}

/// The policy form.
#[derive(Debug, Deserialize)]
struct PolicyForm {
    csrf: String,
    enforcement: String,
    provisioning: String,
    confirm: Option<String>,
}

/// Handles the form posted to `/a/{slug}/settings/sso/policy`.
#[post("/a/{slug}/settings/sso/policy")]
async fn set_policy(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<PolicyForm>,
) -> Result<HttpResponse, PageError> {
    let ctx = crate::dashboard_ctx!(state, req, slug, signed_in, Some(&form.csrf));
    let f = form.into_inner();
    let result = async {
        let enforcement: EnforcementPolicy = f.enforcement.parse()?;
        let provisioning: ProvisioningMode = f.provisioning.parse()?;
        let enforcing = enforcement == EnforcementPolicy::Enforced
            && ctx.caller.account.enforcement == EnforcementPolicy::Mixed;
        if enforcing && !ticked(&f.confirm) {
            return Err(AppError::BadRequest(
                "tick the confirmation box to enforce single sign-on: it disables every password sign-in".into(),
            ));
        }
        let change = AccountChange {
            enforcement: Some(enforcement),
            provisioning: Some(provisioning),
            ..AccountChange::default()
        };
        ctx.write(&state, move |store, caller| {
            accounts::update(store, caller, change, Utc::now())
        })
        .await
    }
    .await;
    ctx.answer(SECTION, "saved", result, |flash| {
        render(&state, &ctx, flash)
    })
    .await
}
