//! API keys sent as `Authorization: Bearer <key>` (the admin API and SCIM): taken from the
//! request here, checked by `portcullis_app::auth`.

use actix_web::http::header;
use actix_web::HttpRequest;
use chrono::Utc;
use portcullis_app::audit;
use portcullis_app::auth::{self, ApiCaller, Credentials};
use portcullis_domain::Scope;

use crate::client_ip::client_ip;
use crate::error::AppError;
use crate::state::AppState;

/// The bearer token of a request, if it carries one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(char::is_whitespace)?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The request's bearer key and client address: `Unauthorized` without a key,
/// `Forbidden` when the client address is unknown. Needs no database.
pub fn credentials(state: &AppState, req: &HttpRequest) -> Result<Credentials, AppError> {
    let token = bearer_token(req).ok_or_else(|| {
        AppError::Unauthorized("send an API key as `Authorization: Bearer <key>`".into())
    })?;
    let ip = client_ip(req, &state.config.trusted_proxies)
        .ok_or_else(|| AppError::Forbidden("the client address is unknown".into()))?;
    Ok(Credentials::new(token, ip))
}

/// Authenticates a request by its API key ([`credentials`], then
/// [`Credentials::check`] as a statement of its own) and records the key's use.
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<ApiCaller, AppError> {
    let credentials = credentials(state, req)?;
    let caller = state
        .lookup_statement(move |store| credentials.check(store))
        .await?;
    record_use(state, &caller).await;
    Ok(caller)
}

/// Refuses a key used outside its scopes (403), recording the refusal with the key and
/// the route in the account's audit log.
pub async fn require_scope(
    state: &AppState,
    req: &HttpRequest,
    caller: &ApiCaller,
    scope: Scope,
) -> Result<(), AppError> {
    let Err(refusal) = auth::check_scope(caller, scope) else {
        return Ok(());
    };
    record_scope_refusal(state, caller, scope, &route(req)).await;
    Err(refusal)
}

/// A request's method and path, as the audit log names a route.
pub fn route(req: &HttpRequest) -> String {
    format!("{} {}", req.method(), req.path())
}

/// Writes the audit event of a key refused for its scopes. Best effort: a failure is
/// logged and the refusal stands.
pub async fn record_scope_refusal(state: &AppState, caller: &ApiCaller, scope: Scope, route: &str) {
    let event = auth::scope_refused(caller, scope, route, Utc::now());
    if let Err(e) = state.write(move |store| audit::record(store, &event)).await {
        tracing::warn!(error = %e, "could not audit an API key refused for its scope");
    }
}

/// Records when an accepted key was last used, at most once a minute per key, and the
/// key's account on the request's span. Best effort: a failure is logged and does not
/// fail the call.
pub async fn record_use(state: &AppState, caller: &ApiCaller) {
    crate::telemetry::record_account(caller.account.id);
    let now = Utc::now();
    if !auth::use_is_stale(caller, now) {
        return;
    }
    let used = caller.clone();
    // A write, so on SQLite it joins the writer's next batch rather than waiting for the
    // lock in SQLite's busy handler while SCIM writes keep the writer busy.
    let touch = state.write(move |store| auth::record_use(store, &used, now));
    if let Err(e) = touch.await {
        tracing::warn!(error = %e, "could not record API key use");
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn bearer_tokens() {
        let check = |value: Option<&str>, expected: Option<&str>| {
            let mut req = TestRequest::default();
            if let Some(v) = value {
                req = req.insert_header((header::AUTHORIZATION, v));
            }
            let req = req.to_http_request();
            assert_eq!(bearer_token(&req), expected, "{value:?}");
        };
        check(None, None);
        check(Some("Bearer pcl_abc"), Some("pcl_abc"));
        check(Some("bearer   pcl_abc  "), Some("pcl_abc"));
        check(Some("Basic dXNlcjpwYXNz"), None);
        check(Some("Bearer"), None);
        check(Some("Bearer "), None);
        check(Some("non-token"), None);
    }
}
