//! Building the OpenSSL context of a `tls()` block, in the order and with the messages of
//! syslog-ng's `tls_context_setup_context`, and starting sessions on it.

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use openssl::dh::Dh;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::ssl::{
    SslContext, SslContextBuilder, SslFiletype, SslMethod, SslMode, SslOptions, SslVerifyMode, StatusType,
};
use openssl::x509::store::X509Lookup;
use openssl::x509::verify::X509VerifyFlags;
use tokio::io::{AsyncRead, AsyncWrite};

use super::certificates;
use super::config::{SslOption, TlsConfig};
use super::credentials::{self, Status};
use super::errors::{tls_error_string, HandshakeError, TlsError};
use super::peer_verification::{alert_hint, hint, matches_entry, CaFacts, Policy, Refusal, Session};
use super::stats::{record_handshake, record_handshake_failure, FailureReason};
use super::stream::TlsStream;
use super::{ffi, keylog, ocsp, LogSink, PeerVerify, Severity, Side};

/// Where a session's verify callback leaves its reason for refusing the peer.
type RefusalSlot = Arc<Mutex<Option<Refusal>>>;

/// How often at most the files of a context are looked at for changes.
pub const CHANGE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A ready `tls()` block: an OpenSSL context plus syslog-ng's verification policy. Cheap to
/// clone; shared by every connection of a driver.
///
/// The context follows its files: when a handshake starts and the key, certificate, CA or CRL
/// files have changed (looked at once a second at most), the OpenSSL context is built again
/// from them; established connections keep the context they started with. A rebuild that fails
/// keeps the previous context and logs why.
#[derive(Clone)]
pub struct TlsContext {
    shared: Arc<Shared>,
    /// The name its handshake failures are counted under ([`super::handshake_failures`]).
    instance: Arc<str>,
}

/// What every clone of a context shares: the configuration and the current OpenSSL context.
struct Shared {
    config: TlsConfig,
    side: Side,
    log: LogSink,
    /// `None` while an encrypted key waits for its passphrase ([`super::credentials`]).
    current: RwLock<Option<Arc<Inner>>>,
    watch: Mutex<Watch>,
    /// The passphrase generation last tried on a waiting context, so that each is tried once.
    tried: Mutex<Option<u64>>,
}

/// When the files were last looked at, and what they were then.
struct Watch {
    checked: Instant,
    stamp: Stamp,
}

/// The identity of each file a context reads: path, and (modification time, size, inode) when
/// it exists.
type Stamp = Vec<(PathBuf, Option<(SystemTime, u64, u64)>)>;

/// One build of a `tls()` block.
struct Inner {
    ssl: SslContext,
    policy: Arc<Policy>,
    sni: bool,
    ocsp: bool,
}

impl std::fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsContext")
            .field("side", &self.shared.side)
            .field("peer_verify", &self.shared.config.peer_verify)
            .field("location", &self.shared.config.location)
            .finish_non_exhaustive()
    }
}

/// The files of `config` as they are now: key pair, CA file, DH parameters, and the CA and CRL
/// directories with each of their entries (symbolic links followed).
fn stamp(config: &TlsConfig) -> Stamp {
    let meta =
        |p: &Path| fs::metadata(p).ok().map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len(), m.ino()));
    let mut out = Stamp::new();
    let files = [&config.key_file, &config.cert_file, &config.pkcs12_file, &config.ca_file, &config.dhparam_file];
    for f in files.into_iter().flatten() {
        out.push((f.clone(), meta(f)));
    }
    for d in [&config.ca_dir, &config.crl_dir].into_iter().flatten() {
        out.push((d.clone(), meta(d)));
        if let Ok(entries) = fs::read_dir(d) {
            let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            out.extend(paths.into_iter().map(|p| {
                let m = meta(&p);
                (p, m)
            }));
        }
    }
    out
}

fn accessible(path: &Path, location: &str) -> Result<(), TlsError> {
    let err = |e: std::io::Error| TlsError::FileAccess {
        path: path.to_path_buf(),
        error: e.to_string(),
        location: location.to_string(),
    };
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => fs::read_dir(path).map(|_| ()).map_err(err),
        Ok(_) => fs::File::open(path).map(|_| ()).map_err(err),
        Err(e) => Err(err(e)),
    }
}

