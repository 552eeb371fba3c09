//! The socket drivers: `network()`, `syslog()`, `tcp()`, `udp()`, `tcp6()`, `udp6()`,
//! `unix-stream()`, `unix-dgram()` and `system()`.
//!
//! The families differ only in defaults, which this module sets once: the transport and port,
//! the framing (lines, or RFC 6587 octet counting for `syslog()` streams), the parser
//! (`syslog()` parses RFC 5424) and the output format (RFC 5424 for `syslog()`, BSD lines
//! otherwise).

pub mod activation;
pub mod destination;
pub mod proxied;
pub mod shared;
pub mod source;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;

use rsng_config::transport::{Framing as ConfigFraming, IpTransport};
use rsng_proto::syslog::ParseFlags;
use rsng_transport::tls::Side;
use rsng_transport::{Family, FileOwnership, SocketOptions};

use crate::options::Options;
use crate::receive::Receiver;
use crate::writer::{WireFormat, Writer};
use crate::{BuildContext, Destination, DriverError, Source};
use destination::{Peer, SocketDestination};
use source::{Bound, Framing, SocketSource};

/// The path `system()` reads local messages from.
pub const DEV_LOG: &str = "/dev/log";

/// The transport a socket driver uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Udp,
    /// TCP with TLS: `transport(tls)`, or a TCP transport with a `tls()` block where syslog-ng
    /// allows one (`tcp()`, `tcp6()`, framing plugins such as `framed`).
    Tls,
}

fn family(opts: &Options<'_>) -> Family {
    match opts.name() {
        "tcp6" | "udp6" => Family::V6,
        _ if opts.int("ip-protocol") == Some(6) => Family::V6,
        _ => Family::V4,
    }
}

/// The transport and framing of an IP driver, after syslog-ng's `transport-mapper-inet.c`
/// checks of `tls()` against `transport()`; errors for transports rsng does not run.
/// The `transport()` of an IP driver, lowercased; implied by the old driver names.
fn transport_name(opts: &Options<'_>) -> String {
    match opts.name() {
        "tcp" | "tcp6" => "tcp".to_string(),
        "udp" | "udp6" => "udp".to_string(),
        _ => opts.str("transport").unwrap_or("tcp").to_ascii_lowercase(),
    }
}

/// How syslog-ng names the counters of a network destination driver in `syslog-ng-ctl stats`:
/// component (`dst.network`), id (`OBJECT#N`) and instance (`tcp,HOST:PORT`). `None` for
/// drivers it does not count at the default level.
pub fn destination_stats_name(object: &str, index: usize, opts: Options<'_>) -> Option<(String, String, String)> {
    if let name @ ("unix-stream" | "unix-dgram") = opts.name() {
        let path = opts.positional().unwrap_or_default();
        return Some((format!("dst.{name}"), format!("{object}#{index}"), format!("{name},localhost.afunix:{path}")));
    }
    let (_, _, resolved) = ip_transport(&opts, false).ok()?;
    let port = port_option(&opts, &["port", "destport"], resolved.default_port).ok()?;
    let host = opts.positional().unwrap_or_default();
    Some((
        format!("dst.{}", opts.name()),
        format!("{object}#{index}"),
        format!("{},{host}:{port}", transport_name(&opts)),
    ))
}

/// The transport of an IP driver: syslog-ng's `transport-mapper-inet.c` rules, shared with the
/// configuration check (so a configuration `--syntax-only` accepts is never refused here).
fn ip_transport(opts: &Options<'_>, source: bool) -> Result<(Transport, Option<Framing>, IpTransport), DriverError> {
    let t = rsng_config::transport::resolve(
        opts.name(),
        source,
        opts.str("transport"),
        opts.get("tls").is_some(),
        opts.globals.version4,
    )
    .map_err(|message| DriverError::new(message, opts.span()))?;
    let trim_large_messages = opts.bool("trim-large-messages").unwrap_or(false);
    let framing = t.framing.map(|f| match f {
        ConfigFraming::Text => Framing::Text,
        ConfigFraming::OctetCounted => Framing::OctetCounted { trim_large_messages },
        ConfigFraming::Auto => Framing::Auto { trim_large_messages },
    });
    let kind = match (t.datagram, t.tls) {
        (true, _) => Transport::Udp,
        (false, true) => Transport::Tls,
        (false, false) => Transport::Tcp,
    };
    // text-with-nuls is text framing that keeps NULs inside messages.
    let framing = match (framing, opts.str("transport")) {
        (Some(Framing::Text), Some("text-with-nuls")) => Some(Framing::TextWithNuls),
        (framing, _) => framing,
    };
    Ok((kind, framing, t))
}

