//! The `tls(...)` options as the user wrote them, before any file is read.
//!
//! Drivers fill a [`TlsConfig`] from the configuration; [`super::TlsContext::new`] turns it into a
//! ready OpenSSL context. Defaults are syslog-ng's: `peer-verify(required-trusted)` on both sides,
//! `ssl-options(no-sslv2)`, compression off.

use std::path::PathBuf;

/// `peer-verify()`: whether the peer must present a certificate, and whether it must validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerVerify {
    /// A certificate is required and must validate (`yes`, the default).
    #[default]
    RequiredTrusted,
    /// A certificate is required; it is accepted even if it does not validate.
    RequiredUntrusted,
    /// A certificate is requested; when one is sent it must validate.
    OptionalTrusted,
    /// Anything is accepted (`no`, `none`); the server does not even ask for a certificate.
    OptionalUntrusted,
}

impl PeerVerify {
    /// Reads a `peer-verify()` value: the four modes (`-` or `_`, any case), `none`, and the
    /// yes/no forms syslog-ng accepts (`yes`, `on`, non-zero numbers; `no`, `off`, `0`).
    pub fn from_name(name: &str) -> Option<PeerVerify> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        Some(match n.as_str() {
            "required-trusted" | "yes" | "on" => PeerVerify::RequiredTrusted,
            "required-untrusted" => PeerVerify::RequiredUntrusted,
            "optional-trusted" => PeerVerify::OptionalTrusted,
            "optional-untrusted" | "none" | "no" | "off" => PeerVerify::OptionalUntrusted,
            other => match other.parse::<i64>() {
                Ok(0) => PeerVerify::OptionalUntrusted,
                Ok(_) => PeerVerify::RequiredTrusted,
                Err(_) => return None,
            },
        })
    }

    /// Whether an invalid certificate is refused.
    pub fn trusted(self) -> bool {
        matches!(self, PeerVerify::RequiredTrusted | PeerVerify::OptionalTrusted)
    }

    /// Whether a peer without a certificate is refused.
    pub fn required(self) -> bool {
        matches!(self, PeerVerify::RequiredTrusted | PeerVerify::RequiredUntrusted)
    }

    pub fn name(self) -> &'static str {
        match self {
            PeerVerify::RequiredTrusted => "required-trusted",
            PeerVerify::RequiredUntrusted => "required-untrusted",
            PeerVerify::OptionalTrusted => "optional-trusted",
            PeerVerify::OptionalUntrusted => "optional-untrusted",
        }
    }
}

/// One word of `ssl-options()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslOption {
    NoSslv2,
    NoSslv3,
    NoTlsv1,
    NoTlsv11,
    NoTlsv12,
    NoTlsv13,
    /// Do not check the server's name against the host connected to (syslog-ng 4.4).
    IgnoreHostnameMismatch,
    /// Accept expired and not yet valid certificates (syslog-ng 4.5).
    IgnoreValidityPeriod,
    /// 4.x: a peer closing without close_notify ends the stream normally (rsng always does so).
    IgnoreUnexpectedEof,
}

impl SslOption {
    /// Reads one `ssl-options()` word (`-` or `_`, any case).
    pub fn from_name(name: &str) -> Option<SslOption> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        Some(match n.as_str() {
            "no-sslv2" => SslOption::NoSslv2,
            "no-sslv3" => SslOption::NoSslv3,
            "no-tlsv1" => SslOption::NoTlsv1,
            "no-tlsv11" => SslOption::NoTlsv11,
            "no-tlsv12" => SslOption::NoTlsv12,
            "no-tlsv13" => SslOption::NoTlsv13,
            "ignore-hostname-mismatch" => SslOption::IgnoreHostnameMismatch,
            "ignore-validity-period" => SslOption::IgnoreValidityPeriod,
            "ignore-unexpected-eof" => SslOption::IgnoreUnexpectedEof,
            _ => return None,
        })
    }
}