/// Files in a `ca-dir()` that hold a certificate but are not named `<8 hex digits>.<n>`, which
/// OpenSSL's directory lookup never opens.
fn unhashed_ca_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let hashed = name.split_once('.').is_some_and(|(h, n)| {
            h.len() == 8
                && h.bytes().all(|c| c.is_ascii_hexdigit())
                && !n.is_empty()
                && n.bytes().all(|c| c.is_ascii_digit())
        });
        if hashed {
            continue;
        }
        let is_cert =
            fs::read(entry.path()).map(|b| b.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----")).unwrap_or(false);
        if is_cert {
            out.push(name);
        }
    }
    out.sort();
    out.truncate(5);
    out
}

impl TlsContext {
    /// Sets up the context of `config` for `side`. Every file is read now, so that a broken key
    /// or an unknown cipher stops start-up with the location of the `tls()` block.
    ///
    /// # Errors
    /// The first setting that cannot be honoured.
    pub fn new(config: &TlsConfig, side: Side, log: LogSink) -> Result<TlsContext, TlsError> {
        // Taken before reading, so that a change while building is seen at the next check.
        let stamp = stamp(config);
        let current = match build(config, side, &log) {
            Ok(inner) => Some(Arc::new(inner)),
            // As syslog-ng, an encrypted key does not stop start-up: the driver waits for the
            // passphrase.
            Err(TlsError::Passphrase { path, given, location }) => {
                let id = path.to_string_lossy();
                credentials::waiting_for(&id);
                if given {
                    credentials::set_status(&id, Status::InvalidPassword);
                }
                log(Severity::Error, TlsError::Passphrase { path: path.clone(), given, location }.to_string());
                log(Severity::Info, format!("Waiting for password; keyfile='{id}'"));
                None
            }
            Err(e) => return Err(e),
        };
        Ok(TlsContext {
            instance: Arc::from(config.location.as_str()),
            shared: Arc::new(Shared {
                config: config.clone(),
                side,
                log,
                current: RwLock::new(current),
                watch: Mutex::new(Watch { checked: Instant::now(), stamp }),
                tried: Mutex::new(None),
            }),
        })
    }

