//! Core of rsng, the syslog-ng compatible logging daemon: the message
//! model, the template language and filters, plus the syslog facility and
//! severity names they share.
//!
//! Everything in this crate is synchronous and does no I/O: the
//! configuration front end (`rsng-config`) compiles the pieces of a config
//! with it, and the daemon evaluates the compiled forms against messages.
//!
//! * [`template`]: the syslog-ng 3.38 template language (`$HOST`,
//!   `${.SDATA.id.k:-default}`, `$(format-json ...)`), compiled once into a
//!   flat, evaluation-friendly representation.
//! * [`message`]: [`LogMessage`], the shared, copy-on-write message model.
//! * [`names`]: facility and severity names and codes.
//! * [`filter`]: compiled filter expressions and their evaluation.

pub mod bytes;
pub mod filter;
pub mod message;
pub mod names;
pub mod parser;
pub mod regex;
pub mod rewrite;
pub mod strrepr;
pub mod template;

pub use message::LogMessage;
