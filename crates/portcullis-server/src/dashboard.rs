//! The web dashboard's settings pages under `/a/{slug}/settings/…`: server-rendered HTML
//! (maud escapes every value), plain forms carrying the session's CSRF token, no
//! JavaScript. Each page calls the same use cases of `portcullis-app` as the admin API,
//! so every rule holds in both. Failures are shown on the page as readable messages.

pub mod api_keys;
pub mod audit;
pub mod domains;
pub mod invite;
pub mod ip_restrictions;
pub mod members;
pub mod role_rules;
pub mod scim;
pub mod setup_links;
pub mod sign_in_attempts;
pub mod sso;
pub mod webhooks;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use portcullis_store::Store;

use crate::admin::auth::{session_caller, Caller};
use crate::client_ip::client_ip;
use crate::error::{AppError, HttpStatus, PageError};
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires every dashboard route.
pub fn config(cfg: &mut web::ServiceConfig) {
    sso::config(cfg);
    scim::config(cfg);
    members::config(cfg);
    domains::config(cfg);
    role_rules::config(cfg);
    webhooks::config(cfg);
    sign_in_attempts::config(cfg);
    api_keys::config(cfg);
    setup_links::config(cfg);
    ip_restrictions::config(cfg);
    audit::config(cfg);
    invite::config(cfg);
}

/// The settings pages, for the navigation: (path under settings, title).
pub const SECTIONS: &[(&str, &str)] = &[
    ("sso", "Single sign-on"),
    ("scim", "User provisioning / SCIM"),
    ("members", "Members"),
    ("domains", "Domains"),
    ("role-rules", "Roles from the IdP"),
    ("webhooks", "Webhooks"),
    ("api-keys", "API keys"),
    ("setup-links", "Setup links"),
    ("ip-restrictions", "IP restrictions"),
    ("sign-in-attempts", "Sign-in attempts"),
    ("audit", "Audit log"),
];

/// A signed-in admin on one of their account's pages.
pub struct Ctx {
    /// The caller, as the admin use cases take it.
    pub caller: Caller,
    /// The session's CSRF token for the page's forms.
    pub csrf: String,
}

impl Ctx {
    /// Runs a reading use case as this caller ([`AppState::read`]).
    pub async fn read<T, F>(&self, state: &AppState, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store, &Caller) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let caller = self.caller.clone();
        state.read(move |store| f(store, &caller)).await
    }

    /// Runs a changing use case as this caller ([`AppState::write`]).
    pub async fn write<T, F>(&self, state: &AppState, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store, &Caller) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let caller = self.caller.clone();
        state.write(move |store| f(store, &caller)).await
    }

    /// Runs a changing use case on the thing a path names: an id that does not parse is
    /// a thing not found, as the JSON API answers.
    pub async fn write_on<I, T, F>(&self, state: &AppState, id: &str, f: F) -> Result<T, AppError>
    where
        I: std::str::FromStr + Send + 'static,
        F: FnOnce(&Store, &Caller, I) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let id = crate::admin::members::parse_id(id)?;
        self.write(state, move |store, caller| f(store, caller, id))
            .await
    }

    /// The one shape of a form's answer: on success, back to the page announcing `done`;
    /// on failure, the page again (`render`) with the failure shown.
    pub async fn answer<T, R, Fut>(
        &self,
        section: &str,
        done_as: &str,
        result: Result<T, AppError>,
        render: R,
    ) -> Result<HttpResponse, PageError>
    where
        R: FnOnce(Flash) -> Fut,
        Fut: std::future::Future<Output = Result<HttpResponse, PageError>>,
    {
        match result {
            Ok(_) => Ok(done(self, section, done_as)),
            Err(e) => render(Flash::error(e)).await,
        }
    }

    /// The account's slug.
    pub fn slug(&self) -> &str {
        self.caller.account.slug.as_str()
    }

    /// The URL of a settings page.
    pub fn url(&self, section: &str) -> String {
        format!("/a/{}/settings/{section}", self.slug())
    }
}

/// Either a page context, or where to send someone who is not signed in.
pub enum Access {
    /// Signed in to this account as someone who may manage it.
    Allowed(Box<Ctx>),
    /// Not signed in (to this account): the login page.
    SignIn(HttpResponse),
}

/// Checks who is on a settings page. For a form post, `csrf` is the token it carried.
pub async fn access(
    state: &AppState,
    req: &HttpRequest,
    slug: &str,
    signed_in: MaybeSignedIn,
    csrf: Option<&str>,
) -> Result<Access, PageError> {
    let Some(s) = signed_in.0.filter(|s| s.account.slug.as_str() == slug) else {
        return Ok(Access::SignIn(
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/a/{slug}/login")))
                .finish(),
        ));
    };
    if let Some(presented) = csrf {
        if !state.keys.check_csrf(s.session.id, presented) {
            return Err(AppError::Forbidden(
                "this form expired or did not come from this site; reload the page and try again"
                    .into(),
            )
            .into());
        }
    }
    let csrf = state.keys.csrf_token(s.session.id);
    let caller = session_caller(s, client_ip(req, &state.config.trusted_proxies));
    caller.require_manager()?;
    Ok(Access::Allowed(Box::new(Ctx { caller, csrf })))
}

