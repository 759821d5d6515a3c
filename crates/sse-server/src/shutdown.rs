//! A one-shot signal that ends every open response body.
//!
//! Bodies check an atomic flag on each poll and register their waker once,
//! so the hot path (a body polled for every frame it sends) takes no lock;
//! the lock is taken when a body first waits, when its task's waker changes
//! (rare), when it is dropped, and once when the signal fires.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Waker},
};

#[derive(Default)]
pub(crate) struct Signal {
    fired: AtomicBool,
    wakers: Mutex<Wakers>,
}

#[derive(Default)]
struct Wakers {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Signal {
    pub(crate) fn fire(&self) {
        self.fired.store(true, Ordering::Release);
        let woken: Vec<Waker> = {
            let mut wakers = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
            wakers.free.clear();
            wakers.slots.drain(..).flatten().collect()
        };
        // Woken outside the lock: a waker may run code that drops a body,
        // which takes the lock.
        for waker in woken {
            waker.wake();
        }
    }

    pub(crate) fn is_fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }
}

/// One body's registration with a [`Signal`].
pub(crate) struct Listener {
    signal: Arc<Signal>,
    slot: Option<(usize, Waker)>,
}

impl Listener {
    pub(crate) fn new(signal: Arc<Signal>) -> Listener {
        Listener { signal, slot: None }
    }

    /// Ready once the signal has fired; otherwise the task is woken when it
    /// fires.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.is_fired() {
            return Poll::Ready(());
        }
        match &mut self.slot {
            Some((_, waker)) if waker.will_wake(cx.waker()) => return Poll::Pending,
            _ => {}
        }
        let mut wakers = self
            .signal
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Checked again under the lock: `fire` sets the flag before it
        // takes the lock, so either it sees this waker or we see the flag.
        if self.signal.is_fired() {
            return Poll::Ready(());
        }
        let waker = cx.waker().clone();
        match &mut self.slot {
            Some((index, old)) if wakers.slots.get(*index).is_some_and(Option::is_some) => {
                wakers.slots[*index] = Some(waker.clone());
                *old = waker;
            }
            _ => {
                let index = match wakers.free.pop() {
                    Some(index) => {
                        wakers.slots[index] = Some(waker.clone());
                        index
                    }
                    None => {
                        wakers.slots.push(Some(waker.clone()));
                        wakers.slots.len() - 1
                    }
                };
                self.slot = Some((index, waker));
            }
        }
        Poll::Pending
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some((index, _)) = self.slot.take() {
            let mut wakers = self
                .signal
                .wakers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // After `fire` the slots were drained; there is nothing to free.
            if let Some(slot @ Some(_)) = wakers.slots.get_mut(index) {
                *slot = None;
                wakers.free.push(index);
            }
        }
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
    fn fire_wakes_registered_listeners_once_and_frees_slots_on_drop() {
        let signal = Arc::new(Signal::default());
        let count = Arc::new(Count(Default::default()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut a = Listener::new(signal.clone());
        let mut b = Listener::new(signal.clone());
        let c = {
            let mut c = Listener::new(signal.clone());
            assert!(c.poll(&mut cx).is_pending());
            c
        };
        assert!(a.poll(&mut cx).is_pending());
        assert!(b.poll(&mut cx).is_pending());
        assert!(a.poll(&mut cx).is_pending());
        drop(c);
        assert_eq!(signal.wakers.lock().unwrap().free, [0]);
        let mut d = Listener::new(signal.clone());
        assert!(d.poll(&mut cx).is_pending());
        assert!(signal.wakers.lock().unwrap().free.is_empty());
        signal.fire();
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert!(a.poll(&mut cx).is_ready());
        assert!(b.poll(&mut cx).is_ready());
        drop(d);
        assert!(signal.wakers.lock().unwrap().slots.is_empty());
    }
}
