//! Handshake failures counted by reason, process-wide, for `syslog-ng-ctl stats`.
//!
//! Every handshake that a [`TlsContext`](super::TlsContext) refuses or that fails is counted
//! once, under the context's instance name (set by the driver: the listener's or the
//! destination's address) and a short, stable [`FailureReason`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use openssl_sys as sys;

use super::peer_verification::Refusal;

/// Why a handshake failed, as counted in stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureReason {
    /// The peer's certificate is not signed by a trusted CA (or our certificate was refused by
    /// the peer as from an unknown CA).
    UnknownCa,
    Expired,
    NotYetValid,
    Revoked,
    /// The server's certificate does not name the host connected to.
    HostnameMismatch,
    /// A valid certificate whose subject matches no `trusted-dn()` pattern.
    TrustedDn,
    /// A valid certificate whose fingerprint is not in `trusted-keys()`.
    TrustedKeys,
    /// A valid certificate that names no host of `permitted-peers()` (or no certificate at all
    /// where `permitted-peers()` needs one).
    PermittedPeers,
    /// The client sent no certificate where one is required.
    NoCertificate,
    /// No common protocol version or cipher, plain text on a TLS port, a malformed record.
    Protocol,
    /// Anything else: the peer closed, an I/O error, a timeout, another certificate error.
    Other,
}

impl FailureReason {
    pub const ALL: [FailureReason; 11] = [
        FailureReason::UnknownCa,
        FailureReason::Expired,
        FailureReason::NotYetValid,
        FailureReason::Revoked,
        FailureReason::HostnameMismatch,
        FailureReason::TrustedDn,
        FailureReason::TrustedKeys,
        FailureReason::PermittedPeers,
        FailureReason::NoCertificate,
        FailureReason::Protocol,
        FailureReason::Other,
    ];

    /// The name in stats: `unknown-ca`, `expired`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::UnknownCa => "unknown-ca",
            FailureReason::Expired => "expired",
            FailureReason::NotYetValid => "not-yet-valid",
            FailureReason::Revoked => "revoked",
            FailureReason::HostnameMismatch => "hostname-mismatch",
            FailureReason::TrustedDn => "trusted-dn",
            FailureReason::TrustedKeys => "trusted-keys",
            FailureReason::PermittedPeers => "permitted-peers",
            FailureReason::NoCertificate => "no-certificate",
            FailureReason::Protocol => "protocol",
            FailureReason::Other => "other",
        }
    }

    /// The reason for a certificate this side refused.
    pub fn of_refusal(refusal: &Refusal) -> FailureReason {
        match refusal {
            Refusal::Chain { error, .. } => FailureReason::of_verify_error(*error),
            Refusal::Fingerprint { .. } => FailureReason::TrustedKeys,
            Refusal::Dn { .. } => FailureReason::TrustedDn,
            Refusal::NotCa { .. } | Refusal::Purpose { .. } => FailureReason::Other,
            Refusal::Hostname { .. } => FailureReason::HostnameMismatch,
            Refusal::NotPermitted { .. } => FailureReason::PermittedPeers,
        }
    }

    /// The reason for an `X509_V_ERR_*` code.
    pub fn of_verify_error(e: i32) -> FailureReason {
        match e {
            sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
            | sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
            | sys::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
            | sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
            | sys::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
            | sys::X509_V_ERR_CERT_SIGNATURE_FAILURE => FailureReason::UnknownCa,
            sys::X509_V_ERR_CERT_HAS_EXPIRED => FailureReason::Expired,
            sys::X509_V_ERR_CERT_NOT_YET_VALID => FailureReason::NotYetValid,
            sys::X509_V_ERR_CERT_REVOKED => FailureReason::Revoked,
            _ => FailureReason::Other,
        }
    }

    /// The reason for an OpenSSL error reason text without a refusal of ours: an alert from the
    /// peer (which refused us) or a protocol error.
    pub fn of_ssl_reason(reason: &str) -> FailureReason {
        let r = reason.to_ascii_lowercase();
        if r.contains("peer did not return a certificate") || r.contains("certificate required") {
            FailureReason::NoCertificate
        } else if r.contains("unknown ca") {
            FailureReason::UnknownCa
        } else if r.contains("certificate expired") {
            FailureReason::Expired
        } else if r.contains("certificate revoked") {
            FailureReason::Revoked
        } else if r.is_empty()
            || r.contains("bad certificate")
            || r.contains("certificate unknown")
            || r.contains("unsupported certificate")
            || r.contains("certificate verify failed")
        {
            // The peer refused our certificate for a reason it does not tell.
            FailureReason::Other
        } else {
            // wrong version number, no shared cipher, handshake failure, unexpected message,
            // packet length too long, protocol version, ...
            FailureReason::Protocol
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

static FAILURES: Mutex<BTreeMap<(String, FailureReason), u64>> = Mutex::new(BTreeMap::new());

/// Counts one failed handshake of `instance`.
pub fn record_handshake_failure(instance: &str, reason: FailureReason) {
    let mut map = FAILURES.lock().unwrap_or_else(|p| p.into_inner());
    *map.entry((instance.to_string(), reason)).or_insert(0) += 1;
}

/// Every counter so far: (instance, reason, count), sorted by instance then reason. Only
/// reasons that occurred are listed.
pub fn handshake_failures() -> Vec<(String, String, u64)> {
    let map = FAILURES.lock().unwrap_or_else(|p| p.into_inner());
    map.iter().map(|((instance, reason), n)| (instance.clone(), reason.as_str().to_string(), *n)).collect()
}

/// Completed handshakes by (instance, protocol version, cipher).
static SESSIONS: Mutex<BTreeMap<(String, String, String), u64>> = Mutex::new(BTreeMap::new());
/// Completed handshakes that resumed an earlier session, by instance.
static RESUMPTIONS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Counts one completed handshake of `instance` (once per connection, never per message).
pub fn record_handshake(instance: &str, version: &str, cipher: &str, resumed: bool) {
    {
        let mut map = SESSIONS.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((instance.to_string(), version.to_string(), cipher.to_string())).or_insert(0) += 1;
    }
    if resumed {
        let mut map = RESUMPTIONS.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(instance.to_string()).or_insert(0) += 1;
    }
}

/// Completed handshakes so far: (instance, `VERSION_CIPHER` as in `tls_handshakes_TLSv1.3_TLS_AES_256_GCM_SHA384`,
/// count), sorted.
pub fn handshakes() -> Vec<(String, String, u64)> {
    let map = SESSIONS.lock().unwrap_or_else(|p| p.into_inner());
    map.iter().map(|((instance, version, cipher), n)| (instance.clone(), format!("{version}_{cipher}"), *n)).collect()
}

/// Resumed sessions so far: (instance, count), sorted; only instances that resumed one.
pub fn resumptions() -> Vec<(String, u64)> {
    let map = RESUMPTIONS.lock().unwrap_or_else(|p| p.into_inner());
    map.iter().map(|(instance, n)| (instance.clone(), *n)).collect()
}
