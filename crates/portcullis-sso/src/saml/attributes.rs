//! Where the email and display name come from in a verified assertion.

use portcullis_domain::role_rule::Claims;
use portcullis_domain::{Email, SamlSettings};
use samael::schema::Assertion;

use super::SamlRejection;

/// Attributes tried for the email, in order, when the IdP has no configured attribute:
/// Okta's and Google's usual names, the LDAP `mail` OID, and Entra ID's claim URIs (its
/// `.../claims/name` carries the UPN, which is email-shaped in most tenants).
pub const DEFAULT_EMAIL_ATTRIBUTES: &[&str] = &[
    "email",
    "mail",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "user.email",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
];

/// Attributes tried for the display name, in order, when none is configured; after them
/// given name + surname are joined.
pub const DEFAULT_NAME_ATTRIBUTES: &[&str] = &[
    "displayName",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "name",
    "fullName",
    "cn",
    "urn:oid:2.16.840.1.113730.3.1.241",
];

const GIVEN_NAME_ATTRIBUTES: &[&str] = &[
    "firstName",
    "givenName",
    "given_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];

const SURNAME_ATTRIBUTES: &[&str] = &[
    "lastName",
    "surname",
    "sn",
    "family_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];

const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// The first non-empty value of the first attribute (by `Name`, then `FriendlyName`,
/// compared without letter case) that is present.
fn first_value(assertion: &Assertion, names: &[&str]) -> Option<String> {
    let attributes: Vec<_> = assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| s.attributes.iter())
        .collect();
    names.iter().find_map(|wanted| {
        attributes
            .iter()
            .filter(|a| {
                a.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                    || a.friendly_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            })
            .flat_map(|a| a.values.iter())
            .filter_map(|v| v.value.as_deref())
            .map(str::trim)
            .find(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

/// The email address: the configured attribute only, when one is configured; otherwise
/// the defaults, then a NameID in emailAddress (or unspecified) format.
pub(crate) fn email(
    settings: &SamlSettings,
    assertion: &Assertion,
    name_id: &str,
    name_id_format: Option<&str>,
) -> Result<Email, SamlRejection> {
    let configured = settings
        .email_attribute
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if let Some(attribute) = configured {
        let value = first_value(assertion, &[attribute]).ok_or(SamlRejection::MissingEmail)?;
        return Email::parse(&value).map_err(|_| SamlRejection::InvalidEmail);
    }
    for attribute in DEFAULT_EMAIL_ATTRIBUTES {
        if let Some(value) = first_value(assertion, &[attribute]) {
            if let Ok(email) = Email::parse(&value) {
                return Ok(email);
            }
        }
    }
    let format = name_id_format.unwrap_or(NAMEID_UNSPECIFIED);
    if format == NAMEID_EMAIL || format == NAMEID_UNSPECIFIED {
        if let Ok(email) = Email::parse(name_id) {
            return Ok(email);
        }
    }
    Err(SamlRejection::MissingEmail)
}

/// The display name: the configured attribute, else the defaults, else given name and
/// surname joined.
pub(crate) fn display_name(settings: &SamlSettings, assertion: &Assertion) -> Option<String> {
    if let Some(attribute) = settings
        .name_attribute
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        if let Some(name) = first_value(assertion, &[attribute]) {
            return Some(name);
        }
    }
    if let Some(name) = first_value(assertion, DEFAULT_NAME_ATTRIBUTES) {
        return Some(name);
    }
    let parts: Vec<String> = [
        first_value(assertion, GIVEN_NAME_ATTRIBUTES),
        first_value(assertion, SURNAME_ATTRIBUTES),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Every attribute's non-empty values, by `Name` and, when it has one, by `FriendlyName`
/// too (role rules read them).
pub(crate) fn claims(assertion: &Assertion) -> Claims {
    let mut claims = Claims::new();
    for attribute in assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| s.attributes.iter())
    {
        let values: Vec<String> = attribute
            .values
            .iter()
            .filter_map(|v| v.value.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        for name in [&attribute.name, &attribute.friendly_name]
            .into_iter()
            .flatten()
        {
            claims
                .entry(name.trim().to_owned())
                .or_default()
                .extend(values.iter().cloned());
        }
    }
    claims
}
