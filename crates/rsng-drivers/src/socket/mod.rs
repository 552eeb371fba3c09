//! The socket drivers: `network()`, `syslog()`, `tcp()`, `udp()`, `tcp6()`, `udp6()`,
//! `unix-stream()`, `unix-dgram()` and `system()`.
//!
//! The families differ only in defaults, which this module sets once: the transport and port,
//! the framing (lines, or RFC 6587 octet counting for `syslog()` streams), the parser
//! (`syslog()` parses RFC 5424) and the output format (RFC 5424 for `syslog()`, BSD lines
//! otherwise).

pub mod destination;
pub mod source;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;

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
    let (transport, _) = ip_transport(&opts).ok()?;
    let port = port_option(&opts, &["port", "destport"], default_port(&opts, transport)).ok()?;
    let host = opts.positional().unwrap_or_default();
    Some((
        format!("dst.{}", opts.name()),
        format!("{object}#{index}"),
        format!("{},{host}:{port}", transport_name(&opts)),
    ))
}

fn ip_transport(opts: &Options<'_>) -> Result<(Transport, Option<Framing>), DriverError> {
    let name = opts.name();
    let transport = transport_name(opts);
    let has_tls = opts.get("tls").is_some();
    let trim = opts.bool("trim-large-messages").unwrap_or(false);
    let octets = Framing::OctetCounted { trim_large_messages: trim };
    let not_allowed = || {
        DriverError::new(
            format!(
                "tls() options specified for a transport that doesn't allow TLS encryption; transport='{transport}'"
            ),
            opts.span(),
        )
    };
    let (kind, framing) = match (name, transport.as_str()) {
        (_, "udp") => (Transport::Udp, None),
        ("syslog", "tcp") => (Transport::Tcp, Some(octets)),
        (_, "tcp") => (Transport::Tcp, Some(Framing::Text)),
        ("syslog", "tls") => (Transport::Tls, Some(octets)),
        (_, "tls") => (Transport::Tls, Some(Framing::Text)),
        (_, "framed") => (Transport::Tcp, Some(octets)),
        (_, "text" | "text-with-nuls") => (Transport::Tcp, Some(Framing::Text)),
        (_, "proxied-tls" | "proxied-tcp" | "proxied-tls-passthrough") => {
            return Err(DriverError::new(
                format!("transport(\"{transport}\") of `{name}()` is not available in this build of rsng"),
                opts.span(),
            ))
        }
        (_, other) => {
            return Err(DriverError::new(format!("unknown transport(\"{other}\") for `{name}()`"), opts.span()))
        }
    };
    match (kind, has_tls) {
        (Transport::Tls, false) => {
            Err(DriverError::new("transport(tls) was specified, but tls() options missing", opts.span()))
        }
        (Transport::Udp, true) => Err(not_allowed()),
        // network() and syslog() take TLS only with transport(tls); tcp() turns it on with tls().
        (Transport::Tcp, true) if matches!(name, "network" | "syslog") && transport == "tcp" => Err(not_allowed()),
        (Transport::Tcp, true) => Ok((Transport::Tls, framing)),
        _ => Ok((kind, framing)),
    }
}

/// syslog-ng's default ports: `syslog()` listens on 601 (tcp), 6514 (tls) or 514 (udp and the
/// framing plugins); `network()` and the others on 514 whatever the transport.
fn default_port(opts: &Options<'_>, transport: Transport) -> u16 {
    if opts.name() != "syslog" || transport == Transport::Udp {
        return 514;
    }
    match opts.str("transport").map(str::to_ascii_lowercase).as_deref() {
        None | Some("tcp") => 601,
        Some("tls") => 6514,
        Some(_) => 514,
    }
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
        DriverError::new(format!("Error binding socket; addr='{what}', error='{e}'"), opts.span())
    };
    let mut defaults = ParseFlags::default();
    let mut tls_context = None;
    let mut passcred = None;
    let (bound, framing, local) = match name {
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
                let l = rsng_transport::bind_unix_stream(&path, &own).map_err(|e| bind_error(&shown, e))?;
                (Bound::UnixStream(l, path), Framing::Text, true)
            } else {
                let s = rsng_transport::bind_unix_dgram(&path, &own).map_err(|e| bind_error(&shown, e))?;
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
            let (transport, framing) = ip_transport(&opts)?;
            let port = port_option(&opts, &["port", "localport"], default_port(&opts, transport))?;
            let host = opts.str("ip").or_else(|| opts.str("localip"));
            let addr = rsng_transport::resolve(host, port, family(&opts))
                .map_err(|e| DriverError::new(format!("Error resolving `{}`: {e}", host.unwrap_or("")), opts.span()))?;
            if transport == Transport::Tls {
                tls_context = tls::context(&opts, Side::Server, ctx)?
                    .map(|c| c.with_instance(&tls::source_instance(name, object, &addr)));
            }
            let sockopts = socket_options(&opts, false);
            let shown = source::af_name(&addr);
            let bound = match transport {
                Transport::Udp => {
                    Bound::Udp(rsng_transport::bind_udp(addr, &sockopts).map_err(|e| bind_error(&shown, e))?)
                }
                _ => Bound::Tcp(rsng_transport::bind_tcp(addr, &sockopts).map_err(|e| bind_error(&shown, e))?),
            };
            (bound, framing.unwrap_or(Framing::Text), false)
        }
    };
    let mut receiver = Receiver::new(object, opts, defaults, local);
    if let Some(pass) = passcred {
        receiver.unix_credentials = pass;
    }
    receiver.pid_from_credentials = name == "system";
    let receiver = Arc::new(receiver);
    let max_connections = opts.int("max-connections").filter(|&n| n > 0).unwrap_or(if local { 256 } else { 10 });
    // `log-iw-size()` is shared out among the connections of a stream listener, as syslog-ng does.
    let iw = opts.int("log-iw-size").filter(|&n| n > 0).unwrap_or(100) as usize;
    let stream = matches!(bound, Bound::Tcp(_) | Bound::UnixStream(..));
    let window = if stream { (iw / max_connections as usize).max(1) } else { iw };
    Ok(Box::new(SocketSource {
        component: format!("src.{name}"),
        bound,
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
            let (transport, framing) = ip_transport(&opts)?;
            let port = port_option(&opts, &["port", "destport"], default_port(&opts, transport))?;
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
            match transport {
                Transport::Udp => Peer::Udp { host, port, family, local_ip, local_port },
                _ => Peer::Tcp { host, port, family, local_ip, local_port, octet_counted: octets, tls },
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
    }))
}
