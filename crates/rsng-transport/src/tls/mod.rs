//! TLS for the network drivers, with OpenSSL (through the `openssl` and `tokio-openssl` crates),
//! as syslog-ng 3.38's `tls()` block configures it.
//!
//! * [`TlsConfig`]: the options as written (`key-file()`, `peer-verify()`, `cipher-suite()`, ...).
//! * [`TlsContext`]: the loaded context of one `tls()` block, built once at start-up so that a
//!   bad key or cipher list stops rsng with the block's location. It runs handshakes:
//!   [`TlsContext::accept`] for sources, [`TlsContext::connect`] for destinations.
//! * [`peer_verification`]: syslog-ng's rules on top of OpenSSL's chain validation
//!   (`peer-verify()` modes, `trusted-dn()`, `trusted-keys()`, host names, CRLs), with its
//!   messages and hints for the usual mistakes.
//! * [`TlsStream`]: an established connection; a peer closing without close_notify ends it
//!   normally, and [`PeerIdentity`] gives the `.tls.x509_*` values of received messages.
//!
//! Messages go to a [`LogSink`] supplied by the driver, so that this crate stays below the
//! drivers. Key material and passphrases are never part of a message.
//!
//! ```no_run
//! use std::sync::Arc;
//! use rsng_transport::tls::{LogSink, Side, TlsConfig, TlsContext};
//!
//! # async fn example(tcp: tokio::net::TcpStream) -> Result<(), Box<dyn std::error::Error>> {
//! let config = TlsConfig {
//!     key_file: Some("/etc/rsng/server.key".into()),
//!     cert_file: Some("/etc/rsng/server.pem".into()),
//!     ca_dir: Some("/etc/rsng/ca.d".into()),
//!     ..TlsConfig::default()
//! };
//! let log: LogSink = Arc::new(|_severity, text| eprintln!("{text}"));
//! let context = TlsContext::new(&config, Side::Server, log)?;
//! let stream = context.accept(tcp).await?;
//! let _client = stream.peer_identity();
//! # Ok(()) }
//! ```

pub mod certificates;
mod config;
mod context;
pub mod credentials;
mod errors;
mod ffi;
mod keylog;
mod ocsp;
pub mod peer_verification;
mod stats;
mod stream;
#[cfg(any(test, feature = "test-pki"))]
pub mod test_pki;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use config::{ssl_version_from_name, CipherSuite, PeerVerify, SslOption, TlsConfig};
pub use context::{TlsContext, CHANGE_CHECK_INTERVAL};
pub use errors::{tls_error_string, HandshakeError, TlsError};
pub use peer_verification::format_dn;
pub use stats::{handshake_failures, handshakes, record_handshake_failure, resumptions, FailureReason};
pub use stream::{PeerIdentity, TlsStream};

/// Which end of the handshake a context serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A destination: connects and verifies the server.
    Client,
    /// A source: accepts and verifies clients.
    Server,
}

/// Severity of a TLS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Notice,
    Info,
    Debug,
}

/// Where TLS messages go (the driver's internal log).
pub type LogSink = Arc<dyn Fn(Severity, String) + Send + Sync>;
