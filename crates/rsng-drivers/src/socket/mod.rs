//! The socket drivers: `network()`, `syslog()`, `tcp()`, `udp()`, `tcp6()`, `udp6()`,
//! `unix-stream()`, `unix-dgram()` and `system()`.
//!
//! The families differ only in defaults, which this module sets once: the transport and port,
//! the framing (lines, or RFC 6587 octet counting for `syslog()` streams), the parser
//! (`syslog()` parses RFC 5424) and the output format (RFC 5424 for `syslog()`, BSD lines
//! otherwise).

pub mod activation;
pub mod destination;
pub mod dynamic_window;
pub mod failover;
pub mod options;
pub mod proxied;
pub mod shared;
pub mod source;
pub mod spoof;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;

use rsng_config::ir::Value;
use rsng_config::source_map::FileSpan;
use rsng_config::transport::{Framing as ConfigFraming, IpTransport};
use rsng_proto::syslog::ParseFlags;
use rsng_transport::tls::Side;
use rsng_transport::{Family, SocketOptions};

use crate::options::Options;
use crate::receive::Receiver;
use crate::writer::{WireFormat, Writer};
use crate::{BuildContext, Destination, DriverError, Source};
use destination::{Peer, SocketDestination};
use options::{InetListenerOptions, ListenerOptions, SenderOptions, SocketLevelOptions, UnixListenerOptions};
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

/// What the transport decisions of an IP driver take, from either side's options.
struct Inet<'a> {
    driver: &'static str,
    transport: Option<&'a str>,
    ip_protocol: Option<i64>,
    tls: bool,
    trim_large_messages: bool,
    version4: bool,
    span: &'a FileSpan,
}

impl<'a> Inet<'a> {
    fn listener(opts: &Options<'a>, o: &'a InetListenerOptions) -> Inet<'a> {
        Inet::of(opts, o.transport.as_deref(), o.ip_protocol, o.tls.is_some(), o.trim_large_messages)
    }

    fn sender(opts: &Options<'a>, o: &'a SenderOptions) -> Inet<'a> {
        Inet::of(opts, o.transport.as_deref(), o.ip_protocol, o.tls.is_some(), o.trim_large_messages)
    }

    fn of(
        opts: &Options<'a>,
        transport: Option<&'a str>,
        ip_protocol: Option<i64>,
        tls: bool,
        trim_large_messages: bool,
    ) -> Inet<'a> {
        Inet {
            driver: opts.name(),
            transport,
            ip_protocol,
            tls,
            trim_large_messages,
            version4: opts.globals.version4,
            span: opts.span(),
        }
    }

    fn family(&self) -> Family {
        match self.driver {
            "tcp6" | "udp6" => Family::V6,
            _ if self.ip_protocol == Some(6) => Family::V6,
            _ => Family::V4,
        }
    }

    /// The `transport()` of an IP driver, lowercased; implied by the old driver names.
    fn transport_name(&self) -> String {
        match self.driver {
            "tcp" | "tcp6" => "tcp".to_string(),
            "udp" | "udp6" => "udp".to_string(),
            _ => self.transport.unwrap_or("tcp").to_ascii_lowercase(),
        }
    }

    /// The transport and framing: syslog-ng's `transport-mapper-inet.c` checks of `tls()`
    /// against `transport()`, shared with the configuration check (so a configuration
    /// `--syntax-only` accepts is never refused here).
    fn resolve(&self, source: bool) -> Result<(Transport, Option<Framing>, IpTransport), DriverError> {
        let t = rsng_config::transport::resolve(self.driver, source, self.transport, self.tls, self.version4)
            .map_err(|message| DriverError::new(message, self.span))?;
        let trim_large_messages = self.trim_large_messages;
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
        let framing = match (framing, self.transport) {
            (Some(Framing::Text), Some("text-with-nuls")) => Some(Framing::TextWithNuls),
            (framing, _) => framing,
        };
        Ok((kind, framing, t))
    }

    /// The first of `values` given, as a port number or service name; else `default`.
    fn port(&self, values: &[&Option<Value>], default: u16) -> Result<u16, DriverError> {
        let Some(value) = values.iter().find_map(|v| v.as_ref()) else { return Ok(default) };
        let driver = self.driver;
        match value {
            Value::Int(n) => u16::try_from(*n)
                .map_err(|_| DriverError::new(format!("port {n} is out of range for `{driver}()`"), self.span)),
            other => match (crate::options::as_str(other), crate::options::as_int(other)) {
                (None, Some(n)) => u16::try_from(n)
                    .map_err(|_| DriverError::new(format!("port {n} is out of range for `{driver}()`"), self.span)),
                (text, _) => {
                    let text = text.unwrap_or_default();
                    text.parse::<u16>()
                        .or_else(|_| service_port(text))
                        .map_err(|_| DriverError::new(format!("invalid port `{text}` for `{driver}()`"), self.span))
                }
            },
        }
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
    let o = SenderOptions::read(&opts);
    let inet = Inet::sender(&opts, &o);
    let (_, _, resolved) = inet.resolve(false).ok()?;
    let port = inet.port(&[&o.port, &o.destport], resolved.default_port).ok()?;
    let host = opts.positional().unwrap_or_default();
    Some((
        format!("dst.{}", opts.name()),
        format!("{object}#{index}"),
        format!("{},{host}:{port}", inet.transport_name()),
    ))
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

/// The socket sources that read a socket of their own (`system()` and `systemd-syslog()` aside):
/// their options include the listener's (`format()`, `keep-alive()`, ...).
pub const LISTENERS: &[&str] = &["network", "syslog", "tcp", "udp", "tcp6", "udp6", "unix-stream", "unix-dgram"];

/// The formats a socket source parses its frames in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameFormat {
    Syslog,
    LinuxKmsg,
}

