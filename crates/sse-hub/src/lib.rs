//! A hub that speaks the Mercure protocol (draft-dunglas-mercure-07) on the
//! `sse` crates: publishers `POST` updates with a JWT, subscribers follow
//! topic selectors (exact, `*`, URI templates) over Server-Sent Events,
//! with private updates, reconciliation from `Last-Event-ID`, and history
//! in memory (Joe) or shared between hub processes (Redis).

pub mod auth;
