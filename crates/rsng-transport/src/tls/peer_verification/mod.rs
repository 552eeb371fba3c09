//! Verifying the peer's certificate the way syslog-ng 3.38 does (`tls_session_verify_callback`
//! in `lib/tlscontext.c`, plus the destination's host name check from `afinet-dest.c`).
//!
//! OpenSSL builds and checks the chain; this module's callback sees each certificate of it and
//! applies syslog-ng's policy on top:
//!
//! * `*-untrusted` modes accept whatever OpenSSL found (no chain, DN, key or name checks);
//! * `trusted-keys()` and `trusted-dn()` further restrict a leaf that validated;
//! * non-leaf certificates without `CA:TRUE` are refused;
//! * a missing CRL and a certificate with the wrong purpose are accepted, with a message;
//! * a client checks the server's name against the host it connected to.
//!
//! Each refusal is logged as syslog-ng logs it ("Certificate validation failed; subject=…,
//! issuer=…, error=…, depth=…") and remembered ([`Refusal`]) so that the handshake error can
//! carry a hint about the likely mistake ([`hint`]).

mod dn;
mod fingerprint;
mod hints;
mod hostname;
mod permitted;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use openssl::x509::{X509StoreContextRef, X509VerifyResult};
use openssl_sys as sys;

pub use dn::{format_dn, glob_match};
pub use fingerprint::{entry_digest, matches_entry, sha1_fingerprint};
pub use hints::{alert_hint, hint};
pub use hostname::{matches_host, wildcard_match};
pub use permitted::{pattern_problem, peer_names, permitted, permitted_peer_match};

use super::{LogSink, PeerVerify, Severity};

/// The verification rules of one `tls()` block.
pub struct Policy {
    pub mode: PeerVerify,
    pub trusted_dn: Vec<String>,
    pub trusted_keys: Vec<String>,
    /// 4.x `trusted-fingerprints()`: constraints like `trusted-keys()`, and trust anchors.
    pub trusted_fingerprints: Vec<String>,
    /// 4.x: `trusted-keys()` entries may name any digest.
    pub any_digest: bool,
    /// 4.x `extended-key-usage-verify(yes)`.
    pub extended_key_usage_verify: bool,
    /// Whether the peer is a server (this side connected): the purpose its certificate needs.
    pub peer_is_server: bool,
    pub ignore_validity_period: bool,
    pub ignore_hostname_mismatch: bool,
    /// `permitted-peers()` patterns (rsng extension); empty: any peer.
    pub permitted_peers: Vec<String>,
    /// `location=` of messages.
    pub location: String,
    pub log: LogSink,
    /// What is known about the CA set, for hints.
    pub ca: CaFacts,
}

/// Facts about the configured trust anchors that explain common failures.
#[derive(Debug, Clone, Default)]
pub struct CaFacts {
    pub ca_file: Option<String>,
    pub ca_dir: Option<String>,
    /// `ca-dir()` holds certificate files that are not named `<subject hash>.<n>`.
    pub ca_dir_unhashed: Vec<String>,
    pub crl_dir: Option<String>,
}

/// Why a peer's certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// OpenSSL's chain validation failed (unknown CA, expired, revoked, ...).
    Chain { error: i32, depth: u32, subject: String, issuer: String, not_before: String, not_after: String },
    /// The leaf validated but its fingerprint is not in `trusted-keys()`.
    Fingerprint { subject: String, fingerprint: String },
    /// The leaf validated but its subject matches no `trusted-dn()` pattern.
    Dn { subject: String },
    /// A non-leaf certificate without `CA:TRUE`.
    NotCa { subject: String },
    /// The server's certificate does not name the host connected to.
    Hostname { host: String, certificate: String },
    /// The leaf names no host of `permitted-peers()` (its DNS subjectAltNames, or CN without one).
    NotPermitted { subject: String, names: Vec<String> },
    /// `extended-key-usage-verify(yes)`: the leaf's purposes exclude the peer's role.
    Purpose { subject: String, role: &'static str },
}

/// The per-connection side of verification: which host a client connected to, and what went
/// wrong, for the handshake error.
pub struct Session {
    pub policy: Arc<Policy>,
    /// The destination's host as written in the configuration (clients only).
    pub hostname: Option<String>,
    pub refusal: Arc<Mutex<Option<Refusal>>>,
    hostname_checked: Mutex<Option<bool>>,
    /// OpenSSL may call back more than once for the leaf: check and log it once.
    permitted_checked: Mutex<Option<bool>>,
    /// The leaf failed validation but is listed in `trusted-fingerprints()`: the rest of the
    /// chain's verdicts no longer matter.
    trusted_by_fingerprint: AtomicBool,
}

impl Session {
    pub fn new(policy: Arc<Policy>, hostname: Option<String>) -> Session {
        Session {
            policy,
            hostname,
            refusal: Arc::new(Mutex::new(None)),
            hostname_checked: Mutex::new(None),
            permitted_checked: Mutex::new(None),
            trusted_by_fingerprint: AtomicBool::new(false),
        }
    }

