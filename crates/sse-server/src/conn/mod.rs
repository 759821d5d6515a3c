//! Connection limits: the protection an event-stream server needs against
//! clients that stop reading or never finish a request.
//!
//! [`ConnectionLimits`] is the configuration, [`LimitedListener`] accepts
//! connections with it, and [`LimitedIo`] enforces it on each one.

mod framing;
mod io;
mod limits;
mod listener;

pub use self::io::LimitedIo;
pub use self::limits::{
    ConnectionLimits, DEFAULT_BODY_TIMEOUT, DEFAULT_HEAD_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_SEND_BUFFER, DEFAULT_WRITE_TIMEOUT,
};
pub use self::listener::LimitedListener;

#[cfg(test)]
mod tests;
