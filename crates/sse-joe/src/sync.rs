//! The atomics, locks and reference counts the logs and their readers
//! share: `std`'s, or loom's when the unit tests are built with
//! `--cfg loom` for the model of the wake protocol in `log/loom.rs`.
//!
//! With loom, these types work only inside `loom::model`: that build runs
//! the model and nothing else.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU64, Ordering, fence},
};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU64, Ordering, fence},
};
