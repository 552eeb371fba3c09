//! `tls(...)` options of the network drivers, as syslog-ng 3.38 accepts them.
//!
//! Mirrors the `tls_option`/`dest_tls_option` rules of syslog-ng's `afsocket` grammar and the
//! value checks of `lib/tlscontext.c`. The only difference between the two sides is `sni()`,
//! which 3.38 accepts in destinations only; both tables list it so that a source gets a precise
//! error instead of "unknown option".

use super::{Kind, OptionSpec as O};

/// `peer-verify()`: the four modes (`-` or `_`, any case), `none`, and the `yesno` forms
/// (`yes` = required-trusted; `no`, `none` = optional-untrusted). 3.38 also takes any integer
/// through `yesno`; `0` and `1` are listed for that. A quoted `"yes"` is *not* accepted by 3.38.
pub static PEER_VERIFY_VALUES: &[&str] = &[
    "required-trusted",
    "required-untrusted",
    "optional-trusted",
    "optional-untrusted",
    "none",
    "yes",
    "no",
    "on",
    "off",
    "0",
    "1",
];

/// `ssl-options()` values; anything else is "unknown ssl-options() argument". 4.x adds `none`,
/// `ignore-hostname-mismatch`, `ignore-validity-period` and `ignore-unexpected-eof`, which 3.38
/// rejects.
pub static SSL_OPTIONS_VALUES: &[&str] = &["no-sslv2", "no-sslv3", "no-tlsv1", "no-tlsv11", "no-tlsv12", "no-tlsv13"];

/// The `ssl-options()` values of syslog-ng 4.x, accepted with `@version: 4.0` or later.
pub static SSL_OPTIONS_VALUES_4X: &[&str] =
    &["ignore-hostname-mismatch", "ignore-validity-period", "ignore-unexpected-eof", "none"];

/// `ssl-version()` of syslog-ng 4.x: the lowest protocol version accepted.
pub static SSL_VERSIONS: &[&str] = &["sslv3", "tlsv1", "tlsv1_0", "tlsv1_1", "tlsv1_2", "tlsv1_3"];

const ONLY_4X: &str =
    "only in syslog-ng 4.x; syslog-ng 3.38 does not accept it (rsng does with `@version: 4.0` or later)";

/// Expands to the option list shared by both sides, followed by the side-specific entries.
macro_rules! tls_options {
    ($($side:expr),* $(,)?) => {
        &[
            O::new("peer-verify", Kind::Enum(PEER_VERIFY_VALUES)),
            // Checked while parsing: the file must exist.
            O::new("key-file", Kind::ExistingFile),
            O::new("cert-file", Kind::ExistingFile),
            O::new("ca-file", Kind::ExistingFile),
            O::new("dhparam-file", Kind::ExistingFile),
            O::new("pkcs12-file", Kind::ExistingFile),
            // Checked only at start-up.
            O::new("ca-dir", Kind::Path),
            O::new("crl-dir", Kind::Path),
            O::new("keylog-file", Kind::Path),
            O::new("trusted-keys", Kind::StringList).multi(),
            O::new("trusted-dn", Kind::StringList).multi(),
            // `cipher-suite("list")` or `cipher-suite(tls12-and-older("list") tls13("list"))`.
            O::new("cipher-suite", Kind::Any),
            O::new("sigalgs", Kind::String),
            O::new("client-sigalgs", Kind::String),
            O::new("ecdh-curve-list", Kind::String),
            O::new("curve-list", Kind::String).obsolete("use ecdh-curve-list() instead"),
            O::new("ssl-options", Kind::Flags { values: SSL_OPTIONS_VALUES, fatal: true }),
            O::new("allow-compress", Kind::YesNo),
            O::new("ocsp-stapling-verify", Kind::YesNo).since4(ONLY_4X),
            O::new("openssl-conf-cmds", Kind::Any).since4(ONLY_4X),
            O::new("ssl-version", Kind::Enum(SSL_VERSIONS)).since4(ONLY_4X),
            O::new("trusted-fingerprints", Kind::StringList).multi().since4(ONLY_4X),
            O::new("extended-key-usage-verify", Kind::YesNo).since4(ONLY_4X),
            // rsng extensions (syslog-ng has neither): see docs/tls.md.
            O::new("expiry-warning-days", super::NONNEGATIVE_INTEGER),
            O::new("handshake-timeout", super::POSITIVE_INTEGER),
            O::new("permitted-peers", Kind::StringList).multi(),
            $($side,)*
        ]
    };
}

/// `tls()` of a destination (the TLS client side): every option 3.38 accepts, including `sni()`.
pub static TLS_OPTIONS: &[O] = tls_options![
    // Sends the destination's host name as SNI.
    O::new("sni", Kind::YesNo),
];

/// `tls()` of a source (the TLS server side): `sni()` is a syntax error there in 3.38.
pub static TLS_SOURCE_OPTIONS: &[O] =
    tls_options![O::new("sni", Kind::YesNo).rejected("sni() is only valid in the tls() block of a destination"),];
