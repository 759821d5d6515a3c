//! The report of a run, as a text summary or one JSON object.

use std::collections::BTreeMap;

use serde_json::json;

use crate::healthy::Healthy;
use crate::histogram::Histogram;
use crate::options::{Mode, Options};
use crate::probe::{Probe, Samples};

pub(crate) struct Report {
    pub(crate) established: usize,
    pub(crate) failures: BTreeMap<String, usize>,
    pub(crate) ended_before_stall: BTreeMap<String, usize>,
    pub(crate) resume_note: Option<String>,
    pub(crate) resumed: usize,
    pub(crate) replayed: usize,
    pub(crate) resume_depth: Option<u64>,
    pub(crate) before: Probe,
    pub(crate) with_healthy: Probe,
    pub(crate) end: Probe,
    pub(crate) samples: Samples,
    pub(crate) resets: Vec<u64>,
    pub(crate) close_errors: BTreeMap<String, usize>,
    pub(crate) server_closes: Vec<u64>,
    pub(crate) server_gone: usize,
    pub(crate) server_open: usize,
    pub(crate) server_unseen: usize,
    pub(crate) at_end: BTreeMap<String, usize>,
    pub(crate) healthy: Vec<Healthy>,
    pub(crate) latency: Histogram,
}

/// Min, median and max of sorted microseconds, in seconds.
fn spread(sorted: &[u64]) -> Option<(f64, f64, f64)> {
    let s = |us: u64| us as f64 / 1e6;
    Some((
        s(*sorted.first()?),
        s(sorted[(sorted.len() - 1) / 2]),
        s(*sorted.last()?),
    ))
}

/// Kernel or server memory per stalled connection above a baseline.
fn per_stalled(peak: Option<u64>, base: Option<u64>, stalled: usize) -> Option<f64> {
    let (peak, base) = (peak?, base?);
    (stalled > 0).then(|| peak.saturating_sub(base) as f64 / stalled as f64)
}

struct HealthyTotals {
    events: u64,
    gaps: u64,
    missing: u64,
    reordered: u64,
    failed: BTreeMap<String, usize>,
    ended: BTreeMap<String, usize>,
}

fn healthy_totals(healthy: &[Healthy]) -> HealthyTotals {
    let mut t = HealthyTotals {
        events: 0,
        gaps: 0,
        missing: 0,
        reordered: 0,
        failed: BTreeMap::new(),
        ended: BTreeMap::new(),
    };
    for h in healthy {
        t.events += h.events;
        t.gaps += h.gaps;
        t.missing += h.missing;
        t.reordered += h.reordered;
        if let Some(e) = &h.failed {
            *t.failed.entry(e.clone()).or_default() += 1;
        }
        if let Some(e) = &h.ended {
            *t.ended.entry(e.clone()).or_default() += 1;
        }
    }
    t
}

fn ms(us: Option<u64>) -> Option<f64> {
    us.map(|us| us as f64 / 1000.0)
}

pub(crate) fn to_json(o: &Options, r: &Report) -> serde_json::Value {
    let h = healthy_totals(&r.healthy);
    let spread =
        |v: &[u64]| spread(v).map(|(min, p50, max)| json!({"min": min, "p50": p50, "max": max}));
    json!({
        "url": o.url,
        "mode": match o.mode { Mode::Together => "together", Mode::Staggered => "staggered" },
        "duration_s": o.duration.as_secs_f64(),
        "stalled": {
            "requested": o.stalled,
            "established": r.established,
            "failed": r.failures,
            "ended_before_stall": r.ended_before_stall,
        },
        "resume": {
            "note": r.resume_note,
            "resumed": r.resumed,
            "replayed_from_id": r.replayed,
            "max_depth_events": r.resume_depth,
        },
        "server_rss_kib": {
            "before": r.before.rss_kib,
            "healthy": r.with_healthy.rss_kib,
            "peak": r.samples.peak.rss_kib.max(r.end.rss_kib),
            "end": r.end.rss_kib,
            "per_stalled_above_healthy": per_stalled(
                r.samples.peak.rss_kib.max(r.end.rss_kib),
                r.with_healthy.rss_kib,
                r.established,
            ),
        },
        "tcp_mem_kib": {
            "before": r.before.tcp_mem_kib,
            "healthy": r.with_healthy.tcp_mem_kib,
            "peak": r.samples.peak.tcp_mem_kib,
            "end": r.end.tcp_mem_kib,
        },
        "tcp_orphans": {
            "before": r.before.orphans,
            "peak": r.samples.peak.orphans,
            "end": r.end.orphans,
        },
        "server_send_queues_kib": {
            "peak": r.samples.send_queue_peak.map(|b| b / 1024),
            "end": r.samples.send_queue_end.map(|b| b / 1024),
        },
        "closes": {
            "stalled": r.established,
            "server_closed": r.server_closes.len(),
            "server_close_after_stall_s": spread(&r.server_closes),
            "server_socket_gone": r.server_gone,
            "server_open_at_end": r.server_open,
            "server_side_not_found": r.server_unseen,
            "client_saw_error": r.resets.len(),
            "client_error_after_stall_s": spread(&r.resets),
            "client_errors": r.close_errors,
            "not_reset_at_end": r.at_end,
        },
        "healthy": {
            "readers": o.healthy,
            "events": h.events,
            "gaps": h.gaps,
            "missing": h.missing,
            "reordered": h.reordered,
            "latency_ms": {
                "p50": ms(r.latency.quantile(0.5)),
                "p99": ms(r.latency.quantile(0.99)),
                "max": ms((r.latency.total > 0).then_some(r.latency.max)),
            },
            "failed": h.failed,
            "ended_early": h.ended,
        },
    })
}

