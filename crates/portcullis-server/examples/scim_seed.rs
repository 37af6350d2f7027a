//! Prepares a database for SCIM conformance checks and the SCIM benchmark: an account
//! (`--slug`, default `scim`) with an identity provider, provisioning mode SCIM, a bot's
//! API key, and `--members` SCIM members written directly through the store.
//!
//! `cargo run -p portcullis-server --example scim_seed -- --database-url ./x.db --members 1000`
//! prints `database_url=…`, `token=<API key>` and `user=<id of one member>` on stdout.
//! `--ids-file F` writes every tenth member's id to F; on PostgreSQL, `--pg-schema S`
//! seeds a fresh schema S and `--drop-pg-schema S` removes it. `--password-members N`
//! adds N members `person00000@{slug}.test`… who sign in with a password (one random
//! password for all, printed as `password=…`), for the soak test's logins. On PostgreSQL
//! the seeded tables are analyzed before it returns, unless `--no-analyze` (a database
//! just bulk-loaded, as an account right after an IdP's import); `--analyze-only` then
//! analyzes them later. `--webhook URL` gives the account a webhook subscribed to every
//! event, at URL (its secret is printed as `webhook_secret=…`); `--add-webhook URL` gives
//! the existing account `--slug` one and seeds nothing, and `--remove-webhooks` removes
//! all of its webhooks (with their deliveries) and seeds nothing.

#![allow(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use portcullis_app::{accounts, api_keys, bots, password, Caller};
use portcullis_domain::{
    Email, IdentityProvider, IdpId, IdpProtocol, OidcSettings, ProvisioningMode, Role, User,
    UserId, UserKind, UserOrigin,
};
use portcullis_store::{Backend, ScimUserRow, Store};
use serde_json::json;
use uuid::Uuid;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(url) = arg(&args, "--database-url") else {
        bail!("usage: scim_seed --database-url URL [--members N] [--slug SLUG]");
    };
    let members: usize = arg(&args, "--members").map_or(Ok(0), |n| n.parse())?;
    let slug = arg(&args, "--slug").unwrap_or_else(|| "scim".into());
    if let Some(schema) = arg(&args, "--drop-pg-schema") {
        return pg_schema(&url, &schema, false).map(|_| ());
    }
    let url = match arg(&args, "--pg-schema") {
        Some(schema) => pg_schema(&url, &schema, true)?,
        None => url,
    };
    let ids_file = arg(&args, "--ids-file");
    let key = portcullis_server::encryption_key::resolve(
        std::env::var("PORTCULLIS_ENCRYPTION_KEY").ok().as_deref(),
        &url,
    )?;
    let store = Store::connect_with_pool_size(&url, 8)
        .context("opening the database")?
        .with_encryption_key(&key);
    let seeded = seed(&store, &args, &url, &slug, members, ids_file);
    store.settle();
    seeded
}

