//! A replayer that panics where told to, to check that Joe survives its
//! replayer. Shared by the unit tests (`src/tests.rs`) and the tracing
//! test (`tests/tracing.rs`), which both import what it names from `super`.

use super::{
    Encoded, Error, EventId, FiniteReplayer, Message, Replayer, Resume, Routing, Subscription,
};

/// Panics on the data `boom` (prepare) and `store boom` (store), and on a
/// replay from the ID `boom` after handing out part of the history; refuses
/// the data `reject`.
pub(crate) struct Exploding {
    pub(crate) inner: FiniteReplayer,
}

impl Replayer for Exploding {
    fn prepare(&mut self, message: &mut Message) -> Result<(), Error> {
        if message.get_data() == Some("boom") {
            panic!("prepare exploded");
        }
        if message.get_data() == Some("reject") {
            return Err(Error::Rejected("no thanks".into()));
        }
        self.inner.prepare(message)
    }

    fn store(&mut self, message: &Message, frame: &Encoded, routing: &Routing) {
        if message.get_data() == Some("store boom") {
            panic!("store exploded");
        }
        self.inner.store(message, frame, routing);
    }

    fn replay(
        &mut self,
        id: &EventId,
        subscription: &Subscription,
        out: &mut dyn FnMut(Encoded),
    ) -> Resume {
        if id == "boom" {
            // Hand out part of the history first: it must not leak out.
            self.inner
                .replay(&EventId::from_static("1"), subscription, out);
            panic!("replay exploded");
        }
        self.inner.replay(id, subscription, out)
    }
}
