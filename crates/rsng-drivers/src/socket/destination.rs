//! Socket destinations: one writer task per destination. It connects (retrying every
//! `time-reopen()` seconds while the peer is away, keeping the queue), then takes batches from the
//! queue, formats them into one buffer and writes it with one call.
//!
//! A TLS destination handshakes after connecting and verifies the server (see
//! [`rsng_transport::tls`]); a refused handshake is retried like a refused connection, and the
//! queue keeps every message until it is written.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rsng_core::LogMessage;
use rsng_transport::tls::{HandshakeError, TlsContext};
use rsng_transport::{Family, SocketOptions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::failover::{primary_back, Failover, Probe};
use super::spoof::SpoofSource;
use crate::file::os_error;
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::writer::Writer;
use crate::{Destination, DestinationContext, Task};

/// Where a socket destination sends.
#[derive(Debug, Clone)]
pub enum Peer {
    Tcp {
        host: String,
        port: u16,
        family: Family,
        local_ip: Option<String>,
        local_port: u16,
        octet_counted: bool,
        /// The `tls()` context of a TLS destination.
        tls: Option<TlsContext>,
        /// `max-connection-lifetime()`: connect again once a connection is this old.
        max_lifetime: Option<Duration>,
    },
    Udp {
        host: String,
        port: u16,
        family: Family,
        local_ip: Option<String>,
        local_port: u16,
        /// `spoof-source(yes)`: the longest message sent from its sender's address.
        spoof_max_len: Option<usize>,
    },
    UnixStream(PathBuf),
    UnixDgram(PathBuf),
}

pub struct SocketDestination {
    pub name: String,
    pub peer: Peer,
    pub writer: Writer,
    pub sockopts: SocketOptions,
    pub time_reopen: Duration,
    /// `close-on-input()`: input from a stream's server ends the connection.
    pub close_on_input: bool,
    /// `throttle()`: at most this many messages a second.
    pub throttle: crate::file::Throttle,
    /// `failover()`: the other servers of an IP destination.
    pub failover: Option<Failover>,
    /// `spoof-source(yes)` of a UDP destination, once its raw socket is open.
    pub spoof: Option<SpoofSource>,
}

/// Messages taken from the queue per write.
const BATCH: usize = 256;

/// A byte stream both ways (TCP, TLS, unix).
trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}

enum Connection {
    /// Before each write, rsng checks that the peer has not closed the connection, refused it (a
    /// TLS server reports a refusal with an alert, possibly after our handshake finished) or, with
    /// `close-on-input(yes)`, sent anything.
    Stream {
        io: Box<dyn Duplex>,
    },
    Udp(tokio::net::UdpSocket),
    UnixDgram(tokio::net::UnixDatagram, PathBuf),
}

/// Why a connection could not be made.
enum ConnectError {
    Io(std::io::Error),
    /// The TLS handshake failed (logged as syslog-ng logs it).
    Tls(HandshakeError),
}

impl From<std::io::Error> for ConnectError {
    fn from(e: std::io::Error) -> Self {
        ConnectError::Io(e)
    }
}

/// Whether the peer of a stream has closed it or sent an alert, without waiting. Input from the
/// server counts as its end too with `close-on-input(yes)` (syslog-ng's default: a syslog
/// server has nothing to say, so input means the other end is something else); with
/// `close-on-input(no)` it is dropped.
async fn peer_gone(io: &mut Box<dyn Duplex>, close_on_input: bool) -> bool {
    let mut buf = [0u8; 512];
    let mut read = tokio::io::ReadBuf::new(&mut buf);
    // The read is polled once, pending meaning the peer has said nothing. Not through a zero
    // timeout: the timer rounds up to the next millisecond, which capped the writer at a batch
    // per millisecond.
    let polled = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut **io).poll_read(cx, &mut read) {
            std::task::Poll::Ready(result) => Some(result),
            std::task::Poll::Pending => None,
        })
    })
    .await;
    match polled.map(|result| result.map(|()| read.filled().len())) {
        None => false,
        Some(Err(_)) => true,
        Some(Ok(0)) => {
            internal::error("EOF occurred while idle");
            true
        }
        Some(Ok(_)) if close_on_input => {
            internal::error("EOF occurred while idle");
            true
        }
        Some(Ok(_)) => false,
    }
}

