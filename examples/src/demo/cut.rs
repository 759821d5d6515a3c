//! The page's "cut the connection" button: ends one page's event stream
//! from the server, as a crashed proxy would, so that a person can watch
//! the browser reconnect and resume.

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};
use tokio::sync::watch;

/// The longest session name a page may choose.
const MAX_NAME: usize = 64;

/// The open streams that a page named, by name; one entry per open stream.
#[derive(Clone, Default)]
pub(crate) struct Cuts(Arc<Mutex<HashMap<String, watch::Sender<bool>>>>);

impl Cuts {
    /// Wraps a stream's body so that [`cut`](Cuts::cut) with `session`
    /// ends it; a name that is too long or not made of letters, digits and
    /// dashes leaves it as it is.
    pub(crate) fn watch(&self, session: Option<String>, body: sse::server::Body) -> Body {
        let Some(session) = session.filter(|name| is_name(name)) else {
            return Body::new(body);
        };
        let (cut, mut watched) = watch::channel(false);
        let registered = Registered {
            cuts: self.clone(),
            session: session.clone(),
            cut: cut.clone(),
        };
        self.lock().insert(session, cut);
        Body::new(Cuttable {
            body,
            cut: Box::pin(async move {
                let _ = watched.wait_for(|cut| *cut).await;
            }),
            _registered: registered,
        })
    }

    /// Ends the stream named `session`; whether there was one.
    pub(crate) fn cut(&self, session: &str) -> bool {
        self.lock()
            .get(session)
            .is_some_and(|cut| cut.send(true).is_ok())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<bool>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn is_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Takes a stream's name out of [`Cuts`] when its body is dropped, unless
/// a newer stream took the name since.
struct Registered {
    cuts: Cuts,
    session: String,
    cut: watch::Sender<bool>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut cuts = self.cuts.lock();
        if cuts
            .get(&self.session)
            .is_some_and(|cut| cut.same_channel(&self.cut))
        {
            cuts.remove(&self.session);
        }
    }
}

/// An event-stream body that ends cleanly when it is cut.
struct Cuttable {
    body: sse::server::Body,
    cut: Pin<Box<dyn Future<Output = ()> + Send>>,
    _registered: Registered,
}

impl http_body::Body for Cuttable {
    type Data = Bytes;
    type Error = sse::server::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.cut.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::is_name;

    #[test]
    fn names_are_short_and_plain() {
        assert!(is_name("a1-b2"));
        assert!(!is_name(""));
        assert!(!is_name("a b"));
        assert!(!is_name(&"a".repeat(65)));
    }
}
