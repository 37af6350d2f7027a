//! End to end against a real SAML IdP (pysaml2, `tests/idp/saml_idp.py`): SP-initiated
//! and IdP-initiated logins, then the attack corpus built by mutating responses pysaml2
//! really signed. Needs `PORTCULLIS_TEST_PYSAML2` (a Python with pysaml2; `.ci/run`
//! sets it) and Debian's `xmlsec1`.

use base64::Engine as _;
use portcullis_domain::IdentityProvider;

use crate::sso_support::idp_process::{
    free_port, parse_form, pysaml2, pysaml2_settings, tool, Form, IdpProcess,
};
use crate::sso_support::*;

const ADMIN: &str = "admin@localhost";

/// The pysaml2 IdP and two IdP rows trusting it (B only to post misdirected answers).
struct Setup {
    live: Live,
    idp: IdentityProvider,
    other: IdentityProvider,
    process: IdpProcess,
    _dir: tempfile::TempDir,
}

async fn setup(test: &str) -> Option<Setup> {
    let python = tool("PORTCULLIS_TEST_PYSAML2", test)?;
    let live = Live::start().await;
    let port = free_port();
    let idp = live.saml_idp_with(pysaml2_settings(port, true));
    let other = live.saml_idp_with(pysaml2_settings(port, true));
    let (process, dir) = pysaml2(&live, &python, port, &[&idp, &other], ADMIN).await;
    Some(Setup {
        live,
        idp,
        other,
        process,
        _dir: dir,
    })
}

impl Setup {
    /// SP-initiated: start at Portcullis, follow the redirect to pysaml2, return its
    /// auto-post form.
    async fn sp_initiated_form(&self, browser: &Browser) -> Form {
        let answer = browser.get(&self.live.start_url(&self.idp)).await;
        assert_eq!(answer.status, 303, "{answer:?}");
        let location = answer.location.unwrap();
        assert!(location.starts_with(&format!("{}/sso?", self.process.base)));
        let page = browser.get(&location).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let form = parse_form(&page.body);
        assert_eq!(form.action, self.live.acs(&self.idp));
        form
    }

    async fn idp_initiated_form(&self, browser: &Browser, idp: &IdentityProvider) -> Form {
        let sp = self.live.sp(idp).entity_id;
        let mut url = url::Url::parse(&format!("{}/idp-initiated", self.process.base)).unwrap();
        url.query_pairs_mut().append_pair("sp", &sp);
        let page = browser.get(url.as_str()).await;
        assert_eq!(page.status, 200, "{}", page.body);
        parse_form(&page.body)
    }

    async fn submit(&self, browser: &Browser, form: &Form) -> Answer {
        browser.post_form(&form.action, &form.pairs()).await
    }
}

fn xml_of(form: &Form) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(form.field("SAMLResponse"))
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn with_xml(form: &Form, xml: &str) -> Form {
    let mut forged = form.clone();
    forged.set(
        "SAMLResponse",
        base64::engine::general_purpose::STANDARD.encode(xml),
    );
    forged
}

/// Removes the first `Signature` element, whatever its namespace prefix.
fn strip_signature(xml: &str) -> String {
    let colon = xml
        .find(":Signature ")
        .or_else(|| xml.find(":Signature>"))
        .unwrap();
    let open = xml[..colon].rfind('<').unwrap();
    let prefix = &xml[open + 1..colon];
    let close = format!("</{prefix}:Signature>");
    let end = xml.find(&close).unwrap() + close.len();
    format!("{}{}", &xml[..open], &xml[end..])
}

#[actix_web::test]
async fn pysaml2_sp_initiated_and_idp_initiated_logins() {
    let Some(s) = setup("pysaml2_sp_initiated_and_idp_initiated_logins").await else {
        return;
    };
    let browser = Browser::new();
    let form = s.sp_initiated_form(&browser).await;
    let xml = xml_of(&form);
    assert!(xml.contains("xmldsig-more#rsa-sha256"), "{xml}");
    let answer = s.submit(&browser, &form).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(answer.location.as_deref(), Some("/a/default/"));
    assert_eq!(browser.me(&s.live.base).await.as_deref(), Some(ADMIN));

    let browser = Browser::new();
    let form = s.idp_initiated_form(&browser, &s.idp).await;
    let answer = s.submit(&browser, &form).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(browser.me(&s.live.base).await.as_deref(), Some(ADMIN));
}