/// Everything after opening the database.
fn seed(
    store: &Store,
    args: &[String],
    url: &str,
    slug: &str,
    members: usize,
    ids_file: Option<String>,
) -> Result<()> {
    store.migrate()?;
    let now = Utc::now();
    if args.iter().any(|a| a == "--analyze-only") {
        return analyze(url);
    }
    let remove = args.iter().any(|a| a == "--remove-webhooks");
    let add = arg(args, "--add-webhook");
    if remove || add.is_some() {
        let slug = portcullis_domain::AccountSlug::parse(slug)?;
        let account = store
            .account_by_slug(&slug)?
            .with_context(|| format!("no account {slug}"))?;
        if remove {
            for hook in store.webhooks(account.id)? {
                store.delete_webhook(account.id, hook.id)?;
            }
        }
        return match add {
            Some(hook) => add_webhook(store, account.id, hook, now),
            None => Ok(()),
        };
    }
    let created = accounts::create(store, slug, "SCIM", &format!("admin@{slug}.test"), now)?;
    store.insert_idp(&IdentityProvider {
        id: IdpId::from_uuid(Uuid::new_v4()),
        account: created.account.id,
        description: "Okta".into(),
        enabled: true,
        protocol: IdpProtocol::Oidc(OidcSettings {
            issuer: "https://idp.example.com".into(),
            client_id: "portcullis".into(),
            client_secret: "unused".into(),
            scopes: vec![],
            trust_unverified_email: true,
        }),
        created_at: now,
    })?;
    let mut account = created.account.clone();
    account.provisioning = ProvisioningMode::Scim;
    store.update_account(&account)?;
    let operator = Caller::operator(account.clone());
    let bot = bots::create(store, &operator, "scim", now)?;
    let scim = portcullis_domain::Scopes::only(portcullis_domain::Scope::Scim);
    let (_, _, secret) = api_keys::create(store, &operator, "scim", Some(bot.id), scim, now)?;
    if let Some(url) = arg(args, "--webhook") {
        add_webhook(store, account.id, url, now)?;
    }

    let next = AtomicUsize::new(0);
    let first = std::sync::Mutex::new(None::<UserId>);
    let ids = std::sync::Mutex::new(Vec::<UserId>::new());
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= members {
                            return Ok(());
                        }
                        let email = format!("member{i:06}@{slug}.test");
                        let body = json!({
                            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": email, "displayName": format!("Member {i}"),
                            "name": {"givenName": "Member", "familyName": format!("{i}")},
                            "emails": [{"value": email, "type": "work", "primary": true}],
                            "active": true, "externalId": format!("ext{i}")});
                        let user = portcullis_domain::User::from_scim(
                            UserId::from_uuid(Uuid::new_v4()),
                            account.id,
                            Email::parse(&email)?,
                            format!("Member {i}"),
                            true,
                            Some(format!("ext{i}")),
                            // Distinct creation times, as members created over time have
                            // (to the millisecond, as they are stored).
                            now + chrono::Duration::milliseconds(i64::try_from(i)?),
                        );
                        if i.is_multiple_of(10) {
                            ids.lock()
                                .map_err(|_| anyhow::anyhow!("poisoned"))?
                                .push(user.id);
                        }
                        if i == members / 2 {
                            *first.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Some(user.id);
                        }
                        store.insert_scim_user(
                            &ScimUserRow {
                                user,
                                scim_json: Some(body.to_string()),
                                scim_view: portcullis_app::scim::mapping::user_view(
                                    &body.to_string(),
                                ),
                                version: 1,
                            },
                            None,
                        )?;
                        if i.is_multiple_of(20_000) && i > 0 {
                            eprintln!("seeded {i} members");
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a seeding thread panicked"))??;
        }
        Ok(())
    })?;
    let password_members: usize = arg(args, "--password-members").map_or(Ok(0), |n| n.parse())?;
    if password_members > 0 {
        let password = password::random_password();
        // One Argon2id hash for all: hashing thousands would take minutes, and the
        // server's cost is in verifying, which stays the same.
        let hash = password::hash(&password)?;
        for i in 0..password_members {
            let email = Email::parse(&format!("person{i:05}@{slug}.test"))?;
            store.insert_user(&User {
                id: UserId::from_uuid(Uuid::new_v4()),
                account: account.id,
                display_name: format!("Person {i}"),
                email,
                kind: UserKind::Human,
                role: Role::Member,
                active: true,
                password_hash: Some(hash.clone()),
                external_id: None,
                origin: UserOrigin::Invite,
                created_at: now,
                updated_at: now,
            })?;
        }
        println!("password={password}");
    }
    if store.backend() == Backend::Postgres && !args.iter().any(|a| a == "--no-analyze") {
        analyze(url)?;
    }
    if let Some(path) = ids_file {
        let ids = ids.into_inner().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
        std::fs::write(&path, text).with_context(|| format!("writing {path}"))?;
    }
    println!("database_url={url}");
    println!("token={}", secret.expose());
    let user = first
        .into_inner()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .unwrap_or(created.admin.id);
    println!("user={user}");
    Ok(())
}

/// Subscribes a webhook at `url` to every event of `account`; prints its secret.
fn add_webhook(
    store: &Store,
    account: portcullis_domain::AccountId,
    url: String,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let hook = portcullis_domain::Webhook {
        id: portcullis_domain::WebhookId::from_uuid(Uuid::new_v4()),
        account,
        url,
        events: vec![portcullis_domain::webhook::ALL_EVENTS.to_owned()],
        description: "seeded".into(),
        secret: portcullis_domain::WebhookSecret::from_bytes(rand::random()),
        created_at: now,
    };
    store.insert_webhook(&hook)?;
    println!("webhook_secret={}", hook.secret.expose());
    Ok(())
}

/// Updates PostgreSQL's planner statistics (nothing on SQLite) of the schema's tables, as its documentation
/// asks after a bulk load ("Populating a Database"): a server started at once would
/// otherwise plan its first minute's statements on empty statistics, before autovacuum
/// gets to them, and measure that.
fn analyze(url: &str) -> Result<()> {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    if !url.starts_with("postgres") {
        return Ok(());
    }
    let mut conn = PgConnection::establish(url).context("connecting to PostgreSQL")?;
    diesel::sql_query(
        "DO $$ DECLARE t text; BEGIN \
         FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP \
         EXECUTE format('ANALYZE %I', t); END LOOP; END $$",
    )
    .execute(&mut conn)
    .context("analyzing the seeded tables")?;
    Ok(())
}

/// Creates (or drops) a PostgreSQL schema and returns the URL that uses it.
fn pg_schema(admin_url: &str, schema: &str, create: bool) -> Result<String> {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    if !schema
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        bail!("a schema name is letters, digits and underscores");
    }
    let mut admin = PgConnection::establish(admin_url).context("connecting to PostgreSQL")?;
    diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut admin)?;
    if create {
        diesel::sql_query(format!("CREATE SCHEMA {schema}")).execute(&mut admin)?;
    }
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{admin_url}{separator}options=-csearch_path%3D{schema}"
    ))
}
