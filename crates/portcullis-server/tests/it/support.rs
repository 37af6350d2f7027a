//! A test server on a fresh SQLite database.

use actix_web::dev::ServiceResponse;
use chrono::Utc;
use portcullis_server::config::Config;
use portcullis_server::ops::{self, CreatedAccount};
use portcullis_server::state::AppState;
use tempfile::TempDir;

/// A prepared state over a temporary database, with the bootstrap account.
pub struct TestEnv {
    pub state: AppState,
    pub admin: CreatedAccount,
    _dir: TempDir,
}

pub fn env() -> TestEnv {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("test.db");
    let config = Config::load(|name| match name {
        "PORTCULLIS_DATABASE_URL" => Some(db.to_str().unwrap().to_owned()),
        "PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES" => Some("true".to_owned()),
        _ => None,
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
