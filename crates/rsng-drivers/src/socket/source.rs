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

use rsng_core::LogMessage;
use rsng_proto::framing::{datagram, Decoded, OctetCountedSplitter, TextSplitter};
use rsng_transport::tls::{PeerIdentity, TlsContext, TlsStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_util::sync::CancellationToken;

use super::dynamic_window::DynamicWindowPool;
use super::proxied::ProxyMode;
use crate::internal;
use crate::pipeline::SourcePort;
use crate::receive::Receiver;
use crate::{Source, SourceContext, Task};

/// Messages parsed before the batch is posted even if more input is waiting.
const BATCH: usize = 256;
/// The largest read of a stream connection (its buffer grows beyond it only while one message
/// needs more).
const READ_SIZE: usize = 64 * 1024;
/// The read size a connection starts with, and the smallest it shrinks back to.
const MIN_READ_SIZE: usize = 4 * 1024;
/// Reads that used less than a quarter of the read size before it is halved.
const SHRINK_AFTER: u32 = 16;

/// How a stream is cut into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One message per line (`network()`, `tcp()`, `unix-stream()`).
    Text,
    /// One message per line, NULs kept inside (`transport("text-with-nuls")`).
    TextWithNuls,
    /// RFC 6587 octet counting (`syslog()` streams).
    OctetCounted { trim_large_messages: bool },
    /// `transport(auto)`: octet counting when a connection starts with a frame length (digits
    /// and a space), lines otherwise, decided per connection.
    Auto { trim_large_messages: bool },
}

/// A bound socket, not yet handed to tokio.
pub enum Bound {
    Tcp(std::net::TcpListener),
    Udp(std::net::UdpSocket),
    UnixStream(std::os::unix::net::UnixListener, PathBuf),
    UnixDgram(std::os::unix::net::UnixDatagram, PathBuf),
}

impl Bound {
    /// What [`super::shared`] knows the socket by, and a unix socket's file.
    fn claim(&self) -> Option<super::shared::Claim> {
        use super::shared::{claim, key_of};
        use std::os::fd::AsFd;
        match self {
            Bound::Tcp(l) => claim(key_of("tcp", &l.local_addr().ok()?.to_string()), l.as_fd(), None),
            Bound::Udp(s) => claim(key_of("udp", &s.local_addr().ok()?.to_string()), s.as_fd(), None),
            Bound::UnixStream(l, p) => {
                claim(key_of("unix-stream", &p.display().to_string()), l.as_fd(), Some(p.clone()))
            }
            Bound::UnixDgram(s, p) => claim(key_of("unix-dgram", &p.display().to_string()), s.as_fd(), Some(p.clone())),
        }
    }

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
    /// Where connections carry a PROXY protocol header (the `proxied-*` transports).
    pub proxy: Option<ProxyMode>,
    /// `@version: 4.x`: the `$TRANSPORT` name its messages get (with `$IP_PROTO`).
    pub transport_name: Option<Arc<str>>,
    /// The first part of a stream sender's stats instance (`tcp`, `tls`, `unix-stream`).
    pub sender_prefix: Arc<str>,
    /// `dynamic-window-size()` of a stream listener: the pool and how often it is shared out.
    pub dynamic_window: Option<(usize, std::time::Duration)>,
}

