//! A one-shot signal that ends every open response body.
//!
//! The wake-ups are tokio-util's [`CancellationToken`]'s: each body holds
//! the token's [`WaitForCancellationFutureOwned`], and the token wakes the
//! bodies that wait when it is cancelled. A body does not poll that future
//! each time it is polled, though, because it is polled for every frame it
//! sends, and the token's checks take locks: `is_cancelled` locks the
//! token's mutex, and the future, until the token is cancelled, also locks
//! the waiter list that every body of a server shares. So the signal keeps
//! an atomic flag of its own, set before the token is cancelled, which a
//! body checks on each poll; it polls the token's future only when it first
//! waits and when its task's waker changes (rare), so that the token holds
//! the waker to wake.

use pin_project_lite::pin_project;
use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Waker},
};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

#[derive(Default)]
pub(crate) struct Signal {
    fired: AtomicBool,
    token: CancellationToken,
}

impl Signal {
    pub(crate) fn fire(&self) {
        // Set before the token wakes anyone: a woken body finds it set.
        self.fired.store(true, Ordering::Release);
        self.token.cancel();
    }

    pub(crate) fn is_fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }
}

pin_project! {
    /// One body's wait for a [`Signal`].
    pub(crate) struct Listener {
        signal: Arc<Signal>,
        #[pin]
        cancelled: WaitForCancellationFutureOwned,
        // The waker `cancelled` was last polled with: the one the token
        // wakes.
        waker: Option<Waker>,
    }
}

impl Listener {
    pub(crate) fn new(signal: Arc<Signal>) -> Listener {
        let cancelled = signal.token.clone().cancelled_owned();
        Listener {
            signal,
            cancelled,
            waker: None,
        }
    }

    /// Ready once the signal has fired; otherwise the task is woken when it
    /// fires.
    pub(crate) fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.signal.is_fired() {
            return Poll::Ready(());
        }
        if this
            .waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        // The token is checked again before the waker is stored: `fire`
        // cancels it after setting the flag, so either the token wakes
        // this waker or the future sees it cancelled.
        *this.waker = Some(cx.waker().clone());
        this.cancelled.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Count(std::sync::atomic::AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn fire_wakes_registered_listeners_once_and_not_dropped_ones() {
        let signal = Arc::new(Signal::default());
        let count = Arc::new(Count(Default::default()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut a = Box::pin(Listener::new(signal.clone()));
        let mut b = Box::pin(Listener::new(signal.clone()));
        let c = {
            let mut c = Box::pin(Listener::new(signal.clone()));
            assert!(c.as_mut().poll(&mut cx).is_pending());
            c
        };
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert!(b.as_mut().poll(&mut cx).is_pending());
        assert!(a.as_mut().poll(&mut cx).is_pending());
        drop(c);
        let mut d = Box::pin(Listener::new(signal.clone()));
        assert!(d.as_mut().poll(&mut cx).is_pending());
        signal.fire();
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert!(a.as_mut().poll(&mut cx).is_ready());
        assert!(b.as_mut().poll(&mut cx).is_ready());
        drop(d);
    }

    #[test]
    fn a_listener_polled_with_a_new_waker_is_woken_through_it() {
        let signal = Arc::new(Signal::default());
        let first = Arc::new(Count(Default::default()));
        let second = Arc::new(Count(Default::default()));
        let mut listener = Box::pin(Listener::new(signal.clone()));
        for count in [&first, &second] {
            let waker = Waker::from(count.clone());
            assert!(
                listener
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
        }
        signal.fire();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }
}
