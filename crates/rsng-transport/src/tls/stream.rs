//! An established TLS connection: reads and writes like the TCP stream below it, reports OpenSSL
//! errors as syslog-ng does, and exposes the peer's identity.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use openssl::nid::Nid;
use openssl::ssl::SslVersion;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use super::errors::{tls_error_string, HandshakeError};
use super::peer_verification::alert_hint;
use super::stats::FailureReason;
use super::{Severity, TlsContext};

/// syslog-ng copies the peer's names into fixed buffers (`X509_MAX_CN_LEN` 64, `X509_MAX_O_LEN`
/// 64, `X509_MAX_OU_LEN` 32, each with its terminating NUL), so longer names arrive cut.
const MAX_CN: usize = 63;
const MAX_O: usize = 63;
const MAX_OU: usize = 31;

/// The subject names of the peer's certificate, as syslog-ng puts them on received messages
/// (`.tls.x509_cn`, `.tls.x509_o`, `.tls.x509_ou`). A name the certificate lacks is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    pub cn: Vec<u8>,
    pub o: Vec<u8>,
    pub ou: Vec<u8>,
    /// The `trusted-keys()`/`trusted-fingerprints()` entry the certificate matched, as AxoSyslog
    /// puts it in `.tls.x509_fp` (empty: none matched, or none is configured).
    pub fingerprint: Vec<u8>,
}

impl PeerIdentity {
    /// The name-value pairs of a received message (`.tls.x509_fp` only when a fingerprint
    /// matched).
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &[u8])> {
        [(".tls.x509_cn", &self.cn[..]), (".tls.x509_o", &self.o[..]), (".tls.x509_ou", &self.ou[..])]
            .into_iter()
            .chain((!self.fingerprint.is_empty()).then_some((".tls.x509_fp", &self.fingerprint[..])))
    }
}

/// A TLS connection over `S` (a TCP stream).
pub struct TlsStream<S> {
    inner: tokio_openssl::SslStream<S>,
    ctx: TlsContext,
}

impl<S> std::fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream").field("version", &self.inner.ssl().version_str()).finish_non_exhaustive()
    }
}

/// Whether an error from OpenSSL only says the peer closed the TCP connection without a
/// close_notify alert: that ends the stream normally, after everything it sent.
fn is_unexpected_eof(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return true;
    }
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<openssl::ssl::Error>())
        .and_then(|ssl| ssl.ssl_error())
        .is_some_and(|stack| stack.errors().iter().any(|x| x.reason() == Some("unexpected eof while reading")))
}

fn ssl_error_text(e: &io::Error) -> Option<String> {
    let ssl = e.get_ref()?.downcast_ref::<openssl::ssl::Error>()?;
    Some(tls_error_string(ssl.ssl_error()?))
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream<S> {
    pub(crate) fn new(inner: tokio_openssl::SslStream<S>, ctx: TlsContext) -> TlsStream<S> {
        TlsStream { inner, ctx }
    }

    /// The peer's certificate names, if it sent a certificate.
    pub fn peer_identity(&self) -> Option<PeerIdentity> {
        let cert = self.inner.ssl().peer_certificate()?;
        let name = cert.subject_name();
        let get = |nid: Nid, max: usize| {
            let mut v = name.entries_by_nid(nid).next().map(|e| e.data().as_slice().to_vec()).unwrap_or_default();
            v.truncate(max);
            v
        };
        Some(PeerIdentity {
            cn: get(Nid::COMMONNAME, MAX_CN),
            o: get(Nid::ORGANIZATIONNAME, MAX_O),
            ou: get(Nid::ORGANIZATIONALUNITNAME, MAX_OU),
            fingerprint: self.ctx.matched_fingerprint(&cert).map(String::into_bytes).unwrap_or_default(),
        })
    }

    /// The negotiated protocol (`TLSv1.3`) and cipher, for messages.
    pub fn describe(&self) -> (String, String) {
        let ssl = self.inner.ssl();
        let cipher = ssl.current_cipher().map(|c| c.name().to_string()).unwrap_or_default();
        (ssl.version_str().to_string(), cipher)
    }

    pub fn get_ref(&self) -> &S {
        self.inner.get_ref()
    }

    /// A TLS 1.3 client learns that the server refused its certificate only after its handshake
    /// has completed, from an alert that follows. Messages written before that alert would be
    /// lost, so a client waits up to `wait` for it before sending anything. Data arriving
    /// instead is ignored (syslog servers send none); silence means accepted. TLS 1.2 and older
    /// finish the handshake only after the server's verdict, so they return at once.
    ///
    /// # Errors
    /// The server refused the connection or closed it.
    pub async fn await_verdict(&mut self, wait: Duration) -> Result<(), HandshakeError> {
        if self.inner.ssl().version2() != Some(SslVersion::TLS1_3) {
            return Ok(());
        }
        let mut buf = [0u8; 512];
        let read = tokio::time::timeout(wait, self.inner.read(&mut buf)).await;
        let location = self.ctx.location().to_string();
        let verdict = match read {
            Err(_) | Ok(Ok(1..)) => Ok(()),
            Ok(Ok(0)) => Err(HandshakeError {
                message: format!("Connection closed by the server after the TLS handshake; location='{location}'"),
                hint: Some("the server closed the connection right away: its log says why (e.g. trusted-dn())".into()),
                peer_closed: true,
                reason: FailureReason::Other,
            }),
            Ok(Err(e)) => {
                let tls_error = ssl_error_text(&e).unwrap_or_else(|| e.to_string());
                Err(HandshakeError {
                    message: format!("SSL error while reading stream; tls_error='{tls_error}', location='{location}'"),
                    hint: alert_hint(&tls_error, true),
                    peer_closed: false,
                    reason: FailureReason::of_ssl_reason(&tls_error),
                })
            }
        };
        if let Err(e) = &verdict {
            self.ctx.count_failure(e.reason);
        }
        verdict
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if is_unexpected_eof(&e) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => {
                if let Some(text) = ssl_error_text(&e) {
                    self.ctx.log(
                        Severity::Error,
                        format!(
                            "SSL error while reading stream; tls_error='{text}', location='{}'",
                            self.ctx.location()
                        ),
                    );
                    return Poll::Ready(Err(io::Error::from(io::ErrorKind::ConnectionReset)));
                }
                Poll::Ready(Err(e))
            }
            other => other,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) => {
                if let Some(text) = ssl_error_text(&e) {
                    self.ctx.log(
                        Severity::Error,
                        format!(
                            "SSL error while writing stream; tls_error='{text}', location='{}'",
                            self.ctx.location()
                        ),
                    );
                    return Poll::Ready(Err(io::Error::from(io::ErrorKind::BrokenPipe)));
                }
                Poll::Ready(Err(e))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