/// The socket options of a listening (`send` false) or sending socket. As in syslog-ng,
/// `ip-tos()` only applies to sending sockets, and `ip-freebind()` and `tcp-keepalive-*()` only to
/// listening ones (and the connections they accept).
fn socket_options(opts: &Options<'_>, send: bool) -> SocketOptions {
    let size = |name: &str| opts.int(name).filter(|&n| n > 0).map(|n| n as usize);
    let positive = |name: &str| opts.int(name).filter(|&n| n > 0).and_then(|n| u32::try_from(n).ok());
    // syslog-ng's defaults for the connections a source accepts (60 s idle, probes every 10 s,
    // 6 of them); `0` leaves the system's value.
    let keepalive = |name: &str, default: i64| {
        (!send).then(|| opts.int(name).unwrap_or(default)).filter(|&n| n > 0).and_then(|n| u32::try_from(n).ok())
    };
    SocketOptions {
        so_rcvbuf: size("so-rcvbuf"),
        so_sndbuf: size("so-sndbuf"),
        so_reuseport: opts.bool("so-reuseport").unwrap_or(false),
        // On by default for IP sockets, sources and destinations alike, as in syslog-ng.
        so_keepalive: opts.bool("so-keepalive").unwrap_or(true),
        so_broadcast: opts.bool("so-broadcast").unwrap_or(false),
        ip_ttl: opts.int("ip-ttl").filter(|&n| n > 0).map(|n| n as u32),
        backlog: opts.int("listen-backlog").map(|n| n as i32),
        // Zero means "leave the system's value", as in syslog-ng.
        ip_tos: if send { positive("ip-tos") } else { None },
        ip_freebind: !send && opts.bool("ip-freebind").unwrap_or(false),
        interface: opts.str("interface").filter(|i| !i.is_empty()).map(String::from),
        tcp_keepalive_time: keepalive("tcp-keepalive-time", 60),
        tcp_keepalive_intvl: keepalive("tcp-keepalive-intvl", 10),
        tcp_keepalive_probes: keepalive("tcp-keepalive-probes", 6),
    }
}

fn ownership(opts: &Options<'_>) -> FileOwnership {
    FileOwnership {
        owner: opts.str("owner").map(String::from),
        group: opts.str("group").map(String::from),
        perm: opts.int("perm").filter(|&p| p >= 0).map(|p| p as u32),
    }
}

fn port_option(opts: &Options<'_>, names: &[&str], default: u16) -> Result<u16, DriverError> {
    for name in names {
        if let Some(text) = opts.str(name) {
            return text
                .parse::<u16>()
                .or_else(|_| service_port(text))
                .map_err(|_| DriverError::new(format!("invalid port `{text}` for `{}()`", opts.name()), opts.span()));
        }
        if let Some(n) = opts.int(name) {
            return u16::try_from(n).map_err(|_| {
                DriverError::new(format!("port {n} is out of range for `{}()`", opts.name()), opts.span())
            });
        }
    }
    Ok(default)
}

/// A service name from /etc/services (`port("syslog")`).
fn service_port(name: &str) -> Result<u16, ()> {
    let services = std::fs::read_to_string("/etc/services").map_err(|_| ())?;
    for line in services.lines() {
        let mut fields = line.split_whitespace();
        if fields.next() == Some(name) {
            if let Some(port) = fields.next().and_then(|p| p.split('/').next()) {
                return port.parse().map_err(|_| ());
            }
        }
    }
    Err(())
}

