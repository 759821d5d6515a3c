//! Runnable examples of the `sse` crates; see the binaries in `src/bin`.
//!
//! The demo application lives in [`demo`], so that its browser test can
//! start it in-process.

pub mod demo;
