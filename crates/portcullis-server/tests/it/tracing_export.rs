//! Traces as a collector sees them: the real binary, pointed at an OTLP/HTTP receiver
//! in this process by `OTEL_EXPORTER_OTLP_ENDPOINT`, exports the spans of a SCIM request
//! (joined to the trace its `traceparent` names, with a store call under it) and of a
//! SAML sign-in; without the variable it sends nothing.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use portcullis_domain::{IdentityProvider, IdpId, IdpProtocol};
use portcullis_store::Store;
use prost::Message as _;
use serde_json::json;

use crate::scim_support::{bot_key, enable_scim, test_encryption_key};
use crate::sso_support::saml_fixture::idp_key;
use crate::sso_support::saml_response_at;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// One exported span, with what the tests look at.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    name: String,
    kind: i32,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: HashMap<String, String>,
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attributes(list: &[KeyValue]) -> HashMap<String, String> {
    list.iter()
        .map(|kv| {
            let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
            (kv.key.clone(), text(value))
        })
        .collect()
}

/// An OTLP/HTTP receiver on a loopback port: keeps every span posted to `/v1/traces`.
struct Receiver {
    endpoint: String,
    spans: Arc<Mutex<Vec<Exported>>>,
    posts: Arc<Mutex<usize>>,
}

