//! The RFC 7643 §8.7.1 schemas: core User, Enterprise User extension and core Group.

use super::attribute::{Attribute, Mutability as M, Returned, Uniqueness};
use super::Schema;

/// The core User schema URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Enterprise User extension URN.
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The core Group schema URN.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The schema Entra ID lists on groups it creates. It defines no attributes Portcullis keeps,
/// so it is accepted on input and dropped.
pub const MS_GROUP_EXTENSION: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

fn s(name: &str) -> Attribute {
    Attribute::string(name)
}

/// The usual `value`/`display`/`type`/`primary` element of a multi-valued attribute.
fn multi(name: &str, value: Attribute, types: &[&str], description: &str) -> Attribute {
    Attribute::complex(
        name,
        vec![
            value,
            s("display"),
            s("type").canonical(types),
            Attribute::boolean("primary"),
        ],
    )
    .multi()
    .describe(description)
}

/// The core User schema.
pub fn user_schema() -> Schema {
    let name = Attribute::complex(
        "name",
        vec![
            s("formatted"),
            s("familyName"),
            s("givenName"),
            s("middleName"),
            s("honorificPrefix"),
            s("honorificSuffix"),
        ],
    )
    .describe("The components of the user's real name.");
    let addresses = Attribute::complex(
        "addresses",
        vec![
            s("formatted"),
            s("streetAddress"),
            s("locality"),
            s("region"),
            s("postalCode"),
            s("country"),
            s("type").canonical(&["work", "home", "other"]),
            Attribute::boolean("primary"),
        ],
    )
    .multi()
    .describe("Physical mailing addresses.");
    let ro = |a: Attribute| a.mutability(M::ReadOnly);
    let groups = ro(Attribute::complex(
        "groups",
        vec![
            ro(s("value")),
            ro(Attribute::reference("$ref", &["User", "Group"])),
            ro(s("display")),
            ro(s("type").canonical(&["direct", "indirect"])),
        ],
    )
    .multi()
    .describe("The groups the user belongs to, managed through the Group resource."));
    Schema {
        id: USER.to_owned(),
        name: "User".to_owned(),
        description: "User Account".to_owned(),
        attributes: vec![
            s("userName")
                .required()
                .uniqueness(Uniqueness::Server)
                .describe("Unique identifier for the user, compared case-insensitively."),
            name,
            s("displayName"),
            s("nickName"),
            Attribute::reference("profileUrl", &["external"]),
            s("title"),
            s("userType"),
            s("preferredLanguage"),
            s("locale"),
            s("timezone"),
            Attribute::boolean("active"),
            s("password")
                .mutability(M::WriteOnly)
                .returned(Returned::Never)
                .describe("Write-only; never returned."),
            multi(
                "emails",
                s("value"),
                &["work", "home", "other"],
                "Email addresses.",
            ),
            multi(
                "phoneNumbers",
                s("value"),
                &["work", "home", "mobile", "fax", "pager", "other"],
                "Phone numbers.",
            ),
            multi(
                "ims",
                s("value"),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                "Instant messaging addresses.",
            ),
            multi(
                "photos",
                Attribute::reference("value", &["external"]),
                &["photo", "thumbnail"],
                "URLs of photos of the user.",
            ),
            addresses,
            groups,
            multi("entitlements", s("value"), &[], "Entitlements."),
            multi("roles", s("value"), &[], "Roles."),
            multi(
                "x509Certificates",
                Attribute::new("value", super::AttrType::Binary),
                &[],
                "DER-encoded X.509 certificates.",
            ),
        ],
    }
}

/// The Enterprise User extension schema.
pub fn enterprise_user_schema() -> Schema {
    Schema {
        id: ENTERPRISE_USER.to_owned(),
        name: "EnterpriseUser".to_owned(),
        description: "Enterprise User".to_owned(),
        attributes: vec![
            s("employeeNumber"),
            s("costCenter"),
            s("organization"),
            s("division"),
            s("department"),
            Attribute::complex(
                "manager",
                vec![
                    s("value"),
                    Attribute::reference("$ref", &["User"]),
                    s("displayName").mutability(M::ReadOnly),
                ],
            )
            .describe("The user's manager: `value` is the manager's id."),
        ],
    }
}

/// The core Group schema. `displayName` is required, as every IdP sends it.
pub fn group_schema() -> Schema {
    let im = |a: Attribute| a.mutability(M::Immutable);
    Schema {
        id: GROUP.to_owned(),
        name: "Group".to_owned(),
        description: "Group".to_owned(),
        attributes: vec![
            s("displayName").required(),
            Attribute::complex(
                "members",
                vec![
                    im(s("value")),
                    im(Attribute::reference("$ref", &["User", "Group"])),
                    im(s("display")),
                    im(s("type").canonical(&["User", "Group"])),
                ],
            )
            .multi()
            .describe("The members of the group."),
        ],
    }
}
