//! Boxed futures and streams. Off the browser they are `Send`, so that a
//! connection can move between a runtime's threads; in the browser
//! (wasm32) they cannot be, since reqwest's futures and bodies there hold
//! JavaScript values, and there is only the one thread anyway.

use futures_core::Stream;
use std::{future::Future, pin::Pin};

/// A boxed future, `Send` off the browser.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// A boxed future (in the browser, where nothing is `Send`).
#[cfg(target_arch = "wasm32")]
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A boxed stream, `Send` off the browser.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;
/// A boxed stream (in the browser, where nothing is `Send`).
#[cfg(target_arch = "wasm32")]
pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = T>>>;