    /// The OpenSSL context for a new session, rebuilt first when its files have changed; `None`
    /// while the key waits for its passphrase.
    fn current(&self) -> Option<Arc<Inner>> {
        self.refresh(false);
        self.shared.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Resolves when the context can handshake: at once, or when the passphrase of its
    /// encrypted key has been given.
    pub async fn wait_until_ready(&self) {
        self.ready().await;
    }

    /// How long a handshake may take (`handshake-timeout()`, 60 s by default).
    pub fn handshake_timeout(&self) -> Duration {
        self.shared.config.handshake_timeout
    }

    /// Lists the peer's certificate in stats, warning once when it ends soon.
    fn peer_seen(&self, ssl: &openssl::ssl::SslRef) {
        if let Some(cert) = ssl.peer_certificate() {
            let config = &self.shared.config;
            certificates::peer_seen(&config.location, &cert, config.expiry_warning_days, &self.shared.log);
        }
    }

    /// Whether the context waits for the passphrase of its key.
    pub fn waiting_for_passphrase(&self) -> bool {
        self.shared.current.read().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// The OpenSSL context, once the key's passphrase has been given (at once when the key is
    /// not encrypted).
    async fn ready(&self) -> Arc<Inner> {
        let mut added = credentials::subscribe();
        loop {
            if let Some(inner) = self.current() {
                return inner;
            }
            let generation = *added.borrow_and_update();
            self.try_passphrase(generation);
            if let Some(inner) = self.current() {
                return inner;
            }
            if added.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Sets a waiting context up with the passphrase given, once per passphrase given.
    fn try_passphrase(&self, generation: u64) {
        let shared = &self.shared;
        let mut tried = shared.tried.lock().unwrap_or_else(|p| p.into_inner());
        if *tried == Some(generation) {
            return;
        }
        *tried = Some(generation);
        let Some(key) = &shared.config.key_file else { return };
        let id = key.to_string_lossy();
        if credentials::secret(&id).is_none() {
            return;
        }
        match build(&shared.config, shared.side, &shared.log) {
            Ok(inner) => {
                *shared.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(inner));
                credentials::set_status(&id, Status::Success);
            }
            Err(TlsError::Passphrase { .. }) => {
                (shared.log)(
                    Severity::Error,
                    format!("Invalid password, error setting up TLS context; keyfile='{id}'"),
                );
                credentials::set_status(&id, Status::InvalidPassword);
            }
            Err(e) => {
                (shared.log)(Severity::Error, e.to_string());
                credentials::set_status(&id, Status::Failed);
            }
        }
    }

    /// Looks at the files of the context now (not waiting for [`CHANGE_CHECK_INTERVAL`]) and
    /// rebuilds it when they changed. Returns whether a new context is in use.
    pub fn reload_if_changed(&self) -> bool {
        self.refresh(true)
    }

    fn refresh(&self, now: bool) -> bool {
        let shared = &self.shared;
        let mut watch = if now {
            shared.watch.lock().unwrap_or_else(|p| p.into_inner())
        } else {
            // Another handshake is checking (or rebuilding): use the context as it is.
            match shared.watch.try_lock() {
                Ok(w) => w,
                Err(_) => return false,
            }
        };
        if !now && watch.checked.elapsed() < CHANGE_CHECK_INTERVAL {
            return false;
        }
        // A context waiting for its passphrase is set up by `ready`, not by file changes.
        if shared.current.read().unwrap_or_else(|p| p.into_inner()).is_none() {
            return false;
        }
        watch.checked = Instant::now();
        let stamp = stamp(&shared.config);
        if stamp == watch.stamp {
            return false;
        }
        // Remembered even when the build fails: the next change of the files triggers the next try.
        watch.stamp = stamp;
        let location = &shared.config.location;
        match build(&shared.config, shared.side, &shared.log) {
            Ok(inner) => {
                *shared.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(inner));
                (shared.log)(
                    Severity::Notice,
                    format!(
                        "TLS key, certificate, CA or CRL files changed, new connections use them; location='{location}'"
                    ),
                );
                true
            }
            Err(e) => {
                (shared.log)(
                    Severity::Error,
                    format!(
                        "Error reloading changed TLS files, keeping the previous TLS context; error='{e}', location='{location}'"
                    ),
                );
                false
            }
        }
    }
}

/// Builds the OpenSSL context and the verification policy of `config`.
fn build(config: &TlsConfig, side: Side, log: &LogSink) -> Result<Inner, TlsError> {
    let log = log.clone();
    let loc = config.location.as_str();
    let setup = |e: openssl::error::ErrorStack| TlsError::setup(&e, None, loc);
    let unsupported = |option: &str, reason: &str| TlsError::Unsupported {
        option: option.to_string(),
        reason: reason.to_string(),
        location: loc.to_string(),
    };
    if side == Side::Server {
        if config.sni {
            return Err(unsupported("sni", "sni() is only valid in the tls() block of a destination"));
        }
        if config.ocsp_stapling_verify {
            return Err(unsupported(
                "ocsp-stapling-verify",
                "ocsp-stapling-verify() checks servers; it is only valid in a destination",
            ));
        }
        if config.has(SslOption::IgnoreHostnameMismatch) {
            return Err(unsupported(
                "ssl-options(ignore-hostname-mismatch)",
                "a source does not check host names; it is only valid in a destination",
            ));
        }
    }
    if !config.permitted_peers.is_empty() && config.peer_verify == PeerVerify::OptionalUntrusted {
        // No certificate is asked for or checked: the names could not be enforced.
        return Err(unsupported(
            "permitted-peers",
            "permitted-peers() needs the peer's certificate; use it with peer-verify(required-trusted), \
             required-untrusted or optional-trusted",
        ));
    }
    for pattern in &config.permitted_peers {
        if let Some(problem) = super::peer_verification::pattern_problem(pattern) {
            return Err(TlsError::Invalid {
                what: format!("invalid permitted-peers() pattern: {problem}"),
                detail: format!("pattern='{pattern}'"),
                location: loc.to_string(),
            });
        }
    }
    let method = match side {
        Side::Client => SslMethod::tls_client(),
        Side::Server => SslMethod::tls_server(),
    };
    let mut b = SslContext::builder(method).map_err(setup)?;
    if side == Side::Server {
        b.set_session_id_context(b"syslog").map_err(setup)?;
    }
    load_identity(&mut b, config, side, &log)?;

    let mut ca = CaFacts::default();
    if let Some(dir) = &config.ca_dir {
        ca.ca_dir = Some(dir.display().to_string());
        match accessible(dir, loc) {
            // syslog-ng goes on without the directory; every verification then fails.
            Err(e) => log(Severity::Error, e.to_string()),
            Ok(()) => {
                let dir_text = dir.to_str().ok_or_else(|| unsupported("ca-dir", "the path is not UTF-8"))?;
                b.cert_store_mut()
                    .add_lookup(X509Lookup::hash_dir())
                    .and_then(|l| l.add_dir(dir_text, SslFiletype::PEM))
                    .map_err(setup)?;
                ca.ca_dir_unhashed = unhashed_ca_files(dir);
            }
        }
    }
    if let Some(file) = &config.ca_file {
        ca.ca_file = Some(file.display().to_string());
        match accessible(file, loc) {
            Err(e) => log(Severity::Error, e.to_string()),
            Ok(()) => b.set_ca_file(file).map_err(setup)?,
        }
    }
    if config.system_ca_store {
        b.set_default_verify_paths().map_err(setup)?;
    }
    if let Some(dir) = &config.crl_dir {
        ca.crl_dir = Some(dir.display().to_string());
        match accessible(dir, loc) {
            Err(e) => log(Severity::Error, e.to_string()),
            Ok(()) => {
                let dir_text = dir.to_str().ok_or_else(|| unsupported("crl-dir", "the path is not UTF-8"))?;
                b.cert_store_mut()
                    .add_lookup(X509Lookup::hash_dir())
                    .and_then(|l| l.add_dir(dir_text, SslFiletype::PEM))
                    .map_err(setup)?;
            }
        }
    }
    let mut flags = X509VerifyFlags::POLICY_CHECK;
    if config.crl_dir.is_some() {
        flags |= X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL;
    }
    b.verify_param_mut().set_flags(flags).map_err(setup)?;

    if side == Side::Server {
        // TLS 1.3 tickets arrive after the handshake; a sender that never reads and closes
        // right after writing makes the receiver's pending ticket write fail with a reset,
        // and the last messages are lost (openssl/openssl#7948). syslog-ng turns them off too.
        b.set_num_tickets(0).map_err(setup)?;
    }
    set_options(&mut b, config, side);
    if config.min_version.is_some() {
        // 4.x ssl-version(): the lowest version, as SSL_CTX_set_min_proto_version.
        b.set_min_proto_version(config.min_version).map_err(setup)?;
    }
    b.set_mode(SslMode::AUTO_RETRY);
    // Small syslog records: reading ahead halves the number of read calls.
    b.set_read_ahead(true);

    if let Some(curves) = &config.ecdh_curve_list {
        if b.set_groups_list(curves).is_err() {
            return Err(TlsError::Invalid {
                what: "invalid curve name in list".into(),
                detail: format!("ecdh_curve_list='{curves}'"),
                location: loc.to_string(),
            });
        }
    }
    match &config.dhparam_file {
        Some(path) => {
            accessible(path, loc)?;
            let dh = fs::read(path).ok().and_then(|pem| Dh::params_from_pem(&pem).ok());
            match dh {
                Some(dh) => b.set_tmp_dh(&dh).map_err(setup)?,
                None => {
                    return Err(TlsError::Invalid {
                        what: "invalid DH parameters".into(),
                        detail: format!("dhparam_file='{}'", path.display()),
                        location: loc.to_string(),
                    })
                }
            }
        }
        None => {
            ffi::set_dh_auto(&mut b);
        }
    }
    if let Some(list) = &config.cipher_suite.tls12_and_older {
        b.set_cipher_list(list).map_err(setup)?;
    }
    if let Some(list) = &config.cipher_suite.tls13 {
        b.set_ciphersuites(list).map_err(setup)?;
    }
    if let Some(list) = &config.sigalgs {
        b.set_sigalgs_list(list).map_err(setup)?;
    }
    if let Some(list) = &config.client_sigalgs {
        if !ffi::set_client_sigalgs(&mut b, list) {
            return Err(TlsError::setup(
                &openssl::error::ErrorStack::get(),
                Some(format!("client_sigalgs='{list}'")),
                loc,
            ));
        }
    }
    if let Some(path) = &config.keylog_file {
        keylog::install(&mut b, path, &log).map_err(|e| TlsError::FileAccess {
            path: path.clone(),
            error: e.to_string(),
            location: loc.to_string(),
        })?;
    }
    if !config.openssl_conf_cmds.is_empty() {
        if let Err(cmd) = ffi::apply_conf_cmds(&mut b, side == Side::Server, &config.openssl_conf_cmds) {
            return Err(TlsError::setup(
                &openssl::error::ErrorStack::get(),
                Some(format!("openssl_conf_cmd='{cmd}'")),
                loc,
            ));
        }
    }
    if side == Side::Client && config.ocsp_stapling_verify {
        let (log2, loc2) = (log.clone(), loc.to_string());
        b.set_status_callback(move |ssl| match ocsp::verify_stapled(ssl) {
            Ok(()) => {
                log2(Severity::Debug, format!("OCSP stapling verification succeeded; location='{loc2}'"));
                Ok(true)
            }
            Err(e) => {
                log2(Severity::Error, format!("OCSP stapling verification failed; error='{e}', location='{loc2}'"));
                Ok(false)
            }
        })
        .map_err(setup)?;
    }

    let policy = Arc::new(Policy {
        mode: config.peer_verify,
        trusted_dn: config.trusted_dn.clone(),
        trusted_keys: config.trusted_keys.clone(),
        trusted_fingerprints: config.trusted_fingerprints.clone(),
        any_digest: config.any_digest,
        extended_key_usage_verify: config.extended_key_usage_verify,
        peer_is_server: side == Side::Client,
        ignore_validity_period: config.has(SslOption::IgnoreValidityPeriod),
        ignore_hostname_mismatch: config.has(SslOption::IgnoreHostnameMismatch),
        permitted_peers: config.permitted_peers.clone(),
        location: loc.to_string(),
        log: log.clone(),
        ca,
    });
    let ssl = b.build();
    if let Some(cert) = ssl.certificate() {
        warn_expiry(cert, loc, config.expiry_warning_days, &log);
    }
    let cas: Vec<openssl::x509::X509> = config
        .ca_file
        .as_ref()
        .and_then(|f| fs::read(f).ok())
        .and_then(|pem| openssl::x509::X509::stack_from_pem(&pem).ok())
        .unwrap_or_default();
    certificates::loaded(loc, ssl.certificate(), &cas.iter().map(|c| c.as_ref()).collect::<Vec<_>>());
    Ok(Inner { ssl, policy, sni: config.sni, ocsp: config.ocsp_stapling_verify })
}

/// Warns, when the context is loaded (at start-up, reload, and when its files change), that
/// this side's certificate has expired, is not valid yet, or ends within `warning_days`
/// (`expiry-warning-days()`, 30 by default): peers that check it would refuse it.
fn warn_expiry(cert: &openssl::x509::X509Ref, loc: &str, warning_days: u32, log: &LogSink) {
    let Ok(now) = openssl::asn1::Asn1Time::days_from_now(0) else { return };
    let subject = super::peer_verification::format_dn(cert.subject_name());
    let (not_before, not_after) = (cert.not_before(), cert.not_after());
    let days_left = now.diff(not_after).map(|d| d.days).unwrap_or(0);
    let started = now.diff(not_before).map(|d| d.days < 0 || (d.days == 0 && d.secs <= 0)).unwrap_or(true);
    let text = if !started {
        format!("Certificate is not valid yet; subject='{subject}', not_before='{not_before}', location='{loc}'")
    } else if not_after < now {
        format!("Certificate has expired; subject='{subject}', not_after='{not_after}', location='{loc}'")
    } else if warning_days > 0 && i64::from(days_left) < i64::from(warning_days) {
        format!(
            "Certificate expires soon; subject='{subject}', not_after='{not_after}', days_left='{days_left}', location='{loc}'"
        )
    } else {
        return;
    };
    log(Severity::Warning, text);
}

impl TlsContext {
    /// Names the context in the handshake failure counters (by default its location); drivers
    /// use their address, e.g. `afsocket_sd.(stream,AF_INET(0.0.0.0:6514))`.
    #[must_use]
    pub fn with_instance(mut self, instance: &str) -> TlsContext {
        self.instance = Arc::from(instance);
        self
    }

    /// The name handshake failures are counted under.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Counts a failed handshake of this context.
    pub fn count_failure(&self, reason: FailureReason) {
        record_handshake_failure(&self.instance, reason);
    }

    pub fn side(&self) -> Side {
        self.shared.side
    }

    pub fn peer_verify(&self) -> PeerVerify {
        self.shared.config.peer_verify
    }

    /// Where the `tls()` block stands in the configuration.
    pub fn location(&self) -> &str {
        &self.shared.config.location
    }

    /// The 4.x `trusted-keys()`/`trusted-fingerprints()` entry `cert` matches, normalized as
    /// AxoSyslog writes it (`SHA256:AB:…`).
    pub(crate) fn matched_fingerprint(&self, cert: &openssl::x509::X509Ref) -> Option<String> {
        let inner = self.current()?;
        let p = &inner.policy;
        if !p.any_digest {
            return None;
        }
        let entry = p.trusted_keys.iter().chain(&p.trusted_fingerprints).find(|e| matches_entry(cert, e))?;
        Some(entry.trim().to_ascii_uppercase())
    }

    pub(crate) fn log(&self, severity: Severity, text: String) {
        (self.shared.log)(severity, text);
    }

    fn session(&self, inner: &Inner, host: Option<&str>) -> Result<(openssl::ssl::Ssl, RefusalSlot), HandshakeError> {
        let mut ssl = openssl::ssl::Ssl::new(&inner.ssl).map_err(|e| self.setup_failure(&e))?;
        let session = Session::new(inner.policy.clone(), host.map(String::from));
        let refusal = session.refusal.clone();
        let mode = match inner.policy.mode {
            PeerVerify::OptionalUntrusted => SslVerifyMode::NONE,
            PeerVerify::OptionalTrusted => SslVerifyMode::PEER | SslVerifyMode::CLIENT_ONCE,
            PeerVerify::RequiredTrusted | PeerVerify::RequiredUntrusted => {
                SslVerifyMode::PEER | SslVerifyMode::CLIENT_ONCE | SslVerifyMode::FAIL_IF_NO_PEER_CERT
            }
        };
        ssl.set_verify_callback(mode, move |ok, ctx| session.verify(ok, ctx));
        if let Some(host) = host {
            // Server name indication carries host names only (RFC 6066), never addresses.
            if inner.sni && host.parse::<IpAddr>().is_err() {
                ssl.set_hostname(host).map_err(|e| self.setup_failure(&e))?;
            }
            if inner.ocsp {
                ssl.set_status_type(StatusType::OCSP).map_err(|e| self.setup_failure(&e))?;
            }
        }
        Ok((ssl, refusal))
    }

    fn setup_failure(&self, e: &openssl::error::ErrorStack) -> HandshakeError {
        HandshakeError {
            message: format!(
                "Error setting up TLS session; tls_error='{}', location='{}'",
                tls_error_string(e),
                self.location()
            ),
            hint: None,
            peer_closed: false,
            reason: FailureReason::Other,
        }
    }

    /// Runs the server side of a handshake on an accepted connection.
    ///
    /// # Errors
    /// The handshake failed; the error is worded as syslog-ng logs it, with a hint.
    pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: S) -> Result<TlsStream<S>, HandshakeError> {
        let result = async {
            let inner = self.ready().await;
            let (ssl, refusal) = self.session(&inner, None)?;
            let mut s = tokio_openssl::SslStream::new(ssl, stream).map_err(|e| self.setup_failure(&e))?;
            match Pin::new(&mut s).accept().await {
                Ok(()) => self.established(s, &inner),
                Err(e) => Err(self.handshake_failure(&e, &refusal, &inner.policy.ca)),
            }
        }
        .await;
        self.counted(result)
    }

    /// Runs the client side of a handshake with `host` (as written in the destination: it is
    /// what the server's certificate is checked against, and the SNI sent with `sni(yes)`).
    ///
    /// # Errors
    /// The handshake failed; the error is worded as syslog-ng logs it, with a hint.
    pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
        host: &str,
    ) -> Result<TlsStream<S>, HandshakeError> {
        let result = async {
            let inner = self.ready().await;
            let (ssl, refusal) = self.session(&inner, Some(host))?;
            let mut s = tokio_openssl::SslStream::new(ssl, stream).map_err(|e| self.setup_failure(&e))?;
            match Pin::new(&mut s).connect().await {
                Ok(()) => self.established(s, &inner),
                Err(e) => Err(self.handshake_failure(&e, &refusal, &inner.policy.ca)),
            }
        }
        .await;
        self.counted(result)
    }

