//! How much of an event stream the HTTP layer holds and has not written.
//!
//! A body hands chunks to the HTTP implementation, which buffers them until
//! the connection takes them: hyper's HTTP/1 takes chunks while it holds
//! less than its `max_buf_size` (about 400 KiB unless configured, and
//! `axum::serve` cannot configure it), HTTP/2 while the peer's flow-control
//! window is open (several MiB from a browser). For a client that stopped
//! reading, that is memory held for nothing until the write timeout. So an
//! event body counts what it handed out and stops producing once a limit is
//! unconfirmed, whatever the HTTP layer's own buffer.
//!
//! The HTTP layer says nothing of what it wrote, but it drops each chunk
//! once the chunk is written, and writes a response's chunks in order. So
//! every so often a chunk is *marked*: made with [`Bytes::from_owner`] so
//! that its drop records how far the stream has been written and wakes the
//! body. One marker per half limit keeps this off the per-event path (one
//! small allocation per 16 KiB sent, by default).

use bytes::Bytes;
use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll, Waker},
};

/// A body's count of the bytes it handed out and the bytes known written.
pub(crate) struct Unsent {
    limit: u64,
    /// Bytes handed out so far.
    sent: u64,
    /// `sent` after the last marked chunk.
    marked: u64,
    written: Arc<Written>,
}

/// What the marked chunks report when the HTTP layer drops them.
#[derive(Default)]
struct Written {
    /// The end of the furthest marked chunk dropped: every byte before it
    /// was written (chunks are written, and dropped, in order).
    upto: AtomicU64,
    /// The body's task, while it waits for room.
    waker: Mutex<Option<Waker>>,
}

/// A chunk whose drop reports that the stream was written up to its end.
struct Marked {
    bytes: Bytes,
    end: u64,
    written: Arc<Written>,
}

impl AsRef<[u8]> for Marked {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Marked {
    fn drop(&mut self) {
        self.written.upto.fetch_max(self.end, Ordering::AcqRel);
        let waker = self
            .written
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Woken outside the lock.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Unsent {
    /// A count that lets at most `limit` bytes wait unwritten (plus the
    /// chunk that reaches it).
    pub(crate) fn new(limit: usize) -> Unsent {
        Unsent {
            limit: limit as u64,
            sent: 0,
            marked: 0,
            written: Arc::default(),
        }
    }

    /// The bytes handed out and not known to be written.
    fn unconfirmed(&self) -> u64 {
        self.sent - self.written.upto.load(Ordering::Acquire)
    }

    /// The bytes that may still be handed out.
    fn room(&self) -> Option<usize> {
        let room = self
            .limit
            .checked_sub(self.unconfirmed())
            .filter(|&room| room > 0)?;
        Some(usize::try_from(room).unwrap_or(usize::MAX))
    }

    /// Ready with the bytes that may still be handed out while fewer than
    /// the limit's wait unwritten; otherwise the task is woken once the
    /// HTTP layer has written more.
    pub(crate) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<usize> {
        if let Some(room) = self.room() {
            return Poll::Ready(room);
        }
        {
            let mut waker = self
                .written
                .waker
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match &mut *waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                waker => *waker = Some(cx.waker().clone()),
            }
        }
        // A chunk dropped before the waker was in place woke nobody: look
        // again.
        match self.room() {
            Some(room) => Poll::Ready(room),
            None => Poll::Pending,
        }
    }

    /// Counts `chunk` as handed out, and marks it when half a limit went
    /// out since the last mark, or when it fills the limit (so that a body
    /// that waits for room always has a marked chunk to wait for).
    pub(crate) fn send(&mut self, chunk: Bytes) -> Bytes {
        self.sent += chunk.len() as u64;
        if self.sent - self.marked < self.limit / 2 && self.unconfirmed() < self.limit {
            return chunk;
        }
        self.marked = self.sent;
        Bytes::from_owner(Marked {
            bytes: chunk,
            end: self.sent,
            written: Arc::clone(&self.written),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        sync::atomic::AtomicUsize,
        task::{Wake, Waker},
    };

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn chunk(len: usize) -> Bytes {
        Bytes::from(vec![b'x'; len])
    }

    #[test]
    fn a_body_waits_at_the_limit_until_the_marked_chunk_is_dropped() {
        let woken = Arc::new(Count::default());
        let waker = Waker::from(Arc::clone(&woken));
        let mut cx = Context::from_waker(&waker);
        let mut unsent = Unsent::new(100);
        let mut held = Vec::new();
        while unsent.poll_room(&mut cx).is_ready() {
            held.push(unsent.send(chunk(30)));
        }
        // Sent up to 30, 60 (marked: half the limit went out), 90, 120
        // (marked: it fills the limit).
        assert_eq!(held.len(), 4);
        // Dropping an unmarked chunk says nothing; dropping the marked one
        // after it says 60 bytes were written, which makes room.
        drop(held.remove(0));
        assert_eq!(woken.0.load(Ordering::Relaxed), 0, "an unmarked chunk");
        drop(held.remove(0));
        assert_eq!(woken.0.load(Ordering::Relaxed), 1);
        assert!(unsent.poll_room(&mut cx).is_ready());
    }

    #[test]
    fn one_chunk_larger_than_the_limit_is_marked_and_waited_for() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut unsent = Unsent::new(100);
        let big = unsent.send(chunk(1000));
        assert!(unsent.poll_room(&mut cx).is_pending());
        drop(big);
        assert!(unsent.poll_room(&mut cx).is_ready());
        // The next small ones pass through unmarked again.
        let small = unsent.send(chunk(10));
        assert_eq!(small.len(), 10);
        assert!(unsent.poll_room(&mut cx).is_ready());
    }

    #[test]
    fn chunks_dropped_in_order_free_exactly_what_was_written() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut unsent = Unsent::new(64);
        let mut held = std::collections::VecDeque::new();
        for _ in 0..1000 {
            while unsent.poll_room(&mut cx).is_pending() {
                held.pop_front();
            }
            held.push_back(unsent.send(chunk(7)));
            assert!(unsent.unconfirmed() < 64 + 7);
        }
    }
}
