//! `cargo xtask fuzz --seconds N`: builds every fuzz target with libFuzzer's coverage
//! instrumentation and runs each for N seconds. It needs no nightly toolchain and no
//! cargo-fuzz: the sanitizer-coverage flags below are stable codegen options, and
//! `libfuzzer-sys` builds libFuzzer itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util;

/// A fuzz crate and its targets.
struct FuzzCrate {
    dir: &'static str,
    targets: &'static [&'static str],
    /// xmlsec prints every failed verification to standard error; keep the fuzzer's
    /// own report readable by closing the target's stderr (libFuzzer keeps its own).
    quiet_stderr: bool,
}

const CRATES: &[FuzzCrate] = &[
    FuzzCrate {
        dir: "crates/portcullis-scim/fuzz",
        targets: &["filter", "patch", "resource"],
        quiet_stderr: false,
    },
    FuzzCrate {
        dir: "crates/portcullis-sso/fuzz",
        targets: &["saml_response"],
        quiet_stderr: true,
    },
];

const RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
        .join("fuzz")
}

/// Parses `--seconds N` (default 30) and runs every target that long.
pub fn run(args: &[String]) -> Result<()> {
    let mut seconds: u64 = 30;
    let mut only: Option<String> = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = iter
                    .next()
                    .context("--seconds needs a number")?
                    .parse()
                    .context("--seconds needs a whole number")?
            }
            "--target" => only = Some(iter.next().context("--target needs a name")?.clone()),
            other => bail!("unknown argument {other:?} (use --seconds N [--target NAME])"),
        }
    }
    let out = target_dir();
    for krate in CRATES {
        let wanted: Vec<&str> = krate
            .targets
            .iter()
            .copied()
            .filter(|t| only.as_deref().is_none_or(|o| o == *t))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        build(krate, &out)?;
        for target in wanted {
            run_target(krate, target, &out, seconds)?;
        }
    }
    Ok(())
}

fn build(krate: &FuzzCrate, out: &Path) -> Result<()> {
    let manifest = util::root().join(krate.dir).join("Cargo.toml");
    eprintln!("xtask: building fuzz targets of {}", krate.dir);
    let status = Command::new("cargo")
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest)
        // With an explicit target, RUSTFLAGS instrument only the fuzz targets, not the
        // build scripts and proc macros that run on the host.
        .args(["--target", &host_triple()?])
        .arg("--target-dir")
        .arg(out)
        .env("RUSTFLAGS", RUSTFLAGS)
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .context("starting cargo")?;
    if !status.success() {
        bail!("building the fuzz targets of {} failed", krate.dir);
    }
    Ok(())
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String> {
    let info = util::output("rustc", &["-vV"])?;
    info.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV printed no host line")
}

fn run_target(krate: &FuzzCrate, target: &str, out: &Path, seconds: u64) -> Result<()> {
    let binary = out.join(host_triple()?).join("release").join(target);
    let corpus = out.join("corpus").join(target);
    let artifacts = out.join("artifacts").join(target);
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&artifacts)?;
    let mut command = Command::new(&binary);
    command
        .arg(format!("-max_total_time={seconds}"))
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-max_len=65536")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .arg(&corpus);
    if krate.quiet_stderr {
        command.arg("-close_fd_mask=2");
    }
    let seeds = util::root().join(krate.dir).join("seeds").join(target);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    eprintln!("xtask: fuzzing {target} for {seconds}s");
    let status = command
        .status()
        .with_context(|| format!("starting {}", binary.display()))?;
    if !status.success() {
        bail!(
            "fuzz target {target} found a crash, hang or leak; the input is in {} — turn it into a regression test",
            artifacts.display()
        );
    }
    Ok(())
}