impl Source for SocketSource {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> Task {
        Box::pin(async move {
            let SocketSource {
                component,
                bound,
                framing,
                receiver,
                max_connections,
                window,
                companions,
                tls,
                proxy,
                transport_name,
                sender_prefix,
                dynamic_window,
            } = *self;
            let dynamic = dynamic_window.map(|(size, period)| (DynamicWindowPool::new(size), period));
            ctx.port.set_window_size(window);
            let mut tasks = Vec::new();
            for c in companions {
                let sub = SourceContext {
                    port: ctx.port.clone(),
                    shutdown: ctx.shutdown.clone(),
                    source_name: ctx.source_name.clone(),
                    stats_id: ctx.stats_id.clone(),
                };
                tasks.push(tokio::spawn(c.run(sub)));
            }
            let local = bound.describe();
            // A datagram socket has one counter, named by where it is bound, as in syslog-ng
            // (`127.0.0.1`, `/dev/log`).
            let socket_instance = match &bound {
                Bound::Udp(s) => s.local_addr().ok().map(|a| normalize_ip(a.ip()).to_string()),
                Bound::UnixDgram(_, p) => Some(p.display().to_string()),
                _ => None,
            };
            if let Some(instance) = socket_instance {
                let counter = ctx.port.stats().peer_counter(&component, &ctx.stats_id, &instance);
                ctx.port.count_peer(counter);
            }
            // Held while the source runs: a reload may hand the socket to a new source.
            let _claim = bound.claim();
            match bound {
                Bound::Tcp(l) => match tokio::net::TcpListener::from_std(l) {
                    Ok(listener) => {
                        let listen = Listen {
                            component,
                            local,
                            framing,
                            receiver,
                            max_connections,
                            tls,
                            proxy,
                            transport_name,
                            sender_prefix,
                            dynamic: dynamic.clone(),
                        };
                        accept_tcp(listener, listen, ctx).await;
                    }
                    Err(e) => internal::error(format!("Error setting up listener; addr='{local}', error='{e}'")),
                },
                Bound::UnixStream(l, _) => match tokio::net::UnixListener::from_std(l) {
                    Ok(listener) => {
                        let listen = Listen {
                            component,
                            local,
                            framing,
                            receiver,
                            max_connections,
                            tls: None,
                            proxy: None,
                            transport_name: None,
                            sender_prefix,
                            dynamic: dynamic.clone(),
                        };
                        accept_unix(listener, listen, ctx).await;
                    }
                    Err(e) => internal::error(format!("Error setting up listener; addr='{local}', error='{e}'")),
                },
                Bound::Udp(s) => match tokio::net::UdpSocket::from_std(s) {
                    Ok(socket) => receive_udp(socket, receiver, transport_name, ctx).await,
                    Err(e) => internal::error(format!("Error setting up socket; addr='{local}', error='{e}'")),
                },
                Bound::UnixDgram(s, _) => match tokio::net::UnixDatagram::from_std(s) {
                    Ok(socket) => receive_unix_dgram(socket, receiver, ctx).await,
                    Err(e) => internal::error(format!("Error setting up socket; addr='{local}', error='{e}'")),
                },
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    }
}

/// A listener's entry in its source's counters, removed when the listener ends (or fails).
struct Registered(Arc<crate::pipeline::SourceStats>, Arc<AtomicUsize>);

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.unregister_listener(&self.1);
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
    proxy: Option<ProxyMode>,
    transport_name: Option<Arc<str>>,
    sender_prefix: Arc<str>,
    dynamic: Option<(Arc<DynamicWindowPool>, std::time::Duration)>,
}

/// Shares the dynamic window pool out again when `next` comes, then sets the time after; never
/// ends without a pool.
async fn rebalance_tick(
    dynamic: &Option<(Arc<DynamicWindowPool>, std::time::Duration)>,
    next: &mut tokio::time::Instant,
) {
    match dynamic {
        Some((pool, period)) => {
            tokio::time::sleep_until(*next).await;
            *next += *period;
            pool.rebalance();
        }
        None => std::future::pending().await,
    }
}

/// When the pool of `dynamic` is first shared out.
fn first_share(dynamic: &Option<(Arc<DynamicWindowPool>, std::time::Duration)>) -> tokio::time::Instant {
    tokio::time::Instant::now() + dynamic.as_ref().map_or(std::time::Duration::ZERO, |d| d.1)
}

async fn accept_tcp(listener: tokio::net::TcpListener, listen: Listen, ctx: SourceContext) {
    let Listen {
        component,
        local,
        framing,
        receiver,
        max_connections,
        tls,
        proxy,
        transport_name,
        sender_prefix,
        dynamic,
    } = listen;
    let mut next_share = first_share(&dynamic);
    let live = Arc::new(AtomicUsize::new(0));
    let stats = ctx.port.stats().clone();
    stats.register_listener(component.clone(), format!("afsocket_sd.(stream,{local})"), &live);
    let _registered = Registered(stats.clone(), live.clone());
    let mut connections = tokio::task::JoinSet::new();
    // An encrypted key waits for its passphrase (`syslog-ng-ctl credentials add`); until then
    // connections stay in the backlog, as syslog-ng does not accept them either.
    if let Some(tls) = tls.as_ref().filter(|t| t.waiting_for_passphrase()) {
        tokio::select! {
            _ = tls.wait_until_ready() => {}
            _ = ctx.shutdown.cancelled() => return,
        }
    }
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = rebalance_tick(&dynamic, &mut next_share) => continue,
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
        crate::fault::hit(crate::fault::Point::Listener);
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
        let dest = stream.local_addr().ok().map(|a| SocketAddr::new(normalize_ip(a.ip()), a.port()));
        let receiver = receiver.clone();
        let mut port = ctx.port.clone();
        let share = dynamic.as_ref().and_then(|(pool, _)| port.window().map(|w| pool.join(w)));
        // syslog-ng's per-sender counter (`src.network;s#0;tcp,10.0.0.1`), shown from
        // stats-level(1) on.
        let ip = normalize_ip(peer.ip());
        port.count_peer(stats.peer_counter(&component, &ctx.stats_id, &format!("{sender_prefix},{ip}")));
        let shutdown = ctx.shutdown.clone();
        let client = af_name(&peer);
        let tls = tls.clone();
        let transport = transport_name.clone();
        connections.spawn(async move {
            let conn = Connection {
                framing,
                receiver,
                port,
                peer: info_peer,
                peer_port: peer.port(),
                local: dest,
                shutdown,
                client: client.clone(),
                transport,
            };
            match proxy {
                None => serve_tcp(stream, tls, conn).await,
                Some(proxy) => super::proxied::serve(stream, proxy, tls, conn).await,
            }
            internal::notice(format!("Syslog connection closed; client='{client}'"));
            drop(share);
            drop(slot);
        });
        reap(&mut connections, &local);
    }
    while connections.join_next().await.is_some() {}
}

async fn accept_unix(listener: tokio::net::UnixListener, listen: Listen, ctx: SourceContext) {
    let Listen { component, local, framing, receiver, max_connections, sender_prefix, dynamic, .. } = listen;
    let mut next_share = first_share(&dynamic);
    let live = Arc::new(AtomicUsize::new(0));
    let stats = ctx.port.stats().clone();
    stats.register_listener(component.clone(), format!("afsocket_sd.(stream,{local})"), &live);
    let _registered = Registered(stats.clone(), live.clone());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = rebalance_tick(&dynamic, &mut next_share) => continue,
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
                "Number of allowed concurrent connections reached, rejecting connection; client='AF_UNIX(anonymous)', local='{local}', max='{max_connections}'"
            ));
            continue;
        };
        // The sender's credentials become `.unix.uid`, `.unix.gid` and `.unix.pid` of its
        // messages, as syslog-ng's unix-stream transport sets them (`so-passcred()`, default
        // yes); the kernel gives those of the process that connected.
        let mut values = ConnectionValues::default();
        if receiver.unix_credentials {
            if let Ok(cred) = stream.peer_cred() {
                values.pairs.push((".unix.uid", cred.uid().to_string().into_bytes()));
                values.pairs.push((".unix.gid", cred.gid().to_string().into_bytes()));
                if let Some(pid) = cred.pid() {
                    values.pairs.push((".unix.pid", pid.to_string().into_bytes()));
                }
            }
        }
        let receiver = receiver.clone();
        let mut port = ctx.port.clone();
        let share = dynamic.as_ref().and_then(|(pool, _)| port.window().map(|w| pool.join(w)));
        // A client that did not bind its socket to a path is `anonymous`, as in syslog-ng.
        let sender = peer.as_pathname().map_or_else(|| "anonymous".to_string(), |p| p.display().to_string());
        port.count_peer(stats.peer_counter(&component, &ctx.stats_id, &format!("{sender_prefix},{sender}")));
        let shutdown = ctx.shutdown.clone();
        connections.spawn(async move {
            let conn = Connection {
                framing,
                receiver,
                port,
                peer: None,
                peer_port: 0,
                local: None,
                shutdown,
                client: String::new(),
                transport: None,
            };
            read_stream(stream, conn, values).await;
            drop(share);
            drop(slot);
        });
        reap(&mut connections, &local);
    }
    while connections.join_next().await.is_some() {}
}

