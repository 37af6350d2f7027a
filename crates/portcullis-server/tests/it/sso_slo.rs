//! SAML single logout through the server, both ways, on both backends: a sign-out here
//! sends a signed `LogoutRequest` to the IdP and checks its answer; a signed
//! `LogoutRequest` from the IdP ends the sessions it names and is answered with a signed
//! `LogoutResponse`; unsigned, forged, foreign, expired and replayed messages change
//! nothing.

use chrono::Duration;
use portcullis_domain::{IdentityProvider, IdpId, SamlSettings, SpKeyPair};
use portcullis_sso::saml::SpKeyUse;

use crate::sso_logout::{continue_url, sign_out};
use crate::sso_support::saml_fixture::{
    decoded, idp_key, other_key, raw, raw_params, wall_clock, Key, EMAIL_FORMAT, RSA_SHA256,
};
use crate::sso_support::saml_logout_fixture::{
    decode_message, query, sp_signature_verifies, RequestXml, ResponseXml, Sign,
};
use crate::sso_support::*;

const ADMIN: &str = "admin@localhost";
const IDP_SLO: &str = "https://idp.example.test/saml/slo";

/// A SAML IdP trusting `key` with single logout on (and so an SP signing key).
fn slo_idp(live: &Live, key: &Key) -> (IdentityProvider, SpKeyPair) {
    let id = IdpId::from_uuid(uuid::Uuid::new_v4());
    let sp_key = portcullis_app::idps::sp_key::generate(id, SpKeyUse::Signing).unwrap();
    let idp = live.saml_idp_with(SamlSettings {
        slo_url: Some(IDP_SLO.into()),
        sp_signing_key: Some(sp_key.clone()),
        ..saml_settings(key, false)
    });
    (idp, sp_key)
}

/// Signs `browser` in as `email` through `idp`; returns the SessionIndex.
async fn sign_in(live: &Live, idp: &IdentityProvider, browser: &Browser, email: &str) -> String {
    let id = start_saml(live, browser, idp).await;
    let p = saml_response(live, idp, Some(&id), email);
    let answer = browser
        .post_form(&live.acs(idp), &[("SAMLResponse", &p.b64())])
        .await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(email));
    p.assertion_id
}

fn slo_url(live: &Live, idp: &IdentityProvider) -> String {
    format!("{}/sso/saml/{}/slo", live.base, idp.id)
}

