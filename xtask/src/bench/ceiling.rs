//! The ceilings the SCIM benchmark compares with: a bare actix-web server answering a fixed
//! ListResponse (`examples/scim_ceiling.rs`) of one member — every share is of this one —
//! and of a page of [`PAGE`] members, what sending a page alone costs on this machine.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{wrk, Run};
use crate::scim_server::{free_port, get, target_dir};

/// Members in the page ceiling's answer, as many as the benchmark's pages hold.
pub(super) const PAGE: usize = 100;

/// Runs `scim_ceiling` answering `members` members and drives it for `seconds`.
pub(super) fn measure(seconds: u64, members: usize) -> Result<Run> {
    let binary = target_dir()
        .join("release")
        .join("examples")
        .join("scim_ceiling");
    let port = free_port()?;
    let mut child: Child = Command::new(&binary)
        .arg(format!("127.0.0.1:{port}"))
        .arg(members.to_string())
        .stdout(Stdio::null())
        .spawn()
        .context("starting scim_ceiling")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(port, "/").is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = wrk(
        &format!("http://127.0.0.1:{port}/scim/v2/Users"),
        None,
        seconds,
    );
    let _ = child.kill();
    let _ = child.wait();
    run
}

/// The line that reports the page ceiling, as a share of the ceiling: the most a page of
/// [`PAGE`] members could reach here if building it cost nothing.
pub(super) fn page_line(ceiling: &Run, page: &Run) -> String {
    format!(
        "Page ceiling (the same server answering a fixed page of {PAGE} members): {:.0} requests/s ({:.1} % of the ceiling), p50 {:.2} ms, p99 {:.2} ms: the most a page could reach here if building it cost nothing.",
        page.rps,
        100.0 * page.rps / ceiling.rps.max(1.0),
        page.p50_ms,
        page.p99_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_ceiling_is_reported_as_a_share_of_the_ceiling() {
        let run = |rps: f64| Run {
            rps,
            p50_ms: 1.0,
            p99_ms: 2.0,
            errors: 0,
        };
        let line = page_line(&run(100_000.0), &run(25_000.0));
        assert!(
            line.contains("25000 requests/s (25.0 % of the ceiling)"),
            "{line}"
        );
    }
}