    fn log(&self, severity: Severity, text: String) {
        (self.policy.log)(severity, text);
    }

    fn refuse(&self, refusal: Refusal) {
        let mut slot = self.refusal.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(refusal);
    }

    /// OpenSSL's verify callback: `ok` is OpenSSL's verdict on the current certificate.
    pub fn verify(&self, ok: bool, ctx: &mut X509StoreContextRef) -> bool {
        let Some(current) = ctx.current_cert() else {
            // OpenSSL reports some errors without a certificate; an explicit-policy error only
            // says no policy was asked for, which is fine.
            let error = ctx.error().as_raw();
            if error == sys::X509_V_ERR_NO_EXPLICIT_POLICY {
                return true;
            }
            self.log(
                Severity::Notice,
                format!(
                    "Error occurred during certificate validation; error='{error}', location='{}'",
                    self.policy.location
                ),
            );
            return ok;
        };
        if self.trusted_by_fingerprint.load(Ordering::Relaxed) {
            return true;
        }
        let subject = format_dn(current.subject_name());
        let issuer = format_dn(current.issuer_name());
        let depth = ctx.error_depth();
        let ok = self.apply_policy(ok, ctx, &subject);
        if self.trusted_by_fingerprint.load(Ordering::Relaxed) {
            // A pinned certificate is trusted, and still has to carry a permitted name.
            if depth == 0 && !self.policy.permitted_peers.is_empty() && !self.check_permitted(ctx, &subject) {
                // SAFETY: a valid X509_V_ERR code.
                ctx.set_error(unsafe { X509VerifyResult::from_raw(sys::X509_V_ERR_CERT_REJECTED) });
                return false;
            }
            return true;
        }
        if ok && depth == 0 && self.policy.extended_key_usage_verify && !self.purpose_allowed(ctx) {
            let role = if self.policy.peer_is_server { "TLS server" } else { "TLS client" };
            self.log(
                Severity::Error,
                format!(
                    "Certificate validation failed (invalid purpose); subject='{subject}', issuer='{issuer}', \
                     expected_purpose='{role}', depth='0', location='{}'",
                    self.policy.location
                ),
            );
            // SAFETY: a valid X509_V_ERR code.
            ctx.set_error(unsafe { X509VerifyResult::from_raw(sys::X509_V_ERR_INVALID_PURPOSE) });
            self.refuse(Refusal::Purpose { subject, role });
            return false;
        }
        if ok {
            self.log(
                Severity::Debug,
                format!("Certificate validation progress; subject='{subject}', issuer='{issuer}'"),
            );
        } else {
            let error = ctx.error();
            self.log(
                Severity::Error,
                format!(
                    "Certificate validation failed; subject='{subject}', issuer='{issuer}', error='{}', depth='{depth}'",
                    error.error_string()
                ),
            );
            if error != X509VerifyResult::OK {
                let (not_before, not_after) = match ctx.current_cert() {
                    Some(c) => (c.not_before().to_string(), c.not_after().to_string()),
                    None => (String::new(), String::new()),
                };
                self.refuse(Refusal::Chain { error: error.as_raw(), depth, subject, issuer, not_before, not_after });
            }
            return false;
        }
        // After the chain and every other rule: a name never makes an untrusted certificate
        // trusted.
        if depth == 0 && !self.policy.permitted_peers.is_empty() && !self.check_permitted(ctx, &subject) {
            // SAFETY: a valid X509_V_ERR code.
            ctx.set_error(unsafe { X509VerifyResult::from_raw(sys::X509_V_ERR_CERT_REJECTED) });
            return false;
        }
        if depth == 0 && self.policy.mode.trusted() && !self.policy.ignore_hostname_mismatch {
            if let Some(host) = self.hostname.clone() {
                return self.check_hostname(ctx, &host);
            }
        }
        true
    }

    /// Whether the current certificate's purposes allow the peer's role.
    fn purpose_allowed(&self, ctx: &X509StoreContextRef) -> bool {
        let Some(cert) = ctx.current_cert() else { return false };
        crate::tls::ffi::check_purpose(cert, self.policy.peer_is_server)
    }

    /// Whether the current certificate is listed in `trusted-keys()` or `trusted-fingerprints()`.
    fn listed(&self, cert: &openssl::x509::X509Ref) -> bool {
        let p = &self.policy;
        if !p.any_digest {
            let fingerprint = sha1_fingerprint(cert).unwrap_or_default();
            return p.trusted_keys.contains(&fingerprint);
        }
        p.trusted_keys.iter().chain(&p.trusted_fingerprints).any(|e| matches_entry(cert, e))
    }

