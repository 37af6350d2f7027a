//! The targets of issue 27 and the verdict on each: what the SCIM benchmark prints with
//! pass or fail.

use super::{median, Results, Run};

/// A target of issue 27 for one scenario on one backend: a share of the ceiling, or a
/// rate, and a p99 bound.
struct Goal {
    backend: &'static str,
    /// The start of the scenario's name.
    scenario: &'static str,
    min_share: Option<f64>,
    min_rps: Option<f64>,
    max_p99_ms: Option<f64>,
}

const fn goal(
    backend: &'static str,
    scenario: &'static str,
    min_share: Option<f64>,
    min_rps: Option<f64>,
    max_p99_ms: Option<f64>,
) -> Goal {
    Goal {
        backend,
        scenario,
        min_share,
        min_rps,
        max_p99_ms,
    }
}

/// The targets (issue 27), checked by [`verdicts`]; the benchmark prints each with pass or
/// fail.
const GOALS: &[Goal] = &[
    goal("SQLite", "GET /Users/{id}", Some(0.50), None, Some(10.0)),
    goal("SQLite", "GET /Users?filter", Some(0.50), None, Some(10.0)),
    goal("SQLite", "PATCH", Some(0.20), None, Some(20.0)),
    goal("SQLite", "POST", Some(0.10), None, None),
    goal("SQLite", "GET /Users?count=100", Some(0.10), None, None),
    goal(
        "SQLite",
        "GET /Users?startIndex=90001",
        Some(0.10),
        None,
        None,
    ),
    goal("PostgreSQL", "GET /Users/{id}", Some(0.20), None, None),
    goal("PostgreSQL", "GET /Users?filter", Some(0.20), None, None),
    goal("PostgreSQL", "PATCH", None, Some(3000.0), None),
    goal("PostgreSQL", "POST", None, Some(3000.0), None),
];

/// The most peak memory (VmHWM) the SQLite server may reach over the whole benchmark.
const MAX_SQLITE_MIB: f64 = 60.0;

/// The most the filtered GET's median p50 may grow from 1,000 to the big account.
const MAX_SIZE_RATIO: f64 = 1.2;

/// Each target with what was measured and whether it was met.
pub(super) fn verdicts(ceiling: &Run, results: &[Results]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for r in results {
        for g in GOALS.iter().filter(|g| g.backend == r.backend) {
            let Some((name, run)) = r.runs.iter().find(|(n, _)| n.starts_with(g.scenario)) else {
                continue;
            };
            let share = run.rps / ceiling.rps.max(1.0);
            let mut wanted = Vec::new();
            let mut met = run.errors == 0;
            if let Some(min) = g.min_share {
                wanted.push(format!(
                    "≥ {:.0} % of the ceiling (got {:.1} %)",
                    min * 100.0,
                    share * 100.0
                ));
                met &= share >= min;
            }
            if let Some(min) = g.min_rps {
                wanted.push(format!("≥ {min:.0}/s (got {:.0}/s)", run.rps));
                met &= run.rps >= min;
            }
            if let Some(max) = g.max_p99_ms {
                wanted.push(format!("p99 < {max:.0} ms (got {:.2} ms)", run.p99_ms));
                met &= run.p99_ms < max;
            }
            out.push((format!("{} {name}: {}", r.backend, wanted.join(", ")), met));
        }
        if let Some((before, after)) = &r.analyze {
            let share = before.rps / after.rps.max(1.0);
            out.push((
                format!(
                    "{} filtered GET before ANALYZE ≥ {:.0} % of after (got {:.0}/s of {:.0}/s, {:.1} %)",
                    r.backend,
                    MIN_UNANALYZED_SHARE * 100.0,
                    before.rps,
                    after.rps,
                    share * 100.0
                ),
                before.errors == 0 && share >= MIN_UNANALYZED_SHARE,
            ));
        }
        if r.backend == "SQLite" {
            for w in &r.with_webhook {
                let share = w.share();
                out.push((
                    format!(
                        "SQLite {} with a webhook ≥ {:.0} % of without (got {:.0}/s of {:.0}/s, {:.1} %; two runs of each, alternating)",
                        w.name,
                        MIN_WEBHOOK_SHARE * 100.0,
                        w.mean_with(),
                        w.mean_without(),
                        share * 100.0
                    ),
                    w.with.iter().chain(&w.without).all(|r| r.errors == 0)
                        && share >= MIN_WEBHOOK_SHARE,
                ));
            }
            out.push((
                format!(
                    "SQLite peak memory < {MAX_SQLITE_MIB:.0} MiB (got {:.1} MiB)",
                    r.peak_rss_mib
                ),
                r.peak_rss_mib > 0.0 && r.peak_rss_mib < MAX_SQLITE_MIB,
            ));
            let ratio = median(
                r.sizes
                    .iter()
                    .map(|(small, big)| big.p50_ms / small.p50_ms.max(0.001))
                    .collect(),
            );
            out.push((
                format!(
                    "SQLite filtered GET p50 at the big account within {:.0} % of 1,000 members (got {ratio:.2}×)",
                    (MAX_SIZE_RATIO - 1.0) * 100.0
                ),
                !r.sizes.is_empty() && ratio <= MAX_SIZE_RATIO,
            ));
        }
    }
    out
}

