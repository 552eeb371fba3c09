//! Flow control against a destination that is away: with `flags(flow-control)` and a small
//! `log-fifo-size()`, rsng stops reading instead of dropping, and every message arrives, in order,
//! once the destination comes back. Without flow control the same outage drops messages and
//! `syslog-ng-ctl stats` counts them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsng_tests::{Daemon, RunningDaemon, TempDir};

const MESSAGES: usize = 20_000;

fn config(src: u16, dst: u16, flow: bool) -> String {
    let flags = if flow { "flags(flow-control);" } else { "" };
    format!(
        "@version: 3.38\noptions {{ use-dns(no); }};\n\
         source s {{ network(ip(127.0.0.1) port({src})); }};\n\
         destination d {{ network(\"127.0.0.1\" port({dst}) time-reopen(1) log-fifo-size(50) template(\"$MSG\\n\")); }};\n\
         log {{ source(s); destination(d); {flags} }};\n"
    )
}

/// Collects what arrives on `listener` until `stop`.
fn collect(listener: TcpListener, data: Arc<Mutex<Vec<u8>>>, stop: Arc<AtomicBool>) {
    listener.set_nonblocking(true).expect("nonblocking");
    let mut conns: Vec<TcpStream> = Vec::new();
    let mut buf = [0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        if let Ok((c, _)) = listener.accept() {
            c.set_nonblocking(true).expect("nonblocking");
            conns.push(c);
        }
        let mut got = false;
        for c in &mut conns {
            if let Ok(n) = c.read(&mut buf) {
                if n > 0 {
                    data.lock().expect("lock").extend_from_slice(&buf[..n]);
                    got = true;
                }
            }
        }
        if !got {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn run(flow: bool) -> (Vec<u8>, String) {
    let tmp = TempDir::new(if flow { "flow-on" } else { "flow-off" }).expect("tempdir");
    // A port for the destination that nothing listens on yet.
    let dst_port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| config(p.tcp[0], dst_port, flow));
    let src = ports.tcp[0];
    let sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", src)).expect("connect");
        let mut batch = Vec::new();
        for i in 0..MESSAGES {
            batch.extend_from_slice(format!("<13>Jan  2 03:04:05 h p: message {i:05}\n").as_bytes());
        }
        s.write_all(&batch).expect("send");
    });
    // The destination is away for three seconds.
    std::thread::sleep(Duration::from_secs(3));
    let data = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind(("127.0.0.1", dst_port)).expect("bind destination port");
    let collector = {
        let (data, stop) = (data.clone(), stop.clone());
        std::thread::spawn(move || collect(listener, data, stop))
    };
    sender.join().expect("sender");
    let deadline = Instant::now() + Duration::from_secs(20);
    let count = |d: &Arc<Mutex<Vec<u8>>>| d.lock().expect("lock").iter().filter(|&&b| b == b'\n').count();
    let mut last = (0, Instant::now());
    while count(&data) < MESSAGES && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let n = count(&data);
        if n != last.0 {
            last = (n, Instant::now());
        } else if !flow && last.1.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    let stats = Command::new("/usr/sbin/syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(tmp.path().join("rsng.ctl"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(rsng.stop(), "rsng did not stop");
    stop.store(true, Ordering::Relaxed);
    collector.join().expect("collector");
    let out = data.lock().expect("lock").clone();
    (out, stats)
}

#[test]
fn flow_control_keeps_every_message_through_an_outage() {
    let (data, _) = run(true);
    let text = String::from_utf8(data).expect("utf8");
    let expected: String = (0..MESSAGES).map(|i| format!("message {i:05}\n")).collect();
    assert_eq!(text.lines().count(), MESSAGES, "messages lost or duplicated");
    assert!(text == expected, "messages out of order");
}

#[test]
fn without_flow_control_a_full_queue_drops_and_counts() {
    if !Path::new("/usr/sbin/syslog-ng-ctl").exists() {
        return;
    }
    let (data, stats) = run(false);
    let arrived = data.iter().filter(|&&b| b == b'\n').count();
    assert!(arrived < MESSAGES, "nothing was dropped; the test did not overflow the queue");
    let dropped: usize = stats
        .lines()
        .find(|l| l.starts_with("dst.network;d#0;") && l.contains(";dropped;"))
        .and_then(|l| l.rsplit(';').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no dropped counter in:\n{stats}"));
    assert_eq!(arrived + dropped, MESSAGES, "arrived {arrived} + dropped {dropped} != sent\n{stats}");
    assert!(stats.lines().any(|l| l == format!("source;s;;a;processed;{MESSAGES}")), "{stats}");
}

/// With flow control, a connection's window (`log-iw-size()` shared out among
/// `max-connections()`) bounds what it may have queued: while the destination is away, rsng stops
/// taking messages at one window exactly, as syslog-ng does, though `log-fifo-size()` is large.
#[test]
fn the_window_bounds_what_a_connection_queues() {
    let tmp = TempDir::new("flow-window").expect("tempdir");
    let dst = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| {
        format!(
            "@version: 3.38\noptions {{ use-dns(no); }};\n\
             source s {{ network(ip(127.0.0.1) port({}) log-iw-size(200) max-connections(2)); }};\n\
             destination d {{ network(\"127.0.0.1\" port({dst}) time-reopen(1) log-fifo-size(1000000) template(\"$MSG\\n\")); }};\n\
             log {{ source(s); destination(d); flags(flow-control); }};\n",
            p.tcp[0]
        )
    });
    let src = ports.tcp[0];
    let sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", src)).expect("connect");
        let data: String = (0..MESSAGES).map(|i| format!("<13>Jan  2 03:04:05 h p: message {i:05}\n")).collect();
        s.write_all(data.as_bytes()).expect("send");
    });
    std::thread::sleep(Duration::from_secs(2));
    let query = |what: &str| -> usize {
        let out = Command::new(rsng_tests::rsng_bin().with_file_name("rsng-ctl"))
            .arg("-c")
            .arg(tmp.path().join("rsng.ctl"))
            .args(["query", "get", what])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.lines().filter_map(|l| l.rsplit('=').next()?.parse().ok()).next().unwrap_or(0)
    };
    let queued = query("dst.network.d#0.*.queued");
    let read = query("source.s.processed");
    // One window: 100 per connection.
    assert_eq!(queued, 100, "messages queued: the window did not stop the reading");
    assert_eq!(read, 100, "messages taken while the destination was away");
    let data = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind(("127.0.0.1", dst)).expect("bind destination port");
    let collector = {
        let (data, stop) = (data.clone(), stop.clone());
        std::thread::spawn(move || collect(listener, data, stop))
    };
    sender.join().expect("sender");
    let deadline = Instant::now() + Duration::from_secs(20);
    let count = || data.lock().expect("lock").iter().filter(|&&b| b == b'\n').count();
    while count() < MESSAGES && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(rsng.stop(), "rsng did not stop");
    stop.store(true, Ordering::Relaxed);
    collector.join().expect("collector");
    assert_eq!(count(), MESSAGES, "messages lost or repeated after the outage");
}
