//! Id newtypes, one per entity, so an account id can never be passed where a user id is
//! expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::DomainError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (for example one the caller generated).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| DomainError::InvalidId(s.to_owned()))
            }
        }
    };
}

id_type!(
    /// Identifies an account (a tenant).
    AccountId
);
id_type!(
    /// Identifies a user (a human member or a bot) of one account.
    UserId
);
id_type!(
    /// Identifies an identity provider configured on an account.
    IdpId
);
id_type!(
    /// Identifies an API key.
    ApiKeyId
);
id_type!(
    /// Identifies a server-side dashboard session.
    SessionId
);
id_type!(
    /// Identifies an invitation.
    InvitationId
);
id_type!(
    /// Identifies an audit event.
    AuditEventId
);
id_type!(
    /// Identifies a group of users (managed over SCIM).
    GroupId
);
id_type!(
    /// Identifies an account's claim on an email domain.
    DomainId
);
id_type!(
    /// Identifies a rule that gives members a role from their IdP groups.
    RoleRuleId
);
id_type!(
    /// Identifies a webhook.
    WebhookId
);
id_type!(
    /// Identifies one delivery of an event to a webhook (its `webhook-id` header).
    DeliveryId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = UserId::from_uuid(Uuid::from_u128(0x1234));
        let parsed: UserId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert_eq!(
            "010101001010101011001010101011".parse::<UserId>(),
            Err(DomainError::InvalidId(
                "010101001010101011001010101011".into()
            ))
        );
    }
}
id_type!(
    /// Identifies a setup link for a customer's IT admin.
    SetupLinkId
);
