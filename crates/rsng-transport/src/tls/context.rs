//! Building the OpenSSL context of a `tls()` block, in the order and with the messages of
//! syslog-ng's `tls_context_setup_context`, and starting sessions on it.

use std::fs;
use std::net::IpAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use openssl::dh::Dh;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::ssl::{
    SslContext, SslContextBuilder, SslFiletype, SslMethod, SslMode, SslOptions, SslVerifyMode, StatusType,
};
use openssl::x509::store::X509Lookup;
use openssl::x509::verify::X509VerifyFlags;
use tokio::io::{AsyncRead, AsyncWrite};

use super::config::{SslOption, TlsConfig};
use super::errors::{tls_error_string, HandshakeError, TlsError};
use super::peer_verification::{alert_hint, hint, CaFacts, Policy, Refusal, Session};
use super::stream::TlsStream;
use super::{ffi, keylog, ocsp, LogSink, PeerVerify, Severity, Side};

/// Where a session's verify callback leaves its reason for refusing the peer.
type RefusalSlot = Arc<Mutex<Option<Refusal>>>;

/// A ready `tls()` block: an OpenSSL context plus syslog-ng's verification policy. Cheap to
/// clone; shared by every connection of a driver.
#[derive(Clone)]
pub struct TlsContext {
    inner: Arc<Inner>,
}

struct Inner {
    ssl: SslContext,
    side: Side,
    policy: Arc<Policy>,
    sni: bool,
    ocsp: bool,
    log: LogSink,
}

impl std::fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsContext")
            .field("side", &self.inner.side)
            .field("peer_verify", &self.inner.policy.mode)
            .field("location", &self.inner.policy.location)
            .finish_non_exhaustive()
    }
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
            ignore_validity_period: config.has(SslOption::IgnoreValidityPeriod),
            ignore_hostname_mismatch: config.has(SslOption::IgnoreHostnameMismatch),
            location: loc.to_string(),
            log: log.clone(),
            ca,
        });
        Ok(TlsContext {
            inner: Arc::new(Inner {
                ssl: b.build(),
                side,
                policy,
                sni: config.sni,
                ocsp: config.ocsp_stapling_verify,
                log,
            }),
        })
    }

    pub fn side(&self) -> Side {
        self.inner.side
    }

    pub fn peer_verify(&self) -> PeerVerify {
        self.inner.policy.mode
    }

    /// Where the `tls()` block stands in the configuration.
    pub fn location(&self) -> &str {
        &self.inner.policy.location
    }

    pub(crate) fn log(&self, severity: Severity, text: String) {
        (self.inner.log)(severity, text);
    }

    fn session(&self, host: Option<&str>) -> Result<(openssl::ssl::Ssl, RefusalSlot), HandshakeError> {
        let mut ssl = openssl::ssl::Ssl::new(&self.inner.ssl).map_err(|e| self.setup_failure(&e))?;
        let session = Session::new(self.inner.policy.clone(), host.map(String::from));
        let refusal = session.refusal.clone();
        let mode = match self.inner.policy.mode {
            PeerVerify::OptionalUntrusted => SslVerifyMode::NONE,
            PeerVerify::OptionalTrusted => SslVerifyMode::PEER | SslVerifyMode::CLIENT_ONCE,
            PeerVerify::RequiredTrusted | PeerVerify::RequiredUntrusted => {
                SslVerifyMode::PEER | SslVerifyMode::CLIENT_ONCE | SslVerifyMode::FAIL_IF_NO_PEER_CERT
            }
        };
        ssl.set_verify_callback(mode, move |ok, ctx| session.verify(ok, ctx));
        if let Some(host) = host {
            // Server name indication carries host names only (RFC 6066), never addresses.
            if self.inner.sni && host.parse::<IpAddr>().is_err() {
                ssl.set_hostname(host).map_err(|e| self.setup_failure(&e))?;
            }
            if self.inner.ocsp {
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
        }
    }

    /// Runs the server side of a handshake on an accepted connection.
    ///
    /// # Errors
    /// The handshake failed; the error is worded as syslog-ng logs it, with a hint.
    pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: S) -> Result<TlsStream<S>, HandshakeError> {
        let (ssl, refusal) = self.session(None)?;
        let mut s = tokio_openssl::SslStream::new(ssl, stream).map_err(|e| self.setup_failure(&e))?;
        match Pin::new(&mut s).accept().await {
            Ok(()) => Ok(TlsStream::new(s, self.clone())),
            Err(e) => Err(self.handshake_failure(&e, &refusal)),
        }
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
        let (ssl, refusal) = self.session(Some(host))?;
        let mut s = tokio_openssl::SslStream::new(ssl, stream).map_err(|e| self.setup_failure(&e))?;
        match Pin::new(&mut s).connect().await {
            Ok(()) => Ok(TlsStream::new(s, self.clone())),
            Err(e) => Err(self.handshake_failure(&e, &refusal)),
        }
    }

    /// syslog-ng reports handshake failures from its read (server) or write (client) path.
    pub(crate) fn direction(&self) -> &'static str {
        match self.inner.side {
            Side::Server => "reading",
            Side::Client => "writing",
        }
    }

    pub(crate) fn handshake_failure(
        &self,
        e: &openssl::ssl::Error,
        refusal: &Mutex<Option<Refusal>>,
    ) -> HandshakeError {
        let we_are_client = self.inner.side == Side::Client;
        let refused = refusal.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let own_hint = refused.map(|r| hint(&r, &self.inner.policy.ca, we_are_client));
        if let Some(stack) = e.ssl_error() {
            let reason = stack.errors().first().and_then(|x| x.reason()).unwrap_or("");
            return HandshakeError {
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
        HandshakeError { message, hint, peer_closed }
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
            SslOption::IgnoreHostnameMismatch | SslOption::IgnoreValidityPeriod => SslOptions::empty(),
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
    if pem.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(key_error(
            "the private key is encrypted; rsng cannot ask for its passphrase, store it decrypted (readable by rsng only)",
        ));
    }
    // The callback answers any passphrase prompt with nothing, so OpenSSL never reads a terminal.
    let pkey = PKey::private_key_from_pem_callback(&pem, |_| Ok(0))
        .map_err(|_| key_error("the private key cannot be parsed (PEM expected)"))?;
    b.set_private_key(&pkey).map_err(|_| key_error("the private key cannot be used"))?;
    b.set_certificate_chain_file(cert).map_err(setup)?;
    b.check_private_key().map_err(|_| key_error("the private key does not match the certificate in cert-file()"))
}