    /// A completed handshake: refused when `permitted-peers()` wants a certificate the peer did
    /// not send (`optional-trusted`), else counted by protocol and cipher.
    fn established<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        s: tokio_openssl::SslStream<S>,
        inner: &Inner,
    ) -> Result<TlsStream<S>, HandshakeError> {
        let ssl = s.ssl();
        if !inner.policy.permitted_peers.is_empty() && ssl.peer_certificate().is_none() {
            let message = format!(
                "Peer sent no certificate, but permitted-peers() is set, rejecting; permitted_peers='{}', location='{}'",
                inner.policy.permitted_peers.join(", "),
                self.location()
            );
            self.log(Severity::Error, message.clone());
            return Err(HandshakeError {
                message,
                hint: Some("permitted-peers() admits only peers whose certificate names a permitted host".into()),
                peer_closed: false,
                reason: FailureReason::PermittedPeers,
            });
        }
        self.peer_seen(ssl);
        let cipher = ssl.current_cipher().map_or("unknown", |c| c.name());
        record_handshake(&self.instance, ssl.version_str(), cipher, ssl.session_reused());
        Ok(TlsStream::new(s, self.clone()))
    }

    fn counted<T>(&self, result: Result<T, HandshakeError>) -> Result<T, HandshakeError> {
        if let Err(e) = &result {
            self.count_failure(e.reason);
        }
        result
    }

    /// syslog-ng reports handshake failures from its read (server) or write (client) path.
    pub(crate) fn direction(&self) -> &'static str {
        match self.shared.side {
            Side::Server => "reading",
            Side::Client => "writing",
        }
    }

    pub(crate) fn handshake_failure(
        &self,
        e: &openssl::ssl::Error,
        refusal: &Mutex<Option<Refusal>>,
        ca: &CaFacts,
    ) -> HandshakeError {
        let we_are_client = self.shared.side == Side::Client;
        let refused = refusal.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let own_reason = refused.as_ref().map(FailureReason::of_refusal);
        let own_hint = refused.map(|r| hint(&r, ca, we_are_client));
        if let Some(stack) = e.ssl_error() {
            let reason = stack.errors().first().and_then(|x| x.reason()).unwrap_or("");
            return HandshakeError {
                reason: own_reason.unwrap_or_else(|| FailureReason::of_ssl_reason(reason)),
                message: format!(
                    "SSL error while {} stream; tls_error='{}', location='{}'",
                    self.direction(),
                    tls_error_string(stack),
                    self.location()
                ),
                hint: own_hint.or_else(|| alert_hint(reason, we_are_client)),
                peer_closed: false,
            };
        }
        let (message, peer_closed) = match e.io_error() {
            Some(io) => (
                format!("I/O error occurred during the TLS handshake; error='{io}', location='{}'", self.location()),
                false,
            ),
            None => (format!("Connection closed during the TLS handshake; location='{}'", self.location()), true),
        };
        let hint = own_hint.or_else(|| {
            let peer = if we_are_client { "the server" } else { "the client" };
            Some(format!(
                "{peer} closed the connection: it probably refused our certificate or protocol; its log says why"
            ))
        });
        HandshakeError { message, hint, peer_closed, reason: own_reason.unwrap_or(FailureReason::Other) }
    }
}

