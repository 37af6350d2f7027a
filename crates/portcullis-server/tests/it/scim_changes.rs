//! A SCIM PUT or PATCH of a member is worked out first (read, operations applied) and
//! written after, only over the member it was worked out from
//! (`portcullis_app::scim::users::{prepare_patch, commit}`; on SQLite the working out runs
//! off the writer thread). These tests put other writes between the two steps.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::http::{Method, StatusCode};
use chrono::Utc;
use portcullis_app::scim::users::{self as user_ops, Change};
use portcullis_app::scim::Ctx;
use portcullis_app::{AppError, Exec};
use portcullis_domain::{ApiKeyId, Email, UserId};
use portcullis_server::state::AppState;
use portcullis_store::Store;
use serde_json::{json, Value};

use crate::app;
use crate::scim_support::{envs, req, send, ScimEnv, BASE, PUBLIC_URL};

fn ctx(env: &ScimEnv) -> Ctx {
    Ctx {
        account: env.account.id,
        key: ApiKeyId::from_uuid(uuid::Uuid::new_v4()),
        ip: "203.0.113.7".parse().unwrap(),
        base: format!("{PUBLIC_URL}{BASE}"),
        now: Utc::now(),
        provision_only_verified_domains: false,
    }
}

fn replace(path: &str, value: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": path, "value": value}]
    })
}

/// A write made between a change's read and its write, and how many more times to make
/// it.
type Interference = Arc<Mutex<(Box<dyn FnMut(&Store) + Send>, usize)>>;

/// The server's own way of running a change, with a write of `interference` made between
/// each of its first reads off the writer and its write (another request that won the
/// race).
struct Overtaken {
    state: AppState,
    interference: Interference,
    reads: Arc<AtomicUsize>,
}

impl Overtaken {
    /// Overtaken at its first read only.
    fn new(state: &AppState, interference: impl FnMut(&Store) + Send + 'static) -> Self {
        Self::times(state, interference, 1)
    }

    /// Overtaken at each of its first `times` reads.
    fn times(
        state: &AppState,
        interference: impl FnMut(&Store) + Send + 'static,
        times: usize,
    ) -> Self {
        Self {
            state: state.clone(),
            interference: Arc::new(Mutex::new((Box::new(interference), times))),
            reads: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Exec for Overtaken {
    async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.state.read(f).await
    }

    async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.state.write(f).await
    }

    async fn read_then_write<R, T, F, G>(&self, read: F, write: G) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<R, AppError> + Send + 'static,
        G: FnOnce(&Store, R) -> Result<T, AppError> + Send + 'static,
        R: Send + 'static,
        T: Send + 'static,
    {
        let (interference, reads) = (self.interference.clone(), self.reads.clone());
        // The other write goes through the shared pool, not the read's connection.
        let store = self.state.store.clone();
        let read = move |on: &Store| {
            let read = read(on)?;
            reads.fetch_add(1, Ordering::SeqCst);
            let (interfere, left) = &mut *interference.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                interfere(&store);
            }
            Ok(read)
        };
        Exec::read_then_write(&self.state, read, write).await
    }

    async fn compute<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        Exec::compute(&self.state, f).await
    }
}

