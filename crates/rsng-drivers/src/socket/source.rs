//! Socket sources: one task per listener, one per accepted connection (as mini-redis serves its
//! clients), one per datagram socket.
//!
//! A connection task reads into a buffer it keeps, cuts frames with the source's framing, parses
//! them into a batch and posts the batch; before each read it waits until the destinations
//! behind it have room ([`SourcePort::ready`]), so a blocked destination stops the reading.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rsng_core::message::UnixTime;
use rsng_core::LogMessage;
use rsng_proto::framing::{datagram, Decoded, OctetCountedSplitter, TextSplitter};
use rsng_transport::tls::{PeerIdentity, TlsContext};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use crate::internal;
use crate::pipeline::SourcePort;
use crate::receive::Receiver;
use crate::{Source, SourceContext, Task};

/// Messages parsed before the batch is posted even if more input is waiting.
const BATCH: usize = 256;
/// Read size of stream connections.
const READ_SIZE: usize = 64 * 1024;

/// How a stream is cut into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One message per line (`network()`, `tcp()`, `unix-stream()`).
    Text,
    /// One message per line, NULs kept inside (`transport("text-with-nuls")`).
    TextWithNuls,
    /// RFC 6587 octet counting (`syslog()` streams).
    OctetCounted { trim_large_messages: bool },
}

/// A bound socket, not yet handed to tokio.
pub enum Bound {
    Tcp(std::net::TcpListener),
    Udp(std::net::UdpSocket),
    UnixStream(std::os::unix::net::UnixListener, PathBuf),
    UnixDgram(std::os::unix::net::UnixDatagram, PathBuf),
}

impl Bound {
    /// The address as syslog-ng prints it: `AF_INET(0.0.0.0:514)`, `AF_UNIX(/dev/log)`.
    pub fn describe(&self) -> String {
        match self {
            Bound::Tcp(l) => l.local_addr().map(|a| af_name(&a)).unwrap_or_default(),
            Bound::Udp(s) => s.local_addr().map(|a| af_name(&a)).unwrap_or_default(),
            Bound::UnixStream(_, p) | Bound::UnixDgram(_, p) => format!("AF_UNIX({})", p.display()),
        }
    }
}

/// `AF_INET(1.2.3.4:514)` / `AF_INET6([::1]:514)`.
pub fn af_name(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("AF_INET({a})"),
        SocketAddr::V6(a) => format!("AF_INET6({a})"),
    }
}

pub struct SocketSource {
    /// The stats component of its listener (`src.network`, `src.syslog`, ...).
    pub component: String,
    pub bound: Bound,
    pub framing: Framing,
    pub receiver: Arc<Receiver>,
    pub max_connections: usize,
    /// The flow-control window of each connection (`log-iw-size()`, shared out).
    pub window: usize,
    /// Further sources started with this one (`system()`'s kernel log).
    pub companions: Vec<Box<dyn Source>>,
    /// The `tls()` context of a TLS listener: each accepted connection handshakes first.
    pub tls: Option<TlsContext>,
}