impl Receiver {
    fn start(listener: TcpListener) -> Self {
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let posts = Arc::new(Mutex::new(0));
        let (kept, counted) = (spans.clone(), posts.clone());
        let server = HttpServer::new(move || {
            let (kept, counted) = (kept.clone(), counted.clone());
            App::new().route(
                "/v1/traces",
                web::post().to(move |body: web::Bytes| {
                    let (kept, counted) = (kept.clone(), counted.clone());
                    async move {
                        *counted.lock().unwrap() += 1;
                        let request = ExportTraceServiceRequest::decode(body).unwrap();
                        let mut kept = kept.lock().unwrap();
                        for resource_spans in request.resource_spans {
                            let resource = resource_spans.resource.unwrap_or_default();
                            let service = attributes(&resource.attributes)
                                .remove("service.name")
                                .unwrap_or_default();
                            for scope in resource_spans.scope_spans {
                                for span in scope.spans {
                                    kept.push(Exported {
                                        service: service.clone(),
                                        name: span.name,
                                        kind: span.kind,
                                        trace_id: hex(&span.trace_id),
                                        span_id: hex(&span.span_id),
                                        parent_span_id: hex(&span.parent_span_id),
                                        attributes: attributes(&span.attributes),
                                    });
                                }
                            }
                        }
                        HttpResponse::Ok()
                            .content_type("application/x-protobuf")
                            .finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Self {
            endpoint,
            spans,
            posts,
        }
    }

    /// Waits (at most 20 s) for a span `matching`.
    async fn wait_for(&self, what: &str, matching: impl Fn(&Exported) -> bool) -> Exported {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(span) = self.spans.lock().unwrap().iter().find(|s| matching(s)) {
                return span.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no span {what} among {:#?}",
                self.spans.lock().unwrap()
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `portcullis serve` binary on a loopback port, with its log in a file.
struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &str, dir: &std::path::Path, otel: &[(&str, &str)]) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.join(format!("server-{port}.log"));
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .env("PORTCULLIS_DATABASE_URL", db)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_PUBLIC_URL", &base)
        .env("PORTCULLIS_ENCRYPTION_KEY", test_encryption_key())
        .env("PORTCULLIS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command.envs(otel.iter().copied());
    let child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, base, log }
}

/// The store of the database the binary made (bootstrapped with the account `default`).
fn store(db: &str) -> Store {
    let key = portcullis_server::encryption_key::resolve(Some(test_encryption_key()), db).unwrap();
    Store::connect(db).unwrap().with_encryption_key(&key)
}

fn saml_idp(store: &Store, account: portcullis_domain::AccountId) -> IdentityProvider {
    let idp = IdentityProvider {
        id: IdpId::from_uuid(uuid::Uuid::new_v4()),
        account,
        description: "Traced SAML".into(),
        enabled: true,
        protocol: IdpProtocol::Saml(crate::sso_support::saml_settings(idp_key(), true)),
        created_at: chrono::Utc::now(),
    };
    store.insert_idp(&idp).unwrap();
    idp
}

#[actix_web::test]
async fn a_scim_request_and_a_saml_sign_in_are_exported_as_traces() {
    let receiver = Receiver::start(TcpListener::bind("127.0.0.1:0").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db").to_str().unwrap().to_owned();
    let server = start(
        &db,
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
            ("OTEL_SERVICE_NAME", "portcullis-test"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let store = store(&db);
    let account = portcullis_app::accounts::by_slug(&store, "default").unwrap();
    let account = enable_scim(&store, &account);
    let token = bot_key(&store, &account, "tracer");
    let idp = saml_idp(&store, account.id);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // A SCIM request from a caller inside a trace of its own.
    let created = client
        .post(format!("{}/scim/v2/Users", server.base))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "emails": [{"value": "ada@example.com", "primary": true}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    // An IdP-initiated SAML sign-in of the admin.
    let response = saml_response_at(&server.base, &idp, None, "admin@localhost").b64();
    let signed_in = client
        .post(format!("{}/sso/saml/{}/acs", server.base, idp.id))
        .form(&[("SAMLResponse", response.as_str()), ("RelayState", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);

    let account_id = account.id.to_string();
    let scim = receiver
        .wait_for("for POST /scim/v2/Users", |s| {
            s.attributes.get("http.route").map(String::as_str) == Some("/scim/v2/Users")
        })
        .await;
    assert_eq!(scim.service, "portcullis-test");
    assert_eq!(scim.name, "POST /scim/v2/Users");
    assert_eq!(scim.kind, SpanKind::Server as i32);
    assert_eq!(scim.trace_id, TRACE_ID, "joined to the caller's trace");
    assert_eq!(
        scim.parent_span_id, PARENT_ID,
        "a child of the caller's span"
    );
    assert_eq!(scim.attributes["http.request.method"], "POST");
    assert_eq!(scim.attributes["http.response.status_code"], "201");
    assert_eq!(scim.attributes["account.id"], account_id);

    // The user was written in a store call, a span of the same trace under the request.
    let write = receiver
        .wait_for("store.write under the SCIM request", |s| {
            s.name == "store.write" && s.parent_span_id == scim.span_id
        })
        .await;
    assert_eq!(write.trace_id, TRACE_ID);

    let acs = receiver
        .wait_for("for the SAML ACS", |s| {
            s.attributes.get("http.route").map(String::as_str) == Some("/sso/saml/{idp_id}/acs")
        })
        .await;
    assert_eq!(acs.name, "POST /sso/saml/{idp_id}/acs");
    assert_eq!(acs.kind, SpanKind::Server as i32);
    assert_eq!(acs.attributes["http.response.status_code"], "303");
    assert_eq!(acs.attributes["account.id"], account_id);
    assert_eq!(acs.parent_span_id, "", "no traceparent: a trace of its own");
    assert_ne!(acs.trace_id, TRACE_ID);

    // The background work's store calls (the webhook worker polls every second) are no
    // traces of their own.
    let spans = receiver.spans.lock().unwrap().clone();
    assert!(
        spans
            .iter()
            .all(|s| !s.name.starts_with("store.") || !s.parent_span_id.is_empty()),
        "{spans:#?}"
    );

    // The log lines of the SCIM request carry its trace id.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("request finished") && l.contains(TRACE_ID)),
        "{log}"
    );
}

#[actix_web::test]
async fn without_an_endpoint_nothing_is_exported() {
    // A server that exported anyway would send to the default endpoint, localhost:4318:
    // listen there when the port is free.
    let Ok(listener) = TcpListener::bind("127.0.0.1:4318") else {
        return;
    };
    let receiver = Receiver::start(listener);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db").to_str().unwrap().to_owned();
    let server = start(
        &db,
        dir.path(),
        &[
            ("OTEL_SERVICE_NAME", "portcullis-test"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let health = client
            .get(format!("{}/healthz", server.base))
            .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
            .send()
            .await
            .unwrap();
        assert!(health.status().is_success());
    }
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(*receiver.posts.lock().unwrap(), 0);
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("request finished"), "{log}");
    assert!(!log.contains(TRACE_ID), "{log}");
}