/// `cipher-suite()`: `cipher-suite("list")` sets the TLS 1.2-and-older list only;
/// `cipher-suite(tls12-and-older("list") tls13("suites"))` sets each.
/// `ssl-version()` of syslog-ng 4.x: `sslv3`, `tlsv1` (`tlsv1_0`), `tlsv1_1`, `tlsv1_2`,
/// `tlsv1_3`, any case, `-` or `_`.
pub fn ssl_version_from_name(name: &str) -> Option<openssl::ssl::SslVersion> {
    use openssl::ssl::SslVersion;
    Some(match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "sslv3" => SslVersion::SSL3,
        "tlsv1" | "tlsv1_0" => SslVersion::TLS1,
        "tlsv1_1" => SslVersion::TLS1_1,
        "tlsv1_2" => SslVersion::TLS1_2,
        "tlsv1_3" => SslVersion::TLS1_3,
        _ => return None,
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CipherSuite {
    /// An OpenSSL cipher list (`SSL_CTX_set_cipher_list`), for TLS 1.2 and older.
    pub tls12_and_older: Option<String>,
    /// TLS 1.3 cipher suites (`SSL_CTX_set_ciphersuites`).
    pub tls13: Option<String>,
}

/// Every `tls()` option, unchecked. Paths are as written; files are read by
/// [`super::TlsContext::new`].
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub peer_verify: PeerVerify,
    pub key_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub pkcs12_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// A directory of CA certificates named by subject hash (`<hash>.0`).
    pub ca_dir: Option<PathBuf>,
    /// A directory of CRLs named by issuer hash (`<hash>.r0`); turns on revocation checks.
    pub crl_dir: Option<PathBuf>,
    pub dhparam_file: Option<PathBuf>,
    pub keylog_file: Option<PathBuf>,
    /// `trusted-dn()` glob patterns over the peer's subject as [`super::format_dn`] prints it.
    pub trusted_dn: Vec<String>,
    /// `trusted-keys()`: SHA-1 fingerprints as `SHA1:AA:BB:…`.
    pub trusted_keys: Vec<String>,
    /// 4.x `trusted-fingerprints()`: like `trusted-keys()`, and a listed certificate is accepted
    /// even when its chain does not validate (a trust anchor of its own).
    pub trusted_fingerprints: Vec<String>,
    /// 4.x: entries of `trusted-keys()` may name any OpenSSL digest (`SHA256:…`); 3.38 computes
    /// SHA-1 only.
    pub any_digest: bool,
    /// 4.x `extended-key-usage-verify(yes)`: the peer's certificate must allow its role (TLS
    /// server or client) by its extended key usage; otherwise a wrong purpose only warns.
    pub extended_key_usage_verify: bool,
    /// 4.x `ssl-version()`: the lowest protocol version accepted.
    pub min_version: Option<openssl::ssl::SslVersion>,
    pub cipher_suite: CipherSuite,
    pub ecdh_curve_list: Option<String>,
    pub sigalgs: Option<String>,
    pub client_sigalgs: Option<String>,
    /// `ssl-options()`; `ssl-options()` with no words is an empty list (no options at all).
    pub ssl_options: Vec<SslOption>,
    pub allow_compress: bool,
    /// `sni(yes)`: send the destination's host name in the handshake.
    pub sni: bool,
    /// `ocsp-stapling-verify(yes)`: require a valid stapled OCSP response from the server.
    pub ocsp_stapling_verify: bool,
    /// `openssl-conf-cmds()`: `SSL_CONF_cmd` pairs applied last.
    pub openssl_conf_cmds: Vec<(String, String)>,
    /// `expiry-warning-days()` (rsng extension): own and peer certificates that end within
    /// this many days are reported; 0 turns the warnings off.
    pub expiry_warning_days: u32,
    /// `handshake-timeout()` (rsng extension): how long a handshake may take.
    pub handshake_timeout: std::time::Duration,
    /// `permitted-peers()` (rsng extension): host name patterns, one of which the peer's DNS
    /// subjectAltName (or CN, without one) must match; empty: any peer.
    pub permitted_peers: Vec<String>,
    /// Trust OpenSSL's default CA locations as well (`use-system-cert-store(yes)` of `mqtt()`);
    /// otherwise only `ca-file()` and `ca-dir()` are trusted.
    pub system_ca_store: bool,
    /// Where the `tls()` block stands (`file:line:column`), for `location=` in messages.
    pub location: String,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            peer_verify: PeerVerify::default(),
            key_file: None,
            cert_file: None,
            pkcs12_file: None,
            ca_file: None,
            ca_dir: None,
            crl_dir: None,
            dhparam_file: None,
            keylog_file: None,
            trusted_dn: Vec::new(),
            trusted_keys: Vec::new(),
            trusted_fingerprints: Vec::new(),
            any_digest: false,
            extended_key_usage_verify: false,
            min_version: None,
            cipher_suite: CipherSuite::default(),
            ecdh_curve_list: None,
            sigalgs: None,
            client_sigalgs: None,
            ssl_options: vec![SslOption::NoSslv2],
            allow_compress: false,
            sni: false,
            ocsp_stapling_verify: false,
            openssl_conf_cmds: Vec::new(),
            expiry_warning_days: 30,
            handshake_timeout: std::time::Duration::from_secs(60),
            permitted_peers: Vec::new(),
            system_ca_store: false,
            location: String::from("n/a"),
        }
    }
}

impl TlsConfig {
    pub fn has(&self, option: SslOption) -> bool {
        self.ssl_options.contains(&option)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_verify_names() {
        assert_eq!(PeerVerify::from_name("Required_Trusted"), Some(PeerVerify::RequiredTrusted));
        assert_eq!(PeerVerify::from_name("none"), Some(PeerVerify::OptionalUntrusted));
        assert_eq!(PeerVerify::from_name("no"), Some(PeerVerify::OptionalUntrusted));
        assert_eq!(PeerVerify::from_name("yes"), Some(PeerVerify::RequiredTrusted));
        assert_eq!(PeerVerify::from_name("2"), Some(PeerVerify::RequiredTrusted));
        assert_eq!(PeerVerify::from_name("0"), Some(PeerVerify::OptionalUntrusted));
        assert_eq!(PeerVerify::from_name("maybe"), None);
    }

    #[test]
    fn ssl_option_names() {
        assert_eq!(SslOption::from_name("NO_TLSV13"), Some(SslOption::NoTlsv13));
        assert_eq!(SslOption::from_name("ignore_hostname_mismatch"), Some(SslOption::IgnoreHostnameMismatch));
        assert_eq!(SslOption::from_name("none"), None);
    }
}