/// The local end `localip()`/`localport()` bind to (`None`: neither is set).
fn local_addr(ip: &Option<String>, port: u16, family: Family) -> std::io::Result<Option<SocketAddr>> {
    if ip.is_none() && port == 0 {
        return Ok(None);
    }
    rsng_transport::resolve(ip.as_deref(), port, family).map(Some)
}

/// How long a closing connection waits for the server to close its side.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Closes a stream so that the server has read everything before it goes: close_notify and FIN,
/// then wait for the server's end of stream. Dropping it at once could reset the connection
/// while the server still has unread data, which it may then discard.
async fn close_gracefully(io: &mut Box<dyn Duplex>) {
    if io.shutdown().await.is_err() {
        return;
    }
    let mut buf = [0u8; 512];
    let _ =
        tokio::time::timeout(CLOSE_WAIT, async { while matches!(io.read(&mut buf).await, Ok(n) if n > 0) {} }).await;
}

impl SocketDestination {
    fn describe(&self) -> String {
        match &self.peer {
            Peer::Tcp { port, .. } | Peer::Udp { port, .. } => format!("{}:{port}", self.host()),
            Peer::UnixStream(p) | Peer::UnixDgram(p) => format!("AF_UNIX({})", p.display()),
        }
    }

    /// The server the current connection goes to: the destination's host, or with
    /// `failover()` the one the rotation is at.
    fn host(&self) -> &str {
        match (&self.failover, &self.peer) {
            (Some(f), _) => f.host(),
            (None, Peer::Tcp { host, .. } | Peer::Udp { host, .. }) => host,
            (None, _) => "",
        }
    }

    /// With `failover()`, moves on to the next server before a connection attempt, and starts
    /// probing the primary when it has just been left with `failback()` on.
    fn advance_failover(&mut self, probe: &mut Option<Probe>) {
        let Some(failover) = &mut self.failover else { return };
        if !failover.advance() {
            return;
        }
        let (port, family, local_ip, local_port, udp) = match &self.peer {
            Peer::Tcp { port, family, local_ip, local_port, .. } => (*port, *family, local_ip, *local_port, false),
            Peer::Udp { port, family, local_ip, local_port, .. } => (*port, *family, local_ip, *local_port, true),
            _ => return,
        };
        // An unresolvable local address fails the destination's own connections, which say so.
        let local = local_addr(local_ip, local_port, family).ok().flatten();
        *probe = Some(failover.start_probing(port, family, local, self.sockopts.clone(), udp));
    }

    /// Connects to the current server; `handed` is a connection to it made already (by the
    /// failback probes), which a TLS destination handshakes on.
    async fn connect(&self, handed: Option<tokio::net::TcpStream>) -> Result<Connection, ConnectError> {
        match &self.peer {
            Peer::Tcp { port, family, local_ip, local_port, tls, .. } => {
                let host = self.host();
                let stream = match handed {
                    Some(stream) => stream,
                    None => {
                        let addr = rsng_transport::resolve(Some(host), *port, *family)?;
                        rsng_transport::connect_tcp(addr, local_addr(local_ip, *local_port, *family)?, &self.sockopts)
                            .await?
                    }
                };
                let Some(tls) = tls else { return Ok(Connection::Stream { io: Box::new(stream) }) };
                let handshake = tokio::time::timeout(tls.handshake_timeout(), tls.connect(stream, host)).await;
                let mut stream = match handshake {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return Err(ConnectError::Tls(e)),
                    Err(_) => {
                        tls.count_failure(rsng_transport::tls::FailureReason::Other);
                        return Err(ConnectError::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "TLS handshake timed out",
                        )));
                    }
                };
                stream.await_verdict(super::tls::VERDICT_WAIT).await.map_err(ConnectError::Tls)?;
                let (version, cipher) = stream.describe();
                internal::info(format!(
                    "TLS handshake completed; server='{}', protocol='{version}', cipher='{cipher}'",
                    self.describe()
                ));
                Ok(Connection::Stream { io: Box::new(stream) })
            }
            Peer::Udp { port, family, local_ip, local_port, .. } => {
                let addr = rsng_transport::resolve(Some(self.host()), *port, *family)?;
                let socket =
                    rsng_transport::udp_sender(&addr, &self.sockopts, local_addr(local_ip, *local_port, *family)?)?;
                let socket = tokio::net::UdpSocket::from_std(socket)?;
                socket.connect(addr).await?;
                Ok(Connection::Udp(socket))
            }
            Peer::UnixStream(path) => {
                Ok(Connection::Stream { io: Box::new(tokio::net::UnixStream::connect(path).await?) })
            }
            Peer::UnixDgram(path) => Ok(Connection::UnixDgram(tokio::net::UnixDatagram::unbound()?, path.clone())),
        }
    }

    fn max_lifetime(&self) -> Option<Duration> {
        match self.peer {
            Peer::Tcp { max_lifetime, .. } => max_lifetime,
            _ => None,
        }
    }

    fn octet_counted(&self) -> bool {
        matches!(self.peer, Peer::Tcp { octet_counted: true, .. })
    }
}

