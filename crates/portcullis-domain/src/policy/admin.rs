//! Who may administer an account, and which member changes would lock it out.

use std::net::IpAddr;

use crate::{IpRestrictions, Role, User, UserKind};

/// Why a caller may not change an account's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ManageRefusal {
    /// Members may read their own profile but change no settings.
    #[error("only account admins (or API keys owned by admins or bot users) may do this")]
    NotAdmin,
    /// The caller is deactivated.
    #[error("the caller is deactivated")]
    Inactive,
}

/// May `caller` (a signed-in person, or the owner of the API key used) read and change
/// the account's settings? Admins may; bots may (they only act through API keys, which
/// only admins give them); members may not.
pub fn may_manage_account(caller: &User) -> Result<(), ManageRefusal> {
    if !caller.active {
        return Err(ManageRefusal::Inactive);
    }
    match (caller.kind, caller.role) {
        (UserKind::Bot, _) | (UserKind::Human, Role::Admin) => Ok(()),
        (UserKind::Human, Role::Member) => Err(ManageRefusal::NotAdmin),
    }
}

/// Why a change to a member is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemberChangeRefusal {
    /// The change would leave the account without an active human admin.
    #[error("this is the account's last active admin; make someone else an admin first")]
    LastAdmin,
    /// Bots are managed as bots, not as members.
    #[error("bot users are managed under bots, not members")]
    Bot,
}

/// May `target` lose its admin power (demotion, deactivation or deletion), given the
/// account's active human admins? `still_admin` says whether `target` remains an active
/// admin after the change.
pub fn may_change_member(
    target: &User,
    active_admins: &[User],
    still_admin: bool,
) -> Result<(), MemberChangeRefusal> {
    if target.kind == UserKind::Bot {
        return Err(MemberChangeRefusal::Bot);
    }
    let was_admin = target.active && target.role == Role::Admin;
    if !was_admin || still_admin {
        return Ok(());
    }
    let others = active_admins.iter().any(|a| {
        a.id != target.id && a.active && a.role == Role::Admin && a.kind == UserKind::Human
    });
    if others {
        Ok(())
    } else {
        Err(MemberChangeRefusal::LastAdmin)
    }
}

/// Why new API IP restrictions are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IpRestrictionRefusal {
    /// The API key making the change would be locked out by it.
    #[error("these restrictions would refuse your own address {0}, locking this API key out; include it, or change them from the dashboard")]
    LocksOutCaller(IpAddr),
}

/// May API IP restrictions become `new`? A change made with an API key must keep that
/// caller's address allowed (a dashboard session is not subject to API restrictions, so
/// it can always repair them).
pub fn may_set_ip_restrictions(
    new: &IpRestrictions,
    api_key_caller: Option<IpAddr>,
) -> Result<(), IpRestrictionRefusal> {
    match api_key_caller {
        Some(ip) if !new.allows(ip) => Err(IpRestrictionRefusal::LocksOutCaller(ip)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::{AccountId, Email, UserId, UserOrigin};

    fn user(n: u128, kind: UserKind, role: Role, active: bool) -> User {
        User {
            id: UserId::from_uuid(Uuid::from_u128(n)),
            account: AccountId::from_uuid(Uuid::from_u128(1)),
            email: Email::parse(&format!("u{n}@acme.test")).unwrap(),
            display_name: format!("User {n}"),
            kind,
            role,
            active,
            password_hash: None,
            external_id: None,
            origin: UserOrigin::Invite,
            created_at: Utc.timestamp_opt(0, 0).unwrap(),
            updated_at: Utc.timestamp_opt(0, 0).unwrap(),
        }
    }

    #[test]
    fn api_keys_cannot_lock_themselves_out() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let r = |ranges: &[&str]| IpRestrictions::parse(ranges).unwrap();
        let check = |new: IpRestrictions, caller: Option<IpAddr>, ok: bool| {
            assert_eq!(
                may_set_ip_restrictions(&new, caller).is_ok(),
                ok,
                "{new:?} {caller:?}"
            )
        };
        check(r(&["203.0.113.0/24"]), Some(ip("203.0.113.9")), true);
        check(r(&["203.0.113.0/24"]), Some(ip("198.51.100.1")), false);
        check(r(&[]), Some(ip("198.51.100.1")), true);
        check(r(&["203.0.113.0/24"]), None, true);
        check(r(&["203.0.113.0/24"]), Some(ip("::ffff:203.0.113.9")), true);
    }

    #[test]
    fn who_manages() {
        use ManageRefusal::*;
        let check = |u: User, expected: Result<(), ManageRefusal>| {
            assert_eq!(may_manage_account(&u), expected, "{u:?}")
        };
        check(user(1, UserKind::Human, Role::Admin, true), Ok(()));
        check(user(1, UserKind::Bot, Role::Member, true), Ok(()));
        check(user(1, UserKind::Human, Role::Member, true), Err(NotAdmin));
        check(user(1, UserKind::Human, Role::Admin, false), Err(Inactive));
        check(user(1, UserKind::Bot, Role::Member, false), Err(Inactive));
    }

    #[test]
    fn the_last_admin_stays() {
        use MemberChangeRefusal::*;
        let a = user(1, UserKind::Human, Role::Admin, true);
        let b = user(2, UserKind::Human, Role::Admin, true);
        let m = user(3, UserKind::Human, Role::Member, true);
        let bot = user(4, UserKind::Bot, Role::Member, true);
        let only_a = [a.clone()];
        let both = [a.clone(), b.clone()];
        let check = |t: &User, admins: &[User], still: bool, expected| {
            assert_eq!(
                may_change_member(t, admins, still),
                expected,
                "{t:?} {still}"
            )
        };
        check(&a, &only_a, false, Err(LastAdmin));
        check(&a, &only_a, true, Ok(()));
        check(&a, &both, false, Ok(()));
        check(&m, &only_a, false, Ok(()));
        check(&bot, &only_a, false, Err(Bot));
        // A deactivated admin does not count as the other admin.
        let b_off = user(2, UserKind::Human, Role::Admin, false);
        check(&a, &[a.clone(), b_off], false, Err(LastAdmin));
    }
}