fn set_options(b: &mut SslContextBuilder, config: &TlsConfig, side: Side) {
    let mut opts = SslOptions::empty();
    for o in &config.ssl_options {
        opts |= match o {
            SslOption::NoSslv2 => SslOptions::NO_SSLV2,
            SslOption::NoSslv3 => SslOptions::NO_SSLV3,
            SslOption::NoTlsv1 => SslOptions::NO_TLSV1,
            SslOption::NoTlsv11 => SslOptions::NO_TLSV1_1,
            SslOption::NoTlsv12 => SslOptions::NO_TLSV1_2,
            SslOption::NoTlsv13 => SslOptions::NO_TLSV1_3,
            // Verification rules, and what rsng does anyway (below), not OpenSSL options.
            SslOption::IgnoreHostnameMismatch | SslOption::IgnoreValidityPeriod | SslOption::IgnoreUnexpectedEof => {
                SslOptions::empty()
            }
        };
    }
    if !config.ssl_options.is_empty() && side == Side::Server {
        opts |= SslOptions::CIPHER_SERVER_PREFERENCE;
    }
    // A peer that closes without close_notify ends the stream like a clean close: the data
    // before it is complete syslog frames, and syslog-ng 3.38 treats it the same way.
    opts |= SslOptions::IGNORE_UNEXPECTED_EOF;
    b.set_options(opts);
    if config.allow_compress {
        b.clear_options(SslOptions::NO_COMPRESSION);
    } else {
        b.set_options(SslOptions::NO_COMPRESSION);
    }
}