impl Destination for SocketDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let mut this = *self;
            if let Peer::Udp { spoof_max_len: Some(max_len), .. } = this.peer {
                match SpoofSource::open(max_len) {
                    Ok(spoof) => this.spoof = Some(spoof),
                    Err(e) => internal::error(format!(
                        "Error initializing raw socket, spoof-source support disabled; error='{}'",
                        os_error(&e)
                    )),
                }
            }
            let queue = ctx.queue;
            let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH);
            let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
            let mut line: Vec<u8> = Vec::with_capacity(1024);
            let mut next = NextAttempt { advance: true, ..NextAttempt::default() };
            'connect: loop {
                if std::mem::replace(&mut next.advance, true) {
                    this.advance_failover(&mut next.probe);
                }
                let conn = tokio::select! {
                    r = this.connect(next.handed.take()) => r,
                    back = primary_back(&mut next.probe) => {
                        this.fail_back(back, &mut next);
                        continue 'connect;
                    }
                    _ = ctx.shutdown.cancelled() => return,
                };
                let mut conn = match conn {
                    Ok(c) => c,
                    Err(e) => {
                        match e {
                            ConnectError::Io(e) => internal::error(format!(
                                "Connection failed; server='{}', error='{e}', time_reopen='{}'",
                                this.describe(),
                                this.time_reopen.as_secs()
                            )),
                            ConnectError::Tls(e) => {
                                internal::error(e.to_string());
                                internal::error(format!(
                                    "Syslog connection broken; server='{}', time_reopen='{}'",
                                    this.describe(),
                                    this.time_reopen.as_secs()
                                ));
                            }
                        }
                        if this.wait_to_reconnect(&mut next, &ctx.shutdown, &queue).await {
                            continue 'connect;
                        }
                        return;
                    }
                };
                internal::notice(format!("Syslog connection established; server='{}'", this.describe()));
                let expires = this.max_lifetime().map(|l| tokio::time::Instant::now() + l);
                loop {
                    if batch.is_empty() {
                        // While a failover server is in use, the primary's return is looked
                        // at whenever the writer is between batches.
                        if next.probe.is_some() {
                            tokio::select! {
                                biased;
                                back = primary_back(&mut next.probe) => {
                                    if let Connection::Stream { io } = &mut conn {
                                        close_gracefully(io).await;
                                    }
                                    this.fail_back(back, &mut next);
                                    continue 'connect;
                                }
                                _ = queue.wait_len(1) => {}
                            }
                        }
                        this.throttle.wait().await;
                        if !queue.pop(this.throttle.limit(BATCH), &mut batch).await {
                            if let Connection::Stream { io } = &mut conn {
                                let _ = io.shutdown().await;
                            }
                            return;
                        }
                        this.throttle.account(batch.len());
                    }
                    // An old connection is closed between two writes, and the batch in hand goes
                    // out on the next one.
                    if expires.is_some_and(|at| tokio::time::Instant::now() >= at) {
                        if let Connection::Stream { io } = &mut conn {
                            close_gracefully(io).await;
                        }
                        internal::notice(format!(
                            "Connection lifetime reached, reconnecting; server='{}', max_connection_lifetime='{}'",
                            this.describe(),
                            this.max_lifetime().unwrap_or_default().as_secs()
                        ));
                        queue.push_front(&mut batch);
                        next.advance = false;
                        continue 'connect;
                    }
                    if let Connection::Stream { io } = &mut conn {
                        if peer_gone(io, this.close_on_input).await {
                            internal::error(format!(
                                "Syslog connection broken; server='{}', time_reopen='{}'",
                                this.describe(),
                                this.time_reopen.as_secs()
                            ));
                            queue.push_front(&mut batch);
                            if this.wait_to_reconnect(&mut next, &ctx.shutdown, &queue).await {
                                continue 'connect;
                            }
                            return;
                        }
                    }
                    let result = this.send(&mut conn, &batch, &mut out, &mut line).await;
                    match result {
                        Ok(()) => {
                            queue.stats.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                            batch.clear();
                        }
                        Err(e) => {
                            internal::error(format!(
                                "I/O error occurred while writing; server='{}', error='{e}'",
                                this.describe()
                            ));
                            // What was not written goes back first in line for the next connection.
                            queue.push_front(&mut batch);
                            if this.wait_to_reconnect(&mut next, &ctx.shutdown, &queue).await {
                                continue 'connect;
                            }
                            return;
                        }
                    }
                }
            }
        })
    }
}

