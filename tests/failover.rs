//! `failover()` of IP destinations, against syslog-ng 3.38: the same configuration and the same
//! servers coming and going give the same messages at the same servers, and the same warnings.
//! The servers listen on 127.0.0.1 (the primary), 127.0.0.2 and 127.0.0.3, on one port, since
//! failover servers share the destination's port.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsng_tests::{free_tcp_ports, oracle_skipped, Daemon, RunningDaemon, TempDir};

/// What the servers received: (server address, line).
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// What a scenario ends with: the lines at each server, and the failover messages.
type Outcome = (Vec<(String, String)>, BTreeSet<String>);

/// Starts a server on `ip:port` that records every line it receives.
fn serve(ip: &str, port: u16, received: &Received) {
    let listener = TcpListener::bind((ip, port)).unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
    let received = received.clone();
    let ip = ip.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let received = received.clone();
            let ip = ip.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    received.lock().expect("received").push((ip.clone(), line));
                }
            });
        }
    });
}

/// A port free on all three loopback addresses.
fn shared_port() -> u16 {
    loop {
        let port = free_tcp_ports(1)[0];
        if ["127.0.0.2", "127.0.0.3"].iter().all(|ip| TcpListener::bind((*ip, port)).is_ok()) {
            return port;
        }
    }
}

struct Relay {
    running: RunningDaemon,
    port: u16,
    internal: std::path::PathBuf,
    conf: String,
    _tmp: TempDir,
}

impl Relay {
    fn start(daemon: Daemon, server_port: u16, failover: &str) -> Relay {
        let tmp = TempDir::new("failover").expect("tempdir");
        let internal = tmp.path().join("internal.log");
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
            format!(
                "@version: 3.38\noptions {{ stats-freq(0); time-reopen(1); }};\n\
                 source s {{ network(ip(127.0.0.1) port({})); }};\n\
                 source s_internal {{ internal(); }};\n\
                 destination d {{ network(\"127.0.0.1\" port({server_port}) template(\"$MSG\\n\") {failover}); }};\n\
                 destination d_internal {{ file(\"{}\" template(\"$MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n\
                 log {{ source(s_internal); destination(d_internal); }};\n",
                p.tcp[0],
                internal.display()
            )
        });
        let conf = tmp.path().join(format!("{}.conf", daemon.name())).display().to_string();
        Relay { running, port: ports.tcp[0], internal, conf, _tmp: tmp }
    }

    fn send(&self, text: &str) {
        self.running.send_tcp(self.port, format!("<13>Dec  7 06:50:00 h p: {text}\n").as_bytes());
    }

    fn internal(&self) -> String {
        std::fs::read_to_string(&self.internal).unwrap_or_default()
    }

    /// Waits until the internal messages contain `text`.
    fn wait_internal(&self, text: &str, seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !self.internal().contains(text) {
            assert!(Instant::now() < deadline, "no '{text}' in:\n{}", self.internal());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The distinct failover messages, with the configuration's path, the servers' port and file
    /// descriptors masked.
    fn failover_messages(self, server_port: u16) -> BTreeSet<String> {
        let Relay { running, internal, conf, _tmp, .. } = self;
        assert!(running.stop());
        let text = std::fs::read_to_string(&internal).unwrap_or_default();
        let fd = |line: &str| match line.find("fd='") {
            Some(at) => {
                let end = line[at + 4..].find('\'').map_or(line.len(), |e| at + 4 + e + 3);
                format!("{}{}", &line[..at], &line[end..])
            }
            None => line.to_string(),
        };
        text.lines()
            .filter(|l| {
                ["Current ", "Last failover", "Probing", "Primary server", "Connection towards primary", "Successfully"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(|l| fd(&l.replace(&conf, "CONF").replace(&format!(":{server_port})"), ":PORT)")))
            .collect()
    }
}

fn wait_received(received: &Received, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().expect("received").len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Without `failback()`: every reconnection moves on to the next server, and past the last one
/// the rotation starts again at the destination's own host.
fn rotation(daemon: Daemon) -> Outcome {
    let port = shared_port();
    let received = Received::default();
    let relay = Relay::start(daemon, port, "failover(servers(\"127.0.0.2\" \"127.0.0.3\"))");
    relay.send("one");
    relay.wait_internal("Last failover server reached", 20);
    serve("127.0.0.2", port, &received);
    wait_received(&received, 1);
    let lines = received.lock().expect("received").clone();
    (lines, relay.failover_messages(port))
}

/// With `failback()`: the first failover server takes the messages while the primary is away;
/// once the primary has answered the probes, the messages go to it again.
fn failback(daemon: Daemon) -> Outcome {
    let port = shared_port();
    let received = Received::default();
    serve("127.0.0.2", port, &received);
    let relay = Relay::start(
        daemon,
        port,
        "failover(servers(\"127.0.0.2\") failback(tcp-probe-interval(1) successful-probes-required(2)))",
    );
    relay.send("one");
    wait_received(&received, 1);
    relay.wait_internal("Connection towards primary server failed", 20);
    serve("127.0.0.1", port, &received);
    relay.wait_internal("Primary server seems to be stable", 20);
    relay.send("two");
    wait_received(&received, 2);
    let lines = received.lock().expect("received").clone();
    (lines, relay.failover_messages(port))
}

fn compare(name: &str, scenario: fn(Daemon) -> Outcome) {
    if oracle_skipped() {
        return;
    }
    let oracle = scenario(Daemon::Oracle);
    let rsng = scenario(Daemon::Rsng);
    assert!(!oracle.1.is_empty(), "{name}: syslog-ng logged no failover messages");
    assert_eq!(rsng.0, oracle.0, "{name}: messages at the servers");
    assert_eq!(rsng.1, oracle.1, "{name}: failover messages");
}

#[test]
fn failover_servers_are_tried_in_turn() {
    compare("rotation", rotation);
}

#[test]
fn failback_returns_to_the_primary_after_the_probes() {
    compare("failback", failback);
}
