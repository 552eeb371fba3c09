//! The options of the socket drivers, typed (see [`crate::options::typed`]). What the reader and
//! the writer take is in [`crate::receive::ReaderOptions`] and [`crate::writer::WriterOptions`].

use std::path::Path;

use rsng_config::ir::Value;
use rsng_transport::{FileOwnership, SocketOptions};

use crate::file::os_error;
use crate::file::perms::{create_containing_dirs, lookup_group, lookup_user, Perms};

crate::typed_options! {
    /// The options syslog-ng sets with `setsockopt()` on a driver's sockets.
    pub struct SocketLevelOptions {
        driver {
            pub so_rcvbuf: usize = "so-rcvbuf" if (|&n| n > 0);
            pub so_sndbuf: usize = "so-sndbuf" if (|&n| n > 0);
            pub so_reuseport: bool = "so-reuseport" or (false);
            /// On by default for IP sockets, sources and destinations alike, as in syslog-ng.
            pub so_keepalive: bool = "so-keepalive" or (true);
            pub so_broadcast: bool = "so-broadcast" or (false);
            pub ip_ttl: u32 = "ip-ttl" if (|&n| n > 0);
            /// Zero leaves the system's value, as in syslog-ng.
            pub ip_tos: u32 = "ip-tos" if (|&n| n > 0);
            pub ip_freebind: bool = "ip-freebind" or (false);
            pub interface: String = "interface" if (|i: &String| !i.is_empty());
            pub listen_backlog: i32 = "listen-backlog";
            /// syslog-ng's defaults for the connections a source accepts (60 s idle, probes
            /// every 10 s, 6 of them); `0` leaves the system's value.
            pub tcp_keepalive_time: u32 = "tcp-keepalive-time" or (60);
            pub tcp_keepalive_intvl: u32 = "tcp-keepalive-intvl" or (10);
            pub tcp_keepalive_probes: u32 = "tcp-keepalive-probes" or (6);
        }
        inherited {}
        global {}
    }
}

impl SocketLevelOptions {
    /// The options of a listening (`send` false) or sending socket. As in syslog-ng,
    /// `so-rcvbuf()` only applies to receiving sockets and `so-sndbuf()`, `so-broadcast()` and
    /// `ip-tos()` only to sending ones, and `ip-freebind()` and `tcp-keepalive-*()` only to
    /// listening ones (and the connections they accept).
    pub fn for_socket(&self, send: bool) -> SocketOptions {
        let keepalive = |n: u32| (!send && n > 0).then_some(n);
        SocketOptions {
            so_rcvbuf: if send { None } else { self.so_rcvbuf },
            so_sndbuf: if send { self.so_sndbuf } else { None },
            so_reuseport: self.so_reuseport,
            so_keepalive: self.so_keepalive,
            so_broadcast: send && self.so_broadcast,
            ip_ttl: self.ip_ttl,
            backlog: self.listen_backlog,
            ip_tos: if send { self.ip_tos } else { None },
            ip_freebind: !send && self.ip_freebind,
            interface: self.interface.clone(),
            tcp_keepalive_time: keepalive(self.tcp_keepalive_time),
            tcp_keepalive_intvl: keepalive(self.tcp_keepalive_intvl),
            tcp_keepalive_probes: keepalive(self.tcp_keepalive_probes),
        }
    }
}

crate::typed_options! {
    /// What every socket source reads besides the reader's options.
    pub struct ListenerOptions {
        driver {
            /// The family decides the default (10 over IP, 256 on unix sockets).
            pub max_connections: usize = "max-connections" if (|&n| n > 0);
            /// The flow-control window; a stream listener shares it out among its connections
            /// ([`ListenerOptions::window`]).
            pub log_iw_size: usize = "log-iw-size" if (|&n| n > 0);
            /// The character set peers send in, converted to UTF-8 ([`crate::charset`]).
            pub encoding: String = "encoding";
            /// Whether a reload keeps the connections (no: the source starts over, closing
            /// them, as syslog-ng does).
            pub keep_alive: bool = "keep-alive" or (true);
            /// How each frame is parsed: `syslog` (the default) or `linux-kmsg`.
            pub format: String = "format";
            /// A pool of window the connections share on top of their own ([`super::dynamic_window`]).
            pub dynamic_window_size: usize = "dynamic-window-size" or (0);
            /// Seconds between samples, and samples between two shares of the pool.
            pub dynamic_window_stats_freq: f64 = "dynamic-window-stats-freq" if (|&f| f > 0.0) or (1.0);
            pub dynamic_window_realloc_ticks: u32 = "dynamic-window-realloc-ticks" if (|&n| n > 0) or (5);
        }
        inherited {}
        global {
            /// The least window a stream connection gets.
            pub min_iw_size_per_reader: usize = "min-iw-size-per-reader" if (|&n| n > 0) or (100);
        }
    }
}

impl ListenerOptions {
    /// How often the dynamic window pool is shared out again.
    pub fn dynamic_window_period(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(
            self.dynamic_window_stats_freq * f64::from(self.dynamic_window_realloc_ticks),
        )
    }