/// Builds a socket source driver (binding its socket now).
pub fn build_source(object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    let name = opts.name();
    let bind_error = |what: &str, e: std::io::Error| {
        DriverError::new(
            format!("Error binding socket; addr='{what}', error='{}'", crate::file::os_error(&e)),
            opts.span(),
        )
    };
    let mut defaults = ParseFlags::default();
    let mut tls_context = None;
    let mut proxy = None;
    // 4.x: `$TRANSPORT` and `$IP_PROTO` of IP sources.
    let mut transport_name: Option<Arc<str>> = None;
    let mut passcred = None;
    let (bound, framing, local) = match name {
        _ if name == "systemd-syslog" || activation::replaces_unix_source(name, opts.positional()) => {
            if name != "systemd-syslog" {
                crate::internal::warning(
                    "Using /dev/log Unix socket with systemd is not possible. Changing to systemd-syslog source, \
                     which supports socket activation.",
                );
                crate::internal::warning(
                    "systemd-syslog() source ignores configuration options. Please, do not set anything on it",
                );
            }
            if !crate::journal::systemd_is_running() {
                return Err(DriverError::new(
                    "Error initializing systemd-syslog() source; systemd_status='not-running'",
                    opts.span(),
                ));
            }
            let socket = match activation::passed_socket() {
                Ok(s) => s,
                Err(why) => {
                    crate::internal::error(why);
                    return Ok(Box::new(activation::Disabled));
                }
            };
            defaults.expect_hostname = false;
            let pass = opts.bool("so-passcred").or_else(|| opts.bool_or_global("pass-unix-credentials"));
            passcred = pass;
            if pass.unwrap_or(true) {
                let _ = nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::PassCred, &true);
            }
            // No file of rsng's to remove when the source stops.
            (Bound::UnixDgram(socket, PathBuf::new()), Framing::Text, true)
        }
        "unix-stream" | "unix-dgram" | "system" => {
            // Local senders (the syslog() API) put no hostname in the header.
            defaults.expect_hostname = false;
            let path = match name {
                "system" => PathBuf::from(DEV_LOG),
                _ => PathBuf::from(opts.positional().unwrap_or_default()),
            };
            let own = ownership(&opts);
            let shown = format!("AF_UNIX({})", path.display());
            if name == "unix-stream" {
                let l = match shared::take_over(&shared::key_of("unix-stream", &path.display().to_string())) {
                    Some(fd) => std::os::unix::net::UnixListener::from(fd),
                    None => rsng_transport::bind_unix_stream(&path, &own).map_err(|e| bind_error(&shown, e))?,
                };
                (Bound::UnixStream(l, path), Framing::Text, true)
            } else {
                let s = match shared::take_over(&shared::key_of("unix-dgram", &path.display().to_string())) {
                    Some(fd) => std::os::unix::net::UnixDatagram::from(fd),
                    None => rsng_transport::bind_unix_dgram(&path, &own).map_err(|e| bind_error(&shown, e))?,
                };
                // `so-passcred()` is the newer name of `pass-unix-credentials()`.
                let pass = opts.bool("so-passcred").or_else(|| opts.bool_or_global("pass-unix-credentials"));
                passcred = pass;
                if pass.unwrap_or(true) {
                    // The kernel then tells each datagram's sender (pid, uid, gid).
                    let _ = nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::PassCred, &true);
                }
                if name == "system" {
                    // What syslog-ng's system() generates on Linux: RFC 5424 with RFC 3164
                    // fallback, and a small receive buffer.
                    defaults.syslog_protocol = true;
                    let _ = nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::RcvBuf, &8192);
                }
                (Bound::UnixDgram(s, path), Framing::Text, true)
            }
        }
        _ => {
            if name == "syslog" {
                defaults.syslog_protocol = true;
            }
            let (transport, framing, resolved) = ip_transport(&opts, true)?;
            if opts.globals.version4 {
                transport_name = Some(Arc::from(rsng_config::transport::transport_name(
                    name,
                    opts.str("transport"),
                    opts.get("tls").is_some(),
                )));
            }
            proxy = resolved.proxy.map(|at| proxied::ProxyMode { at, replace_addresses: opts.globals.version4 });
            let port = port_option(&opts, &["port", "localport"], resolved.default_port)?;
            let host = opts.str("ip").or_else(|| opts.str("localip"));
            let addr = rsng_transport::resolve(host, port, family(&opts))
                .map_err(|e| DriverError::new(format!("Error resolving `{}`: {e}", host.unwrap_or("")), opts.span()))?;
            if transport == Transport::Tls {
                tls_context = tls::context(&opts, Side::Server, ctx)?
                    .map(|c| c.with_instance(&tls::source_instance(name, object, &addr)));
            }
            let sockopts = socket_options(&opts, false);
            let shown = source::af_name(&addr);
            // A running source on the same address (a reload) hands its socket over.
            let bound = match transport {
                Transport::Udp => Bound::Udp(match shared::take_over(&shared::key_of("udp", &addr.to_string())) {
                    Some(fd) => std::net::UdpSocket::from(fd),
                    None => rsng_transport::bind_udp(addr, &sockopts).map_err(|e| bind_error(&shown, e))?,
                }),
                _ => Bound::Tcp(match shared::take_over(&shared::key_of("tcp", &addr.to_string())) {
                    Some(fd) => std::net::TcpListener::from(fd),
                    None => rsng_transport::bind_tcp(addr, &sockopts).map_err(|e| bind_error(&shown, e))?,
                }),
            };
            (bound, framing.unwrap_or(Framing::Text), false)
        }
    };
    let mut receiver = Receiver::new(object, opts, defaults, local);
    if let Some(pass) = passcred {
        receiver.unix_credentials = pass;
    }
    receiver.pid_from_credentials = name == "system";
    // `$PROTO` and `$DESTPORT` of messages from IP peers: the listener's protocol and port.
    receiver.destination = match &bound {
        Bound::Tcp(l) => l.local_addr().ok().map(|a| (6, a.port())),
        Bound::Udp(s) => s.local_addr().ok().map(|a| (17, a.port())),
        _ => None,
    };
    let receiver = Arc::new(receiver);
    let max_connections = opts.int("max-connections").filter(|&n| n > 0).unwrap_or(if local { 256 } else { 10 });
    // `log-iw-size()` is shared out among the connections of a stream listener, as syslog-ng does.
    let iw = opts.int("log-iw-size").filter(|&n| n > 0).unwrap_or(100) as usize;
    let stream = matches!(bound, Bound::Tcp(_) | Bound::UnixStream(..));
    let window = if stream { (iw / max_connections as usize).max(1) } else { iw };
    // syslog-ng names a stream sender's counter by the transport as written (`tls,10.0.0.1`).
    let sender_prefix: Arc<str> = match bound {
        Bound::UnixStream(..) => Arc::from("unix-stream"),
        _ => Arc::from(self::transport_name(&opts)),
    };
    Ok(Box::new(SocketSource {
        component: format!("src.{name}"),
        bound,
        sender_prefix,
        framing,
        receiver,
        max_connections: max_connections as usize,
        window,
        // The kernel log, where it can be read, is part of `system()`.
        companions: if name == "system" {
            crate::file::kernel_log_source(object, opts).into_iter().collect()
        } else {
            Vec::new()
        },
        tls: tls_context,
        proxy,
        transport_name,
    }))
}

