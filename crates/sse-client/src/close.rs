//! Closing a connection from another task.

use std::fmt;
use tokio_util::sync::CancellationToken;

/// Closes a [`Connection`](crate::Connection) from another task or thread;
/// from [`Connection::close_handle`](crate::Connection::close_handle).
///
/// # Examples
///
/// ```no_run
/// use futures_util::StreamExt;
/// use std::time::Duration;
///
/// # async fn run() {
/// let mut connection = sse_client::Client::new().get("http://127.0.0.1:8080/events");
/// let handle = connection.close_handle();
/// tokio::spawn(async move {
///     tokio::time::sleep(Duration::from_secs(10)).await;
///     handle.close();
/// });
/// while let Some(update) = connection.next().await {
///     println!("{update:?}");
/// }
/// // Closed after ten seconds.
/// # }
/// ```
#[derive(Clone)]
pub struct CloseHandle {
    pub(crate) token: CancellationToken,
}

impl CloseHandle {
    /// Closes the connection: its stream yields
    /// [`Update::Closed`](crate::Update::Closed) and ends at its next
    /// poll, which this wakes. Closing twice, or after the stream ended,
    /// does nothing.
    pub fn close(&self) {
        self.token.cancel();
    }

    /// Whether [`close`](CloseHandle::close) was called.
    pub fn is_closed(&self) -> bool {
        self.token.is_cancelled()
    }
}

impl fmt::Debug for CloseHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseHandle")
            .field("closed", &self.is_closed())
            .finish()
    }
}
