//! Use cases shared by the HTTP routes and the operator commands: they gather what the
//! domain needs from the store, ask the domain, and write the outcome in one call. No
//! rule is decided here; the domain decides.

use chrono::{DateTime, Utc};
use portcullis_domain::policy::{self, PolicyRequester};
use portcullis_domain::{
    Account, AccountId, AccountSlug, Actor, ApiKey, ApiKeyId, ApiKeySecret, AuditEvent,
    AuditEventId, Email, EnforcementPolicy, IpRestrictions, ProvisioningMode, Role, User, UserId,
    UserKind, UserOrigin,
};
use portcullis_store::Store;
use rand::RngCore;
use uuid::Uuid;

use crate::error::AppError;
use crate::password;

/// What creating an account produced: the admin's one-time password is shown once.
#[derive(Debug)]
pub struct CreatedAccount {
    /// The account.
    pub account: Account,
    /// Its first admin.
    pub admin: User,
    /// The admin's password, never stored in clear.
    pub password: String,
}

/// Creates an account and its first admin with a random password, in one transaction.
pub fn create_account(
    store: &Store,
    slug: &str,
    name: &str,
    admin_email: &str,
    now: DateTime<Utc>,
) -> Result<CreatedAccount, AppError> {
    let slug = AccountSlug::parse(slug)?;
    let email = Email::parse(admin_email)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::BadRequest("the account needs a name".into()));
    }
    let account = Account {
        id: AccountId::from_uuid(Uuid::new_v4()),
        slug,
        name: name.to_owned(),
        enforcement: EnforcementPolicy::Mixed,
        provisioning: ProvisioningMode::Invite,
        api_ip_restrictions: IpRestrictions::none(),
        created_at: now,
    };
    let password = password::random_password();
    let admin = User {
        id: UserId::from_uuid(Uuid::new_v4()),
        account: account.id,
        display_name: email.as_str().to_owned(),
        email,
        kind: UserKind::Human,
        role: Role::Admin,
        active: true,
        password_hash: Some(password::hash(&password)?),
        external_id: None,
        origin: UserOrigin::Bootstrap,
        created_at: now,
        updated_at: now,
    };
    store.create_account(&account, Some(&admin))?;
    audit(
        store,
        &account,
        Actor::System,
        "account.created",
        Some(admin.id.to_string()),
        None,
        now,
    )?;
    Ok(CreatedAccount {
        account,
        admin,
        password,
    })
}

/// On an empty database, creates the account `default` with the admin `admin@localhost`.
pub fn bootstrap_if_empty(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<CreatedAccount>, AppError> {
    if store.count_accounts()? > 0 {
        return Ok(None);
    }
    match create_account(store, "default", "Default", "admin@localhost", now) {
        Ok(created) => Ok(Some(created)),
        // Another replica bootstrapped at the same moment.
        Err(AppError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Looks an account up by slug, or says clearly that it does not exist.
pub fn account_by_slug(store: &Store, slug: &str) -> Result<Account, AppError> {
    let slug = AccountSlug::parse(slug)?;
    store
        .account_by_slug(&slug)?
        .ok_or_else(|| AppError::BadRequest(format!("there is no account {slug}")))
}

/// The synthetic email of a bot user, so bots obey the same uniqueness rule as people.
pub fn bot_email(name: &str) -> Result<Email, AppError> {
    let local: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let local = local.trim_matches('-');
    if local.is_empty() {
        return Err(AppError::BadRequest(
            "a bot needs a name with letters or digits".into(),
        ));
    }
    Ok(Email::parse(&format!("{local}@bot.invalid"))?)
}

/// Creates a bot user.
pub fn create_bot(
    store: &Store,
    account: &Account,
    name: &str,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    let bot = User {
        id: UserId::from_uuid(Uuid::new_v4()),
        account: account.id,
        email: bot_email(name)?,
        display_name: name.trim().to_owned(),
        kind: UserKind::Bot,
        role: Role::Member,
        active: true,
        password_hash: None,
        external_id: None,
        origin: UserOrigin::Bootstrap,
        created_at: now,
        updated_at: now,
    };
    store.insert_user(&bot)?;
    audit(
        store,
        account,
        Actor::System,
        "bot.created",
        Some(bot.id.to_string()),
        None,
        now,
    )?;
    Ok(bot)
}

/// Finds a key owner by email, or a bot by its name.
pub fn find_owner(store: &Store, account: &Account, email_or_bot: &str) -> Result<User, AppError> {
    let email = if email_or_bot.contains('@') {
        Email::parse(email_or_bot)?
    } else {
        bot_email(email_or_bot)?
    };
    store.user_by_email(account.id, &email)?.ok_or_else(|| {
        AppError::BadRequest(format!(
            "{email_or_bot} is neither a member nor a bot of {}",
            account.slug
        ))
    })
}

/// Creates an API key for `owner` and returns it with its secret (shown once).
pub fn create_api_key(
    store: &Store,
    account: &Account,
    owner: &User,
    description: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(ApiKey, ApiKeySecret), AppError> {
    policy::may_own_api_key(owner).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = ApiKeySecret::from_random(bytes);
    let key = ApiKey {
        id: ApiKeyId::from_uuid(Uuid::new_v4()),
        account: account.id,
        owner: owner.id,
        description: description.trim().to_owned(),
        prefix: secret.display_prefix(),
        secret_hash: secret.hash(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    store.insert_api_key(&key)?;
    audit(
        store,
        account,
        actor,
        "api_key.created",
        Some(key.id.to_string()),
        None,
        now,
    )?;
    Ok((key, secret))
}

/// Changes the enforcement policy if the domain allows it for `requester`.
pub fn set_enforcement(
    store: &Store,
    account: &Account,
    policy_wanted: EnforcementPolicy,
    requester: PolicyRequester,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Account, AppError> {
    let idps = store.list_idps(account.id)?;
    policy::may_set_enforcement(account, &idps, policy_wanted, requester)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let mut updated = account.clone();
    updated.enforcement = policy_wanted;
    store.update_account(&updated)?;
    audit(
        store,
        account,
        actor,
        "account.enforcement.changed",
        None,
        None,
        now,
    )?;
    Ok(updated)
}

/// Writes an audit event.
pub fn audit(
    store: &Store,
    account: &Account,
    actor: Actor,
    action: &str,
    target: Option<String>,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    audit_detail(
        store,
        account.id,
        actor,
        action,
        target,
        ip,
        "{}".into(),
        now,
    )
}

/// Writes an audit event with a JSON detail.
#[allow(clippy::too_many_arguments)]
pub fn audit_detail(
    store: &Store,
    account: AccountId,
    actor: Actor,
    action: &str,
    target: Option<String>,
    ip: Option<String>,
    detail: String,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    store.record_audit(&audit_event(
        account, actor, action, target, ip, detail, now,
    ))?;
    Ok(())
}

/// An audit event with a fresh id, for a store method that writes it in the same
/// transaction as the change it records.
pub fn audit_event(
    account: AccountId,
    actor: Actor,
    action: &str,
    target: Option<String>,
    ip: Option<String>,
    detail: String,
    now: DateTime<Utc>,
) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::from_uuid(Uuid::new_v4()),
        account,
        actor,
        action: action.to_owned(),
        target,
        ip,
        detail,
        at: now,
    }
}