/// Collects the connection tasks that ended; one that panicked is reported (it took only its own
/// connection down: the listener goes on).
fn reap(connections: &mut tokio::task::JoinSet<()>, local: &str) {
    while let Some(result) = connections.try_join_next() {
        if let Err(e) = result {
            if e.is_panic() {
                internal::error(format!(
                    "A connection task failed, its connection is closed; local='{local}', error='{}'",
                    panic_text(e.into_panic())
                ));
            }
        }
    }
}

/// The text of a panic's payload.
pub fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "panic".to_string(), |s| s.to_string()),
    }
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
    /// `transport(auto)` before the first bytes of the connection arrived.
    Undecided {
        max: usize,
        trim_large_messages: bool,
    },
}

impl Splitter {
    fn new(framing: Framing, max: usize) -> Splitter {
        match framing {
            Framing::Text => Splitter::Text(TextSplitter::new(max)),
            Framing::TextWithNuls => Splitter::Text(TextSplitter::with_nuls(max)),
            Framing::OctetCounted { trim_large_messages } => {
                Splitter::Octet(OctetCountedSplitter::new(max, trim_large_messages))
            }
            Framing::Auto { trim_large_messages } => Splitter::Undecided { max, trim_large_messages },
        }
    }

    fn decode<'a>(&mut self, buf: &'a [u8], eof: bool) -> Result<Decoded<'a>, rsng_proto::framing::FramingError> {
        match self {
            Splitter::Text(s) => s.decode(buf, eof),
            Splitter::Octet(s) => s.decode(buf, eof),
            Splitter::Undecided { max, trim_large_messages } => {
                let framing = match detect_octet_counting(buf) {
                    None if !eof => return Ok(Decoded::NeedMore),
                    Some(true) => Framing::OctetCounted { trim_large_messages: *trim_large_messages },
                    _ => Framing::Text,
                };
                *self = Splitter::new(framing, *max);
                self.decode(buf, eof)
            }
        }
    }
}