/// What the next connection attempt starts from.
#[derive(Default)]
struct NextAttempt {
    /// Whether it moves on to the next failover server: every reconnection does, as in
    /// syslog-ng, except after `max-connection-lifetime()` or a failback.
    advance: bool,
    /// With `failover(... failback())`: the probes of the primary while a failover server is
    /// in use.
    probe: Option<Probe>,
    /// The primary's connection once the probes succeeded.
    handed: Option<tokio::net::TcpStream>,
}

impl SocketDestination {
    /// The primary server answered the failback probes: the next connection is to it, on the
    /// last probe's connection (a UDP destination connects again).
    fn fail_back(&mut self, back: (Option<tokio::net::TcpStream>, tokio::time::Instant), next: &mut NextAttempt) {
        let (stream, started) = back;
        *next = NextAttempt { advance: false, probe: None, handed: stream };
        if let Some(f) = &mut self.failover {
            f.back_to_primary(started);
        }
    }

    /// After a failure: waits `time-reopen()` before the next attempt, or less if the primary
    /// comes back meanwhile. `false` when rsng is stopping or the queue closed: waiting for a
    /// peer that is away would only delay the exit.
    async fn wait_to_reconnect(
        &mut self,
        next: &mut NextAttempt,
        shutdown: &CancellationToken,
        queue: &DestinationQueue,
    ) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(self.time_reopen) => true,
            back = primary_back(&mut next.probe) => {
                self.fail_back(back, next);
                true
            }
            _ = shutdown.cancelled() => false,
            _ = queue.closed() => false,
        }
    }
}

impl SocketDestination {
    async fn send(
        &mut self,
        conn: &mut Connection,
        batch: &[LogMessage],
        out: &mut Vec<u8>,
        line: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let octets = self.octet_counted();
        match conn {
            Connection::Stream { io: stream } => {
                out.clear();
                for msg in batch {
                    line.clear();
                    if !self.writer.format(msg, line) {
                        continue;
                    }
                    if octets {
                        crate::writer::push_u32(out, u32::try_from(line.len()).unwrap_or(u32::MAX));
                        out.push(b' ');
                    }
                    out.extend_from_slice(line);
                }
                stream.write_all(out).await?;
                stream.flush().await
            }
            Connection::Udp(socket) => {
                let to = if self.spoof.is_some() { socket.peer_addr().ok() } else { None };
                for msg in batch {
                    line.clear();
                    if !self.writer.format(msg, line) {
                        continue;
                    }
                    if let (Some(spoof), Some(to)) = (&mut self.spoof, to) {
                        match spoof.send(msg.source_addr(), to, line) {
                            Ok(true) => continue,
                            Ok(false) => {}
                            Err(e) => internal::error(format!("Error sending raw frame; error='{}'", os_error(&e))),
                        }
                    }
                    socket.send(line).await?;
                }
                Ok(())
            }
            Connection::UnixDgram(socket, path) => {
                for msg in batch {
                    line.clear();
                    if self.writer.format(msg, line) {
                        socket.send_to(line, &*path).await?;
                    }
                }
                Ok(())
            }
        }
    }
}
