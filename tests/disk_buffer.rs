//! `disk-buffer()`: messages queued for a destination that is away survive a crash
//! (`reliable(yes)`, killed with SIGKILL) or a restart (`reliable(no)`, stopped with SIGTERM), and
//! all arrive once the destination is back and rsng runs again.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rsng_tests::{rsng_bin, Daemon, RunningDaemon, TempDir};

const MESSAGES: usize = 3000;

fn config(src: u16, dst: u16, disk: &Path, reliable: bool) -> String {
    format!(
        "@version: 3.38\noptions {{ use-dns(no); }};\n\
         source s {{ network(ip(127.0.0.1) port({src})); }};\n\
         destination d {{ network(\"127.0.0.1\" port({dst}) time-reopen(1) template(\"$MSG\\n\")\n\
             disk-buffer(reliable({}) disk-buf-size(10485760) dir(\"{}\"))); }};\n\
         log {{ source(s); destination(d); }};\n",
        if reliable { "yes" } else { "no" },
        disk.display()
    )
}

fn queued(dir: &Path) -> usize {
    let out = Command::new(rsng_bin().with_file_name("rsng-ctl"))
        .arg("-c")
        .arg(dir.join("rsng.ctl"))
        .args(["query", "get", "dst.network.d#0.*.queued"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines().filter_map(|l| l.rsplit('=').next()?.parse().ok()).next().unwrap_or(0)
}

fn run(reliable: bool) {
    let tmp = TempDir::new(if reliable { "disk-reliable" } else { "disk-plain" }).expect("tempdir");
    let disk = tmp.path().join("disk");
    let dst = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let (rsng, ports, _) =
        RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| config(p.tcp[0], dst, &disk, reliable));
    let mut s = TcpStream::connect(("127.0.0.1", ports.tcp[0])).expect("connect");
    let data: String = (0..MESSAGES).map(|i| format!("<13>Jan  2 03:04:05 h p: message {i:05}\n")).collect();
    s.write_all(data.as_bytes()).expect("send");
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    while queued(tmp.path()) < MESSAGES && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(queued(tmp.path()), MESSAGES, "not all messages reached the disk buffer");
    if reliable {
        let _ = Command::new("kill").args(["-KILL", &rsng.pid()]).status();
        drop(rsng);
    } else {
        assert!(rsng.stop(), "rsng did not stop");
    }
    // The destination comes back, and so does rsng.
    let listener = TcpListener::bind(("127.0.0.1", dst)).expect("bind destination");
    let (rsng, _, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| config(p.tcp[0], dst, &disk, reliable));
    listener.set_nonblocking(false).expect("blocking");
    let (mut conn, _) = listener.accept().expect("rsng reconnects");
    conn.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.iter().filter(|&&b| b == b'\n').count() < MESSAGES && Instant::now() < deadline {
        if let Ok(n) = conn.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(rsng.stop(), "rsng did not stop after delivering");
    let text = String::from_utf8(got).expect("utf8");
    let distinct: BTreeSet<&str> = text.lines().collect();
    assert_eq!(distinct.len(), MESSAGES, "messages lost across the {}", if reliable { "crash" } else { "restart" });
    assert_eq!(text.lines().count(), MESSAGES, "messages repeated");
}

#[test]
fn reliable_disk_buffer_survives_sigkill() {
    run(true);
}

#[test]
fn disk_buffer_survives_a_restart() {
    run(false);
}

/// The `queued` and `dropped` counters of the destination, as `syslog-ng-ctl stats` shows them.
fn destination_counters(dir: &Path, daemon: Daemon) -> (usize, usize) {
    let stats = rsng_tests::ctl_stats(dir, daemon);
    let counter = |name: &str| {
        stats
            .lines()
            .filter(|l| l.starts_with("dst.network;d#0;"))
            .filter_map(|l| {
                let fields: Vec<&str> = l.split(';').collect();
                (fields.get(4) == Some(&name)).then(|| fields.get(5)?.parse::<usize>().ok()).flatten()
            })
            .sum::<usize>()
    };
    (counter("queued"), counter("dropped"))
}

/// Sends `MESSAGES` messages to a non-reliable disk buffer of 1 MiB whose server is away, with
/// `qout-size(qout) mem-buf-length(overflow)`; restarts the daemon once its counters add up, and
/// returns how many messages were queued and the lines the server received once it was back.
fn non_reliable_memory(daemon: Daemon, qout: usize, overflow: usize) -> (usize, Vec<String>) {
    let tmp = TempDir::new("disk-memory").expect("tempdir");
    let disk = tmp.path().join("disk");
    std::fs::create_dir_all(&disk).expect("disk dir");
    let dst = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let config = |src: u16| {
        format!(
            "@version: 3.38\noptions {{ use-dns(no); stats-freq(0); }};\n\
             source s {{ network(ip(127.0.0.1) port({src})); }};\n\
             destination d {{ network(\"127.0.0.1\" port({dst}) time-reopen(1) template(\"$MSG\\n\")\n\
                 disk-buffer(reliable(no) disk-buf-size(1048576) qout-size({qout}) mem-buf-length({overflow}) \
                 dir(\"{}\"))); }};\n\
             log {{ source(s); destination(d); }};\n",
            disk.display()
        )
    };
    let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| config(p.tcp[0]));
    let padding = "x".repeat(400);
    let data: String = (0..MESSAGES).map(|i| format!("<13>Jan  2 03:04:05 h p: message {i:05} {padding}\n")).collect();
    running.send_tcp(ports.tcp[0], data.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut counters = (0, 0);
    while Instant::now() < deadline {
        counters = destination_counters(tmp.path(), daemon);
        if counters.0 + counters.1 >= MESSAGES {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(counters.0 + counters.1, MESSAGES, "{}: queued + dropped", daemon.name());
    assert!(counters.1 > 0, "{}: the buffer was meant to overflow", daemon.name());
    assert!(running.stop(), "{} did not stop", daemon.name());
    // The server comes back, and so does the daemon with what it kept.
    let listener = TcpListener::bind(("127.0.0.1", dst)).expect("bind destination");
    let (running, _, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| config(p.tcp[0]));
    let (mut conn, _) = listener.accept().expect("the daemon reconnects");
    conn.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.iter().filter(|&&b| b == b'\n').count() < counters.0 && Instant::now() < deadline {
        if let Ok(n) = conn.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(running.stop());
    let lines =
        String::from_utf8_lossy(&got).lines().map(|l| l.split(' ').nth(1).unwrap_or_default().to_string()).collect();
    (counters.0, lines)
}

/// A non-reliable disk buffer holds `qout-size()` and `mem-buf-length()` messages in memory
/// besides its file, as syslog-ng 3.38's does: 400 more of them hold 400 more messages, and
/// after a restart every queued message arrives, once and in order, on both daemons.
#[test]
fn non_reliable_memory_holds_qout_size_and_mem_buf_length() {
    if rsng_tests::oracle_skipped() {
        return;
    }
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let (small, small_lines) = non_reliable_memory(daemon, 1, 1);
        let (large, large_lines) = non_reliable_memory(daemon, 101, 301);
        eprintln!("{}: queued {small} and {large}", daemon.name());
        assert_eq!(large - small, 400, "{}: queued with 2 and with 402 in memory", daemon.name());
        for (queued, lines) in [(small, small_lines), (large, large_lines)] {
            let expected: Vec<String> = (0..queued).map(|i| format!("{i:05}")).collect();
            assert_eq!(lines, expected, "{}: delivered after the restart", daemon.name());
        }
    }
}

/// How many messages a flow-controlled connection (a window of 100) gets into a reliable disk
/// buffer of 1 MiB whose server is away, with `mem-buf-size()` set to `mem_buf_size`.
fn reliable_windows(daemon: Daemon, mem_buf_size: Option<u64>) -> usize {
    let tmp = TempDir::new("disk-windows").expect("tempdir");
    let disk = tmp.path().join("disk");
    std::fs::create_dir_all(&disk).expect("disk dir");
    let dst = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let memory = mem_buf_size.map(|n| format!(" mem-buf-size({n})")).unwrap_or_default();
    let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
        format!(
            "@version: 3.38\noptions {{ use-dns(no); stats-freq(0); }};\n\
             source s {{ network(ip(127.0.0.1) port({}) max-connections(1) log-iw-size(100)); }};\n\
             destination d {{ network(\"127.0.0.1\" port({dst}) time-reopen(1)\n\
                 disk-buffer(reliable(yes) disk-buf-size(1048576) dir(\"{}\"){memory})); }};\n\
             log {{ source(s); destination(d); flags(flow-control); }};\n",
            p.tcp[0],
            disk.display()
        )
    });
    // The sender blocks once the daemon stops reading; it ends when the daemon stops.
    let port = ports.tcp[0];
    let sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        for i in 0..MESSAGES / 6 {
            if s.write_all(format!("<13>Jan  2 03:04:05 h p: message {i:05}\n").as_bytes()).is_err() {
                break;
            }
        }
    });
    // Queued until it stays the same for a second.
    let mut last = (usize::MAX, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let (queued, _) = destination_counters(tmp.path(), daemon);
        if queued != last.0 {
            last = (queued, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(1) && queued > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(running.stop(), "{} did not stop", daemon.name());
    let _ = sender.join();
    last.0
}

/// `mem-buf-size()` of a reliable disk buffer: while the file has less than it free, a written
/// message keeps its flow-control window until it is delivered. With the default (160 MB, more
/// than the file) a flow-controlled connection whose server is away stops at its window; with
/// `mem-buf-size(0)` every message goes into the file. Both daemons stop at the window exactly.
#[test]
fn mem_buf_size_of_reliable_buffers_holds_windows() {
    if rsng_tests::oracle_skipped() {
        return;
    }
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        assert_eq!(reliable_windows(daemon, None), 100, "{}: default mem-buf-size()", daemon.name());
        assert_eq!(reliable_windows(daemon, Some(0)), MESSAGES / 6, "{}: mem-buf-size(0)", daemon.name());
    }
}