pub(crate) fn print_summary(o: &Options, r: &Report) {
    let kib =
        |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{:.1} MiB", v as f64 / 1024.0));
    let mode = match o.mode {
        Mode::Together => "together",
        Mode::Staggered => "staggered",
    };
    println!(
        "stalls: {} stalled ({mode}) and {} healthy readers on {}, {:.0} s after the last stall",
        o.stalled,
        o.healthy,
        o.url,
        o.duration.as_secs_f64()
    );
    println!(
        "stalled: {} stopped reading, failed {:?}, ended before stalling {:?}",
        r.established, r.failures, r.ended_before_stall
    );
    if let Some(note) = &r.resume_note {
        println!("resume: {note}");
    } else if r.resumed > 0 {
        println!(
            "resume: {} resumed up to {} events back, {} replayed from the event after their id",
            r.resumed,
            r.resume_depth.unwrap_or(0),
            r.replayed
        );
    }
    let peak_rss = r.samples.peak.rss_kib.max(r.end.rss_kib);
    if o.server_pid.is_some() {
        println!(
            "server RSS: before {}, healthy only {}, peak {}, end {}: {} KiB per stalled connection above the healthy baseline",
            kib(r.before.rss_kib),
            kib(r.with_healthy.rss_kib),
            kib(peak_rss),
            kib(r.end.rss_kib),
            per_stalled(peak_rss, r.with_healthy.rss_kib, r.established)
                .map_or("-".into(), |k| format!("{k:.1}")),
        );
    }
    println!(
        "TCP memory (both ends): before {}, healthy only {}, peak {}, end {}; orphans before {}, peak {}, end {}",
        kib(r.before.tcp_mem_kib),
        kib(r.with_healthy.tcp_mem_kib),
        kib(r.samples.peak.tcp_mem_kib),
        kib(r.end.tcp_mem_kib),
        r.before.orphans.unwrap_or(0),
        r.samples.peak.orphans.unwrap_or(0),
        r.end.orphans.unwrap_or(0),
    );
    println!(
        "server send queues of the stalled connections: peak {}, end {}",
        kib(r.samples.send_queue_peak.map(|b| b / 1024)),
        kib(r.samples.send_queue_end.map(|b| b / 1024)),
    );
    let spread = |v: &[u64]| {
        spread(v).map_or("-".into(), |(min, p50, max)| {
            format!("min {min:.2} s, p50 {p50:.2} s, max {max:.2} s")
        })
    };
    println!(
        "closes: server closed {} of {} ({} after stalling), its socket gone {}, still open {}, not found {}",
        r.server_closes.len(),
        r.established,
        spread(&r.server_closes),
        r.server_gone,
        r.server_open,
        r.server_unseen,
    );
    println!(
        "        client saw a reset or error on {} ({} after stalling) {:?}",
        r.resets.len(),
        spread(&r.resets),
        r.close_errors,
    );
    if !r.at_end.is_empty() {
        println!("        not reset, read out after the run: {:?}", r.at_end);
    }
    let h = healthy_totals(&r.healthy);
    let lat = |q: f64| ms(r.latency.quantile(q)).map_or("-".into(), |v| format!("{v:.1} ms"));
    println!(
        "healthy: {} events, {} gaps ({} missing, {} reordered), latency p50 {}, p99 {}, max {}; failed {:?}, ended early {:?}",
        h.events,
        h.gaps,
        h.missing,
        h.reordered,
        lat(0.5),
        lat(0.99),
        ms((r.latency.total > 0).then_some(r.latency.max))
            .map_or("-".into(), |v| format!("{v:.1} ms")),
        h.failed,
        h.ended,
    );
}
