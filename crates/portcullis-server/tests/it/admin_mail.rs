//! Invitation mail delivered to a real (tiny, in-test) SMTP server on 127.0.0.1, and a
//! mail failure that still leaves the admin with the link.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::admin_api::admin_key;
use crate::admin_fixtures::with_key;
use crate::browser::free_port;
use crate::support::env;
use crate::{app, call};

/// An SMTP sink that accepts one message and hands over the whole transcript.
fn smtp_sink() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut transcript = String::new();
        write!(out, "220 sink ESMTP\r\n").unwrap();
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            transcript.push_str(&line);
            if in_data {
                if line == ".\r\n" {
                    in_data = false;
                    write!(out, "250 queued\r\n").unwrap();
                }
                continue;
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            match verb.as_str() {
                "EHLO" | "HELO" => write!(out, "250-sink\r\n250 8BITMIME\r\n").unwrap(),
                "DATA" => {
                    in_data = true;
                    write!(out, "354 go ahead\r\n").unwrap();
                }
                "QUIT" => {
                    write!(out, "221 bye\r\n").unwrap();
                    break;
                }
                _ => write!(out, "250 ok\r\n").unwrap(),
            }
        }
        let _ = tx.send(transcript);
    });
    (port, rx)
}

#[actix_web::test]
async fn invitations_are_mailed_when_smtp_is_configured() {
    let (port, received) = smtp_sink();
    let mut env = env();
    let mut config = (*env.state.config).clone();
    config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    config.smtp_from = "Portcullis <noreply@acme.test>".into();
    env.state.config = Arc::new(config);
    let app = app!(env);
    let key = admin_key(&env);
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "new@acme.test"})),
            &key
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["emailed"], true, "{b}");
    let token = b["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let mail = received.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(mail.contains("RCPT TO:<new@acme.test>"), "{mail}");
    assert!(mail.contains("MAIL FROM:<noreply@acme.test>"), "{mail}");
    assert!(
        mail.contains("Subject: You are invited to Default"),
        "{mail}"
    );
    let unfolded = mail.replace("=\r\n", "");
    assert!(
        unfolded.contains(&format!("/invite/{token}")),
        "the link is in the mail: {mail}"
    );
}

#[actix_web::test]
async fn a_mail_failure_still_gives_the_admin_the_link() {
    let mut env = env();
    let mut config = (*env.state.config).clone();
    config.smtp_url = Some(format!("smtp://127.0.0.1:{}", free_port()));
    env.state.config = Arc::new(config);
    let app = app!(env);
    let key = admin_key(&env);
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "new@acme.test"})),
            &key
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["emailed"], false);
    assert!(b["email_error"].as_str().unwrap().contains("SMTP"), "{b}");
    assert!(b["url"].as_str().unwrap().contains("/invite/"));
    // Without SMTP nothing is tried.
    let env = crate::support::env();
    let app = app!(env);
    let key = admin_key(&env);
    let (_, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "x@acme.test"})),
            &key
        )
    );
    assert_eq!(b["emailed"], false);
    assert!(b["email_error"].is_null());
}
