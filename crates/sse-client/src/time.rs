//! The clocks and the timer the client waits on: tokio's off the browser,
//! the browser's own on wasm32 (`setTimeout`, `performance.now()`,
//! `Date.now()`), where there is no tokio runtime and std's clocks panic.

use std::{
    future::Future,
    task::Poll,
    time::{Duration, SystemTime},
};

/// The monotonic clock the timers run on. Off the browser it is tokio's,
/// so that the time budget and the stable time are measured as the waits
/// are (paused time included, in tests).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use tokio::time::Instant;
/// The monotonic clock the timers run on: `performance.now()`.
#[cfg(target_arch = "wasm32")]
pub(crate) use web_time::Instant;

/// The wall clock, for `Retry-After` dates.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn system_now() -> SystemTime {
    SystemTime::now()
}

/// The wall clock, for `Retry-After` dates: `Date.now()` as a std
/// `SystemTime` (whose own `now` panics in the browser).
#[cfg(target_arch = "wasm32")]
pub(crate) fn system_now() -> SystemTime {
    let since_epoch = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .unwrap_or_default();
    SystemTime::UNIX_EPOCH + since_epoch
}

#[cfg(target_arch = "wasm32")]
pub(crate) use self::browser::Sleep;
/// A timer that fires at a deadline and can be moved to another: tokio's
/// off the browser, `setTimeout` in it. `new(duration)` makes one that
/// fires after `duration` (never, for one too long to add to now),
/// `until(deadline)` one that fires at `deadline`, and `reset(deadline)`
/// moves it, so that it fires again.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use self::native::Sleep;

/// `future`'s output, or `None` if `limit` passed first.
pub(crate) async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut timer = Sleep::new(limit);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        timer.poll(cx).map(|()| None)
    })
    .await
}

/// tokio's timer.
#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::Instant;
    use std::{
        future::Future,
        pin::Pin,
        task::{Context, Poll},
        time::Duration,
    };

    #[derive(Debug)]
    pub(crate) struct Sleep(Pin<Box<tokio::time::Sleep>>);

    impl Sleep {
        pub(crate) fn new(duration: Duration) -> Sleep {
            // `sleep` saturates a delay too long to add to now.
            Sleep(Box::pin(tokio::time::sleep(duration)))
        }

        pub(crate) fn until(deadline: Instant) -> Sleep {
            Sleep(Box::pin(tokio::time::sleep_until(deadline)))
        }

        pub(crate) fn reset(&mut self, deadline: Instant) {
            self.0.as_mut().reset(deadline);
        }

        pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            self.0.as_mut().poll(cx)
        }
    }
}

/// The browser's timer: `setTimeout` through gloo-timers, in steps of at
/// most `i32::MAX` milliseconds (about 24.8 days; browsers fire a longer
/// timeout at once), with the clock read again after each.
#[cfg(target_arch = "wasm32")]
mod browser {
    use super::Instant;
    use gloo_timers::future::TimeoutFuture;
    use std::{
        fmt,
        future::Future,
        pin::Pin,
        task::{Context, Poll},
        time::Duration,
    };

    /// The longest single `setTimeout` that browsers honour, in ms.
    const MAX_TIMEOUT_MS: u128 = i32::MAX as u128;

    pub(crate) struct Sleep {
        /// `None` never fires.
        deadline: Option<Instant>,
        /// The `setTimeout` under way, made on first poll.
        step: Option<TimeoutFuture>,
    }

    impl Sleep {
        pub(crate) fn new(duration: Duration) -> Sleep {
            Sleep {
                deadline: Instant::now().checked_add(duration),
                step: None,
            }
        }

        pub(crate) fn until(deadline: Instant) -> Sleep {
            Sleep {
                deadline: Some(deadline),
                step: None,
            }
        }

        pub(crate) fn reset(&mut self, deadline: Instant) {
            self.deadline = Some(deadline);
            self.step = None;
        }

        pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            let Some(deadline) = self.deadline else {
                return Poll::Pending;
            };
            loop {
                let step = match &mut self.step {
                    Some(step) => step,
                    None => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Poll::Ready(());
                        }
                        // Rounded up, so as not to wake a millisecond early
                        // only to wait again.
                        let ms = left.as_nanos().div_ceil(1_000_000).min(MAX_TIMEOUT_MS);
                        // At most `i32::MAX`, so it fits.
                        let ms = u32::try_from(ms).unwrap_or(u32::MAX);
                        self.step.insert(TimeoutFuture::new(ms))
                    }
                };
                if Pin::new(step).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.step = None;
            }
        }
    }

    impl fmt::Debug for Sleep {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Sleep")
                .field("deadline", &self.deadline)
                .finish_non_exhaustive()
        }
    }
}
