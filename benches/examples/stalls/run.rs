//! A run: the healthy readers, then the stalled connections, the sampling
//! thread beside them, and what each task saw gathered into the report.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::clock::unix_nanos;
use crate::connect::CONNECT_TIMEOUT;
use crate::healthy::healthy;
use crate::histogram::Histogram;
use crate::options::{Mode, Options};
use crate::probe::{Probe, sample};
use crate::report::Report;
use crate::rng::Rng;
use crate::shared::{NEVER, Shared, Slot};
use crate::stalled::{Outcome, stall_staggered, stall_together};

pub(crate) async fn run(o: Arc<Options>) -> Report {
    let slots = (0..o.stalled)
        .map(|_| Slot {
            port: AtomicU64::new(0),
            stalled_at: AtomicU64::new(NEVER),
            reset_at: AtomicU64::new(NEVER),
            server_closed_at: AtomicU64::new(NEVER),
            server_gone_at: AtomicU64::new(NEVER),
            server_seen: AtomicBool::new(false),
        })
        .collect();
    let shared = Arc::new(Shared {
        start: Instant::now(),
        slots,
        recent_ids: Mutex::new(VecDeque::with_capacity(o.resume_depth + 1)),
        resume_depth: o.resume_depth,
        latest_seq: AtomicU64::new(0),
        close_errors: Mutex::new(BTreeMap::new()),
    });
    let before = Probe::now(o.server_pid);
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (shared, stop, pid, server) =
            (shared.clone(), stop_sampling.clone(), o.server_pid, o.addr);
        std::thread::spawn(move || sample(&shared, server, pid, &stop))
    };
    let (stop, stopped) = watch::channel(false);

    let (ready, mut readies) = mpsc::channel(o.healthy.max(1));
    let healthy_readers: Vec<_> = (0..o.healthy)
        .map(|_| {
            tokio::spawn(healthy(
                shared.clone(),
                o.clone(),
                stopped.clone(),
                ready.clone(),
            ))
        })
        .collect();
    drop(ready);
    // Each reader signals its first event, or drops its sender on failure.
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, async {
        while readies.recv().await.is_some() {}
    })
    .await;
    // The server's allocator settles on the steady flow, and a history
    // fills up, before the baseline is taken.
    tokio::time::sleep(o.warmup).await;
    let with_healthy = Probe::now(o.server_pid);

    let mut resume_note = None;
    let resuming = if o.mode == Mode::Staggered && o.resume_fraction > 0.0 {
        if shared.resume_point().is_none() {
            resume_note = Some("the server sends no id: lines: resuming skipped".into());
        }
        resume_note.is_none()
    } else {
        if o.resume_fraction > 0.0 {
            resume_note = Some("--resume-fraction applies to --mode staggered only".into());
        }
        false
    };

    let (stalled_tx, mut stalled_rx) = mpsc::channel(o.stalled.max(1));
    let mut rng = Rng::new(unix_nanos());
    let mut stalls = Vec::with_capacity(o.stalled);
    let mut resume_depth = None;
    for i in 0..o.stalled {
        let (shared, o2, stopped, tx) = (
            shared.clone(),
            o.clone(),
            stopped.clone(),
            stalled_tx.clone(),
        );
        let task = match o.mode {
            Mode::Together => tokio::spawn(stall_together(shared, o2, i, stopped, tx)),
            Mode::Staggered => {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(rng.between(o.every))).await;
                }
                // Spread the resuming ones evenly over the connections.
                let resumes = (resuming
                    && ((i + 1) as f64 * o.resume_fraction).floor()
                        > (i as f64 * o.resume_fraction).floor())
                .then(|| shared.resume_point())
                .flatten();
                if let Some(r) = &resumes {
                    let depth = shared.latest_seq.load(Relaxed).saturating_sub(r.seq);
                    resume_depth = resume_depth.max(Some(depth));
                }
                let read_for = Duration::from_millis(rng.between(o.read_for));
                tokio::spawn(stall_staggered(
                    shared, o2, i, read_for, resumes, stopped, tx,
                ))
            }
        };
        stalls.push(task);
    }
    drop(stalled_tx);
    // Every stalled task signals once it stalls or fails.
    for _ in 0..o.stalled {
        let _ = stalled_rx.recv().await;
    }
    tokio::time::sleep(o.duration).await;

    let end = Probe::now(o.server_pid);
    stop_sampling.store(true, Relaxed);
    let samples = tokio::task::spawn_blocking(move || sampler.join())
        .await
        .expect("the sampler's join")
        .expect("the sampler does not panic");
    let _ = stop.send(true);

    let mut report = Report {
        established: 0,
        failures: BTreeMap::new(),
        ended_before_stall: BTreeMap::new(),
        resume_note,
        resumed: 0,
        replayed: 0,
        resume_depth,
        before,
        with_healthy,
        end,
        samples,
        resets: Vec::new(),
        close_errors: std::mem::take(
            &mut *shared
                .close_errors
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        ),
        server_closes: Vec::new(),
        server_gone: 0,
        server_open: 0,
        server_unseen: 0,
        at_end: BTreeMap::new(),
        healthy: Vec::new(),
        latency: Histogram::new(),
    };
    for (i, task) in stalls.into_iter().enumerate() {
        match task.await.expect("a stalled task does not panic") {
            Outcome::Failed(e) => *report.failures.entry(e).or_default() += 1,
            Outcome::EndedBeforeStall(e) => *report.ended_before_stall.entry(e).or_default() += 1,
            Outcome::Stalled { replayed, at_end } => {
                report.established += 1;
                if let Some(at_end) = at_end {
                    *report.at_end.entry(at_end.label()).or_default() += 1;
                }
                if let Some(replayed) = replayed {
                    report.resumed += 1;
                    report.replayed += usize::from(replayed);
                }
                let slot = &shared.slots[i];
                let stalled_at = slot.stalled_at.load(Relaxed);
                let reset_at = slot.reset_at.load(Relaxed);
                if reset_at != NEVER {
                    report.resets.push(reset_at.saturating_sub(stalled_at));
                }
                let closed_at = slot.server_closed_at.load(Relaxed);
                if closed_at != NEVER {
                    report
                        .server_closes
                        .push(closed_at.saturating_sub(stalled_at));
                } else if slot.server_seen.load(Relaxed) {
                    report.server_open += 1;
                } else {
                    report.server_unseen += 1;
                }
                report.server_gone += usize::from(slot.server_gone_at.load(Relaxed) != NEVER);
            }
        }
    }
    report.resets.sort_unstable();
    report.server_closes.sort_unstable();
    for reader in healthy_readers {
        let (h, latency) = reader.await.expect("a healthy reader does not panic");
        report.latency.merge(&latency);
        report.healthy.push(h);
    }
    report
}