/// Builds a socket destination driver.
pub fn build_destination(
    object: &str,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let name = opts.name();
    let format = if name == "syslog" { WireFormat::Syslog } else { WireFormat::Proto };
    let writer = Writer::new(opts, format, ctx)?;
    let peer = match name {
        "unix-stream" => Peer::UnixStream(PathBuf::from(opts.positional().unwrap_or_default())),
        "unix-dgram" => Peer::UnixDgram(PathBuf::from(opts.positional().unwrap_or_default())),
        _ => {
            let (transport, framing, resolved) = ip_transport(&opts, false)?;
            let port = port_option(&opts, &["port", "destport"], resolved.default_port)?;
            let host = opts.positional().unwrap_or_default().to_string();
            let local_port = port_option(&opts, &["localport"], 0)?;
            let local_ip = opts.str("localip").map(String::from);
            let family = family(&opts);
            let octets = matches!(framing, Some(Framing::OctetCounted { .. }));
            let tls = match transport {
                Transport::Tls => tls::context(&opts, Side::Client, ctx)?
                    .map(|c| c.with_instance(&tls::destination_instance(name, object, &host, port))),
                _ => None,
            };
            let lifetime = opts.int("max-connection-lifetime").filter(|&n| n > 0);
            // The configuration check refuses it over UDP.
            match transport {
                Transport::Udp => Peer::Udp { host, port, family, local_ip, local_port },
                _ => Peer::Tcp {
                    host,
                    port,
                    family,
                    local_ip,
                    local_port,
                    octet_counted: octets,
                    tls,
                    max_lifetime: lifetime.map(|n| std::time::Duration::from_secs(n as u64)),
                },
            }
        }
    };
    let time_reopen = opts.int_or_global("time-reopen").filter(|&n| n > 0).unwrap_or(60) as u64;
    Ok(Box::new(SocketDestination {
        name: format!("{object}#{name}"),
        peer,
        writer,
        sockopts: socket_options(&opts, true),
        time_reopen: std::time::Duration::from_secs(time_reopen),
        close_on_input: opts.bool("close-on-input").unwrap_or(true),
        throttle: crate::file::throttle(&opts),
    }))
}
