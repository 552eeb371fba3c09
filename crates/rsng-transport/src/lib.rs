//! rsng's transports: listening and connecting sockets the way syslog-ng's afsocket drivers set
//! them up (address families, `so-rcvbuf()`, `so-reuseport()`, `so-keepalive()`, unix socket
//! permissions), so that the drivers only deal with bytes; and TLS on top of them ([`tls`]).

pub mod datagrams;
pub mod proxy_protocol;
pub mod tls;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use socket2::{Domain, Protocol, Socket, Type};

/// The socket options of `network()`, `syslog()` and friends.
#[derive(Debug, Clone, Default)]
pub struct SocketOptions {
    pub so_rcvbuf: Option<usize>,
    pub so_sndbuf: Option<usize>,
    pub so_reuseport: bool,
    pub so_keepalive: bool,
    pub so_broadcast: bool,
    pub ip_ttl: Option<u32>,
    /// `listen-backlog()` (syslog-ng's default is 255).
    pub backlog: Option<i32>,
    /// `ip-tos()`: IP_TOS (IPV6_TCLASS on IPv6 sockets).
    pub ip_tos: Option<u32>,
    /// `ip-freebind()`: bind to addresses the host does not have (yet).
    pub ip_freebind: bool,
    /// `interface()`: SO_BINDTODEVICE.
    pub interface: Option<String>,
    /// `tcp-keepalive-time()`, `-intvl()`, `-probes()`: TCP_KEEPIDLE, TCP_KEEPINTVL and
    /// TCP_KEEPCNT of stream sockets. As in syslog-ng they do not switch keep-alive on; that is
    /// `so-keepalive()`.
    pub tcp_keepalive_time: Option<u32>,
    pub tcp_keepalive_intvl: Option<u32>,
    pub tcp_keepalive_probes: Option<u32>,
}

/// An IP address family: `ip-protocol(4)` or `(6)`, or implied by `tcp6()`/`udp6()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// Resolves `host` (a name or an address; empty means "any") and `port` in `family`.
///
/// # Errors
/// When the name does not resolve to an address of that family.
pub fn resolve(host: Option<&str>, port: u16, family: Family) -> io::Result<SocketAddr> {
    let host = host.map(str::trim).filter(|h| !h.is_empty());
    let Some(host) = host else {
        let any = match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        return Ok(SocketAddr::new(any, port));
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs = (host, port).to_socket_addrs()?;
    let mut first = None;
    for a in addrs {
        let matches = matches!((family, a), (Family::V4, SocketAddr::V4(_)) | (Family::V6, SocketAddr::V6(_)));
        if matches {
            return Ok(a);
        }
        first.get_or_insert(a);
    }
    first.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("cannot resolve `{host}`")))
}

