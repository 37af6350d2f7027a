//! What every replica does once a day, on a thread of its own so that the web server's
//! graceful shutdown never waits for it: SAML IdPs configured from a metadata URL are
//! refreshed (the last good copy stays when a fetch fails), SAML signing certificates
//! expiring within 30, 7 or 1 days are announced (`idp.certificate_expiring`), and
//! verified domains have their TXT record looked up again (gone for 7 days, a domain
//! stops being verified).

use chrono::Utc;
use portcullis_app::{domains, idps};

use crate::state::AppState;

/// Runs the daily work every `period` until the process ends (the first round one
/// `period` after the start).
pub async fn run(state: AppState, period: std::time::Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = idps::refresh_all(&state, &state.http_policy()).await {
            tracing::warn!(error = %e, "metadata refresh round failed");
        }
        match state
            .write(|store| idps::warn_expiring(store, Utc::now()))
            .await
        {
            Ok(n) => tracing::info!(warnings = n, "checked SAML certificate expiry"),
            Err(e) => tracing::warn!(error = %e, "checking SAML certificate expiry failed"),
        }
        match domains::recheck_due(&state, &state.dns, Utc::now()).await {
            Ok(n) => tracing::info!(domains = n, "re-checked verified domains"),
            Err(e) => tracing::warn!(error = %e, "re-checking verified domains failed"),
        }
    }
}
