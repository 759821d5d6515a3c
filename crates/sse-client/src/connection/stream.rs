//! The connection as a [`Stream`]: each poll takes the connection through
//! its [`State`]s until there is an update to yield.

use super::{Connection, request::next_request, state::State};
use crate::{Error, Skipped, Update, decode::Decoded};
use futures_core::Stream;
use sse_codec::ParseError;
use std::{
    pin::Pin,
    task::{Context, Poll},
};

impl Connection {
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Update, Error>>> {
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(None),
                State::Start => {
                    if !self.started {
                        // The maximum elapsed time counts from the first
                        // request, not from when the connection was made.
                        self.started = true;
                        self.reconnect.started();
                    }
                    let request = next_request(&mut self.request, &self.last_event_id);
                    #[cfg(target_arch = "wasm32")]
                    let request = request
                        .and_then(|request| super::request::no_store(&self.config.http, request));
                    let request = match request {
                        Ok(request) => request,
                        Err(err) => {
                            self.state = State::Done;
                            return Poll::Ready(Some(Err(err)));
                        }
                    };
                    let response = self.config.http.execute(request);
                    self.state = State::Connecting(Box::pin(response));
                    self.start_idle();
                }
                State::Connecting(response) => match response.as_mut().poll(cx) {
                    Poll::Ready(Ok(response)) => {
                        if let Some(item) = self.on_response(response) {
                            return Poll::Ready(Some(item));
                        }
                    }
                    Poll::Ready(Err(err)) => {
                        let err = Error::reqwest(err);
                        let retry = !err.is_permanent();
                        return Poll::Ready(self.fail(Some(err), retry, None));
                    }
                    Poll::Pending => {
                        if !self.idle_elapsed(cx) {
                            return Poll::Pending;
                        }
                        let err = self.timed_out();
                        return Poll::Ready(self.fail(Some(err), true, None));
                    }
                },
                State::Refusing {
                    excerpt,
                    status,
                    headers,
                } => {
                    let body = std::task::ready!(excerpt.as_mut().poll(cx));
                    let (status, headers) = (*status, std::mem::take(headers));
                    return Poll::Ready(self.on_refused(status, headers, body));
                }
                State::Streaming { body, decoder } => {
                    match decoder.next() {
                        Ok(Some(Decoded::Event(event))) => {
                            return Poll::Ready(Some(Ok(Update::Event(event))));
                        }
                        Ok(Some(Decoded::Comment(text))) => {
                            return Poll::Ready(Some(Ok(Update::Comment(text))));
                        }
                        Err(ParseError::EventTooLarge { limit }) => {
                            return Poll::Ready(Some(Ok(Update::Skipped(Skipped { limit }))));
                        }
                        Err(_) | Ok(None) => {}
                    }
                    if decoder.is_finished() {
                        // "If the file ends in the middle of an event,
                        // before the final empty line, the incomplete event
                        // is not dispatched": said as `read` says it.
                        let cut = decoder.is_partial().then(Error::truncated);
                        return Poll::Ready(self.on_disconnect(cut));
                    }
                    match body.as_mut().poll_next(cx) {
                        Poll::Ready(Some(Ok(chunk))) => {
                            decoder.feed(chunk);
                            if let Some(idle) = &mut self.idle {
                                idle.touch();
                            }
                        }
                        Poll::Ready(Some(Err(err))) => {
                            return Poll::Ready(self.on_disconnect(Some(Error::reqwest(err))));
                        }
                        // "When the end of the response body is reached [...]
                        // reestablish the connection. This applies whether
                        // the connection is closed gracefully or
                        // unexpectedly." The events still in the decoder
                        // come out first.
                        Poll::Ready(None) => decoder.finish(),
                        Poll::Pending => {
                            if !self.idle_elapsed(cx) {
                                return Poll::Pending;
                            }
                            let err = self.timed_out();
                            return Poll::Ready(self.on_disconnect(Some(err)));
                        }
                    }
                }
                State::Waiting => {
                    if let Some(timer) = &mut self.delay {
                        std::task::ready!(timer.poll(cx));
                    }
                    self.state = State::Start;
                }
            }
        }
    }
}

impl Stream for Connection {
    type Item = Result<Update, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.poll_closed(cx) {
            // Drop the response (and its socket) now, not with the stream.
            this.pending = None;
            return Poll::Ready(match std::mem::replace(&mut this.state, State::Done) {
                State::Done => None,
                _ => Some(Ok(Update::Closed)),
            });
        }
        if let Some(item) = this.pending.take() {
            if item.is_err() {
                this.state = State::Done;
            }
            return Poll::Ready(Some(item));
        }
        this.poll_step(cx)
    }
}
