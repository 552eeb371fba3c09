//! `failover()` of IP destinations, as syslog-ng 3.38 runs it.
//!
//! Every connection attempt after the first moves on to the next server of the list (the
//! destination's own host first, then `servers()`), after `time-reopen()` as any reconnection.
//! Past the end of the list the rotation starts again: at the primary server, or with
//! `failback()` at the first failover server, since then only probes bring the writer back to
//! the primary. Those probes are plain TCP connections made every `tcp-probe-interval()` seconds
//! from the moment the primary was left; after `successful-probes-required()` successes in a row
//! the last probe's connection becomes the writer's (its TLS handshake, if any, follows).

use std::net::SocketAddr;
use std::time::Duration;

use rsng_config::ir::{OptionValue, Value};
use rsng_transport::{Family, SocketOptions};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::file::os_error;
use crate::internal;
use crate::options::{as_int, collect_strings};

/// syslog-ng's defaults.
const TCP_PROBE_INTERVAL: u64 = 60;
const SUCCESSFUL_PROBES_REQUIRED: u32 = 3;

/// `failback(tcp-probe-interval() successful-probes-required())`.
#[derive(Debug, Clone, Copy)]
pub struct Failback {
    pub probe_interval: Duration,
    pub probes_required: u32,
}

impl Default for Failback {
    fn default() -> Failback {
        Failback {
            probe_interval: Duration::from_secs(TCP_PROBE_INTERVAL),
            probes_required: SUCCESSFUL_PROBES_REQUIRED,
        }
    }
}

/// The servers of a destination with `failover()` and which of them is in use.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The destination's own host first, then the failover servers in order.
    hosts: Vec<String>,
    failback: Option<Failback>,
    /// The driver's place in the configuration, which the warnings name.
    location: String,
    /// The host the next connection goes to; `None` before the first attempt.
    current: Option<usize>,
    /// When the last probe of the primary started: the next is due an interval later.
    last_probe: Option<Instant>,
}

impl Failover {
    /// Reads `failover(servers(...) failback(...))` and the older `failover-servers(...)`;
    /// `None` when neither names a server.
    pub fn from_options(
        primary: &str,
        failover: Option<&Value>,
        failover_servers: &[String],
        location: String,
    ) -> Option<Failover> {
        let mut servers = failover_servers.to_vec();
        let mut failback = None;
        if let Some(Value::Group(items)) = failover {
            for item in items {
                match item.name {
                    "servers" => collect_strings(&item.value, &mut servers),
                    "failback" => failback = Some(read_failback(&item.value)),
                    _ => {}
                }
            }
        }
        if servers.is_empty() && failback.is_none() {
            return None;
        }
        let mut hosts = vec![primary.to_string()];
        hosts.extend(servers);
        Some(Failover { hosts, failback, location, current: None, last_probe: None })
    }

    /// The host the current (or next) connection goes to.
    pub fn host(&self) -> &str {
        &self.hosts[self.current.unwrap_or(0)]
    }

    /// Moves on to the host of the next connection attempt, with syslog-ng's warnings. Returns
    /// `true` when it has just left the primary with `failback()` on: probing starts.
    pub fn advance(&mut self) -> bool {
        let Some(previous) = self.current else {
            self.current = Some(0);
            return false;
        };
        let next = previous + 1;
        if next >= self.hosts.len() {
            let first = if self.failback.is_some() && self.hosts.len() > 1 { 1 } else { 0 };
            self.current = Some(first);
            if first == 0 {
                internal::warning(format!(
                    "Last failover server reached, trying the original host again; host='{}', location='{}'",
                    self.hosts[0], self.location
                ));
            } else {
                internal::warning(format!(
                    "Last failover server reached, trying the first failover again; next_failover_server='{}', \
                     location='{}'",
                    self.hosts[first], self.location
                ));
            }
            return false;
        }
        self.current = Some(next);
        let leaving_primary = previous == 0 && self.failback.is_some();
        let which = if leaving_primary { "primary" } else { "failover" };
        internal::warning(format!(
            "Current {which} server is inaccessible, sending the messages to the next failover server; \
             next_failover_server='{}', location='{}'",
            self.hosts[next], self.location
        ));
        leaving_primary
    }

    /// The writer is back on the primary: the connection of the probe that started at
    /// `probe_started` is its own now.
    pub fn back_to_primary(&mut self, probe_started: Instant) {
        self.current = Some(0);
        self.last_probe = Some(probe_started);
    }

