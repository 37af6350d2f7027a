//! The email domains accounts claim: one claim per account and domain, one verification
//! per domain across accounts (the database enforces it), and the re-check queue.

use portcullis_domain::*;
use portcullis_store::{conflict, Store, StoreError};

use crate::support::*;

fn claim(account: &Account, domain: &str) -> AccountDomain {
    AccountDomain::new(
        DomainId::from_uuid(uuid::Uuid::new_v4()),
        account.id,
        EmailDomain::parse(domain).unwrap(),
        format!("token-{domain}"),
        t(1),
    )
}

backend_tests! {
    fn claims_round_trip_and_one_account_verifies_a_domain(store: &Store) {
        let (a, b) = (seed_account(store, "acme"), seed_account(store, "rival"));
        let mut mine = claim(&a, "acme.com");
        store.insert_domain(&mine).unwrap();
        assert_eq!(store.domain(a.id, mine.id).unwrap(), Some(mine.clone()));
        assert_eq!(store.domain(b.id, mine.id).unwrap(), None);
        // Twice in one account: refused.
        let again = claim(&a, "ACME.com");
        let err = store.insert_domain(&again).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::DOMAIN), "{err:?}");
        // Another account may claim it while no one has verified it.
        let mut theirs = claim(&b, "acme.com");
        store.insert_domain(&theirs).unwrap();

        let idp = saml_idp(&a);
        store.insert_idp(&idp).unwrap();
        mine.checked(&[mine.challenge_value()], t(5));
        mine.sso_required = true;
        mine.idp = Some(idp.id);
        store.save_domain(&mine).unwrap();
        assert_eq!(store.domain(a.id, mine.id).unwrap(), Some(mine.clone()));
        assert_eq!(store.verified_domain(&mine.domain).unwrap(), Some(mine.clone()));
        // The second verification of the name is refused, whoever asks.
        theirs.checked(&[theirs.challenge_value()], t(6));
        let err = store.save_domain(&theirs).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::VERIFIED_DOMAIN), "{err:?}");
        assert_eq!(store.verified_domain(&mine.domain).unwrap().unwrap().account, a.id);

        // Verified claims wait for their re-check, the never checked and oldest first.
        let mut other = claim(&a, "acme.org");
        store.insert_domain(&other).unwrap();
        other.verified_at = Some(t(2));
        store.save_domain(&other).unwrap();
        let due: Vec<_> = store.domains_to_recheck(t(10), 10).unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(due, vec![other.id, mine.id]);
        assert_eq!(store.domains_to_recheck(t(5), 10).unwrap().len(), 1);

        // Deleting an IdP leaves the domain without one; deleting the claim frees it.
        store.delete_idp(a.id, idp.id).unwrap();
        assert_eq!(store.domain(a.id, mine.id).unwrap().unwrap().idp, None);
        assert!(!store.delete_domain(b.id, mine.id).unwrap());
        assert!(store.delete_domain(a.id, mine.id).unwrap());
        store.save_domain(&theirs).unwrap();
        assert_eq!(store.verified_domain(&mine.domain).unwrap().unwrap().account, b.id);
        assert_eq!(store.domains(a.id).unwrap(), vec![other]);
    }
}