/// `format()` of a socket source. syslog-ng 3.38 also has `pacct` (binary process accounting
/// records, which come from files), and drops every message of a format it does not know;
/// rsng refuses both, naming the option.
fn frame_format(opts: &Options<'_>, o: &ListenerOptions) -> Result<FrameFormat, DriverError> {
    match o.format.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("syslog") => Ok(FrameFormat::Syslog),
        Some("linux-kmsg" | "linux_kmsg") => Ok(FrameFormat::LinuxKmsg),
        Some(other) => {
            let span = opts.driver.options.iter().rev().find(|o| o.name == "format").map_or(opts.span(), |o| &o.span);
            Err(DriverError::new(
                format!(
                    "`format({other})` of the `{}()` source is not supported by rsng: socket sources read the \
                     syslog and linux-kmsg formats",
                    opts.name()
                ),
                span,
            ))
        }
    }
}

/// The checks of a socket source's options that its build runs before it binds, so that
/// `--syntax-only` refuses what start-up refuses.
///
/// # Errors
/// A `format()` rsng does not read.
pub fn check_options(opts: &Options<'_>) -> Result<(), DriverError> {
    frame_format(opts, &ListenerOptions::read(opts)).map(drop)
}

/// Builds a socket source driver (binding its socket now).
pub fn build_source(object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    let name = opts.name();
    let o = ListenerOptions::read(&opts);
    let format = frame_format(&opts, &o)?;
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
    // syslog-ng names a stream sender's counter by the transport as written (`tls,10.0.0.1`).
    let mut sender_prefix: Arc<str> = Arc::from("unix-stream");
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
            passcred = UnixListenerOptions::read(&opts).pass_credentials();
            if passcred.unwrap_or(true) {
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
            let unix = UnixListenerOptions::read(&opts);
            let own = unix.ownership();
            passcred = unix.pass_credentials();
            if name != "system" {
                unix.create_containing_dirs(&path).map_err(|e| DriverError::new(e, opts.span()))?;
            }
            let shown = format!("AF_UNIX({})", path.display());
            let sockopts = if name == "system" {
                // What syslog-ng's system() generates on Linux: RFC 5424 with RFC 3164
                // fallback, and a small receive buffer.
                defaults.syslog_protocol = true;
                SocketOptions { so_rcvbuf: Some(8192), ..SocketOptions::default() }
            } else {
                SocketLevelOptions::read(&opts).for_socket(false)
            };
            // Linux refuses SO_REUSEPORT on unix sockets; syslog-ng stops start-up with these
            // words. Any other error is the bind's.
            let unix_error = |e: std::io::Error| {
                if sockopts.so_reuseport && e.raw_os_error() == Some(nix::errno::Errno::EOPNOTSUPP as i32) {
                    DriverError::new(
                        format!(
                            "The kernel refused our SO_REUSEPORT setting, which should be supported by Linux 3.9+; \
                             error='{}'",
                            crate::file::os_error(&e)
                        ),
                        opts.span(),
                    )
                } else {
                    bind_error(&shown, e)
                }
            };
            let key = shared::key_of(
                if name == "unix-stream" { "unix-stream" } else { "unix-dgram" },
                &path.display().to_string(),
            );
            let bound = if name == "unix-stream" {
                match shared::take_over(&key) {
                    Some(fd) => Ok(std::os::unix::net::UnixListener::from(fd)),
                    None => rsng_transport::bind_unix_stream(&path, &own, &sockopts).map_err(unix_error),
                }
                .map(|l| Bound::UnixStream(l, path))
            } else {
                match shared::take_over(&key) {
                    Some(fd) => Ok(std::os::unix::net::UnixDatagram::from(fd)),
                    None => rsng_transport::bind_unix_dgram(&path, &own, &sockopts).map_err(unix_error),
                }
                .map(|s| Bound::UnixDgram(s, path))
            };
            let bound = match bound {
                Ok(bound) => bound,
                // optional(yes): a socket that cannot be set up is logged and the source does
                // nothing.
                Err(e) if unix.optional && name != "system" => {
                    crate::internal::error(e.message);
                    return Ok(Box::new(activation::Disabled));
                }
                Err(e) => return Err(e),
            };
            if let (Bound::UnixDgram(s, _), true) = (&bound, passcred.unwrap_or(true)) {
                // The kernel then tells each datagram's sender (pid, uid, gid).
                let _ = nix::sys::socket::setsockopt(s, nix::sys::socket::sockopt::PassCred, &true);
            }
            (bound, Framing::Text, true)
        }
        _ => {
            if name == "syslog" {
                defaults.syslog_protocol = true;
            }
            let ip = InetListenerOptions::read(&opts);
            let inet = Inet::listener(&opts, &ip);
            sender_prefix = Arc::from(inet.transport_name());
            let (transport, framing, resolved) = inet.resolve(true)?;
            if opts.globals.version4 {
                transport_name =
                    Some(Arc::from(rsng_config::transport::transport_name(name, inet.transport, inet.tls)));
            }
            proxy = resolved.proxy.map(|at| proxied::ProxyMode { at, replace_addresses: opts.globals.version4 });
            let port = inet.port(&[&ip.port, &ip.localport], resolved.default_port)?;
            let host = ip.ip.as_deref().or(ip.localip.as_deref());
            let addr = rsng_transport::resolve(host, port, inet.family())
                .map_err(|e| DriverError::new(format!("Error resolving `{}`: {e}", host.unwrap_or("")), opts.span()))?;
            if transport == Transport::Tls {
                tls_context = tls::context(&opts, Side::Server, ctx)?
                    .map(|c| c.with_instance(&tls::source_instance(name, object, &addr)));
            }
            let sockopts = SocketLevelOptions::read(&opts).for_socket(false);
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
    if format == FrameFormat::LinuxKmsg {
        receiver.linux_kmsg = true;
        // The boot time record times count from, worked out when the format is loaded.
        crate::file::kmsg::boot_time();
    }
    receiver.encoding = o.encoding.as_deref().map(Arc::from);
    // `$PROTO` and `$DESTPORT` of messages from IP peers: the listener's protocol and port.
    receiver.destination = match &bound {
        Bound::Tcp(l) => l.local_addr().ok().map(|a| (6, a.port())),
        Bound::Udp(s) => s.local_addr().ok().map(|a| (17, a.port())),
        _ => None,
    };
    let receiver = Arc::new(receiver);
    let max_connections = o.max_connections.unwrap_or(if local { 256 } else { 10 });
    let stream = matches!(bound, Bound::Tcp(_) | Bound::UnixStream(..));
    let window = o.window(name, stream, max_connections);
    Ok(Box::new(SocketSource {
        component: format!("src.{name}"),
        bound,
        sender_prefix,
        framing,
        receiver,
        max_connections,
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
        dynamic_window: (stream && o.dynamic_window_size > 0)
            .then(|| (o.dynamic_window_size, o.dynamic_window_period())),
    }))
}

/// Builds a socket destination driver.
pub fn build_destination(
    object: &str,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let name = opts.name();
    // `flags(syslog-protocol)` makes any socket destination write what `syslog()` writes.
    let syslog_protocol = crate::writer::WriterOptions::read(&opts).flags.contains("syslog-protocol");
    let format = if name == "syslog" || syslog_protocol { WireFormat::Syslog } else { WireFormat::Proto };
    let writer = Writer::new(opts, format, ctx)?;
    let o = SenderOptions::read(&opts);
    let socket_level = SocketLevelOptions::read(&opts);
    let inet = Inet::sender(&opts, &o);
    let mut failover = None;
    let peer = match name {
        "unix-stream" => Peer::UnixStream(PathBuf::from(opts.positional().unwrap_or_default())),
        "unix-dgram" => Peer::UnixDgram(PathBuf::from(opts.positional().unwrap_or_default())),
        _ => {
            let (transport, framing, resolved) = inet.resolve(false)?;
            let port = inet.port(&[&o.port, &o.destport], resolved.default_port)?;
            let host = opts.positional().unwrap_or_default().to_string();
            let local_port = inet.port(&[&o.localport], 0)?;
            let local_ip = o.localip.clone();
            let family = inet.family();
            let octets = matches!(framing, Some(Framing::OctetCounted { .. }));
            let tls = match transport {
                Transport::Tls => tls::context(&opts, Side::Client, ctx)?
                    .map(|c| c.with_instance(&tls::destination_instance(name, object, &host, port))),
                _ => None,
            };
            failover = failover::Failover::from_options(
                &host,
                o.failover.as_ref(),
                o.failover_servers.as_deref().unwrap_or_default(),
                (ctx.locate)(opts.span()),
            );
            if o.failover.is_some() {
                // Read whole by `Failover::from_options`.
                opts.driver.note("failover.servers");
                opts.driver.note("failover.failback");
            }
            // The configuration check refuses it over UDP.
            match transport {
                Transport::Udp => Peer::Udp {
                    host,
                    port,
                    family,
                    local_ip,
                    local_port,
                    spoof_max_len: o.spoof_source.then_some(o.spoof_source_max_msglen),
                },
                _ => Peer::Tcp {
                    host,
                    port,
                    family,
                    local_ip,
                    local_port,
                    octet_counted: octets,
                    tls,
                    max_lifetime: o.max_connection_lifetime.map(std::time::Duration::from_secs),
                },
            }
        }
    };
    Ok(Box::new(SocketDestination {
        name: format!("{object}#{name}"),
        peer,
        writer,
        sockopts: socket_level.for_socket(true),
        time_reopen: std::time::Duration::from_secs(o.time_reopen),
        close_on_input: o.close_on_input,
        throttle: crate::file::throttle(&opts),
        failover,
        spoof: None,
    }))
}
