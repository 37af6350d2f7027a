//! A test server on a fresh SQLite database.

use actix_web::dev::ServiceResponse;
use chrono::Utc;
use portcullis_app::accounts::CreatedAccount;
use portcullis_server::config::Config;
use portcullis_server::state::AppState;
use tempfile::TempDir;

/// A prepared state over a temporary database, with the bootstrap account.
pub struct TestEnv {
    pub state: AppState,
    pub admin: CreatedAccount,
    _dir: TempDir,
}

pub fn env() -> TestEnv {
    env_with(&[])
}

/// [`env`] with more configuration variables.
pub fn env_with(extra: &[(&str, String)]) -> TestEnv {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("test.db");
    let config = Config::load(|name| match name {
        "PORTCULLIS_DATABASE_URL" => Some(db.to_str().unwrap().to_owned()),
        "PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES" => Some("true".to_owned()),
        other => extra
            .iter()
            .find(|(n, _)| *n == other)
            .map(|(_, v)| v.clone()),
    })
    .unwrap();
    let state = portcullis_server::prepare(config).unwrap();
    let admin = ops::bootstrap_if_empty(&state.store, Utc::now())
        .unwrap()
        .unwrap();
    TestEnv {
        state,
        admin,
        _dir: dir,
    }
}

/// Builds the app under test for an environment.
#[macro_export]
macro_rules! app {
    ($env:expr) => {
        actix_web::test::init_service(
            actix_web::App::new()
                .wrap(portcullis_server::security_headers())
                .wrap(actix_web::middleware::from_fn(
                    portcullis_server::metrics::record,
                ))
                .wrap(actix_web::middleware::from_fn(
                    portcullis_server::telemetry::request_id,
                ))
                .configure(portcullis_server::configure($env.state.clone())),
        )
        .await
    };
}

/// The value of a `Set-Cookie` named `name`.
pub fn set_cookie<B>(resp: &ServiceResponse<B>, name: &str) -> Option<String> {
    resp.response()
        .cookies()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The operator's and the CLI's use cases as the tests call them: each a thin call of
/// the one `portcullis-app` implementation.
pub mod ops {
    use chrono::{DateTime, Utc};
    use portcullis_app::accounts::{self, AccountChange};
    use portcullis_app::{api_keys, bots, AppError, Caller, Via};
    use portcullis_domain::policy::PolicyRequester;
    use portcullis_domain::{
        Account, Actor, ApiKey, ApiKeySecret, EnforcementPolicy, Scopes, SessionId, User,
    };
    use portcullis_store::Store;

    pub use portcullis_app::accounts::{bootstrap_if_empty, create as create_account};

    /// Creates a bot as the operator.
    pub fn create_bot(
        store: &Store,
        account: &Account,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<User, AppError> {
        bots::create(store, &Caller::operator(account.clone()), name, now)
    }

    /// Creates a key for `owner` as the operator.
    pub fn create_api_key(
        store: &Store,
        account: &Account,
        owner: &User,
        description: &str,
        _actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(ApiKey, ApiKeySecret), AppError> {
        let operator = Caller::operator(account.clone());
        let (key, _, secret) = api_keys::create(
            store,
            &operator,
            description,
            Some(owner.id),
            Scopes::FULL,
            now,
        )?;
        Ok((key, secret))
    }

    /// Changes the enforcement policy as `requester` (a member's session for
    /// `PolicyRequester::Admin`, whose user is `actor`).
    pub fn set_enforcement(
        store: &Store,
        account: &Account,
        policy: EnforcementPolicy,
        requester: PolicyRequester,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Account, AppError> {
        let mut caller = Caller::operator(account.clone());
        if let (PolicyRequester::Admin(method), Actor::User(id)) = (requester, actor) {
            let user = store.user(account.id, id)?.ok_or(AppError::NotFound)?;
            caller.via = Via::Session {
                user,
                session: SessionId::from_uuid(uuid::Uuid::new_v4()),
                method,
            };
        }
        let change = AccountChange {
            enforcement: Some(policy),
            ..AccountChange::default()
        };
        accounts::update(store, &caller, change, now)
    }
}

/// A new session row of `user` (not stored).
pub fn new_session(
    user: &portcullis_domain::User,
    method: portcullis_domain::AuthMethod,
    now: chrono::DateTime<Utc>,
    ttl_minutes: i64,
) -> portcullis_domain::Session {
    portcullis_domain::Session::start(
        portcullis_domain::SessionId::from_uuid(uuid::Uuid::new_v4()),
        user,
        method,
        now,
        chrono::Duration::minutes(ttl_minutes),
    )
}
