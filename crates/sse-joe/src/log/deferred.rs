//! Where a publish's wake pass runs: in the publish's own call, or, when it
//! has many subscribers to wake and the publish runs inside a tokio
//! runtime, in a task of its own, so that what a publisher waits for does
//! not grow with the number of subscribers.
//!
//! Waking takes a load of each subscriber's flag (a cache miss apiece) and
//! a waker call for each that waits: at 10,000 subscribers of a topic, a
//! hub's `POST` took 1.9 to 2.4 ms at the median with the pass in the call
//! and 0.21 to 0.38 ms without it. A hub answers a `POST` only after its
//! publish returns, so that time would be every publisher's latency. In a
//! task of its own, the pass runs right after the publishing task yields
//! (tokio runs a task spawned from a worker next), and a second worker may
//! take it while the first answers.

use super::waiter::{Waiters, wake_waiting};

/// The most subscribers a publish wakes in its own call.
pub(crate) const WAKE_IN_CALL: usize = 64;

/// Wakes the waiters in `lists` that wait, now or in a task of their own
/// (see the module's docs), and leaves `lists` empty: its buffer is kept
/// when the pass runs here, taken by the task otherwise.
pub(crate) fn wake_or_defer(lists: &mut Vec<Waiters>) {
    if lists.iter().map(Waiters::len).sum::<usize>() > WAKE_IN_CALL && deferred(lists) {
        return;
    }
    wake_waiting(lists);
    lists.clear();
}

/// Hands the pass over `lists` to a task of its own, if a tokio runtime is
/// current.
#[cfg(all(feature = "tokio", not(loom)))]
fn deferred(lists: &mut Vec<Waiters>) -> bool {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    let pass = Pass(std::mem::take(lists));
    // The pass runs when the task drops it: run, or dropped unrun by a
    // runtime that is shutting down. Either way every waiter is woken once,
    // and none waits for a wake that never comes.
    drop(runtime.spawn(async move { drop(pass) }));
    true
}

#[cfg(not(all(feature = "tokio", not(loom))))]
fn deferred(_: &mut Vec<Waiters>) -> bool {
    false
}

/// A wake pass that runs when dropped.
#[cfg(all(feature = "tokio", not(loom)))]
struct Pass(Vec<Waiters>);

#[cfg(all(feature = "tokio", not(loom)))]
impl Drop for Pass {
    fn drop(&mut self) {
        wake_waiting(&self.0);
    }
}
