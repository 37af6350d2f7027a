//! SAML response validations per second: a genuinely signed response verified end to end
//! (decode, screen, xmlsec signature reduction, every check, attribute mapping).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/it/saml_fixture.rs"]
mod saml_fixture;

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portcullis_sso::saml::{verify_response, Expected};
use saml_fixture::*;

fn validations(c: &mut Criterion) {
    let now = wall_clock();
    let sp = sp(1);
    let settings = settings(&[idp_key()]);
    let ids = vec!["_req1".to_owned()];
    let mut group = c.benchmark_group("saml");
    group.throughput(Throughput::Elements(1));
    for (name, sign_response) in [
        ("assertion_signed", false),
        ("response_and_assertion_signed", true),
    ] {
        let mut params = Params::valid(&sp, now);
        params.sign_response = sign_response;
        let b64 = params.b64();
        group.bench_function(name, |b| {
            b.iter(|| {
                verify_response(
                    &settings,
                    idp_id(1),
                    &sp,
                    &b64,
                    Expected::SpInitiated {
                        pending_request_ids: &ids,
                    },
                    now,
                    Duration::seconds(60),
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, validations);
criterion_main!(benches);