/// The least share of its throughput a write keeps with a webhook subscribed.
const MIN_WEBHOOK_SHARE: f64 = 0.8;

/// The least share of the analyzed throughput the filter reaches before `ANALYZE`.
const MIN_UNANALYZED_SHARE: f64 = 0.8;

#[cfg(test)]
mod tests {
    use super::super::{WebhookRuns, SCENARIOS};
    use super::*;

    fn run(rps: f64, p99_ms: f64) -> Run {
        Run {
            rps,
            p50_ms: 1.0,
            p99_ms,
            errors: 0,
        }
    }

    /// PATCH at `with`/s with the webhook (split over its two runs) and 60,000/s without.
    fn webhook_runs(with: f64) -> WebhookRuns {
        WebhookRuns {
            name: SCENARIOS[4].name,
            without: [run(59_000.0, 5.0), run(61_000.0, 5.0)],
            with: [run(with - 1_000.0, 5.0), run(with + 1_000.0, 5.0)],
        }
    }

    #[test]
    fn targets_pass_and_fail_on_what_was_measured() {
        let ceiling = run(100_000.0, 1.0);
        let sqlite = |get: f64, memory: f64| Results {
            backend: "SQLite".into(),
            runs: SCENARIOS
                .iter()
                .map(|s| {
                    (
                        s.name,
                        run(
                            if s.name.starts_with("GET /Users/{id}") {
                                get
                            } else {
                                60_000.0
                            },
                            5.0,
                        ),
                    )
                })
                .collect(),
            sizes: vec![(run(1.0, 1.0), run(1.0, 1.0))],
            analyze: None,
            with_webhook: vec![webhook_runs(50_000.0)],
            peak_rss_mib: memory,
        };
        let all = verdicts(&ceiling, &[sqlite(60_000.0, 50.0)]);
        // Every SQLite scenario goal, the webhook share, memory and the size ratio.
        assert_eq!(all.len(), 9, "{all:?}");
        assert!(all.iter().all(|(_, met)| *met), "{all:?}");
        let slow = verdicts(&ceiling, &[sqlite(40_000.0, 61.0)]);
        let failed: Vec<&str> = slow
            .iter()
            .filter(|(_, m)| !m)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert!(failed[0].contains("GET /Users/{id}") && failed[0].contains("40.0 %"));
        assert!(failed[1].contains("peak memory"));
        let mut hooked = sqlite(60_000.0, 50.0);
        hooked.with_webhook = vec![webhook_runs(47_000.0)];
        let hooked = verdicts(&ceiling, &[hooked]);
        let hooked_failed: Vec<&str> = hooked
            .iter()
            .filter(|(_, m)| !m)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(hooked_failed.len(), 1, "{hooked_failed:?}");
        assert!(hooked_failed[0].contains("with a webhook") && hooked_failed[0].contains("78.3 %"));
        // A share met, but with errors in one of the runs.
        let mut erring = sqlite(60_000.0, 50.0);
        let mut runs = webhook_runs(55_000.0);
        runs.with[1].errors = 3;
        erring.with_webhook = vec![runs];
        let erring = verdicts(&ceiling, &[erring]);
        let failed: Vec<&(String, bool)> = erring.iter().filter(|(_, m)| !m).collect();
        assert_eq!(failed.len(), 1, "{erring:?}");
        assert!(failed[0].0.contains("91.7 %"), "{failed:?}");
        let pg = Results {
            backend: "PostgreSQL".into(),
            runs: SCENARIOS
                .iter()
                .map(|s| (s.name, run(2_999.0, 5.0)))
                .collect(),
            sizes: Vec::new(),
            analyze: Some((run(700.0, 5.0), run(1_000.0, 5.0))),
            with_webhook: Vec::new(),
            peak_rss_mib: 0.0,
        };
        let pg = verdicts(&ceiling, &[pg]);
        assert_eq!(pg.len(), 5);
        assert!(pg.iter().all(|(_, met)| !met), "{pg:?}");
        assert!(
            pg[4].0.contains("before ANALYZE") && pg[4].0.contains("70.0 %"),
            "{pg:?}"
        );
    }
}