    /// The flow-control window of each connection, as syslog-ng's socket sources size it: a
    /// datagram socket has the whole `log-iw-size()` (default 100); a stream listener's
    /// `log-iw-size()` (default 1,000, and 25,600 for `unix-stream()`, which is 256 connections
    /// of 100) is divided by `max-connections()`, and a result below the global
    /// `min-iw-size-per-reader()` (default 100) is raised to it with syslog-ng's warning.
    pub fn window(&self, driver: &str, stream: bool, max_connections: usize) -> usize {
        if !stream {
            return self.log_iw_size.unwrap_or(100);
        }
        let whole = self.log_iw_size.unwrap_or(if driver == "unix-stream" { 25_600 } else { 1_000 });
        let each = whole / max_connections.max(1);
        let least = self.min_iw_size_per_reader;
        if each >= least {
            return each;
        }
        crate::internal::warning(format!(
            "WARNING: window sizing for tcp sources were changed in syslog-ng 3.3, the configuration value was \
             divided by the value of max-connections(). The result was too small, clamping to value of \
             min_iw_size_per_reader. Ensure you have a proper log_fifo_size setting to avoid message loss.; \
             orig_log_iw_size='{each}', new_log_iw_size='{least}', min_iw_size_per_reader='{least}', \
             min_log_fifo_size='{}'",
            least * max_connections
        ));
        least
    }
}

crate::typed_options! {
    /// The address and transport of an IP source.
    pub struct InetListenerOptions {
        driver {
            /// The address to listen on; `localip()` is its other name.
            pub ip: String = "ip";
            pub localip: String = "localip";
            /// A number or a service name; `localport()` is its other name.
            pub port: Value = "port";
            pub localport: Value = "localport";
            /// `4` or `6`.
            pub ip_protocol: i64 = "ip-protocol";
            pub transport: String = "transport";
            /// Present: the TLS settings reader takes the group whole.
            pub tls: Value = "tls";
        }
        inherited {
            /// Octet-counted frames longer than `log-msg-size()` are cut instead of refused.
            pub trim_large_messages: bool = "trim-large-messages" or (false);
        }
        global {}
    }
}

crate::typed_options! {
    /// The socket file and credentials of a unix socket source.
    pub struct UnixListenerOptions {
        driver {
            pub owner: String = "owner";
            pub group: String = "group";
            pub perm: u32 = "perm";
            /// The newer name of `pass-unix-credentials()`.
            pub so_passcred: bool = "so-passcred";
            /// The owner, group and mode of directories `create-dirs(yes)` makes; unset, a new
            /// directory gets mode 0700 (less the umask) and its owner is not changed.
            pub dir_owner: String = "dir-owner";
            pub dir_group: String = "dir-group";
            pub dir_perm: i64 = "dir-perm" if (|&n| n >= 0);
            /// A socket that cannot be bound is logged and the source does nothing, instead of
            /// stopping start-up.
            pub optional: bool = "optional" or (false);
        }
        inherited {
            pub pass_unix_credentials: bool = "pass-unix-credentials";
            /// Make the missing directories above the socket file.
            pub create_dirs: bool = "create-dirs" or (false);
        }
        global {}
    }
}

impl UnixListenerOptions {
    /// Whether the kernel is asked for each sender's credentials (default yes).
    pub fn pass_credentials(&self) -> Option<bool> {
        self.so_passcred.or(self.pass_unix_credentials)
    }

    pub fn ownership(&self) -> FileOwnership {
        FileOwnership { owner: self.owner.clone(), group: self.group.clone(), perm: self.perm }
    }

    /// With `create-dirs(yes)`, makes the missing directories above `path` as syslog-ng's unix
    /// source does before it binds.
    ///
    /// # Errors
    /// An unknown user or group, or a directory that cannot be made.
    pub fn create_containing_dirs(&self, path: &Path) -> Result<(), String> {
        if !self.create_dirs {
            return Ok(());
        }
        let dir = Perms {
            uid: named(&self.dir_owner).map(lookup_user).transpose()?,
            gid: named(&self.dir_group).map(lookup_group).transpose()?,
            mode: self.dir_perm.map(|n| (n & 0o7777) as u32),
        };
        create_containing_dirs(path, &dir).map_err(|e| {
            format!("Error creating the directories of the socket; path='{}', error='{}'", path.display(), os_error(&e))
        })
    }
}

crate::typed_options! {
    /// What a socket destination reads besides the writer's options and the socket options.
    pub struct SenderOptions {
        driver {
            /// A number or a service name; `destport()` is its other name.
            pub port: Value = "port";
            pub destport: Value = "destport";
            /// The local end to bind before connecting.
            pub localip: String = "localip";
            pub localport: Value = "localport";
            pub ip_protocol: i64 = "ip-protocol";
            pub transport: String = "transport";
            pub tls: Value = "tls";
            pub trim_large_messages: bool = "trim-large-messages" or (false);
            /// Seconds after which a stream connection is made again (rsng's own option).
            pub max_connection_lifetime: u64 = "max-connection-lifetime" if (|&n| n > 0);
            /// Input from the server ends a stream connection.
            pub close_on_input: bool = "close-on-input" or (true);
            /// `failover(servers(...) failback(...))`, read by [`super::failover::Failover`].
            pub failover: Value = "failover";
            /// The older spelling of `failover(servers(...))`.
            pub failover_servers: Vec<String> = "failover-servers";
            /// UDP: send each message from its sender's address ([`super::spoof`]).
            pub spoof_source: bool = "spoof-source" or (false);
            pub spoof_source_max_msglen: usize = "spoof-source-max-msglen" if (|&n| n > 0) or (1024);
        }
        inherited {
            /// Seconds to wait before connecting again.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
}

/// A user or group name that is set and not empty.
fn named(name: &Option<String>) -> Option<&str> {
    name.as_deref().filter(|n| !n.is_empty())
}
