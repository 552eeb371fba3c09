//! `http()` destination options, as syslog-ng 3.38's `http` module accepts them.
//!
//! Mirrors `http_option` of `modules/http/http-grammar.ym`: the driver's own options, the TLS
//! options (both bare and inside `tls()`), the threaded destination options (`retries()`,
//! `time-reopen()`, `batch-lines()`, `batch-timeout()`, `workers()`, the destination driver
//! options) and the template options. It takes no `template()`, `flags()` or `mark-mode()`.

use super::global::{ON_ERROR_VALUES, TS_FORMATS};
use super::socket::DEST_DRIVER_OPTIONS;
use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER, POSITIVE_INTEGER};

/// `ssl-version()` values libcurl knows (3.38 refuses others: "curl: unsupported SSL version").
pub static SSL_VERSIONS: &[&str] = &["default", "tlsv1", "sslv2", "sslv3", "tlsv1_0", "tlsv1_1", "tlsv1_2", "tlsv1_3"];

const NO_SNI: &str = "sni() is not an option of http() in syslog-ng 3.38 (it sends the URL's host name \
                      as SNI whenever the host is a name)";

const NOT_YET: &str = "rsng's http() does not implement it yet; requests go as without it";

/// `http_tls_option`: accepted both directly in `http()` and inside its `tls()`.
pub static HTTP_TLS_OPTIONS: &[O] = &[
    O::new("ca-dir", Kind::String),
    // path_check: the file must exist while parsing.
    O::new("ca-file", Kind::ExistingFile),
    O::new("cert-file", Kind::ExistingFile),
    // path_secret: likewise.
    O::new("key-file", Kind::ExistingFile),
    // `cipher-suite("list")` or `cipher-suite(tls12-and-older("list") tls13("list"))`.
    O::new("cipher-suite", Kind::Any),
    O::new("ssl-version", Kind::Enum(SSL_VERSIONS)),
    O::new("use-system-cert-store", Kind::YesNo),
    // `yesno` only: the four modes of the network drivers are a syntax error here.
    O::new("peer-verify", Kind::YesNo),
    O::new("sni", Kind::YesNo).rejected(NO_SNI),
];

/// The driver's own options, the threaded destination options and the template options.
pub static HTTP_OPTIONS: &[O] = &[
    // One or more strings; each may hold several URLs separated by spaces (load balancing).
    O::new("url", Kind::StringList).multi(),
    O::new("user", Kind::String),
    O::new("password", Kind::String),
    O::new("user-agent", Kind::String),
    O::new("headers", Kind::StringList).multi(),
    // POST or PUT; 3.38 warns about anything else and uses POST.
    O::new("method", Kind::String),
    O::new("body-prefix", Kind::String),
    O::new("body-suffix", Kind::String),
    O::new("delimiter", Kind::String),
    O::new("proxy", Kind::String).ignored(NOT_YET),
    O::new("body", Kind::Template),
    O::new("accept-redirects", Kind::YesNo).ignored(NOT_YET),
    O::new("timeout", NONNEGATIVE_INTEGER),
    O::new("batch-bytes", NONNEGATIVE_INTEGER),
    // `response-action(404 => drop, 500 => retry)`.
    O::new("response-action", Kind::Any),
    O::new("tls", Kind::Nested(HTTP_TLS_OPTIONS)),
    // threaded_dest_driver_general_option
    O::new("retries", POSITIVE_INTEGER),
    O::new("time-reopen", POSITIVE_INTEGER),
    // threaded_dest_driver_batch_option
    O::new("batch-lines", NONNEGATIVE_INTEGER),
    O::new("flush-lines", NONNEGATIVE_INTEGER)
        .obsolete("The flush-lines option is deprecated. Use batch-lines instead."),
    O::new("batch-timeout", POSITIVE_INTEGER),
    // threaded_dest_driver_workers_option
    O::new("workers", POSITIVE_INTEGER),
    // template_option
    O::new("ts-format", Kind::Enum(TS_FORMATS)),
    O::new("frac-digits", NONNEGATIVE_INTEGER),
    O::new("time-zone", Kind::String),
    O::new("send-time-zone", Kind::String),
    O::new("local-time-zone", Kind::String),
    O::new("on-error", Kind::Enum(ON_ERROR_VALUES)),
];

/// Every option set of `http()`.
pub static HTTP_OPTION_SETS: &[&[O]] = &[HTTP_OPTIONS, HTTP_TLS_OPTIONS, DEST_DRIVER_OPTIONS];
