//! The `portcullis` binary: the server and the operator's break-glass commands.

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use portcullis_app::accounts::{self, AccountChange};
use portcullis_app::{api_keys, bots, operator, Caller};
use portcullis_domain::{EnforcementPolicy, Scopes};
use portcullis_server::config::Config;
use portcullis_store::Store;

/// mimalloc rather than the C library's allocator: each request makes and drops many
/// small objects on the worker threads, where glibc's per-thread arenas spend a fifth
/// of the server's instructions (measured with callgrind on `GET /Users/{id}`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Portcullis: single sign-on and SCIM provisioning for your accounts.
#[derive(Parser)]
#[command(name = "portcullis", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (configuration from PORTCULLIS_* variables and PORTCULLIS_CONFIG).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage bot users.
    #[command(subcommand)]
    Bot(BotCommand),
    /// Manage API keys.
    #[command(name = "api-key", subcommand)]
    ApiKey(ApiKeyCommand),
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and its first admin; prints the admin's one-time password, or
    /// with `--invite` an invitation link instead.
    Create {
        /// Short name used in URLs.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Email of the first admin.
        #[arg(long = "admin-email")]
        admin_email: String,
        /// Invite the first admin (as the operator API does) instead of giving a password.
        #[arg(long)]
        invite: bool,
    },
    /// List accounts, or those whose slug or name contains `--search`.
    List {
        /// Text to look for in slugs and names.
        #[arg(long)]
        search: Option<String>,
    },
    /// Show an account with its member and IdP counts.
    Show {
        /// The account's slug.
        slug: String,
    },
    /// Suspend an account: every sign-in, SCIM call and API key of it is refused.
    Suspend {
        /// The account's slug.
        slug: String,
    },
    /// Resume a suspended account.
    Resume {
        /// The account's slug.
        slug: String,
    },
    /// Delete an account and everything it holds, for good.
    Delete {
        /// The account's slug.
        slug: String,
        /// Confirms that the account and all its data go.
        #[arg(long)]
        yes: bool,
    },
    /// Set the SSO enforcement policy (break-glass: `mixed` restores password logins).
    SetEnforcement {
        /// The account's slug.
        #[arg(long)]
        account: String,
        /// The policy.
        policy: PolicyArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum PolicyArg {
    Mixed,
    Enforced,
}

#[derive(Subcommand)]
enum BotCommand {
    /// Create a bot user (a service user that owns API keys and never signs in).
    Create {
        /// The account's slug.
        #[arg(long)]
        account: String,
        /// The bot's name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key; prints the secret once.
    Create {
        /// The account's slug.
        #[arg(long)]
        account: String,
        /// The owner: an admin's email or a bot's name.
        #[arg(long)]
        owner: String,
        /// What the key is for.
        #[arg(long)]
        description: String,
        /// What the key may call: `scim` (the SCIM API) or `admin` (the admin API);
        /// repeat it for both. At least one is required.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
}

/// A command's store, left to settle ([`Store::settle`]) when the command is done with it,
/// just before the process exits.
struct CommandStore(Store);

impl std::ops::Deref for CommandStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.0
    }
}

impl Drop for CommandStore {
    fn drop(&mut self) {
        self.0.settle();
    }
}

fn open_store(config: &Config) -> Result<CommandStore> {
    let key = portcullis_server::encryption_key::resolve(
        config.encryption_key.as_deref(),
        &config.database_url,
    )?;
    let store = Store::connect(&config.database_url)
        .with_context(|| format!("opening the database {}", config.database_url))?
        .with_encryption_key(&key);
    store.migrate().context("applying database migrations")?;
    Ok(CommandStore(store))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    // Held to the end: dropping it sends the spans still waiting.
    let _telemetry = portcullis_server::telemetry::init_logging(config.log_format)?;
    let now = Utc::now();
    match cli.command {
        Command::Serve => {
            let state = portcullis_server::prepare(config)?;
            if let Some(created) = accounts::bootstrap_if_empty(&state.store, now)? {
                println!(
                    "Created the account `default` and its admin.\n  Sign in at: {}/a/default/login\n  Email:      {}\n  Password:   {}\nThis password is shown only once.",
                    state.config.public_url, created.admin.email, created.password
                );
            }
            actix_web::rt::System::new().block_on(portcullis_server::serve(state))
        }
        Command::Migrate => {
            open_store(&config)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Account(command) => account_command(command, &config, now),
        Command::Bot(BotCommand::Create { account, name }) => {
            let store = open_store(&config)?;
            let operator = Caller::operator(accounts::by_slug(&store, &account)?);
            let bot = bots::create(&store, &operator, &name, now)?;
            println!(
                "Created bot `{}` ({}) in `{}`.",
                bot.display_name, bot.id, operator.account.slug
            );
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::Create {
            account,
            owner,
            description,
            scopes,
        }) => {
            let scopes = Scopes::parse(&scopes)?;
            let store = open_store(&config)?;
            let operator = Caller::operator(accounts::by_slug(&store, &account)?);
            let owner = bots::find_owner(&store, &operator, &owner)?;
            let (key, owner, secret) =
                api_keys::create(&store, &operator, &description, Some(owner.id), scopes, now)?;
            println!(
                "Created API key {} for {}.\n  Secret: {}\nThis secret is shown only once.",
                key.id,
                owner.email,
                secret.expose()
            );
            Ok(())
        }
    }
}

/// The operator's account commands, through the same use cases as the operator API.
fn account_command(
    command: AccountCommand,
    config: &Config,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let store = open_store(config)?;
    let show = |o: &operator::Overview| {
        let a = &o.account;
        println!(
            "{}  {}  {} members, {} IdPs, provisioning {}, {}",
            a.slug,
            a.name,
            o.counts.members,
            o.counts.idps,
            a.provisioning,
            if a.is_suspended() {
                "suspended"
            } else {
                "active"
            }
        );
    };
    match command {
        AccountCommand::Create {
            slug,
            name,
            admin_email,
            invite: true,
        } => {
            let made = operator::create(&store, &slug, &name, &admin_email, now)?;
            println!(
                "Created account `{}`.\n  Invitation for {}: {}/invite/{}\nThis link is shown only once.",
                made.account.slug, made.invitation.email, config.public_url, made.token
            );
        }
        AccountCommand::Create {
            slug,
            name,
            admin_email,
            invite: false,
        } => {
            let created = accounts::create(&store, &slug, &name, &admin_email, now)?;
            println!(
                "Created account `{}`.\n  Sign in at: {}/a/{}/login\n  Email:      {}\n  Password:   {}\nThis password is shown only once.",
                created.account.slug, config.public_url, created.account.slug, created.admin.email, created.password
            );
        }
        AccountCommand::List { search } => {
            let mut cursor = None;
            loop {
                let (page, next) = operator::list(&store, search.as_deref(), cursor.as_deref())?;
                for a in &page {
                    let state = if a.is_suspended() {
                        "suspended"
                    } else {
                        "active"
                    };
                    println!("{}  {}  ({state})", a.slug, a.name);
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        AccountCommand::Show { slug } => show(&operator::get(&store, &slug)?),
        AccountCommand::Suspend { slug } => show(&operator::suspend(&store, &slug, now)?),
        AccountCommand::Resume { slug } => show(&operator::resume(&store, &slug, now)?),
        AccountCommand::Delete { slug, yes } => {
            if !yes {
                anyhow::bail!("deleting `{slug}` removes all its data for good; add --yes");
            }
            operator::delete(&store, &slug, now)?;
            println!("Deleted account `{slug}`.");
        }
        AccountCommand::SetEnforcement { account, policy } => {
            let operator = Caller::operator(accounts::by_slug(&store, &account)?);
            let wanted = match policy {
                PolicyArg::Mixed => EnforcementPolicy::Mixed,
                PolicyArg::Enforced => EnforcementPolicy::Enforced,
            };
            let change = AccountChange {
                enforcement: Some(wanted),
                ..AccountChange::default()
            };
            let updated = accounts::update(&store, &operator, change, now)?;
            println!(
                "Account `{}` is now in {} mode.",
                updated.slug, updated.enforcement
            );
        }
    }
    Ok(())
}
