//! The benchmark's ceiling: a bare actix-web server answering every request with a fixed
//! SCIM ListResponse of one user, with actix's defaults (one worker per core). No server
//! doing real work on this machine can be faster; `cargo xtask bench scim` reports every
//! figure as a share of this one. Given a number of members, it answers a fixed page of
//! that many copies of the user instead: what sending a page alone costs.
//!
//! `scim_ceiling 127.0.0.1:PORT [MEMBERS]`

#![allow(missing_docs)]

use actix_web::{web, App, HttpResponse, HttpServer};

const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen@example.com","displayName":"Babs Jensen","name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"bjensen@example.com","type":"work","primary":true}],"active":true,"meta":{"resourceType":"User","created":"2026-01-01T00:00:00.000Z","lastModified":"2026-01-01T00:00:00.000Z","location":"http://127.0.0.1/scim/v2/Users/2819c223-7f76-453a-919d-413861904646","version":"W/\"1\""}}"#;

/// A ListResponse of `members` copies of [`USER`].
fn body(members: usize) -> String {
    let resources = vec![USER; members].join(",");
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":{members},"itemsPerPage":{members},"startIndex":1,"Resources":[{resources}]}}"#
    )
}

async fn list(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/scim+json")
        .body(body)
}

fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8089".into());
    let members = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    // Static, as a constant would be: each answer sends it without copying.
    let body: &'static str = Box::leak(body(members).into_boxed_str());
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || App::new().default_service(web::to(move || list(body))))
            .bind(&bind)?
            .run()
            .await
    })
}