fn ip_socket(addr: &SocketAddr, ty: Type, opts: &SocketOptions) -> io::Result<Socket> {
    let domain = Domain::for_address(*addr);
    let protocol = if ty == Type::STREAM { Protocol::TCP } else { Protocol::UDP };
    let socket = Socket::new(domain, ty, Some(protocol))?;
    if addr.is_ipv6() {
        // syslog-ng's IPv6 sockets also take IPv4-mapped peers only when asked; keep v6 only.
        let _ = socket.set_only_v6(true);
    }
    socket.set_reuse_address(true)?;
    if opts.so_reuseport {
        socket.set_reuse_port(true)?;
    }
    if let Some(n) = opts.so_rcvbuf {
        socket.set_recv_buffer_size(n)?;
    }
    if let Some(n) = opts.so_sndbuf {
        socket.set_send_buffer_size(n)?;
    }
    if opts.so_keepalive {
        socket.set_keepalive(true)?;
    }
    if opts.so_broadcast {
        socket.set_broadcast(true)?;
    }
    if let Some(ttl) = opts.ip_ttl {
        socket.set_ttl(ttl)?;
    }
    if let Some(tos) = opts.ip_tos {
        if addr.is_ipv6() {
            socket.set_tclass_v6(tos)?;
        } else {
            socket.set_tos(tos)?;
        }
    }
    if opts.ip_freebind {
        if addr.is_ipv6() {
            socket.set_freebind_ipv6(true)?;
        } else {
            socket.set_freebind(true)?;
        }
    }
    if let Some(name) = &opts.interface {
        socket.bind_device(Some(name.as_bytes()))?;
    }
    if ty == Type::STREAM {
        use nix::sys::socket::{setsockopt, sockopt};
        if let Some(n) = opts.tcp_keepalive_time {
            setsockopt(&socket, sockopt::TcpKeepIdle, &n)?;
        }
        if let Some(n) = opts.tcp_keepalive_intvl {
            setsockopt(&socket, sockopt::TcpKeepInterval, &n)?;
        }
        if let Some(n) = opts.tcp_keepalive_probes {
            setsockopt(&socket, sockopt::TcpKeepCount, &n)?;
        }
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A listening TCP socket (to be handed to tokio inside the runtime).
///
/// # Errors
/// The bind error, e.g. address in use.
pub fn bind_tcp(addr: SocketAddr, opts: &SocketOptions) -> io::Result<std::net::TcpListener> {
    let socket = ip_socket(&addr, Type::STREAM, opts)?;
    socket.bind(&addr.into())?;
    socket.listen(opts.backlog.unwrap_or(255))?;
    Ok(socket.into())
}

/// A bound UDP socket.
///
/// # Errors
/// The bind error.
pub fn bind_udp(addr: SocketAddr, opts: &SocketOptions) -> io::Result<std::net::UdpSocket> {
    let socket = ip_socket(&addr, Type::DGRAM, opts)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// An unbound UDP socket of the family of `peer`, for sending.
///
/// # Errors
/// When the socket cannot be made.
pub fn udp_sender(
    peer: &SocketAddr,
    opts: &SocketOptions,
    local: Option<SocketAddr>,
) -> io::Result<std::net::UdpSocket> {
    let socket = ip_socket(peer, Type::DGRAM, opts)?;
    if let Some(local) = local {
        socket.bind(&local.into())?;
    }
    Ok(socket.into())
}

/// Permissions of a unix socket file: `owner()`, `group()`, `perm()`.
#[derive(Debug, Clone, Default)]
pub struct FileOwnership {
    pub owner: Option<String>,
    pub group: Option<String>,
    pub perm: Option<u32>,
}

/// Removes a stale socket file at `path` (never another kind of file), as syslog-ng does before
/// binding.
fn remove_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Applies `owner()`/`group()`/`perm()` to a file.
///
/// # Errors
/// When a user or group does not exist or the change is refused.
pub fn apply_ownership(path: &Path, own: &FileOwnership) -> io::Result<()> {
    if let Some(perm) = own.perm {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    let uid = match own.owner.as_deref().filter(|o| !o.is_empty()) {
        Some(name) => Some(lookup_user(name)?),
        None => None,
    };
    let gid = match own.group.as_deref().filter(|g| !g.is_empty()) {
        Some(name) => Some(lookup_group(name)?),
        None => None,
    };
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(path, uid, gid)?;
    }
    Ok(())
}

fn lookup_user(name: &str) -> io::Result<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    match nix::unistd::User::from_name(name) {
        Ok(Some(user)) => Ok(user.uid.as_raw()),
        _ => Err(io::Error::new(io::ErrorKind::NotFound, format!("unknown user `{name}`"))),
    }
}

fn lookup_group(name: &str) -> io::Result<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        _ => Err(io::Error::new(io::ErrorKind::NotFound, format!("unknown group `{name}`"))),
    }
}

/// A unix socket bound at `path` (a stale socket file there is removed first), with the options
/// syslog-ng sets on a receiving one: `so-rcvbuf()`, `so-keepalive()` and `so-reuseport()`
/// (which Linux refuses for unix sockets, as syslog-ng finds at start-up), and its file's owner,
/// group and mode (default 0666).
fn bind_unix(ty: Type, path: &Path, own: &FileOwnership, opts: &SocketOptions) -> io::Result<Socket> {
    let socket = Socket::new(Domain::UNIX, ty, None)?;
    if opts.so_reuseport {
        socket.set_reuse_port(true)?;
    }
    if let Some(n) = opts.so_rcvbuf {
        socket.set_recv_buffer_size(n)?;
    }
    if opts.so_keepalive {
        socket.set_keepalive(true)?;
    }
    socket.set_nonblocking(true)?;
    remove_stale_socket(path);
    socket.bind(&socket2::SockAddr::unix(path)?)?;
    apply_ownership(path, &FileOwnership { perm: own.perm.or(Some(0o666)), ..own.clone() })?;
    Ok(socket)
}