/// Unwraps [`access`] inside a handler.
#[macro_export]
macro_rules! dashboard_ctx {
    ($state:expr, $req:expr, $slug:expr, $signed_in:expr, $csrf:expr) => {
        match $crate::dashboard::access(&$state, &$req, &$slug, $signed_in, $csrf).await? {
            $crate::dashboard::Access::Allowed(ctx) => *ctx,
            $crate::dashboard::Access::SignIn(redirect) => return Ok(redirect),
        }
    };
}

/// What a page shows above its content.
#[derive(Debug, Default)]
pub struct Flash {
    /// A failure, shown as an alert; the page answers with its status.
    pub error: Option<AppError>,
    /// A success message.
    pub notice: Option<String>,
}

impl Flash {
    /// A failure to show.
    pub fn error(e: AppError) -> Self {
        Self {
            error: Some(e),
            notice: None,
        }
    }

    /// A success message to show.
    pub fn notice(text: impl Into<String>) -> Self {
        Self {
            error: None,
            notice: Some(text.into()),
        }
    }
}

/// The `?done=` query of a page after a successful post.
#[derive(Debug, Deserialize)]
pub struct Done {
    /// Which success to announce.
    pub done: Option<String>,
}

impl Done {
    /// The flash for the announced success.
    pub fn flash(&self) -> Flash {
        let text = match self.done.as_deref() {
            Some("saved") => "Saved.",
            Some("idp-added") => "The identity provider was added.",
            Some("idp-deleted") => "The identity provider was deleted.",
            Some("refreshed") => "The metadata was fetched again.",
            Some("sp-key-rotated") => "The SP signing key was replaced. Give the identity provider the new certificate (or the SP metadata) now: it refuses signed requests until then.",
            Some("sp-encryption-key-rotated") => "The SP encryption key was replaced. Give the identity provider the new certificate (or the SP metadata) within 7 days: the replaced key decrypts until then.",
            Some("revoked") => "The API key was revoked.",
            Some("link-revoked") => "The setup link was revoked; it no longer works.",
            Some("invitation-revoked") => "The invitation was revoked; its link no longer works.",
            Some("deleted") => "Deleted.",
            Some("domain-added") => "The domain was added. Publish its TXT record, then verify it.",
            Some("domain-verified") => "The record is there: the domain is verified.",
            Some("rule-added") => "The rule was added; it applies from the next group change or sign-in.",
            Some("ping-queued") => "A test event is on its way; its delivery shows below.",
            Some("resend-queued") => "The event will be sent again now.",
            Some("scim-off") => "SCIM provisioning is off; new members are invited.",
            _ => return Flash::default(),
        };
        Flash::notice(text)
    }
}

/// A redirect back to a settings page announcing `done`.
pub fn done(ctx: &Ctx, section: &str, done: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("{}?done={done}", ctx.url(section)),
        ))
        .finish()
}

/// Renders a settings page in the dashboard frame.
pub fn page(ctx: &Ctx, section: &str, flash: &Flash, body: Markup) -> HttpResponse {
    let title = SECTIONS
        .iter()
        .find(|(s, _)| *s == section)
        .map_or("Settings", |(_, t)| *t);
    let account = &ctx.caller.account.name;
    let nav = html! {
        a href={ "/a/" (ctx.slug()) "/" } { strong { (account) } }
        @for (s, t) in SECTIONS {
            a class=[(*s == section).then_some("current")] href=(ctx.url(s)) { (t) }
        }
    };
    frame(title, account, nav, flash, body)
}

/// The frame of the settings pages (the dashboard's and those a setup link opens): the
/// navigation, the title, the flash (whose failure sets the status) and the body.
pub fn frame(title: &str, account: &str, nav: Markup, flash: &Flash, body: Markup) -> HttpResponse {
    let status = flash
        .error
        .as_ref()
        .map_or(StatusCode::OK, HttpStatus::status);
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (account) " · Portcullis" }
                link rel="stylesheet" href="/static/portcullis.css";
            }
            body.dashboard {
                nav.settings { (nav) }
                main.wide {
                    h1 { (title) }
                    @if let Some(e) = &flash.error {
                        p.error role="alert" { (e.public_message()) }
                    }
                    @if let Some(n) = &flash.notice {
                        p.notice role="status" { (n) }
                    }
                    (body)
                }
            }
        }
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// The warning about SAML signing certificates that expire within 30 days (nothing when
/// none does): on the SSO page and the dashboard home.
pub fn certificate_banner(expiring: &[portcullis_app::idps::ExpiringCertificate]) -> Markup {
    let now = chrono::Utc::now();
    html! {
        @for c in expiring {
            p.error.banner role="alert" {
                "The signing certificate of " strong { (c.description) } " "
                @if c.expires_at <= now { "expired on " } @else { "expires on " }
                (c.expires_at.format("%Y-%m-%d"))
                @if c.expires_at > now { " (in " ((c.expires_at - now).num_days()) " days)" }
                ". Add the identity provider's new certificate (or refresh its metadata) before then, or sign-ins through it will fail."
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

/// A value to copy, in a read-only field.
pub fn copy_field(label: &str, value: &str) -> Markup {
    html! {
        label.copy { (label) input type="text" readonly value=(value); }
    }
}

/// Whether an HTML checkbox was ticked.
pub fn ticked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

/// A form that only carries the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    /// The CSRF token.
    pub csrf: String,
}
