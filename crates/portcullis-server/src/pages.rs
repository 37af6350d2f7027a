//! Server-rendered HTML (maud escapes every interpolated value). No JavaScript.

use actix_web::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

/// The stylesheet, served at `/static/portcullis.css`.
pub const STYLESHEET: &str = include_str!("pages/portcullis.css");

/// The frame every page shares.
pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Portcullis" }
                link rel="stylesheet" href="/static/portcullis.css";
            }
            body {
                main { (body) }
            }
        }
    }
}

/// A readable error page.
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        title,
        html! {
            h1 { (title) }
            p.error { (message) }
            p { a href="/" { "Back to the start page" } }
        },
    )
}

/// What the login page shows.
pub struct LoginView<'a> {
    /// The account's slug.
    pub slug: &'a str,
    /// The account's name.
    pub account_name: &'a str,
    /// Whether the password form is offered (not under SSO enforced).
    pub password_allowed: bool,
    /// Enabled IdPs, as (id, description).
    pub idps: &'a [(String, String)],
    /// The pre-login CSRF token for the form.
    pub csrf: &'a str,
    /// An error to show above the form.
    pub error: Option<&'a str>,
    /// The email to refill.
    pub email: &'a str,
    /// Ask for the email alone first (the account has verified domains, whose people go
    /// to their IdP before any password field is shown).
    pub email_first: bool,
}

/// The account's login page.
pub fn login_page(view: &LoginView<'_>) -> Markup {
    layout(
        "Sign in",
        html! {
            h1 { "Sign in to " (view.account_name) }
            @if let Some(error) = view.error {
                p.error role="alert" { (error) }
            }
            @if !view.idps.is_empty() {
                section.sso {
                    @if view.idps.len() == 1 {
                        a.button href={ "/a/" (view.slug) "/sso/" (view.idps[0].0) "/start" } { "Sign in with SSO" }
                    } @else {
                        h2 { "Sign in with SSO" }
                        ul.choices {
                            @for (id, description) in view.idps {
                                li { a.button href={ "/a/" (view.slug) "/sso/" (id) "/start" } { (description) } }
                            }
                        }
                    }
                }
            }
            @if view.email_first {
                form method="post" action={ "/a/" (view.slug) "/login" } {
                    input type="hidden" name="csrf" value=(view.csrf);
                    label { "Email" input type="email" name="email" required autocomplete="username" value=(view.email); }
                    button type="submit" { "Continue" }
                }
            } @else if view.password_allowed {
                form method="post" action={ "/a/" (view.slug) "/login" } {
                    input type="hidden" name="csrf" value=(view.csrf);
                    label { "Email" input type="email" name="email" required autocomplete="username" value=(view.email); }
                    label { "Password" input type="password" name="password" required autocomplete="current-password"; }
                    button type="submit" { "Sign in" }
                }
            } @else {
                p.notice { "This account requires single sign-on: sign in through your identity provider." }
            }
        },
    )
}

/// `GET /login`: sign-in by email alone, for people who do not know their account's
/// address. `unrouted` says the last email had no single sign-on, and offers the
/// account's own page by name instead (revealing nothing about which accounts exist).
pub fn email_first_page(csrf: &str, email: &str, error: Option<&str>, unrouted: bool) -> Markup {
    layout(
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            @if unrouted {
                p.notice { "No single sign-on is set up for this email. Sign in on your account's own page instead:" }
                form method="get" action="/login/account" {
                    label { "Account name" input type="text" name="slug" required autocomplete="organization" placeholder="acme"; }
                    button type="submit" { "Go to its sign-in page" }
                }
                h2 { "Or try another email" }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Work email" input type="email" name="email" required autocomplete="username" value=(email); }
                button type="submit" { "Continue" }
            }
        },
    )
}

/// The signed-in landing page, with the settings pages' navigation; `banner` shows
/// above everything (certificate warnings).
pub fn home_page(
    slug: &str,
    account_name: &str,
    email: &str,
    csrf: &str,
    banner: Markup,
) -> Markup {
    layout(
        account_name,
        html! {
            nav.settings {
                a href={ "/a/" (slug) "/" } { (account_name) }
                @for (section, title) in crate::dashboard::SECTIONS {
                    a href={ "/a/" (slug) "/settings/" (section) } { (title) }
                }
            }
            (banner)
            h1 { (account_name) }
            p { "Signed in as " strong { (email) } "." }
            h2 { "Settings" }
            ul.settings-links {
                @for (section, title) in crate::dashboard::SECTIONS {
                    li { a href={ "/a/" (slug) "/settings/" (section) } { (title) } }
                }
            }
            form method="post" action={ "/a/" (slug) "/logout" } {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Sign out" }
            }
        },
    )
}

/// The start page: where to go.
pub fn index_page(default_login: Option<&str>) -> Markup {
    layout(
        "Portcullis",
        html! {
            h1 { "Portcullis" }
            p { a.button href="/login" { "Sign in with your work email" } }
            @if let Some(url) = default_login {
                p { a href=(url) { "Sign in" } }
            } @else {
                p { "Or open your account's sign-in page: /a/<account>/login" }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let view = LoginView {
            slug: "acme",
            account_name: "<script>alert(1)</script>",
            password_allowed: true,
            idps: &[],
            csrf: "t\"><x",
            error: None,
            email: "",
            email_first: false,
        };
        let page = login_page(&view).into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("t\"><x"));
    }

    #[test]
    fn chooser_lists_descriptions_and_enforcement_hides_the_form() {
        let idps = vec![
            ("1".to_owned(), "Okta".to_owned()),
            ("2".to_owned(), "Entra ID".to_owned()),
        ];
        let view = LoginView {
            slug: "acme",
            account_name: "Acme",
            password_allowed: false,
            idps: &idps,
            csrf: "t",
            error: None,
            email: "",
            email_first: false,
        };
        let page = login_page(&view).into_string();
        assert!(page.contains(">Okta<") && page.contains(">Entra ID<"));
        assert!(!page.contains("type=\"password\""));
    }
}