    /// Starts probing the primary; [`Probe::primary_back`] gives the connection once the
    /// primary has answered enough probes in a row. Dropping the probe ends the probing.
    pub fn start_probing(
        &self,
        port: u16,
        family: Family,
        local: Option<SocketAddr>,
        sockopts: SocketOptions,
        udp: bool,
    ) -> Probe {
        let failback = self.failback.unwrap_or_default();
        // As in syslog-ng, the first probe goes out at once unless the last one started less
        // than an interval ago.
        let first = self.last_probe.map_or_else(Instant::now, |at| (at + failback.probe_interval).max(Instant::now()));
        let (tx, rx) = oneshot::channel();
        let host = self.hosts[0].clone();
        tokio::spawn(async move {
            let mut tx = tx;
            let probing = probe(host, port, family, local, sockopts, udp, failback, first);
            let back = tokio::select! {
                back = probing => back,
                _ = tx.closed() => return,
            };
            let _ = tx.send(back);
        });
        Probe(rx)
    }
}

/// Probing of the primary server under way.
pub struct Probe(oneshot::Receiver<(Option<TcpStream>, Instant)>);

/// Waits until the primary server is back: its connection (none over UDP), and when the probe
/// that made it started. Without a probe, never returns.
pub async fn primary_back(probe: &mut Option<Probe>) -> (Option<TcpStream>, Instant) {
    match probe {
        Some(Probe(rx)) => match rx.await {
            Ok(back) => back,
            // The prober only ends with success or with this receiver.
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

fn read_failback(value: &Value) -> Failback {
    let mut failback = Failback::default();
    let Value::Group(items) = value else { return failback };
    for OptionValue { name, value, .. } in items {
        let Some(n) = as_int(value).filter(|&n| n > 0) else { continue };
        match *name {
            "tcp-probe-interval" => failback.probe_interval = Duration::from_secs(n as u64),
            "successful-probes-required" => failback.probes_required = u32::try_from(n).unwrap_or(u32::MAX),
            _ => {}
        }
    }
    failback
}

/// Probes the primary until it has answered `probes_required` probes in a row, and returns the
/// last probe's connection. The messages are syslog-ng's. A UDP destination's probe connects a
/// UDP socket, as syslog-ng's does, which only fails when the address cannot be used.
#[allow(clippy::too_many_arguments)]
async fn probe(
    host: String,
    port: u16,
    family: Family,
    local: Option<SocketAddr>,
    sockopts: SocketOptions,
    udp: bool,
    failback: Failback,
    mut due: Instant,
) -> (Option<TcpStream>, Instant) {
    let mut succeeded = 0;
    loop {
        tokio::time::sleep_until(due).await;
        let started = Instant::now();
        due = started + failback.probe_interval;
        internal::notice(format!(
            "Probing the primary server.; tcp-probe-interval='{}'",
            failback.probe_interval.as_secs()
        ));
        let addr = match rsng_transport::resolve(Some(&host), port, family) {
            Ok(addr) => addr,
            Err(_) => {
                internal::warning(format!("Unable to resolve the address of the primary server; address='{host}'"));
                succeeded = 0;
                continue;
            }
        };
        let connected = if udp {
            udp_connect(addr, local).map(|()| None)
        } else {
            rsng_transport::connect_tcp(addr, local, &sockopts).await.map(Some)
        };
        match connected {
            Ok(stream) => {
                succeeded += 1;
                internal::notice(format!(
                    "Probing primary server successful; successful-probes-received='{succeeded}', \
                     successful-probes-required='{}'",
                    failback.probes_required
                ));
                if succeeded >= failback.probes_required {
                    // syslog-ng ends a message without tags with the separator.
                    internal::notice("Primary server seems to be stable, reconnecting to primary server;");
                    return (stream, started);
                }
            }
            Err(e) => {
                internal::error(format!(
                    "Connection towards primary server failed; server='{}', error='{}'",
                    super::source::af_name(&addr),
                    os_error(&e)
                ));
                succeeded = 0;
            }
        }
    }
}

fn udp_connect(addr: SocketAddr, local: Option<SocketAddr>) -> std::io::Result<()> {
    let any: SocketAddr =
        if addr.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    std::net::UdpSocket::bind(local.unwrap_or(any))?.connect(addr)
}