impl Source for SocketSource {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> Task {
        Box::pin(async move {
            let SocketSource { component, bound, framing, receiver, max_connections, window, companions, tls } = *self;
            ctx.port.set_window_size(window);
            let mut tasks = Vec::new();
            for c in companions {
                let sub = SourceContext {
                    port: ctx.port.clone(),
                    shutdown: ctx.shutdown.clone(),
                    source_name: ctx.source_name.clone(),
                };
                tasks.push(tokio::spawn(c.run(sub)));
            }
            let local = bound.describe();
            match bound {
                Bound::Tcp(l) => match tokio::net::TcpListener::from_std(l) {
                    Ok(listener) => {
                        let listen = Listen { component, local, framing, receiver, max_connections, tls };
                        accept_tcp(listener, listen, ctx).await;
                    }
                    Err(e) => internal::error(format!("Error setting up listener; addr='{local}', error='{e}'")),
                },
                Bound::UnixStream(l, path) => match tokio::net::UnixListener::from_std(l) {
                    Ok(listener) => {
                        let listen = Listen { component, local, framing, receiver, max_connections, tls: None };
                        accept_unix(listener, listen, ctx).await;
                        let _ = std::fs::remove_file(path);
                    }
                    Err(e) => internal::error(format!("Error setting up listener; addr='{local}', error='{e}'")),
                },
                Bound::Udp(s) => match tokio::net::UdpSocket::from_std(s) {
                    Ok(socket) => receive_udp(socket, receiver, ctx).await,
                    Err(e) => internal::error(format!("Error setting up socket; addr='{local}', error='{e}'")),
                },
                Bound::UnixDgram(s, path) => match tokio::net::UnixDatagram::from_std(s) {
                    Ok(socket) => {
                        receive_unix_dgram(socket, receiver, ctx).await;
                        let _ = std::fs::remove_file(path);
                    }
                    Err(e) => internal::error(format!("Error setting up socket; addr='{local}', error='{e}'")),
                },
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    }
}

/// Counts live connections of a listener; a guard per connection.
struct ConnectionSlot(Arc<AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn take_slot(count: &Arc<AtomicUsize>, max: usize) -> Option<ConnectionSlot> {
    let prev = count.fetch_add(1, Ordering::AcqRel);
    if prev >= max {
        count.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    Some(ConnectionSlot(count.clone()))
}

/// What a stream listener hands each connection.
struct Listen {
    component: String,
    local: String,
    framing: Framing,
    receiver: Arc<Receiver>,
    max_connections: usize,
    tls: Option<TlsContext>,
}

async fn accept_tcp(listener: tokio::net::TcpListener, listen: Listen, ctx: SourceContext) {
    let Listen { component, local, framing, receiver, max_connections, tls } = listen;
    let live = Arc::new(AtomicUsize::new(0));
    let stats = ctx.port.stats().clone();
    stats.register_listener(component, format!("afsocket_sd.(stream,{local})"), &live);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = ctx.shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                internal::error(format!("Error accepting new connection; error='{e}'"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = take_slot(&live, max_connections) else {
            internal::error(format!(
                "Number of allowed concurrent connections reached, rejecting connection; client='{}', local='{local}', max='{max_connections}'",
                af_name(&peer)
            ));
            continue;
        };
        internal::notice(format!("Syslog connection accepted; client='{}', local='{local}'", af_name(&peer)));
        let _ = stream.set_nodelay(true);
        let info_peer = Some(normalize_ip(peer.ip()));
        let receiver = receiver.clone();
        let port = ctx.port.clone();
        let shutdown = ctx.shutdown.clone();
        let client = af_name(&peer);
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => read_stream(stream, framing, receiver, port, info_peer, None, shutdown).await,
                Some(tls) => {
                    let handshake = tokio::select! {
                        r = tokio::time::timeout(super::tls::HANDSHAKE_TIMEOUT, tls.accept(stream)) => r,
                        _ = shutdown.cancelled() => return,
                    };
                    match handshake {
                        Ok(Ok(stream)) => {
                            let identity = stream.peer_identity();
                            let (version, cipher) = stream.describe();
                            internal::info(format!(
                                "TLS handshake completed; client='{client}', protocol='{version}', cipher='{cipher}'"
                            ));
                            read_stream(stream, framing, receiver, port, info_peer, identity, shutdown).await;
                        }
                        Ok(Err(e)) if e.peer_closed => internal::notice(e.to_string()),
                        Ok(Err(e)) => internal::error(e.to_string()),
                        Err(_) => {
                            tls.count_failure(rsng_transport::tls::FailureReason::Other);
                            internal::error(format!(
                                "TLS handshake timed out; client='{client}', location='{}'",
                                tls.location()
                            ))
                        }
                    }
                }
            }
            internal::notice(format!("Syslog connection closed; client='{client}'"));
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
    stats.unregister_listener(&live);
}

async fn accept_unix(listener: tokio::net::UnixListener, listen: Listen, ctx: SourceContext) {
    let Listen { component, local, framing, receiver, max_connections, .. } = listen;
    let live = Arc::new(AtomicUsize::new(0));
    let stats = ctx.port.stats().clone();
    stats.register_listener(component, format!("afsocket_sd.(stream,{local})"), &live);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = ctx.shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                internal::error(format!("Error accepting new connection; error='{e}'"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = take_slot(&live, max_connections) else {
            internal::error(format!(
                "Number of allowed concurrent connections reached, rejecting connection; client='AF_UNIX(anonymous)', local='{local}', max='{max_connections}'"
            ));
            continue;
        };
        let receiver = receiver.clone();
        let port = ctx.port.clone();
        let shutdown = ctx.shutdown.clone();
        connections.spawn(async move {
            read_stream(stream, framing, receiver, port, None, None, shutdown).await;
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
    stats.unregister_listener(&live);
}

/// IPv4-mapped IPv6 peers are shown as IPv4, as syslog-ng does.
fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

enum Splitter {
    Text(TextSplitter),
    Octet(OctetCountedSplitter),
}

impl Splitter {
    fn decode<'a>(&mut self, buf: &'a [u8], eof: bool) -> Result<Decoded<'a>, rsng_proto::framing::FramingError> {
        match self {
            Splitter::Text(s) => s.decode(buf, eof),
            Splitter::Octet(s) => s.decode(buf, eof),
        }
    }
}

/// Reads one stream connection until EOF, an error or shutdown. `identity` is the TLS peer's,
/// put on every message as syslog-ng does (`.tls.x509_cn`, `.tls.x509_o`, `.tls.x509_ou`).
pub async fn read_stream<S: AsyncRead + Unpin>(
    mut stream: S,
    framing: Framing,
    receiver: Arc<Receiver>,
    mut port: SourcePort,
    peer: Option<IpAddr>,
    identity: Option<PeerIdentity>,
    shutdown: CancellationToken,
) {
    let mut info = receiver.info(peer);
    let mut splitter = match framing {
        Framing::Text => Splitter::Text(TextSplitter::new(receiver.max_msg_size)),
        Framing::TextWithNuls => Splitter::Text(TextSplitter::with_nuls(receiver.max_msg_size)),
        Framing::OctetCounted { trim_large_messages } => {
            Splitter::Octet(OctetCountedSplitter::new(receiver.max_msg_size, trim_large_messages))
        }
    };
    let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
    let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH);
    loop {
        port.ready().await;
        if buf.capacity() - buf.len() < READ_SIZE / 4 {
            buf.reserve(READ_SIZE);
        }
        let read = tokio::select! {
            r = stream.read_buf(&mut buf) => r,
            _ = shutdown.cancelled() => break,
        };
        let eof = match read {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                internal::error(format!("I/O error occurred while reading; error='{e}'"));
                true
            }
        };
        info.received = UnixTime::now(&receiver.time_zone);
        // One shared copy of what was read; the messages cut from it point into it.
        let chunk: Arc<[u8]> = Arc::from(&buf[..]);
        let mut pos = 0;
        let mut failed = false;
        loop {
            match splitter.decode(&chunk[pos..], eof) {
                Ok(Decoded::Frame { message, consumed }) => {
                    pos += consumed;
                    if !message.is_empty() || receiver.empty_lines {
                        let mut msg = receiver.message_in(&chunk, message, &info);
                        if let Some(id) = &identity {
                            for (name, value) in id.pairs() {
                                msg.set_value(name, value);
                            }
                        }
                        batch.push(msg);
                        if batch.len() >= BATCH {
                            port.post(&mut batch);
                        }
                    }
                }
                Ok(Decoded::Skip { consumed }) => pos += consumed,
                Ok(Decoded::NeedMore) => break,
                Err(e) => {
                    internal::error(e.to_string());
                    failed = true;
                    break;
                }
            }
        }
        port.post(&mut batch);
        buf.drain(..pos);
        if eof || failed {
            break;
        }
    }
}

async fn receive_udp(socket: tokio::net::UdpSocket, receiver: Arc<Receiver>, mut ctx: SourceContext) {
    let mut buf = vec![0u8; receiver.max_msg_size.clamp(2048, 65536)];
    let mut batch: Vec<LogMessage> = Vec::with_capacity(64);
    let mut last: Option<(IpAddr, rsng_core::message::ReceiveInfo)> = None;
    loop {
        ctx.port.ready().await;
        let first = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            _ = ctx.shutdown.cancelled() => break,
        };
        let mut next = Some(first);
        while let Some(result) = next.take() {
            if let Ok((n, peer)) = result {
                let ip = normalize_ip(peer.ip());
                let info = match &mut last {
                    Some((last_ip, info)) if *last_ip == ip => info,
                    _ => &mut last.insert((ip, receiver.info(Some(ip)))).1,
                };
                info.received = UnixTime::now(&receiver.time_zone);
                let payload = datagram(&buf[..n], receiver.max_msg_size);
                if !payload.is_empty() || receiver.empty_lines {
                    batch.push(receiver.message(payload, info));
                }
            }
            if batch.len() < 64 {
                next = match socket.try_recv_from(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                    r => Some(r),
                };
            }
        }
        ctx.port.post(&mut batch);
    }
}

/// The sender of a datagram, from `SCM_CREDENTIALS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Credentials {
    pid: i32,
    uid: u32,
    gid: u32,
}

/// One datagram with its sender's credentials (when the kernel sent them).
fn recv_with_credentials(fd: std::os::fd::RawFd, buf: &mut [u8]) -> std::io::Result<(usize, Option<Credentials>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixCredentials};
    let mut cmsg = nix::cmsg_space!(UnixCredentials);
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_DONTWAIT).map_err(std::io::Error::from)?;
    let mut creds = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            if let ControlMessageOwned::ScmCredentials(uc) = c {
                creds = Some(Credentials { pid: uc.pid(), uid: uc.uid(), gid: uc.gid() });
            }
        }
    }
    Ok((msg.bytes, creds))
}

