//! Probes of /proc: the server's RSS, the system's TCP memory, and the
//! server's side of each stalled connection in /proc/net/tcp.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use crate::shared::{NEVER, Shared};

/// One reading of the server's RSS and the system's TCP memory.
#[derive(Clone, Copy, Default)]
pub(crate) struct Probe {
    pub(crate) rss_kib: Option<u64>,
    pub(crate) tcp_mem_kib: Option<u64>,
    pub(crate) orphans: Option<u64>,
}

impl Probe {
    pub(crate) fn now(pid: Option<u32>) -> Probe {
        let rss_kib = pid.and_then(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        });
        let sockstat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
        let tcp: Vec<&str> = sockstat
            .lines()
            .find(|l| l.starts_with("TCP:"))
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default();
        let field = |name: &str| -> Option<u64> {
            let at = tcp.iter().position(|w| *w == name)?;
            tcp.get(at + 1)?.parse().ok()
        };
        Probe {
            rss_kib,
            tcp_mem_kib: field("mem").map(|pages| pages * 4),
            orphans: field("orphan"),
        }
    }

    fn peak(self, other: Probe) -> Probe {
        let max = |a: Option<u64>, b: Option<u64>| a.max(b);
        Probe {
            rss_kib: max(self.rss_kib, other.rss_kib),
            tcp_mem_kib: max(self.tcp_mem_kib, other.tcp_mem_kib),
            orphans: max(self.orphans, other.orphans),
        }
    }
}

/// What the sampling thread saw over the run.
#[derive(Default)]
pub(crate) struct Samples {
    pub(crate) peak: Probe,
    /// Bytes in the server's send queues of the stalled connections.
    pub(crate) send_queue_peak: Option<u64>,
    pub(crate) send_queue_end: Option<u64>,
}

/// Samples every 250 ms (RSS and sockstat every 500 ms) until `stop`, then
/// once more.
pub(crate) fn sample(
    shared: &Shared,
    server: SocketAddr,
    pid: Option<u32>,
    stop: &AtomicBool,
) -> Samples {
    let mut samples = Samples::default();
    for tick in 0u64.. {
        let last = stop.load(Relaxed);
        if let Some(queued) = scan_tcp(shared, server) {
            samples.send_queue_peak = samples.send_queue_peak.max(Some(queued));
            samples.send_queue_end = Some(queued);
        }
        if tick % 2 == 0 || last {
            samples.peak = samples.peak.peak(Probe::now(pid));
        }
        if last {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    samples
}

/// Finds the server's side of each stalled connection in `/proc/net/tcp`,
/// records when it left ESTABLISHED and when it was gone, and gives the
/// bytes in their send queues.
fn scan_tcp(shared: &Shared, server: SocketAddr) -> Option<u64> {
    let table = if server.is_ipv4() {
        "/proc/net/tcp"
    } else {
        "/proc/net/tcp6"
    };
    let text = std::fs::read_to_string(table).ok()?;
    let now = shared.micros();
    let ports: HashMap<u16, usize> = shared
        .slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let port = u16::try_from(s.port.load(Relaxed)).ok()?;
            (port != 0 && s.server_gone_at.load(Relaxed) == NEVER).then_some((port, i))
        })
        .collect();
    let port_of = |address: &str| {
        address
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
    };
    let mut present = vec![false; shared.slots.len()];
    let mut queued = 0;
    for line in text.lines().skip(1) {
        let mut fields = line.split_ascii_whitespace().skip(1);
        let (Some(local), Some(remote), Some(state), Some(queues)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if port_of(local) != Some(server.port()) {
            continue;
        }
        let Some(&i) = port_of(remote).and_then(|p| ports.get(&p)) else {
            continue;
        };
        let slot = &shared.slots[i];
        present[i] = true;
        slot.server_seen.store(true, Relaxed);
        if let Some((tx, _)) = queues.split_once(':') {
            queued += u64::from_str_radix(tx, 16).unwrap_or(0);
        }
        // The states after the server's own close (FIN_WAIT1, FIN_WAIT2,
        // TIME_WAIT, CLOSE, LAST_ACK, CLOSING); a fresh connection shows
        // SYN_RECV first, which is no close.
        let closed = matches!(state, "04" | "05" | "06" | "07" | "09" | "0B");
        if closed && slot.server_closed_at.load(Relaxed) == NEVER {
            slot.server_closed_at.store(now, Relaxed);
        }
    }
    for &i in ports.values() {
        let slot = &shared.slots[i];
        if slot.server_seen.load(Relaxed) && !present[i] {
            slot.server_gone_at.store(now, Relaxed);
            if slot.server_closed_at.load(Relaxed) == NEVER {
                slot.server_closed_at.store(now, Relaxed);
            }
        }
    }
    Some(queued)
}