/// A listening unix stream socket at `path`, with `listen-backlog()` (default 255, as in
/// syslog-ng).
///
/// # Errors
/// The bind error, or the error of a socket option.
pub fn bind_unix_stream(
    path: &Path,
    own: &FileOwnership,
    opts: &SocketOptions,
) -> io::Result<std::os::unix::net::UnixListener> {
    let socket = bind_unix(Type::STREAM, path, own, opts)?;
    socket.listen(opts.backlog.unwrap_or(255))?;
    Ok(socket.into())
}

/// A bound unix datagram socket at `path`.
///
/// # Errors
/// The bind error, or the error of a socket option.
pub fn bind_unix_dgram(
    path: &Path,
    own: &FileOwnership,
    opts: &SocketOptions,
) -> io::Result<std::os::unix::net::UnixDatagram> {
    bind_unix(Type::DGRAM, path, own, opts).map(Into::into)
}

/// A TCP connection to `addr`, optionally from `local`.
///
/// # Errors
/// The connect error.
pub async fn connect_tcp(
    addr: SocketAddr,
    local: Option<SocketAddr>,
    opts: &SocketOptions,
) -> io::Result<tokio::net::TcpStream> {
    let socket = ip_socket(&addr, Type::STREAM, opts)?;
    if let Some(local) = local {
        socket.bind(&local.into())?;
    }
    let std: std::net::TcpStream = socket.into();
    let socket = tokio::net::TcpSocket::from_std_stream(std);
    let stream = socket.connect(addr).await?;
    // A connection to a local port nobody listens on can get that same port as its own source
    // port and connect to itself (TCP simultaneous open); it would swallow every message and hold
    // the port the real peer needs. Treat it as the refusal it is.
    if stream.local_addr()? == stream.peer_addr()? {
        return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "connected to itself: nothing listens there"));
    }
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> SocketOptions {
        SocketOptions {
            ip_tos: Some(0x10),
            ip_freebind: true,
            interface: Some("lo".into()),
            tcp_keepalive_time: Some(61),
            tcp_keepalive_intvl: Some(7),
            tcp_keepalive_probes: Some(4),
            ..SocketOptions::default()
        }
    }

    /// `ip-tos()`, `ip-freebind()`, `interface()` and `tcp-keepalive-*()` read back from the
    /// kernel. `ip-freebind()` lets a listener bind an address the host does not have.
    #[test]
    fn socket_options_reach_the_socket() {
        let addr = SocketAddr::from(([192, 0, 2, 1], 0));
        let tcp = bind_tcp(addr, &options()).expect("freebind lets the listener bind 192.0.2.1");
        let s = socket2::SockRef::from(&tcp);
        assert_eq!(s.tos().expect("tos"), 0x10);
        assert!(s.freebind().expect("freebind"));
        assert_eq!(s.device().expect("device").as_deref(), Some(&b"lo"[..]));
        assert_eq!(s.keepalive_time().expect("idle").as_secs(), 61);
        assert_eq!(s.keepalive_interval().expect("intvl").as_secs(), 7);
        assert_eq!(s.keepalive_retries().expect("probes"), 4);
        // As in syslog-ng, the keep-alive times do not switch keep-alive on.
        assert!(!s.keepalive().expect("keepalive"));

        let udp = bind_udp(SocketAddr::from(([127, 0, 0, 1], 0)), &options()).expect("udp");
        assert_eq!(socket2::SockRef::from(&udp).tos().expect("tos"), 0x10);
        let v6 = bind_udp(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)), &options()).expect("udp6");
        assert_eq!(socket2::SockRef::from(&v6).tclass_v6().expect("tclass"), 0x10);
        assert!(bind_tcp(addr, &SocketOptions::default()).is_err(), "192.0.2.1 is not this host's");
    }

    /// A connection whose source port is its destination port connects to itself (TCP
    /// simultaneous open), which happens by chance when the kernel picks the source port; here it
    /// is forced. It must count as refused.
    #[tokio::test]
    async fn never_connects_to_itself() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let err = connect_tcp(addr, Some(addr), &SocketOptions::default()).await.expect_err("connected to itself");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    }
}
