//! The payload contract and the per-connection sequence check.
//!
//! Every event's data is `{"t":<unix ns>,"seq":<n>,"pad":"..."}`: `t` is
//! when it was published (the same clock as the client's, on one machine),
//! `seq` counts published events from 1.

use memchr::memmem;

/// The `t` and `seq` of an event's data, if it follows the contract.
pub fn parse_payload(data: &[u8]) -> Option<(u64, u64)> {
    Some((
        number_after(data, b"\"t\":")?,
        number_after(data, b"\"seq\":")?,
    ))
}

fn number_after(data: &[u8], key: &[u8]) -> Option<u64> {
    let start = memmem::find(data, key)? + key.len();
    let digits = &data[start..];
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in &digits[..len] {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

/// What one event's `seq` was, next to the connection's last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The connection's first event, or the one after the last.
    InOrder,
    /// Past the next one: `missing` events never came before it.
    Gap {
        /// Events skipped.
        missing: u64,
    },
    /// The same `seq` as the last event.
    Duplicate,
    /// Below the last event's.
    Reordered,
}

/// One connection's sequence, across its reconnections.
#[derive(Debug, Default, Clone)]
pub struct SeqChecker {
    last: Option<u64>,
    /// Events skipped in gaps.
    pub missing: u64,
    /// Gaps seen.
    pub gaps: u64,
    /// Events whose `seq` repeated the last one.
    pub duplicates: u64,
    /// Events whose `seq` went below the last one.
    pub reordered: u64,
}

impl SeqChecker {
    /// A connection that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The highest `seq` in order so far.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Checks the next event's `seq`.
    pub fn observe(&mut self, seq: u64) -> Step {
        match self.last {
            None => {
                self.last = Some(seq);
                Step::InOrder
            }
            Some(last) if seq == last + 1 => {
                self.last = Some(seq);
                Step::InOrder
            }
            Some(last) if seq > last => {
                let missing = seq - last - 1;
                self.gaps += 1;
                self.missing += missing;
                self.last = Some(seq);
                Step::Gap { missing }
            }
            Some(last) if seq == last => {
                self.duplicates += 1;
                Step::Duplicate
            }
            Some(_) => {
                self.reordered += 1;
                Step::Reordered
            }
        }
    }

    /// The events of `from..=to` (the sequence numbers published during the
    /// window, as far as any connection saw) that came after this
    /// connection's last one: what it never got at the end. Gaps are
    /// counted by [`SeqChecker::observe`].
    pub fn missing_at_end(&self, from: u64, to: u64) -> u64 {
        missing_at_end(self.last, from, to)
    }
}

/// [`SeqChecker::missing_at_end`] for a connection whose last `seq` was
/// `last`.
pub fn missing_at_end(last: Option<u64>, from: u64, to: u64) -> u64 {
    let first_missing = last.map_or(from, |l| (l + 1).max(from));
    (to + 1).saturating_sub(first_missing)
}