/// The longest RFC 6587 frame length `transport(auto)` recognizes, in digits.
const MAX_FRAME_LENGTH_DIGITS: usize = 10;

/// Whether a stream starts with an RFC 6587 frame length (digits, then a space), as AxoSyslog's
/// `transport(auto)` decides it; `None` while only digits have arrived.
fn detect_octet_counting(buf: &[u8]) -> Option<bool> {
    let first = *buf.first()?;
    if !first.is_ascii_digit() {
        return Some(false);
    }
    for (i, &b) in buf.iter().enumerate().skip(1) {
        if b.is_ascii_digit() && i < MAX_FRAME_LENGTH_DIGITS {
            continue;
        }
        return Some(b == b' ');
    }
    None
}

/// What a connection task works with.
pub struct Connection {
    pub framing: Framing,
    pub receiver: Arc<Receiver>,
    pub port: SourcePort,
    /// The sender's address (`$SOURCEIP`, `$HOST_FROM`); `None` for local peers.
    pub peer: Option<IpAddr>,
    /// The sender's port (0 for local peers).
    pub peer_port: u16,
    /// The address the connection came in on (`$DESTIP`, `$DESTPORT`).
    pub local: Option<SocketAddr>,
    pub shutdown: CancellationToken,
    /// The peer as syslog-ng names it in messages (`AF_INET(1.2.3.4:5678)`).
    pub client: String,
    /// `@version: 4.x`: the `$TRANSPORT` of the source; messages then also get `$IP_PROTO`.
    pub transport: Option<Arc<str>>,
}

