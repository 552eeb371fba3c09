//! Errors of the TLS layer, worded as syslog-ng words them.

use std::path::PathBuf;

use openssl::error::ErrorStack;

use super::stats::FailureReason;

/// OpenSSL's first queued error as `ERR_error_string_n` prints it in OpenSSL 3 (which syslog-ng
/// shows as `tls_error=`): `error:0A000086:SSL routines::certificate verify failed`.
pub fn tls_error_string(stack: &ErrorStack) -> String {
    match stack.errors().first() {
        Some(e) => format!(
            "error:{:08X}:{}::{}",
            e.code(),
            e.library().unwrap_or("unknown library"),
            e.reason().unwrap_or("unknown error")
        ),
        None => String::from("error:00000000:lib(0)::reason(0)"),
    }
}

/// A `tls()` block that cannot be set up; each is a start-up error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsError {
    /// A key, certificate or CA file cannot be read.
    #[error("Error opening TLS related key or certificate file; filename='{}', error='{error}', location='{location}'", path.display())]
    FileAccess { path: PathBuf, error: String, location: String },
    /// OpenSSL refused a setting (cipher list, CA file, ...).
    #[error("Error setting up TLS session context; tls_error='{tls_error}', location='{location}'{}", detail.as_ref().map(|d| format!(", {d}")).unwrap_or_default())]
    Setup { tls_error: String, detail: Option<String>, location: String },
    /// A value OpenSSL refuses, named as syslog-ng names it ("invalid curve name in list").
    #[error("Error setting up TLS session context, {what}; {detail}, location='{location}'")]
    Invalid { what: String, detail: String, location: String },
    /// The private key cannot be used: it does not parse, or does not match the certificate.
    #[error("Error setting up TLS context; keyfile='{}', error='{error}', location='{location}'", path.display())]
    Key { path: PathBuf, error: String, location: String },
    /// The private key is encrypted and its passphrase has not been given
    /// ([`super::credentials`]), or the one given does not decrypt it.
    #[error("Error setting up TLS context; keyfile='{}', error='{}', location='{location}'", path.display(), if *given { "the passphrase given does not decrypt the private key" } else { "the private key is encrypted; waiting for its passphrase (syslog-ng-ctl credentials add)" })]
    Passphrase { path: PathBuf, given: bool, location: String },
    /// An option that cannot be honoured on this side or with this OpenSSL.
    #[error("Unsupported tls() option; option='{option}', reason='{reason}', location='{location}'")]
    Unsupported { option: String, reason: String, location: String },
}

impl TlsError {
    pub(crate) fn setup(stack: &ErrorStack, detail: Option<String>, location: &str) -> TlsError {
        TlsError::Setup { tls_error: tls_error_string(stack), detail, location: location.to_string() }
    }
}

/// A handshake that did not complete.
#[derive(Debug, Clone)]
pub struct HandshakeError {
    /// syslog-ng's text for the failure ("SSL error while reading stream; tls_error=…").
    pub message: String,
    /// The likely mistake, when one is known.
    pub hint: Option<String>,
    /// The peer closed the connection without a word: its own log has the reason, and
    /// syslog-ng does not report it as an error.
    pub peer_closed: bool,
    /// Why, as counted in stats ([`super::handshake_failures`]).
    pub reason: FailureReason,
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, ", hint='{hint}'")?;
        }
        Ok(())
    }
}

impl std::error::Error for HandshakeError {}
