//! The benchmark's ceiling: a bare actix-web server answering every request with a fixed
//! SCIM ListResponse of one user, with actix's defaults (one worker per core). No server
//! doing real work on this machine can be faster; `cargo xtask bench scim` reports every
//! figure as a share of this one.
//!
//! `scim_ceiling 127.0.0.1:PORT`

#![allow(missing_docs)]

use actix_web::{web, App, HttpResponse, HttpServer};

const BODY: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"itemsPerPage":1,"startIndex":1,"Resources":[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen@example.com","displayName":"Babs Jensen","name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"bjensen@example.com","type":"work","primary":true}],"active":true,"meta":{"resourceType":"User","created":"2026-01-01T00:00:00.000Z","lastModified":"2026-01-01T00:00:00.000Z","location":"http://127.0.0.1/scim/v2/Users/2819c223-7f76-453a-919d-413861904646","version":"W/\"1\""}}]}"#;

async fn list() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/scim+json")
        .body(BODY)
}

fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8089".into());
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().default_service(web::to(list)))
            .bind(&bind)?
            .run()
            .await
    })
}