#[actix_web::test]
async fn pysaml2_attack_corpus() {
    let Some(s) = setup("pysaml2_attack_corpus").await else {
        return;
    };
    let live = &s.live;

    // Replay of a real unsolicited response, from another browser.
    let browser = Browser::new();
    let form = s.idp_initiated_form(&browser, &s.idp).await;
    assert_eq!(s.submit(&browser, &form).await.status, 303);
    let thief = Browser::new();
    let answer = s.submit(&thief, &form).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(live.last_failure(), "assertion_replayed");
    assert_eq!(thief.me(&live.base).await, None);

    // Replay of an SP-initiated response: its request is used up.
    let browser = Browser::new();
    let form = s.sp_initiated_form(&browser).await;
    assert_eq!(s.submit(&browser, &form).await.status, 303);
    let answer = s.submit(&browser, &form).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "unknown_request");

    // Posted to another IdP's ACS.
    let browser = Browser::new();
    let mut form = s.sp_initiated_form(&browser).await;
    form.action = live.acs(&s.other);
    assert_eq!(s.submit(&browser, &form).await.status, 403);
    assert_eq!(live.last_failure(), "wrong_idp");
    let mut form = s.idp_initiated_form(&browser, &s.idp).await;
    form.action = live.acs(&s.other);
    assert_eq!(s.submit(&browser, &form).await.status, 401);
    assert_eq!(live.last_failure(), "saml_wrong_destination");
    assert_eq!(browser.me(&live.base).await, None);

    // Posted from another browser (no binding cookie).
    let victim = Browser::new();
    let form = s.sp_initiated_form(&victim).await;
    let attacker = Browser::new();
    assert_eq!(s.submit(&attacker, &form).await.status, 403);
    assert_eq!(live.last_failure(), "browser_mismatch");
    assert_eq!(attacker.me(&live.base).await, None);

    // Mutations of genuinely signed responses.
    type Mutation = fn(&str) -> String;
    let mutations: [(&str, Mutation, &str); 3] = [
        (
            "tampered NameID",
            |xml| xml.replace(">admin@localhost<", ">mallory@localhost<"),
            "saml_bad_signature",
        ),
        ("stripped signature", strip_signature, "saml_unsigned"),
        (
            "SP-initiated response re-posted as unsolicited",
            |xml| {
                // Drop InResponseTo from the unsigned Response element only.
                let root = xml.find(":Response ").unwrap();
                let root_end = root + xml[root..].find('>').unwrap();
                let start = root + xml[root..root_end].find(" InResponseTo=\"").unwrap();
                let end = start + 15 + xml[start + 15..].find('"').unwrap() + 1;
                format!("{}{}", &xml[..start], &xml[end..])
            },
            "saml_unsolicited_with_in_response_to",
        ),
    ];
    for (name, mutate, reason) in mutations {
        let browser = Browser::new();
        let form = s.sp_initiated_form(&browser).await;
        let xml = xml_of(&form);
        assert!(xml.contains(">admin@localhost<"), "{xml}");
        let forged = mutate(&xml);
        assert_ne!(forged, xml, "{name}");
        let answer = s.submit(&browser, &with_xml(&form, &forged)).await;
        assert!(
            answer.status == 401 || answer.status == 403,
            "{name}: {answer:?}"
        );
        assert_eq!(live.last_failure(), reason, "{name}");
        assert_eq!(browser.me(&live.base).await, None, "{name}");
    }
}

/// SAML Core §8.3.8: a transient NameID is a one-time value. pysaml2 sends a new one with
/// every response; the member is found by email each time, no subject is ever linked,
/// and the sign-in record names the format.
#[actix_web::test]
async fn pysaml2_transient_name_ids_sign_the_same_member_in_every_time() {
    let test = "pysaml2_transient_name_ids_sign_the_same_member_in_every_time";
    let Some(python) = tool("PORTCULLIS_TEST_PYSAML2", test) else {
        return;
    };
    let live = Live::start().await;
    live.set_provisioning(portcullis_domain::ProvisioningMode::JustInTime);
    let port = free_port();
    let idp = live.saml_idp_with(pysaml2_settings(port, true));
    let email = "dana@acme.test";
    let (process, _dir) = crate::sso_support::idp_process::pysaml2_with(
        &live,
        &python,
        port,
        &[&idp],
        email,
        &["--transient"],
    )
    .await;
    let mut member = None;
    for round in 0..2 {
        let browser = Browser::new();
        let answer = browser.get(&live.start_url(&idp)).await;
        let page = browser.get(answer.location.as_deref().unwrap()).await;
        let form = parse_form(&page.body);
        let xml = xml_of(&form);
        assert!(xml.contains("nameid-format:transient"), "{xml}");
        let answer = browser.post_form(&form.action, &form.pairs()).await;
        assert_eq!(answer.status, 303, "round {round}: {answer:?}");
        assert_eq!(browser.me(&live.base).await.as_deref(), Some(email));
        let id = live
            .state
            .store
            .user_by_email(
                live.admin.account.id,
                &portcullis_domain::Email::parse(email).unwrap(),
            )
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(
            *member.get_or_insert(id),
            id,
            "round {round}: the same member"
        );
        assert_eq!(live.state.store.sso_subject_of(idp.id, id).unwrap(), None);
        let detail = live.last_audit("login.succeeded").unwrap();
        assert_eq!(
            detail["name_id_format"],
            "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
        );
    }
    drop(process);
}
