//! The step-by-step guides of the setup pages, for Okta and Microsoft Entra ID, with the
//! exact values of this link's IdP to paste.

use maud::{html, Markup};
use portcullis_domain::{IdentityProvider, IdpId};
use portcullis_sso::saml::SpConfig;

use crate::dashboard::copy_field;

/// What the IdP is given: the SAML SP's URLs and the OpenID Connect redirect URI of the
/// link's IdP id, known before the IdP is added.
pub struct Values {
    /// The SP entity id (audience).
    pub entity_id: String,
    /// The assertion consumer service URL.
    pub acs_url: String,
    /// The SP metadata URL.
    pub metadata_url: String,
    /// The OpenID Connect redirect URI.
    pub redirect_uri: String,
    /// The OpenID Connect post-logout redirect URI.
    pub post_logout_redirect_uri: String,
}

impl Values {
    /// The values of the IdP `idp` on the server at `public_url`.
    pub fn new(public_url: &str, idp: IdpId) -> Self {
        let sp = SpConfig::for_idp(public_url, idp);
        Self {
            entity_id: sp.entity_id,
            acs_url: sp.acs_url,
            metadata_url: sp.metadata_url,
            redirect_uri: crate::sso::oidc_redirect_uri(public_url, idp),
            post_logout_redirect_uri: crate::sso::logout::oidc_post_logout_uri(public_url, idp),
        }
    }
}

/// The SSO guides: the values, then what to do in Okta and in Entra ID.
pub fn sso(v: &Values, idp: Option<&IdentityProvider>) -> Markup {
    let saml = idp.is_none_or(|i| i.kind() == "saml");
    let oidc = idp.is_none_or(|i| i.kind() == "oidc");
    html! {
        section {
            h2 { "1. Create the application in your identity provider" }
            @if let Some(idp) = idp {
                p { "Connected: " strong { (idp.description) } " (" (idp.kind().to_uppercase()) ")." }
            }
            @if saml {
                h3 { "SAML values" }
                (copy_field("Single sign-on URL (ACS URL)", &v.acs_url))
                (copy_field("Audience URI (SP entity id)", &v.entity_id))
                (copy_field("SP metadata URL", &v.metadata_url))
            }
            @if oidc {
                h3 { "OpenID Connect value" }
                (copy_field("Redirect URI (sign-in redirect)", &v.redirect_uri))
                (copy_field("Post-logout redirect URI (sign-out redirect)", &v.post_logout_redirect_uri))
            }
            details.panel {
                summary { "Okta" }
                @if saml {
                    p { strong { "SAML:" } }
                    ol {
                        li { "Admin Console → Applications → Create App Integration → SAML 2.0." }
                        li { "Single sign-on URL: " code { (v.acs_url) } " (leave “Use this for Recipient URL and Destination URL” ticked)." }
                        li { "Audience URI (SP Entity ID): " code { (v.entity_id) } "." }
                        li { "Name ID format: EmailAddress; Application username: Email. Add the attribute statement " code { "email" } " = " code { "user.email" } "." }
                        li { "Finish, assign the people or groups, then copy the “Metadata URL” from the Sign On tab into step 2 below." }
                    }
                }
                @if oidc {
                    p { strong { "OpenID Connect:" } }
                    ol {
                        li { "Applications → Create App Integration → OIDC – OpenID Connect → Web Application." }
                        li { "Sign-in redirect URI: " code { (v.redirect_uri) } "; sign-out redirect URI: " code { (v.post_logout_redirect_uri) } "; grant type Authorization Code." }
                        li { "Copy the Client ID and Client secret, and use your Okta domain (such as " code { "https://acme.okta.com" } ") as the issuer in step 2." }
                    }
                }
            }
            details.panel {
                summary { "Microsoft Entra ID" }
                @if saml {
                    p { strong { "SAML:" } }
                    ol {
                        li { "Entra admin center → Enterprise applications → New application → Create your own application (non-gallery)." }
                        li { "Single sign-on → SAML → Basic SAML Configuration: Identifier (Entity ID) " code { (v.entity_id) } ", Reply URL (ACS URL) " code { (v.acs_url) } "." }
                        li { "Attributes & Claims: keep the emailaddress claim; Unique User Identifier: user.userprincipalname (or user.mail)." }
                        li { "Assign users and groups, then copy the “App Federation Metadata Url” into step 2 below." }
                    }
                }
                @if oidc {
                    p { strong { "OpenID Connect:" } }
                    ol {
                        li { "App registrations → New registration; Redirect URI (Web): " code { (v.redirect_uri) } "; under Authentication add " code { (v.post_logout_redirect_uri) } " as a second redirect URI (Entra accepts a post_logout_redirect_uri it has registered)." }
                        li { "Certificates & secrets → New client secret; copy its value." }
                        li { "Issuer: " code { "https://login.microsoftonline.com/<tenant id>/v2.0" } "; client id: the Application (client) ID." }
                    }
                }
            }
        }
    }
}

/// The SCIM guide: the base URL, then what to do in Okta and in Entra ID.
pub fn scim(base: &str) -> Markup {
    html! {
        section {
            h2 { "Connect provisioning" }
            (copy_field("SCIM base URL (tenant URL)", base))
            details.panel {
                summary { "Okta" }
                ol {
                    li { "In the application: General → App Settings → Provisioning: SCIM." }
                    li { "Provisioning → Integration: SCIM connector base URL " code { (base) } "; unique identifier field for users " code { "userName" } "." }
                    li { "Supported actions: Push New Users, Push Profile Updates, Push Groups; Authentication Mode: HTTP Header, with the key below as the Bearer token. Test the connector, then save." }
                    li { "Provisioning → To App: enable Create Users, Update User Attributes and Deactivate Users." }
                }
            }
            details.panel {
                summary { "Microsoft Entra ID" }
                ol {
                    li { "In the enterprise application: Provisioning → Get started → Provisioning Mode: Automatic." }
                    li { "Tenant URL: " code { (base) } "; Secret Token: the key below. Test Connection, then save." }
                    li { "Mappings: keep userPrincipalName → userName; assign users and groups, then start provisioning." }
                }
            }
        }
    }
}