/// The IdP's signed LogoutRequest naming `name_id` (and `indexes`), issued now.
fn idp_request(live: &Live, idp: &IdentityProvider, indexes: &[String]) -> RequestXml {
    RequestXml {
        id: Some(format!("_lr{}", uuid::Uuid::new_v4().simple())),
        issue_instant: wall_clock(),
        not_on_or_after: Some(wall_clock() + Duration::minutes(5)),
        subject: format!(r#"<saml:NameID Format="{EMAIL_FORMAT}">{ADMIN}</saml:NameID>"#),
        session_indexes: indexes.to_vec(),
        ..RequestXml::valid(&live.sp(idp))
    }
}

#[actix_web::test]
async fn signing_out_here_signs_out_at_the_idp_and_checks_its_answer() {
    for live in Live::on_both().await {
        let (idp, sp_key) = slo_idp(&live, idp_key());
        let browser = Browser::new();
        let index = sign_in(&live, &idp, &browser, ADMIN).await;

        let out = sign_out(&live, &browser).await;
        let url = continue_url(&out);
        assert!(url.starts_with(&format!("{IDP_SLO}?SAMLRequest=")), "{url}");
        assert!(sp_signature_verifies(&url, "SAMLRequest", &sp_key));
        let params = raw_params(&url);
        assert_eq!(decoded(raw(&params, "SigAlg")), RSA_SHA256);
        let request = decode_message(raw(&params, "SAMLRequest"));
        assert!(
            request.contains(&format!(">{ADMIN}</saml:NameID>")),
            "{request}"
        );
        assert!(
            request.contains(&format!(">{index}</samlp:SessionIndex>")),
            "{request}"
        );
        assert!(
            request.contains(&format!(r#"Destination="{IDP_SLO}""#)),
            "{request}"
        );
        let start = request.find(" ID=\"").unwrap() + 5;
        let request_id = request[start..start + request[start..].find('"').unwrap()].to_owned();
        // Signed out here at once, whatever the IdP does.
        assert_eq!(browser.me(&live.base).await, None);

        let answer = |mutate: &dyn Fn(&mut ResponseXml), sign: Sign| {
            let mut xml = ResponseXml {
                id: format!("_resp{}", uuid::Uuid::new_v4().simple()),
                in_response_to: Some(request_id.clone()),
                issue_instant: wall_clock(),
                ..ResponseXml::valid(&live.sp(&idp))
            };
            mutate(&mut xml);
            format!(
                "{}?{}",
                slo_url(&live, &idp),
                query("SAMLResponse", &xml.xml(), None, sign)
            )
        };
        let signed = Sign::With(idp_key(), RSA_SHA256);
        let refused = [
            ("unsigned", answer(&|_| {}, Sign::No), "not signed"),
            (
                "forged",
                answer(&|_| {}, Sign::With(other_key(), RSA_SHA256)),
                "signature",
            ),
            (
                "another request",
                answer(&|x| x.in_response_to = Some("_other".into()), signed),
                "request",
            ),
            (
                "another issuer",
                answer(&|x| x.issuer = Some("https://evil.example".into()), signed),
                "another entity",
            ),
        ];
        for (what, url, says) in refused {
            let a = browser.get(&url).await;
            assert_eq!(a.status, 400, "{what}: {a:?}");
            assert!(a.body.contains(says), "{what}: {}", a.body);
        }
        // The genuine answer, but in another browser (no request cookie).
        let genuine = answer(&|_| {}, signed);
        let stranger = Browser::new().get(&genuine).await;
        assert_eq!(stranger.status, 400, "{stranger:?}");
        let done = browser.get(&genuine).await;
        assert_eq!(done.status, 200, "{done:?}");
        assert!(
            done.body.contains("and of your identity provider"),
            "{}",
            done.body
        );
    }
}

#[actix_web::test]
async fn a_signed_logout_request_from_the_idp_ends_the_sessions_it_names() {
    for live in Live::on_both().await {
        let (idp, sp_key) = slo_idp(&live, idp_key());
        // A second IdP of the account, trusting another key, naming the same person.
        let (other_idp, _) = slo_idp(&live, other_key());
        let (first, second) = (Browser::new(), Browser::new());
        let index = sign_in(&live, &idp, &first, ADMIN).await;
        sign_in(&live, &idp, &second, ADMIN).await;
        let url = |xml: &RequestXml, at: &IdentityProvider, sign: Sign| {
            format!(
                "{}?{}",
                slo_url(&live, at),
                query("SAMLRequest", &xml.xml(), Some("r1"), sign)
            )
        };
        let signed = Sign::With(idp_key(), RSA_SHA256);
        let stranger = Browser::new();

        // Refused, and nobody is signed out: unsigned, forged, foreign, expired, sent to
        // the other IdP's endpoint (its key did not sign it).
        let expired = RequestXml {
            issue_instant: wall_clock() - Duration::minutes(30),
            not_on_or_after: Some(wall_clock() - Duration::minutes(25)),
            ..idp_request(&live, &idp, &[])
        };
        let foreign = RequestXml {
            issuer: Some("https://evil.example".into()),
            ..idp_request(&live, &idp, &[])
        };
        for (what, u) in [
            (
                "unsigned",
                url(&idp_request(&live, &idp, &[]), &idp, Sign::No),
            ),
            (
                "forged",
                url(
                    &idp_request(&live, &idp, &[]),
                    &idp,
                    Sign::With(other_key(), RSA_SHA256),
                ),
            ),
            ("foreign issuer", url(&foreign, &idp, signed)),
            ("expired", url(&expired, &idp, signed)),
            (
                "another IdP's endpoint",
                url(&idp_request(&live, &other_idp, &[]), &other_idp, signed),
            ),
        ] {
            let a = stranger.get(&u).await;
            assert_eq!(a.status, 400, "{what}: {a:?}");
            assert!(a.body.contains("was refused"), "{what}: {}", a.body);
            assert_eq!(first.me(&live.base).await.as_deref(), Some(ADMIN), "{what}");
            assert_eq!(
                second.me(&live.base).await.as_deref(),
                Some(ADMIN),
                "{what}"
            );
        }

        // The SessionIndex of the first sign-in: only that session ends, and the IdP gets
        // a signed LogoutResponse answering its request.
        let request = idp_request(&live, &idp, std::slice::from_ref(&index));
        let genuine = url(&request, &idp, signed);
        let a = stranger.get(&genuine).await;
        assert_eq!(a.status, 302, "{a:?}");
        let back = a.location.unwrap();
        assert!(
            back.starts_with(&format!("{IDP_SLO}?SAMLResponse=")),
            "{back}"
        );
        assert!(sp_signature_verifies(&back, "SAMLResponse", &sp_key));
        let params = raw_params(&back);
        assert_eq!(decoded(raw(&params, "RelayState")), "r1");
        let response = decode_message(raw(&params, "SAMLResponse"));
        let answered = format!(r#"InResponseTo="{}""#, request.id.clone().unwrap());
        assert!(response.contains(&answered), "{response}");
        assert!(response.contains("status:Success"), "{response}");
        assert_eq!(first.me(&live.base).await, None);
        assert_eq!(second.me(&live.base).await.as_deref(), Some(ADMIN));
        assert!(live.last_audit("logout.idp").is_some());

        // The same request again is a replay: refused.
        let again = stranger.get(&genuine).await;
        assert_eq!(again.status, 400, "{again:?}");
        assert!(again.body.contains("replay"), "{}", again.body);

        // Without a SessionIndex: every session of that NameID at that IdP.
        let a = stranger
            .get(&url(&idp_request(&live, &idp, &[]), &idp, signed))
            .await;
        assert_eq!(a.status, 302, "{a:?}");
        assert_eq!(second.me(&live.base).await, None);
    }
}

#[actix_web::test]
async fn an_idp_without_a_logout_url_still_signs_people_out() {
    for live in Live::on_both().await {
        let idp = live.saml_idp(idp_key(), false);
        let browser = Browser::new();
        sign_in(&live, &idp, &browser, ADMIN).await;
        // Signing out stays local: there is nowhere to send a LogoutRequest.
        let out = sign_out(&live, &browser).await;
        assert_eq!(out.status, 303, "{out:?}");
        let again = Browser::new();
        sign_in(&live, &idp, &again, ADMIN).await;
        let u = format!(
            "{}?{}",
            slo_url(&live, &idp),
            query(
                "SAMLRequest",
                &idp_request(&live, &idp, &[]).xml(),
                None,
                Sign::With(idp_key(), RSA_SHA256)
            )
        );
        let a = Browser::new().get(&u).await;
        assert_eq!(a.status, 200, "{a:?}");
        assert!(a.body.contains("signed you out"), "{}", a.body);
        assert_eq!(again.me(&live.base).await, None);
        // Neither message at all: a clear error.
        let a = Browser::new().get(&slo_url(&live, &idp)).await;
        assert_eq!(a.status, 400, "{a:?}");
    }
}
