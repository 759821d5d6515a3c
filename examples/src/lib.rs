//! Runnable examples of the `sse` crates; see the binaries in `src/bin`.
