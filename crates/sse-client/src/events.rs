//! Filtering a stream of updates down to events.

use crate::{Error, Update};
use futures_core::Stream;
use sse_codec::Event;
use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

pin_project_lite::pin_project! {
    /// The events of a stream of [`Update`]s, all of them or those of one
    /// type; from [`Connection::events`](crate::Connection::events),
    /// [`messages`](crate::Connection::messages) and
    /// [`events_of_type`](crate::Connection::events_of_type).
    ///
    /// Lifecycle items ([`Update::Open`], [`Update::Retrying`],
    /// [`Update::Closed`]) and comments are left out; errors are passed on.
    /// Polling is cancel safe when the inner stream's is, as a
    /// [`Connection`](crate::Connection)'s is.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # async fn run() -> Result<(), sse_client::Error> {
    /// let connection = sse_client::Client::new().get("http://127.0.0.1:8080/events");
    /// let mut prices = connection.events_of_type("price");
    /// while let Some(event) = prices.next().await {
    ///     println!("price: {}", event?.data());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    #[derive(Debug)]
    pub struct Events<S> {
        #[pin]
        inner: S,
        event_type: Option<String>,
    }
}

impl<S> Events<S> {
    /// Every event of `inner` (go-sse's `SubscribeToAll`).
    pub fn all(inner: S) -> Events<S> {
        Events {
            inner,
            event_type: None,
        }
    }

    /// The events of `inner` whose type is `event_type` (go-sse's
    /// `SubscribeEvent`).
    pub fn of_type(inner: S, event_type: impl Into<String>) -> Events<S> {
        Events {
            inner,
            event_type: Some(event_type.into()),
        }
    }

    /// The type of the events kept, `None` for all.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The stream of updates, for example the
    /// [`Connection`](crate::Connection) to take a
    /// [`CloseHandle`](crate::CloseHandle) from.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream of updates, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Returns the stream of updates.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Stream for Events<S>
where
    S: Stream<Item = Result<Update, Error>>,
{
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(Update::Event(event))) => {
                    let wanted = this
                        .event_type
                        .as_deref()
                        .is_none_or(|wanted| wanted == event.event_type());
                    if wanted {
                        return Poll::Ready(Some(Ok(event)));
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Poll::Ready(Some(Err(err))),
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.inner.size_hint().1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sse_codec::Parser;
    use std::collections::VecDeque;

    struct Updates(VecDeque<Result<Update, Error>>);

    impl Stream for Updates {
        type Item = Result<Update, Error>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.0.pop_front())
        }
    }

    fn updates() -> Updates {
        let mut parser = Parser::new();
        parser.feed(&b"data: a\n\nevent: price\ndata: b\n\ndata: c\n\n"[..]);
        let mut items = VecDeque::new();
        items.push_back(Ok(Update::Comment("hi".to_owned())));
        while let Some(event) = parser.next_event().unwrap() {
            items.push_back(Ok(Update::Event(event)));
            items.push_back(Ok(Update::Closed));
        }
        items.push_back(Err(Error::truncated()));
        Updates(items)
    }

    fn collect<S: Stream<Item = Result<Event, Error>> + Unpin>(mut s: S) -> Vec<String> {
        let mut out = Vec::new();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        while let Poll::Ready(Some(item)) = Pin::new(&mut s).poll_next(&mut cx) {
            out.push(match item {
                Ok(event) => event.data().to_owned(),
                Err(err) => err.to_string(),
            });
        }
        out
    }

    #[test]
    fn filters_by_type_and_keeps_errors() {
        let truncated = Error::truncated().to_string();
        assert_eq!(collect(Events::all(updates())), ["a", "b", "c", &truncated]);
        assert_eq!(
            collect(Events::of_type(updates(), "message")),
            ["a", "c", &truncated]
        );
        assert_eq!(
            collect(Events::of_type(updates(), "price")),
            ["b", &truncated]
        );
    }
}