/// Another request's write: member `id` renamed over SCIM (`name`, then `name 2`, ...).
fn rename(env: &ScimEnv, id: &str, name: &'static str) -> impl FnMut(&Store) + Send + 'static {
    let (ctx, id) = (ctx(env), id.to_owned());
    let mut renames = 0;
    move |store: &Store| {
        renames += 1;
        let name = match renames {
            1 => name.to_owned(),
            n => format!("{name} {n}"),
        };
        let body = replace("displayName", json!(name));
        user_ops::patch(store, &ctx, &id, &body, None).unwrap();
    }
}

/// A member created over SCIM, with their id.
async fn member(env: &ScimEnv, user_name: &str) -> String {
    let app = app!(env);
    let body = json!({"userName": user_name, "displayName": "First"});
    let r = send(
        &app,
        req(Method::POST, "/Users", &env.token, Some(body)).to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

fn stored(env: &ScimEnv, id: &str) -> portcullis_store::ScimUserRow {
    env.state
        .store
        .scim_user(env.account.id, id.parse().unwrap())
        .unwrap()
        .unwrap()
}

#[actix_web::test]
async fn a_change_overtaken_by_another_write_is_worked_out_again_from_what_it_wrote() {
    for env in envs() {
        let id = member(&env, "overtaken@acme.test").await;
        let exec = Overtaken::new(&env.state, rename(&env, &id, "Renamed"));
        let body = replace("active", json!(false));
        let written = user_ops::patch_via(&exec, ctx(&env), id.clone(), &body, None)
            .await
            .unwrap();
        // Read once off the writer: that working out was refused at its write, the second
        // (on the writer) saw the rename and kept it.
        assert_eq!(exec.reads.load(Ordering::SeqCst), 1, "{}", env.backend);
        assert!(!written.row.user.active);
        assert_eq!(written.row.user.display_name, "Renamed");
        let now = stored(&env, &id);
        assert_eq!(
            (now.user.active, now.user.display_name.as_str(), now.version),
            (false, "Renamed", written.row.version)
        );

        // A PUT overtaken alike is worked out again too.
        let exec = Overtaken::new(&env.state, rename(&env, &id, "Renamed again"));
        let put = json!({"userName": "overtaken@acme.test", "displayName": "Put", "active": true});
        let written = user_ops::replace_via(&exec, ctx(&env), id.clone(), put, None)
            .await
            .unwrap();
        assert_eq!(exec.reads.load(Ordering::SeqCst), 1, "{}", env.backend);
        assert_eq!(stored(&env, &id).version, written.row.version);
        assert_eq!(stored(&env, &id).user.display_name, "Put");
    }
}

/// Off SQLite's writer a read sees only what is committed, not the writes queued or being
/// committed meanwhile; a PATCH of a member that another PATCH of theirs keeps overtaking
/// there (both in one batch, say) is still written, once, over the other's change, and
/// never answered `412` without `If-Match`.
#[actix_web::test]
async fn a_change_overtaken_at_every_read_off_the_writer_is_still_written() {
    for env in envs() {
        let id = member(&env, "raced@acme.test").await;
        let exec = Overtaken::times(&env.state, rename(&env, &id, "Raced"), usize::MAX);
        let body = replace("active", json!(false));
        let written = user_ops::patch_via(&exec, ctx(&env), id.clone(), &body, None)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", env.backend));
        assert_eq!(exec.reads.load(Ordering::SeqCst), 1, "{}", env.backend);
        let now = stored(&env, &id);
        assert_eq!(
            (now.user.active, now.user.display_name.as_str(), now.version),
            (false, "Raced", written.row.version)
        );
    }
}

#[actix_web::test]
async fn a_change_with_if_match_overtaken_by_another_write_is_refused_and_writes_nothing() {
    for env in envs() {
        let id = member(&env, "matched@acme.test").await;
        let seen = stored(&env, &id).version;
        let exec = Overtaken::new(&env.state, rename(&env, &id, "Renamed"));
        let body = replace("active", json!(false));
        let if_match = Some(format!("W/\"{seen}\""));
        let result = user_ops::patch_via(&exec, ctx(&env), id.clone(), &body, if_match).await;
        assert!(
            matches!(result, Err(AppError::PreconditionFailed(_))),
            "{}: {:?}",
            env.backend,
            result.err()
        );
        assert_eq!(exec.reads.load(Ordering::SeqCst), 1);
        // The rename stands; the PATCH wrote nothing.
        let now = stored(&env, &id);
        assert!(now.user.active);
        assert_eq!(now.user.display_name, "Renamed");
    }
}

#[test]
fn a_change_is_written_only_over_the_member_it_was_worked_out_from() {
    for env in envs() {
        let store = &env.state.store;
        let ctx = ctx(&env);
        let id = actix_web::rt::System::new().block_on(member(&env, "stale@acme.test"));
        let request = user_ops::patch_request(&replace("displayName", json!("Stale"))).unwrap();
        let change: Change = user_ops::prepare_patch(store, &ctx, &id, &request, None).unwrap();
        let body = replace("active", json!(false));
        user_ops::patch(store, &ctx, &id, &body, None).unwrap();
        let result = user_ops::commit(store, &ctx, change);
        assert!(
            matches!(result, Err(AppError::PreconditionFailed(_))),
            "{}",
            env.backend
        );
        let now = stored(&env, &id);
        assert_eq!(
            (now.user.active, now.user.display_name.as_str()),
            (false, "First")
        );
    }
}

#[test]
fn the_last_admin_rule_is_decided_when_the_change_is_written() {
    for env in envs() {
        let store = &env.state.store;
        let ctx = ctx(&env);
        let mut second = env.admin.clone();
        second.id = UserId::from_uuid(uuid::Uuid::new_v4());
        second.email = Email::parse("second-admin@acme.test").unwrap();
        store.insert_user(&second).unwrap();
        // Both worked out while the other admin was still active.
        let request = user_ops::patch_request(&replace("active", json!(false))).unwrap();
        let first = env.admin.id.to_string();
        let other = second.id.to_string();
        let a = user_ops::prepare_patch(store, &ctx, &first, &request, None).unwrap();
        let b = user_ops::prepare_patch(store, &ctx, &other, &request, None).unwrap();
        user_ops::commit(store, &ctx, a).unwrap();
        let refused = user_ops::commit(store, &ctx, b);
        assert!(
            matches!(refused, Err(AppError::Conflict(_))),
            "{}: {:?}",
            env.backend,
            refused.err()
        );
        assert!(
            store
                .user(env.account.id, second.id)
                .unwrap()
                .unwrap()
                .active
        );
    }
}
