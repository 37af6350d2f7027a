//! A webhook receiver for the harnesses: plain HTTP/1.1 over loopback TCP, one thread per
//! connection (keep-alive honoured), every request answered 200 and its event recorded.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

/// What the receiver has been sent: `(type, data.id, data.display_name)` of each event.
pub type Seen = Arc<Mutex<HashSet<(String, String, String)>>>;

/// A running receiver.
pub struct Receiver {
    /// Where it listens: `http://127.0.0.1:{port}/hook`.
    pub url: String,
    /// What it has been sent.
    pub seen: Seen,
    /// How many requests it has answered (repeats included).
    answered: Arc<AtomicUsize>,
}

impl Receiver {
    /// Listens on a free loopback port, on threads of its own, until the process ends.
    pub fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let seen: Seen = Arc::default();
        let answered = Arc::new(AtomicUsize::new(0));
        let (shared, count) = (seen.clone(), answered.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, count) = (shared.clone(), count.clone());
                std::thread::spawn(move || serve(stream, &seen, &count));
            }
        });
        Ok(Self {
            url,
            seen,
            answered,
        })
    }

    /// How many requests it has answered so far.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::Relaxed)
    }

    /// Waits until no request has come for `quiet` (the sender has nothing left to send),
    /// or `limit` has passed; returns how many requests came meanwhile.
    pub fn wait_until_quiet(&self, quiet: Duration, limit: Duration) -> usize {
        let (start, before) = (Instant::now(), self.answered());
        let (mut last, mut since) = (before, Instant::now());
        while since.elapsed() < quiet && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.answered();
            if now != last {
                (last, since) = (now, Instant::now());
            }
        }
        last - before
    }
}

/// Answers the requests of one connection until it closes.
fn serve(stream: TcpStream, seen: &Seen, answered: &AtomicUsize) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        // The request line, then headers up to the blank line.
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = trimmed.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            if let Ok(mut seen) = seen.lock() {
                seen.insert((
                    text(&event["type"]),
                    text(&event["data"]["id"]),
                    text(&event["data"]["display_name"]),
                ));
            }
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
        answered.fetch_add(1, Ordering::Relaxed);
    }
}