/// Loads the key pair: `pkcs12-file()`, else `key-file()` and `cert-file()`.
fn load_identity(b: &mut SslContextBuilder, config: &TlsConfig, side: Side, log: &LogSink) -> Result<(), TlsError> {
    let loc = config.location.as_str();
    let setup = |e: openssl::error::ErrorStack| TlsError::setup(&e, None, loc);
    if let Some(p12) = &config.pkcs12_file {
        if config.key_file.is_some() || config.cert_file.is_some() {
            log(
                Severity::Warning,
                format!(
                    "WARNING: pkcs12-file() is specified, key-file() and cert-file() will be omitted; location='{loc}'"
                ),
            );
        }
        accessible(p12, loc)?;
        let der = fs::read(p12).map_err(|e| TlsError::FileAccess {
            path: p12.clone(),
            error: e.to_string(),
            location: loc.to_string(),
        })?;
        let parsed = Pkcs12::from_der(&der).and_then(|p| p.parse2("")).map_err(setup)?;
        if let Some(cas) = parsed.ca {
            for ca in cas {
                if side == Side::Server {
                    b.add_client_ca(&ca).map_err(setup)?;
                }
                b.cert_store_mut().add_cert(ca).map_err(setup)?;
            }
        }
        let (Some(cert), Some(key)) = (parsed.cert, parsed.pkey) else {
            return Err(TlsError::Invalid {
                what: "the PKCS#12 file holds no certificate or no private key".into(),
                detail: format!("pkcs12_file='{}'", p12.display()),
                location: loc.to_string(),
            });
        };
        b.set_certificate(&cert).map_err(setup)?;
        b.set_private_key(&key).map_err(setup)?;
        return b.check_private_key().map_err(|_| TlsError::Key {
            path: p12.clone(),
            error: "the private key does not match the certificate".into(),
            location: loc.to_string(),
        });
    }
    let (Some(key), Some(cert)) = (&config.key_file, &config.cert_file) else {
        if side == Side::Server {
            log(
                Severity::Warning,
                format!(
                    "You have a TLS enabled source without a X.509 keypair. Make sure you have tls(key-file() and \
                     cert-file()) options, TLS handshake to this source will fail; location='{loc}'"
                ),
            );
        }
        return Ok(());
    };
    let key_access = accessible(key, loc);
    let cert_access = accessible(cert, loc);
    key_access?;
    cert_access?;
    let pem = fs::read(key).map_err(|e| TlsError::FileAccess {
        path: key.clone(),
        error: e.to_string(),
        location: loc.to_string(),
    })?;
    let key_error =
        |error: &str| TlsError::Key { path: key.clone(), error: error.to_string(), location: loc.to_string() };
    let pkey = if pem.windows(9).any(|w| w == b"ENCRYPTED") {
        let passphrase = |given| TlsError::Passphrase { path: key.clone(), given, location: loc.to_string() };
        let secret = credentials::secret(&key.to_string_lossy()).ok_or_else(|| passphrase(false))?;
        PKey::private_key_from_pem_passphrase(&pem, &secret).map_err(|_| passphrase(true))?
    } else {
        // The callback answers any passphrase prompt with nothing, so OpenSSL never reads a
        // terminal.
        PKey::private_key_from_pem_callback(&pem, |_| Ok(0))
            .map_err(|_| key_error("the private key cannot be parsed (PEM expected)"))?
    };
    b.set_private_key(&pkey).map_err(|_| key_error("the private key cannot be used"))?;
    b.set_certificate_chain_file(cert).map_err(setup)?;
    b.check_private_key().map_err(|_| key_error("the private key does not match the certificate in cert-file()"))
}
