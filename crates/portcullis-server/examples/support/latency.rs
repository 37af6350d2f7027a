//! Latency figures for the load generators: a log-linear histogram of microseconds (64
//! buckets per power of two, so percentiles are within 1.6 %) that stays the same size
//! however long a run lasts, and the per-kind tallies built on it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = (SUB as usize) * 40;

/// A histogram of durations in microseconds.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max_us: 0,
        }
    }
}

fn index(us: u64) -> usize {
    if us < 2 * SUB {
        return us as usize;
    }
    let msb = 63 - u64::from(us.leading_zeros());
    let shift = msb - u64::from(SUB_BITS);
    let top = us >> shift;
    ((shift * SUB + top) as usize).min(BUCKETS - 1)
}

/// The middle of bucket `i`.
fn value(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let shift = i / SUB - 1;
    let top = i - shift * SUB;
    (top << shift) + (1 << shift) / 2
}

impl Histogram {
    /// Records one duration.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.counts[index(us)] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `q` quantile (0..=1) in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(i).min(self.max_us) as f64 / 1000.0;
            }
        }
        self.max_us as f64 / 1000.0
    }

    /// The longest duration in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }
}

/// Requests by kind: latencies of the successful ones, and errors.
#[derive(Clone, Default)]
pub struct Tally {
    kinds: BTreeMap<&'static str, (Histogram, u64)>,
    /// The first few error messages, to show what went wrong.
    pub samples: Vec<String>,
}

impl Tally {
    /// Records a successful request of `kind` that took `d`.
    pub fn ok(&mut self, kind: &'static str, d: Duration) {
        self.kinds.entry(kind).or_default().0.record(d);
    }

    /// Records a failed request of `kind`.
    pub fn error(&mut self, kind: &'static str, message: String) {
        self.kinds.entry(kind).or_default().1 += 1;
        if self.samples.len() < 20 {
            self.samples.push(format!("{kind}: {message}"));
        }
    }

    /// Adds `other` to this tally.
    pub fn merge(&mut self, other: &Tally) {
        for (kind, (h, e)) in &other.kinds {
            let entry = self.kinds.entry(kind).or_default();
            entry.0.merge(h);
            entry.1 += e;
        }
        for s in &other.samples {
            if self.samples.len() < 20 {
                self.samples.push(s.clone());
            }
        }
    }

    /// Every error.
    pub fn errors(&self) -> u64 {
        self.kinds.values().map(|(_, e)| e).sum()
    }

    /// All successful requests in one histogram.
    pub fn all(&self) -> Histogram {
        let mut all = Histogram::default();
        for (h, _) in self.kinds.values() {
            all.merge(h);
        }
        all
    }

    /// The figures as JSON: per kind `ok`, `errors`, `per_second`, `p50_ms`, `p99_ms`,
    /// `max_ms`, and the same over all kinds.
    pub fn to_json(&self, seconds: f64) -> Value {
        let figures = |h: &Histogram, errors: u64| {
            json!({
                "ok": h.count(),
                "errors": errors,
                "per_second": h.count() as f64 / seconds.max(0.001),
                "p50_ms": h.quantile_ms(0.50),
                "p99_ms": h.quantile_ms(0.99),
                "max_ms": h.max_ms(),
            })
        };
        let kinds: serde_json::Map<String, Value> = self
            .kinds
            .iter()
            .map(|(k, (h, e))| ((*k).to_owned(), figures(h, *e)))
            .collect();
        json!({
            "seconds": seconds,
            "kinds": kinds,
            "all": figures(&self.all(), self.errors()),
            "error_samples": self.samples,
        })
    }
}
