//! SAML signing certificates about to expire: a banner on the SSO page and the dashboard
//! home (for admins), `idp.certificate_expiring` at 30, 7 and 1 days (once each, in the
//! audit log and to webhooks), and the `portcullis_idp_certificate_expiry_seconds` metric.

use actix_web::test::TestRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{Duration, Utc};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use portcullis_domain::{IdentityProvider, IdpId, IdpProtocol, Role, SamlSettings};

use crate::admin_api::{add_person, session};
use crate::support::env;
use crate::{app, fetch, sign_in};

/// A self-signed certificate (base64 DER) valid until `days` from now.
fn certificate_expiring_in(days: i64) -> String {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "idp.example.test").unwrap();
    let name = name.build();
    let mut cert = X509Builder::new().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    let now = Utc::now().timestamp();
    cert.set_not_before(&Asn1Time::from_unix(now - 86_400).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::from_unix(now + days * 86_400).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    STANDARD.encode(cert.build().to_der().unwrap())
}

fn saml_idp(
    account: portcullis_domain::AccountId,
    description: &str,
    days: i64,
) -> IdentityProvider {
    IdentityProvider {
        id: IdpId::from_uuid(uuid::Uuid::new_v4()),
        account,
        description: description.into(),
        enabled: true,
        protocol: IdpProtocol::Saml(SamlSettings {
            idp_entity_id: format!("https://{description}.example.test"),
            signing_certificates: vec![certificate_expiring_in(days)],
            ..crate::sso_support::saml_settings(crate::sso_support::saml_fixture::idp_key(), false)
        }),
        created_at: Utc::now(),
    }
}

#[actix_web::test]
async fn a_certificate_expiring_in_10_days_shows_a_banner_and_emits_the_event() {
    let env = env();
    let app = app!(env);
    let store = &env.state.store;
    let account = env.admin.account.id;
    let soon = saml_idp(account, "SoonIdP", 10);
    let later = saml_idp(account, "LaterIdP", 100);
    store.insert_idp(&soon).unwrap();
    store.insert_idp(&later).unwrap();
    let hook = portcullis_domain::Webhook {
        id: portcullis_domain::WebhookId::from_uuid(uuid::Uuid::new_v4()),
        account,
        url: "https://hooks.example.com/portcullis".into(),
        events: vec!["idp.certificate_expiring".into()],
        description: String::new(),
        secret: portcullis_domain::WebhookSecret::from_bytes([3; 32]),
        created_at: Utc::now(),
    };
    store.insert_webhook(&hook).unwrap();

    let (cookie, _) = sign_in!(app, "admin@localhost", &env.admin.password);
    for page in ["/a/default/settings/sso", "/a/default/"] {
        let (_, _, _, body) = fetch!(app, session(TestRequest::get().uri(page), &cookie));
        assert!(
            body.contains("The signing certificate of <strong>SoonIdP</strong> expires on"),
            "{page}: {body}"
        );
        assert!(!body.contains("<strong>LaterIdP</strong>"), "{page}");
    }
    add_person(
        &env,
        "m@acme.test",
        Role::Member,
        "a member's long passphrase",
    );
    let (member, _) = sign_in!(app, "m@acme.test", "a member's long passphrase");
    let (_, _, _, body) = fetch!(app, session(TestRequest::get().uri("/a/default/"), &member));
    assert!(!body.contains("SoonIdP"), "members are not warned");

    // The event: once at the 30-day threshold, again at 7 days.
    let now = Utc::now();
    let warn = |at| portcullis_app::idps::warn_expiring(store, at).unwrap();
    assert_eq!(warn(now), 1);
    assert_eq!(warn(now + Duration::hours(1)), 0, "once per threshold");
    let events = |action: &str| {
        store
            .list_audit(account, 100, 0)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == action)
            .map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(events("idp.certificate_expiring")[0]["days"], 30);
    assert_eq!(warn(now + Duration::days(4)), 1);
    assert_eq!(events("idp.certificate_expiring")[0]["days"], 7);
    assert_eq!(warn(now + Duration::days(5)), 0);
    let sent = store.deliveries(account, hook.id, 10).unwrap();
    assert_eq!(sent.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&sent[0].payload).unwrap();
    assert_eq!(body["type"], "idp.certificate_expiring");
    assert_eq!(body["data"]["id"], soon.id.to_string());

    // The metric, in seconds.
    let (_, _, _, metrics) = fetch!(app, TestRequest::get().uri("/metrics"));
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "portcullis_idp_certificate_expiry_seconds{{idp=\"{}\"}}",
                soon.id
            ))
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    let seconds: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((seconds - 10 * 86_400).abs() < 3_600, "{line}");
}
