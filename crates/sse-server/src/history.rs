//! Which clients a server gives the provider's retained history.

/// Which clients get everything the provider retains, besides a client
/// that resumes exactly (which always gets what it missed): set with
/// [`Builder::history`](crate::Builder::history).
///
/// | the client sends | `Resumes` | `OnRequest` | `ForNewClients` |
/// |---|---|---|---|
/// | no last event ID | live events | live events | everything retained, then live |
/// | [`earliest`](crate::EARLIEST) | an unknown ID (lost) | everything retained | everything retained |
/// | an ID the provider lost | the lost signal, live | the lost signal, everything retained | the lost signal, everything retained |
/// | an ID it holds | what it missed | what it missed | what it missed |
///
/// `OnRequest` is what a Mercure hub does; `ForNewClients` shows a new
/// browser tab the recent history. Where `earliest` is not honoured it is
/// an ID like any other, so an application may use it as one of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum History {
    /// Only a client that resumes gets history: what it missed.
    #[default]
    Resumes,
    /// Also a client that asks with the last event ID `earliest`, and one
    /// whose resume was lost, get everything retained.
    OnRequest,
    /// Also a client that sends no last event ID gets everything
    /// retained.
    ForNewClients,
}

impl History {
    /// Whether the last event ID `earliest` asks for the whole history.
    pub(crate) fn honours_earliest(self) -> bool {
        self != History::Resumes
    }

    /// Whether a client without a last event ID gets the history.
    pub(crate) fn for_new_clients(self) -> bool {
        self == History::ForNewClients
    }
}