/// Name-value pairs that every message of a connection gets: the TLS peer's names, as syslog-ng
/// sets them (`.tls.x509_cn`, `.tls.x509_o`, `.tls.x509_ou`), and the PROXY protocol's
/// `PROXIED_*` values. Formatted once per connection.
#[derive(Debug, Default)]
pub struct ConnectionValues {
    pub pairs: Vec<(&'static str, Vec<u8>)>,
}

impl ConnectionValues {
    pub fn add_identity(&mut self, identity: Option<PeerIdentity>) {
        if let Some(id) = identity {
            self.pairs.extend(id.pairs().map(|(n, v)| (n, v.to_vec())));
        }
    }
}

/// A TCP connection without a PROXY header: plain, or TLS first.
async fn serve_tcp(stream: tokio::net::TcpStream, tls: Option<TlsContext>, conn: Connection) {
    match tls {
        None => read_stream(stream, conn, ConnectionValues::default()).await,
        Some(tls) => {
            if let Some(stream) = handshake(&tls, stream, &conn).await {
                let mut values = ConnectionValues::default();
                values.add_identity(stream.peer_identity());
                read_stream(stream, conn, values).await;
            }
        }
    }
}

/// The server side of a TLS handshake, with its messages; `None` when it failed (the
/// connection is then done).
pub(super) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    tls: &TlsContext,
    stream: S,
    conn: &Connection,
) -> Option<TlsStream<S>> {
    let client = &conn.client;
    let handshake = tokio::select! {
        r = tokio::time::timeout(tls.handshake_timeout(), tls.accept(stream)) => r,
        _ = conn.shutdown.cancelled() => return None,
    };
    match handshake {
        Ok(Ok(stream)) => {
            let (version, cipher) = stream.describe();
            internal::info(format!(
                "TLS handshake completed; client='{client}', protocol='{version}', cipher='{cipher}'"
            ));
            Some(stream)
        }
        Ok(Err(e)) if e.peer_closed => {
            internal::notice(e.to_string());
            None
        }
        Ok(Err(e)) => {
            internal::error(e.to_string());
            None
        }
        Err(_) => {
            tls.count_failure(rsng_transport::tls::FailureReason::Other);
            internal::error(format!("TLS handshake timed out; client='{client}', location='{}'", tls.location()));
            None
        }
    }
}

