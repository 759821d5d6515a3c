//! How an attempt ends and the next begins: a reconnection after a delay
//! ([`Update::Retrying`]), the end when the retries run out or the error is
//! permanent, closing, and the idle timeout that ends a silent attempt.

use super::{Connection, state::State};
use crate::{
    CloseHandle, Error, Retrying, Update,
    error::Kind,
    idle::Idle,
    retry::{Reconnect, Wait},
    time::Sleep,
};
use std::{future::Future, task::Context, time::Duration};

impl Connection {
    /// A handle that closes this connection from another task.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle {
            token: self.close.clone(),
        }
    }

    /// Closes the connection: the stream yields [`Update::Closed`] and
    /// ends, and the response in flight is dropped.
    pub fn close(&mut self) {
        self.close.cancel();
    }

    /// Ends the response under way and connects again, as the spec's
    /// "reestablish the connection" does when a response ends: the next
    /// item is an [`Update::Retrying`] with no error, and the request is
    /// sent again after the reconnection time (the server's `retry` time,
    /// or the backoff policy's delay), with the last event ID. The retry
    /// count, the backoff and the server's `retry` time carry on.
    ///
    /// While the connection is already waiting to reconnect, this changes
    /// nothing. After it ended (the retries ran out, a permanent error, a
    /// 204, [`close`](Connection::close) aside), it starts over: the
    /// request is sent again at once, as by a new connection that keeps
    /// the last event ID and the server's `retry` time.
    pub fn reconnect(&mut self) {
        match std::mem::replace(&mut self.state, State::Start) {
            State::Waiting => self.state = State::Waiting,
            State::Done => {
                if self.request.is_none() {
                    self.state = State::Done;
                    self.pending = Some(Err(Error::body_not_reusable()));
                    return;
                }
                self.pending = None;
                let limits = self.config.limits;
                let retry = self.reconnect.retry();
                self.reconnect = Reconnect::new((self.config.backoff)(), limits);
                if let Some(retry) = retry {
                    self.reconnect.set_retry(retry);
                }
                self.started = false;
            }
            state @ (State::Start
            | State::Connecting(_)
            | State::Refusing { .. }
            | State::Streaming { .. }) => {
                self.state = state;
                let item = match self.state {
                    State::Streaming { .. } => self.on_disconnect(None),
                    _ => self.fail(None, true, None),
                };
                self.pending = item;
            }
        }
    }

    /// Starts the idle timeout of an attempt, if there is one.
    pub(super) fn start_idle(&mut self) {
        self.idle = self.settings.idle_timeout.map(Idle::started);
    }

    /// Whether the idle timeout elapsed; registers for a wake-up otherwise.
    pub(super) fn idle_elapsed(&mut self, cx: &mut Context<'_>) -> bool {
        self.idle.as_mut().is_some_and(|idle| idle.elapsed(cx))
    }

    pub(super) fn timed_out(&self) -> Error {
        Error::timeout(self.idle.as_ref().map_or(Duration::ZERO, Idle::timeout))
    }

    /// Ends the current attempt. With `retry`, schedules the next one; the
    /// item to yield is returned.
    pub(super) fn fail(
        &mut self,
        error: Option<Error>,
        retry: bool,
        retry_after: Option<Duration>,
    ) -> Option<Result<Update, Error>> {
        self.idle = None;
        if !retry {
            self.state = State::Done;
            return error.map(Err);
        }
        if self.request.is_none() {
            // Checked now rather than when the delay is over: waiting would
            // only postpone the same error.
            self.state = State::Done;
            return Some(Err(Error::new(
                Kind::BodyNotReusable,
                error.map(|err| err.into()),
            )));
        }
        match self.reconnect.next(retry_after) {
            Wait::Retry { delay, attempt } => {
                tracing::debug!(?delay, attempt, error = ?error, "sse: reconnecting");
                // A delay too long to add to now never ends.
                self.delay = Some(Sleep::new(delay));
                self.state = State::Waiting;
                Some(Ok(Update::Retrying(Retrying {
                    error,
                    delay,
                    attempt,
                })))
            }
            Wait::Exhausted { attempts } => {
                self.state = State::Done;
                let err = match error {
                    Some(err) => Error::retries_exhausted(attempts, err),
                    None => Error::new(Kind::RetriesExhausted { attempts }, None),
                };
                Some(Err(err))
            }
        }
    }

    /// The response body ended or failed: keep what the stream set, and
    /// reconnect.
    pub(super) fn on_disconnect(&mut self, error: Option<Error>) -> Option<Result<Update, Error>> {
        if let State::Streaming { decoder, .. } = std::mem::replace(&mut self.state, State::Done) {
            // An event cut off here was never dispatched, and its `id` did
            // not count: the parser's last event ID is as of the last
            // complete event.
            self.last_event_id = decoder.last_event_id().clone();
            if let Some(retry) = decoder.retry() {
                self.reconnect.set_retry(retry);
            }
        }
        self.reconnect.closed();
        self.fail(error, true, None)
    }

    /// Whether the connection was closed; registers for a wake-up on close
    /// otherwise.
    pub(super) fn poll_closed(&mut self, cx: &mut Context<'_>) -> bool {
        let closed = self
            .closed
            .get_or_insert_with(|| Box::pin(self.close.clone().cancelled_owned()));
        closed.as_mut().poll(cx).is_ready()
    }
}
