//! The idle timeout: a deadline that every received byte pushes forward,
//! without touching the timer each time.

use crate::time::{Instant, Sleep};
use std::{
    task::{Context, Poll},
    time::Duration,
};

/// Ends a wait when nothing arrives for `timeout`. The timer is made on
/// first use (so that a stream can be made outside a runtime) and is moved
/// only when it fires before the deadline, which received bytes pushed
/// forward.
#[derive(Debug)]
pub(crate) struct Idle {
    timeout: Duration,
    deadline: Option<Instant>,
    timer: Option<Sleep>,
}

impl Idle {
    /// A wait that starts now (a request sent, say).
    pub(crate) fn started(timeout: Duration) -> Idle {
        Idle {
            timeout,
            deadline: Instant::now().checked_add(timeout),
            timer: None,
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Something arrived: the wait starts again from now.
    pub(crate) fn touch(&mut self) {
        self.deadline = Instant::now().checked_add(self.timeout);
    }

    /// Whether the wait went on for the whole timeout; otherwise the task
    /// is woken when it might have.
    pub(crate) fn elapsed(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.deadline else {
            return false;
        };
        let timer = self.timer.get_or_insert_with(|| Sleep::until(deadline));
        loop {
            if timer.poll(cx) == Poll::Pending {
                return false;
            }
            if Instant::now() >= deadline {
                return true;
            }
            timer.reset(deadline);
        }
    }
}
