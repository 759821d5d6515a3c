//! The wall clock the payload contract's `t` is in.

use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