/// Reads one stream connection until EOF, an error or shutdown; `values` go on every message.
pub async fn read_stream<S: AsyncRead + Unpin>(mut stream: S, conn: Connection, mut values: ConnectionValues) {
    let Connection { framing, receiver, mut port, peer, peer_port, local, shutdown, transport, .. } = conn;
    if let Some(name) = transport {
        values.pairs.push(("TRANSPORT", name.as_bytes().to_vec()));
        values.pairs.push(("IP_PROTO", ip_proto(peer).to_vec()));
    }
    let mut info = receiver.info(peer);
    if receiver.ignore_aux_data {
        values.pairs.clear();
    } else {
        info.source_port = peer_port;
        info.dest = local;
    }
    // The peer waits through TCP: a full queue holds the reading while its writer drains it.
    port.set_pacing(true);
    let mut splitter = Splitter::new(framing, receiver.max_msg_size);
    let mut buf = StreamBuffer::new();
    // `encoding()`: reads go through a converter first; octet-counted frames are taken as
    // sent, as by syslog-ng's framed reader.
    let mut decoder = if matches!(framing, Framing::Text | Framing::TextWithNuls) { receiver.decoder() } else { None };
    let mut raw: Vec<u8> = Vec::new();
    let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH);
    // Frames read and not yet taken because the window was full: taken before reading again.
    let mut pending = false;
    let mut eof = false;
    loop {
        // A stop must not wait for a window that a blocked destination never opens.
        tokio::select! {
            _ = port.ready() => {}
            _ = shutdown.cancelled() => break,
        }
        if !pending {
            let room = buf.make_room();
            let target = if decoder.is_some() {
                raw.clear();
                raw.reserve(room);
                &mut raw
            } else {
                &mut buf.data
            };
            let read = tokio::select! {
                r = stream.read_buf(target) => r,
                _ = shutdown.cancelled() => break,
            };
            eof = match read {
                Ok(0) => true,
                Ok(n) => {
                    if let Some(d) = &mut decoder {
                        d.stream(&raw, &mut buf.data);
                    }
                    buf.after_read(n, room);
                    false
                }
                Err(e) => {
                    internal::error(format!("I/O error occurred while reading; error='{e}'"));
                    true
                }
            };
            if eof && decoder.as_mut().is_some_and(|d| d.end_of_stream()) {
                // As syslog-ng: what was pending is dropped with the cut character.
                buf.data.clear();
            }
        }
        crate::fault::hit(crate::fault::Point::Connection);
        receiver.refresh(&mut info);
        // One shared copy of what was read; the messages cut from it point into it.
        let chunk: Arc<[u8]> = Arc::from(&buf.data[..]);
        let mut pos = 0;
        let mut failed = false;
        // Frames are taken while the window has room; the rest wait in the buffer.
        let budget = port.budget();
        let mut taken = 0;
        pending = false;
        loop {
            if budget.is_some_and(|b| taken >= b) {
                pending = true;
                break;
            }
            match splitter.decode(&chunk[pos..], eof) {
                Ok(Decoded::Frame { message, consumed }) => {
                    pos += consumed;
                    if !message.is_empty() || receiver.empty_lines {
                        port.note_size(message.len());
                        let mut msg = receiver.message_in(&chunk, message, &info);
                        for (name, value) in &values.pairs {
                            msg.set_value(name, value);
                        }
                        batch.push(msg);
                        taken += 1;
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
        buf.consume(pos);
        if failed || (eof && !pending) {
            break;
        }
    }
}

/// A connection's read buffer, sized to what its reads bring: it starts at [`MIN_READ_SIZE`],
/// doubles while reads fill it (up to [`READ_SIZE`]) and halves again after [`SHRINK_AFTER`]
/// reads that used less than a quarter of it, so that a connection keeps a large buffer only
/// while its reads need one (a burst, a long message), not for the rest of its life. It is
/// resized only when the read size changes, never per message.
struct StreamBuffer {
    /// Bytes read and not consumed yet, at the front.
    data: Vec<u8>,
    /// What the next read may bring.
    read_size: usize,
    /// Consecutive reads that used less than a quarter of `read_size`.
    small_reads: u32,
}

impl StreamBuffer {
    fn new() -> StreamBuffer {
        StreamBuffer { data: Vec::with_capacity(MIN_READ_SIZE), read_size: MIN_READ_SIZE, small_reads: 0 }
    }

    /// Makes room for the next read after the unconsumed bytes (a partial message); returns
    /// the room.
    fn make_room(&mut self) -> usize {
        let room = self.data.capacity() - self.data.len();
        if room < self.read_size / 2 {
            // Exactly `read_size` of room, not the doubling `reserve` would do.
            self.data.reserve_exact(self.read_size);
        }
        self.data.capacity() - self.data.len()
    }

    /// Adapts the read size to a read of `n` bytes into `room`.
    fn after_read(&mut self, n: usize, room: usize) {
        if n >= room {
            self.small_reads = 0;
            self.read_size = (self.read_size * 2).min(READ_SIZE);
        } else if n < self.read_size / 4 {
            self.small_reads += 1;
            if self.small_reads >= SHRINK_AFTER {
                self.small_reads = 0;
                self.read_size = (self.read_size / 2).max(MIN_READ_SIZE);
            }
        } else {
            self.small_reads = 0;
        }
    }

    /// Drops the first `n` bytes (cut into messages); gives memory back once the buffer is
    /// much larger than the read size (after a burst, or a long message).
    fn consume(&mut self, n: usize) {
        self.data.drain(..n);
        if self.data.capacity() > 2 * self.read_size && self.data.len() < self.read_size {
            self.data.shrink_to(self.read_size);
        }
    }
}

/// AxoSyslog's `$IP_PROTO`: the sender's IP version, `0` when it has no IP address.
fn ip_proto(peer: Option<IpAddr>) -> &'static [u8] {
    match peer {
        Some(IpAddr::V4(_)) => b"4",
        Some(IpAddr::V6(_)) => b"6",
        None => b"0",
    }
}

async fn receive_udp(
    socket: tokio::net::UdpSocket,
    receiver: Arc<Receiver>,
    transport: Option<Arc<str>>,
    mut ctx: SourceContext,
) {
    use std::os::fd::AsRawFd;
    // Datagrams are taken up to 32 per system call (recvmmsg), and posted 64 at most at once.
    let mut datagrams = rsng_transport::datagrams::Datagrams::new(receiver.max_msg_size.clamp(2048, 65536));
    let fd = socket.as_raw_fd();
    let mut batch: Vec<LogMessage> = Vec::with_capacity(64);
    let mut last: Option<(IpAddr, rsng_core::message::ReceiveInfo)> = None;
    let (mut decoder, mut converted) = (receiver.decoder(), Vec::new());
    loop {
        tokio::select! {
            _ = ctx.port.ready() => {}
            _ = ctx.shutdown.cancelled() => break,
        }
        tokio::select! {
            r = socket.readable() => if r.is_err() { break },
            _ = ctx.shutdown.cancelled() => break,
        }
        while batch.len() < 64 {
            // An error other than "nothing waiting" (an ICMP report) loses no datagram: the
            // next call reads on.
            let Ok(n) = socket.try_io(tokio::io::Interest::READABLE, || datagrams.recv(fd)) else { break };
            for i in 0..n {
                let (bytes, Some(peer)) = datagrams.get(i) else { continue };
                let bytes = match &mut decoder {
                    Some(d) => {
                        if !d.datagram(bytes, &mut converted) {
                            continue;
                        }
                        &converted[..]
                    }
                    None => bytes,
                };
                let ip = normalize_ip(peer.ip());
                let info = match &mut last {
                    Some((last_ip, info)) if *last_ip == ip => info,
                    _ => &mut last.insert((ip, receiver.info(Some(ip)))).1,
                };
                receiver.refresh(info);
                if !receiver.ignore_aux_data {
                    info.source_port = peer.port();
                }
                let payload = datagram(bytes, receiver.max_msg_size);
                if !payload.is_empty() || receiver.empty_lines {
                    ctx.port.note_size(payload.len());
                    let mut msg = receiver.message(payload, info);
                    if let Some(name) = &transport {
                        msg.set_value("TRANSPORT", name.as_bytes());
                        msg.set_value("IP_PROTO", ip_proto(Some(ip)));
                    }
                    batch.push(msg);
                }
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
    let (mut decoder, mut converted) = (receiver.decoder(), Vec::new());
    loop {
        tokio::select! {
            _ = ctx.port.ready() => {}
            _ = ctx.shutdown.cancelled() => break,
        }
        let first = tokio::select! {
            r = socket.async_io(tokio::io::Interest::READABLE, || recv_with_credentials(fd, &mut buf)) => r,
            _ = ctx.shutdown.cancelled() => break,
        };
        info.received = receiver.now();
        let mut next = Some(first);
        while let Some(result) = next.take() {
            if let Ok((n, creds)) = result {
                let bytes = match &mut decoder {
                    Some(d) => {
                        if !d.datagram(&buf[..n], &mut converted) {
                            converted.clear();
                        }
                        &converted[..]
                    }
                    None => &buf[..n],
                };
                let payload = datagram(bytes, receiver.max_msg_size);
                if !payload.is_empty() || receiver.empty_lines {
                    ctx.port.note_size(payload.len());
                    let mut msg = receiver.message(payload, &info);
                    if let Some(c) = creds.filter(|_| receiver.unix_credentials && !receiver.ignore_aux_data) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A read of `n` bytes as `read_buf` does it: into the room after the unconsumed bytes.
    fn read(buf: &mut StreamBuffer, n: usize) {
        let room = buf.make_room();
        assert!(n <= room, "a read brings at most the room there is");
        buf.data.resize(buf.data.len() + n, b'x');
        buf.after_read(n, room);
    }

    #[test]
    fn stream_buffer_grows_while_reads_fill_it_and_shrinks_after_small_reads() {
        let mut buf = StreamBuffer::new();
        assert_eq!(buf.make_room(), MIN_READ_SIZE);
        // Full reads double the read size up to READ_SIZE.
        for _ in 0..10 {
            let room = buf.make_room();
            read(&mut buf, room);
            buf.consume(buf.data.len());
        }
        assert_eq!(buf.read_size, READ_SIZE);
        assert!(buf.data.capacity() <= 2 * READ_SIZE);
        // Small reads halve it again, and the memory is given back.
        for _ in 0..(SHRINK_AFTER as usize * 8) {
            read(&mut buf, 300);
            buf.consume(buf.data.len());
        }
        assert_eq!(buf.read_size, MIN_READ_SIZE);
        assert!(buf.data.capacity() <= 2 * MIN_READ_SIZE, "capacity {}", buf.data.capacity());
    }

    #[test]
    fn stream_buffer_keeps_a_partial_message_and_makes_room_after_it() {
        let mut buf = StreamBuffer::new();
        // A message longer than any read size arrives in pieces and stays whole in the buffer.
        let mut total = 0;
        while total < 3 * READ_SIZE {
            let room = buf.make_room();
            assert!(room >= buf.read_size / 2);
            read(&mut buf, room);
            total += room;
            buf.consume(0);
        }
        assert_eq!(buf.data.len(), total);
        buf.consume(total);
        assert!(buf.data.is_empty());
        assert!(buf.data.capacity() <= 2 * READ_SIZE);
    }
}
