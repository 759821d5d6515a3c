//! What `/proc` says of a process: its resident memory and its CPU time.

/// Clock ticks per second of `/proc/PID/stat`'s times (USER_HZ, 100 on
/// every Linux architecture the kit runs on).
pub const TICKS_PER_SEC: f64 = 100.0;

/// Whose `/proc` entry to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// The load client itself.
    Myself,
    /// Another process, by pid.
    Pid(u32),
}

impl Proc {
    fn dir(self) -> String {
        match self {
            Proc::Myself => "/proc/self".into(),
            Proc::Pid(pid) => format!("/proc/{pid}"),
        }
    }

    /// Resident memory in KiB (`VmRSS` of `/proc/PID/status`).
    pub fn rss_kib(self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("{}/status", self.dir())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// User plus system CPU time in clock ticks (`utime` + `stime` of
    /// `/proc/PID/stat`).
    pub fn cpu_ticks(self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("{}/stat", self.dir())).ok()?;
        // The command name, in parentheses, may hold spaces: count fields
        // after its closing one (the state is field 3, utime 14, stime 15).
        let rest = stat.get(stat.rfind(')')? + 1..)?;
        let mut fields = rest.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some(utime + stime)
    }
}

/// CPU use in percent of one core between two [`Proc::cpu_ticks`] samples
/// `secs` apart (200 % is both cores of a 2-core machine).
pub fn cpu_pct(before: Option<u64>, after: Option<u64>, secs: f64) -> Option<f64> {
    match (before, after) {
        (Some(b), Some(a)) if secs > 0.0 && a >= b => {
            Some((a - b) as f64 / TICKS_PER_SEC / secs * 100.0)
        }
        _ => None,
    }
}
