//! How much history the stream keeps.

use std::time::Duration;

/// The history kept unless configured: about the last 1,000 entries.
pub const DEFAULT_RETENTION: Retention = Retention::Last(1000);

/// How much history the stream keeps, trimmed by every publish. Redis trims
/// approximately (`~`): whole internal nodes at a time, so it keeps at
/// least what is asked and a little more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retention {
    /// About the last `n` entries (`XADD ... MAXLEN ~ n`); like Joe's
    /// `FiniteReplayer`.
    Last(u64),
    /// The entries younger than this (`XADD ... MINID ~ <now - age>`), by
    /// the publishing process's clock (Redis numbers entries by its own
    /// clock: keep the two close); like Joe's `ValidReplayer`.
    Younger(Duration),
    /// The entries younger than `age`, and of those about the last `max`
    /// (`XADD ... MINID`, then `XTRIM ... MAXLEN`, in the one script): a
    /// burst of publishes within the age keeps the stream bounded too; like
    /// Joe's `ValidReplayer` with a `max_len`.
    YoungerAtMost {
        /// The oldest entry's age, at most.
        age: Duration,
        /// The number of entries, about at most.
        max: u64,
    },
    /// Everything: the stream grows until something else trims it.
    All,
}