    /// syslog-ng's `tls_session_verify`.
    fn apply_policy(&self, ok: bool, ctx: &mut X509StoreContextRef, subject: &str) -> bool {
        let p = &self.policy;
        if !p.mode.trusted() {
            return true;
        }
        let depth = ctx.error_depth();
        let Some(current) = ctx.current_cert() else { return ok };
        if !ok && depth == 0 && !p.trusted_fingerprints.is_empty() && self.listed(current) {
            // 4.x: a listed certificate is its own trust anchor.
            self.log(
                Severity::Notice,
                format!(
                    "Certificate invalid, but accepting due to being present on trusted-fingerprints(); error='{}', location='{}'",
                    ctx.error().error_string(),
                    p.location
                ),
            );
            self.trusted_by_fingerprint.store(true, Ordering::Relaxed);
            return true;
        }
        if ok && depth == 0 && !(p.trusted_keys.is_empty() && p.trusted_fingerprints.is_empty()) {
            let fingerprint = sha1_fingerprint(current).unwrap_or_default();
            if !self.listed(current) {
                self.log(
                    Severity::Notice,
                    format!(
                        "Certificate valid, but fingerprint constraints were not met, rejecting; location='{}'",
                        p.location
                    ),
                );
                self.refuse(Refusal::Fingerprint { subject: subject.to_string(), fingerprint });
                return false;
            }
        }
        if ok && depth != 0 && !crate::tls::ffi::is_ca(current) {
            self.log(
                Severity::Notice,
                format!(
                    "Invalid certificate found in chain, basicConstraints.ca is unset in non-leaf certificate; location='{}'",
                    p.location
                ),
            );
            self.refuse(Refusal::NotCa { subject: subject.to_string() });
            // SAFETY: a valid X509_V_ERR code.
            ctx.set_error(unsafe { X509VerifyResult::from_raw(sys::X509_V_ERR_INVALID_CA) });
            return false;
        }
        if ok && depth == 0 && !p.trusted_dn.is_empty() && !p.trusted_dn.iter().any(|pat| glob_match(pat, subject)) {
            self.log(
                Severity::Notice,
                format!("Certificate valid, but DN constraints were not met, rejecting; location='{}'", p.location),
            );
            self.refuse(Refusal::Dn { subject: subject.to_string() });
            // SAFETY: a valid X509_V_ERR code.
            ctx.set_error(unsafe { X509VerifyResult::from_raw(sys::X509_V_ERR_CERT_UNTRUSTED) });
            return false;
        }
        let error = ctx.error().as_raw();
        if !ok && error == sys::X509_V_ERR_UNABLE_TO_GET_CRL {
            self.log(Severity::Notice, format!("CRL directory is set but no CRLs found; location='{}'", p.location));
            return true;
        }
        if !ok && error == sys::X509_V_ERR_INVALID_PURPOSE {
            self.log(
                Severity::Warning,
                format!("Certificate valid, but purpose is invalid; location='{}'", p.location),
            );
            return true;
        }
        if !ok
            && p.ignore_validity_period
            && (error == sys::X509_V_ERR_CERT_NOT_YET_VALID || error == sys::X509_V_ERR_CERT_HAS_EXPIRED)
        {
            self.log(
                Severity::Notice,
                format!(
                    "Ignoring not yet valid / expired certificate error due to ssl_options(ignore-validity-period); location='{}'",
                    p.location
                ),
            );
            return true;
        }
        ok
    }

    fn check_permitted(&self, ctx: &X509StoreContextRef, subject: &str) -> bool {
        let mut checked = self.permitted_checked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(done) = *checked {
            return done;
        }
        let Some(cert) = ctx.current_cert() else { return false };
        let (names, are_sans) = peer_names(cert);
        let allowed = permitted(&names, &self.policy.permitted_peers);
        let kind = if are_sans { "subject_alt_names" } else { "common_name" };
        let (list, location) = (names.join(", "), &self.policy.location);
        if allowed {
            self.log(
                Severity::Debug,
                format!("Certificate accepted by permitted-peers(); subject='{subject}', {kind}='{list}', location='{location}'"),
            );
        } else {
            self.log(
                Severity::Error,
                format!(
                    "Certificate valid, but its names are not in permitted-peers(), rejecting; subject='{subject}', \
                     {kind}='{list}', permitted_peers='{}', location='{location}'",
                    self.policy.permitted_peers.join(", ")
                ),
            );
            self.refuse(Refusal::NotPermitted { subject: subject.to_string(), names });
        }
        *checked = Some(allowed);
        allowed
    }

    fn check_hostname(&self, ctx: &X509StoreContextRef, host: &str) -> bool {
        let mut checked = self.hostname_checked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(done) = *checked {
            return done;
        }
        let Some(cert) = ctx.current_cert() else { return false };
        let (matched, certificate) = matches_host(cert, host);
        if matched {
            self.log(
                Severity::Info,
                format!(
                    "Certificate subject matches configured hostname; hostname='{host}', certificate='{certificate}'"
                ),
            );
        } else {
            self.log(
                Severity::Error,
                format!(
                    "Certificate subject does not match configured hostname; hostname='{host}', certificate='{certificate}'"
                ),
            );
            self.refuse(Refusal::Hostname { host: host.to_string(), certificate });
        }
        *checked = Some(matched);
        matched
    }
}
