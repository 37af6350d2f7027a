//! What the benchmarks record about the machine they ran on, read from `/proc`: the CPU,
//! the load average, a process's memory, and the open-file limit.

use std::process::Command;

use anyhow::{bail, Result};

/// A line from `/proc/{pid}/status` such as `VmRSS`, in KiB.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The CPU model and how many cores this process may use.
pub fn cpu() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({model})")
}

/// Today's date (UTC), for the record.
pub fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Makes sure this process (and so every child it starts from now on) may open `needed`
/// files, raising the soft limit up to the hard one with `prlimit` when it is lower.
pub fn ensure_open_files(needed: u64) -> Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let Some((soft, hard)) = limits.lines().find_map(|l| {
        let rest = l.strip_prefix("Max open files")?;
        let mut it = rest.split_whitespace();
        let parse = |s: Option<&str>| match s {
            Some("unlimited") => Some(u64::MAX),
            Some(n) => n.parse().ok(),
            None => None,
        };
        Some((parse(it.next())?, parse(it.next())?))
    }) else {
        return Ok(());
    };
    if soft >= needed {
        return Ok(());
    }
    if hard < needed {
        bail!("{needed} open files are needed but the hard limit is {hard}; raise it (ulimit -Hn)");
    }
    let pid = std::process::id().to_string();
    let limit = format!("--nofile={needed}:{hard}");
    let status = Command::new("prlimit")
        .args(["--pid", &pid, &limit])
        .status();
    match status {
        Ok(s) if s.success() => {
            eprintln!("xtask: raised the open-file limit from {soft} to {needed}");
            Ok(())
        }
        _ => bail!("{needed} open files are needed but the limit is {soft}; run `ulimit -n {needed}` first"),
    }
}
