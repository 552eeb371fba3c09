//! Per-sender counters at `stats-level(1)`: every kind of socket source counts what each sender
//! (a stream connection's peer) or each datagram socket delivered, under the names syslog-ng 3.38
//! gives them (`tls,127.0.0.1`, `unix-stream,anonymous`, the bound address of a UDP socket, the
//! path of a unix-dgram socket). Both daemons get the same configuration and input.

#[path = "tls_common.rs"]
mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use rsng_tests::{ctl_stats, Daemon, RunningDaemon, TempDir};

/// The `processed` rows of senders and datagram sockets, as `component;id;instance=N` (the
/// active/orphaned field left out: syslog-ng turns a closed connection's row to `o`).
fn sender_rows(stats: &str, dir: &Path) -> Vec<String> {
    let mut rows: Vec<String> = stats
        .lines()
        .filter(|l| l.starts_with("src.") && l.ends_with(|c: char| c.is_ascii_digit()))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            (f.len() == 6 && f[4] == "processed" && f[1].contains('#'))
                .then(|| format!("{};{};{}={}", f[0], f[1], f[2], f[5]).replace(&dir.display().to_string(), "DIR"))
        })
        .collect();
    rows.sort();
    rows
}

fn run(daemon: Daemon, dir: &Path) -> Vec<String> {
    let (running, ports, _) = RunningDaemon::start(daemon, dir, 1, 3, |p: &rsng_tests::Ports| {
        format!(
            "@version: 3.38\noptions {{ stats-level(1); use-dns(no); }};\n\
             source s {{\n\
               network(ip(127.0.0.1) port({tls}) transport(\"tls\") tls({id} peer-verify(optional-untrusted)));\n\
               network(ip(127.0.0.1) port({udp}) transport(\"udp\"));\n\
               syslog(ip(127.0.0.1) port({syslog}) transport(\"tcp\"));\n\
               unix-stream(\"{dir}/stream.sock\");\n\
               unix-dgram(\"{dir}/dgram.sock\");\n\
               network(ip(127.0.0.1) port({tcp}));\n\
             }};\n\
             destination d {{ file(\"{dir}/out\" template(\"$MSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            tls = p.tcp[0],
            udp = p.udp[0],
            syslog = p.tcp[1],
            tcp = p.tcp[2],
            id = identity("server"),
            dir = dir.display(),
        )
    });
    let line = |what: &str| format!("<13>Jan  1 00:00:00 host app: {what}\n");
    {
        use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
        let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
        b.set_verify(SslVerifyMode::NONE);
        let tcp = TcpStream::connect(("127.0.0.1", ports.tcp[0])).unwrap();
        let mut tls = b.build().connect("localhost", tcp).unwrap();
        tls.write_all(line("tls").as_bytes()).unwrap();
        tls.shutdown().ok();
    }
    UdpSocket::bind("127.0.0.1:0").unwrap().send_to(line("udp").as_bytes(), ("127.0.0.1", ports.udp[0])).unwrap();
    let framed = line("syslog");
    let framed = framed.trim_end();
    TcpStream::connect(("127.0.0.1", ports.tcp[1]))
        .unwrap()
        .write_all(format!("{} {framed}", framed.len()).as_bytes())
        .unwrap();
    UnixStream::connect(dir.join("stream.sock")).unwrap().write_all(line("unix-stream").as_bytes()).unwrap();
    UnixDatagram::unbound().unwrap().send_to(line("unix-dgram").as_bytes(), dir.join("dgram.sock")).unwrap();
    TcpStream::connect(("127.0.0.1", ports.tcp[2])).unwrap().write_all(line("tcp").as_bytes()).unwrap();
    let received = wait_lines(&dir.join("out"), 6, 20);
    assert_eq!(received.len(), 6, "{}: {received:?}", daemon.name());
    // Every row is there once all six were written; wait for the stats to show them all.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rows = sender_rows(&ctl_stats(dir, daemon), dir);
    while rows.len() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        rows = sender_rows(&ctl_stats(dir, daemon), dir);
    }
    assert!(running.stop());
    rows.into_iter().map(|r| mask_ports(&r, &ports)).collect()
}

fn mask_ports(row: &str, ports: &rsng_tests::Ports) -> String {
    ports.tcp.iter().chain(&ports.udp).fold(row.to_string(), |r, p| r.replace(&p.to_string(), "PORT"))
}

#[test]
fn sender_counters_are_named_as_syslog_ng_names_them() {
    if rsng_tests::oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("sender-stats").unwrap();
    let dirs: Vec<_> = [Daemon::Oracle, Daemon::Rsng]
        .into_iter()
        .map(|d| {
            let dir = tmp.path().join(d.name());
            std::fs::create_dir_all(&dir).unwrap();
            (d, dir)
        })
        .collect();
    let oracle = run(dirs[0].0, &dirs[0].1);
    let rsng = run(dirs[1].0, &dirs[1].1);
    assert_eq!(oracle.len(), 6, "{oracle:#?}");
    assert!(oracle.iter().any(|r| r.starts_with("src.network;s#0;tls,127.0.0.1=")), "{oracle:#?}");
    assert_eq!(rsng, oracle, "rsng (left) and syslog-ng (right)");
}