async fn receive_unix_dgram(socket: tokio::net::UnixDatagram, receiver: Arc<Receiver>, mut ctx: SourceContext) {
    use std::os::fd::AsRawFd;
    let mut buf = vec![0u8; receiver.max_msg_size.clamp(2048, 65536)];
    let mut batch: Vec<LogMessage> = Vec::with_capacity(64);
    let mut info = receiver.info(None);
    let fd = socket.as_raw_fd();
    let mut text = Vec::with_capacity(16);
    loop {
        ctx.port.ready().await;
        let first = tokio::select! {
            r = socket.async_io(tokio::io::Interest::READABLE, || recv_with_credentials(fd, &mut buf)) => r,
            _ = ctx.shutdown.cancelled() => break,
        };
        info.received = UnixTime::now(&receiver.time_zone);
        let mut next = Some(first);
        while let Some(result) = next.take() {
            if let Ok((n, creds)) = result {
                let payload = datagram(&buf[..n], receiver.max_msg_size);
                if !payload.is_empty() || receiver.empty_lines {
                    let mut msg = receiver.message(payload, &info);
                    if let Some(c) = creds.filter(|_| receiver.unix_credentials) {
                        // As syslog-ng's unix transports: the sender's identity as name-value pairs.
                        for (name, value) in [
                            (".unix.uid", i64::from(c.uid)),
                            (".unix.gid", i64::from(c.gid)),
                            (".unix.pid", i64::from(c.pid)),
                        ] {
                            text.clear();
                            let _ = write!(text, "{value}");
                            msg.set_value(name, &text);
                        }
                        if receiver.pid_from_credentials {
                            // system() trusts the kernel's word about the sender's PID (still in
                            // `text` from `.unix.pid`).
                            msg.set_value("PID", &text);
                        }
                    }
                    batch.push(msg);
                }
            }
            if batch.len() < 64 {
                next = match socket.try_io(tokio::io::Interest::READABLE, || recv_with_credentials(fd, &mut buf)) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                    r => Some(r),
                };
            }
        }
        ctx.port.post(&mut batch);
    }
}
