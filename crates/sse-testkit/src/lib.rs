//! Test support for the `sse` crates, used by their tests only:
//!
//! - [`conformance`]: the [`Provider`](sse_codec::Provider) contract as a
//!   suite, run against every provider in the tree;
//! - [`RedisServer`]: a real `redis-server` on a free port of 127.0.0.1,
//!   persistence off, in a directory of its own, stopped when dropped;
//! - [`Proxy`]: a TCP proxy on 127.0.0.1 that can cut its connections and
//!   send new ones elsewhere, as a load balancer or a failing network does;
//! - [`serve`]: a hyper HTTP/1 server running any tower service, shut
//!   down gracefully;
//! - `browser` (feature `browser`): headless Chromium driven by
//!   chromedriver, for pages that use `EventSource` and `fetch`;
//! - `tls` (feature `tls`): a self-signed certificate made in the test.

#[cfg(feature = "browser")]
pub mod browser;
pub mod conformance;
mod proxy;
mod redis_server;
mod serve;
#[cfg(feature = "tls")]
pub mod tls;

pub use crate::proxy::Proxy;
pub use crate::redis_server::RedisServer;
pub use crate::serve::{Served, serve};

use std::{future::Future, time::Duration};

/// How long any single wait in a test may take before it fails. Generous:
/// tests share two cores with builds; nothing correct waits this long.
pub const BOUND: Duration = Duration::from_secs(20);

/// Runs `future`, failing the test with `what` if it takes longer than
/// [`BOUND`].
pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(BOUND, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {BOUND:?}: {what}"),
    }
}

/// Waits, boundedly, until `cond` holds.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    bounded(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
