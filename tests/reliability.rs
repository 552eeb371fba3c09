//! rsng under stress: a stop always ends and says what it could not deliver.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rsng_tests::{Daemon, RunningDaemon, TempDir};

/// What the daemon wrote to stderr in `dir` (every start attempt).
fn stderr_of(dir: &Path, daemon: Daemon) -> String {
    (0..5).filter_map(|a| std::fs::read_to_string(dir.join(format!("{}.stderr.{a}", daemon.name()))).ok()).collect()
}

/// `syslog-ng-ctl query get` through rsng's own client: the first value, or 0.
fn query(dir: &Path, what: &str) -> u64 {
    let out = Command::new(rsng_tests::rsng_bin().with_file_name("rsng-ctl"))
        .arg("-c")
        .arg(dir.join("rsng.ctl"))
        .args(["query", "get", what])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines().filter_map(|l| l.rsplit('=').next()?.parse().ok()).next().unwrap_or(0)
}

/// Sends `n` messages on a new connection from a thread; the thread ends when the daemon goes.
fn flood(port: u16, n: usize) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return };
        let data: String = (0..n).map(|i| format!("<13>Jan  2 03:04:05 h p: message {i:06}\n")).collect();
        let _ = s.write_all(data.as_bytes());
    })
}

/// Sends SIGTERM to `pid`.
fn term(pid: u32) {
    let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
}

/// Flow control has stopped the reading (the destination is away, the window used up): SIGTERM
/// still ends rsng within seconds, and the messages it held are reported as lost, every one.
#[test]
fn stop_ends_while_flow_control_holds_the_reading() {
    let tmp = TempDir::new("stop-blocked").expect("tempdir");
    // A destination port that nobody listens on.
    let dst = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| {
        format!(
            "@version: 3.38\noptions {{ use-dns(no); }};\n\
             source s {{ network(ip(127.0.0.1) port({})); }};\n\
             destination d {{ network(\"127.0.0.1\" port({dst}) time-reopen(60) log-fifo-size(50)); }};\n\
             log {{ source(s); destination(d); flags(flow-control); }};\n",
            p.tcp[0]
        )
    });
    let sender = flood(ports.tcp[0], 100_000);
    // Reading stops once the window is used up; wait until the count holds still.
    let mut read = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = query(tmp.path(), "source.s.processed");
        if (now > 0 && now == read) || Instant::now() > deadline {
            break;
        }
        read = now;
    }
    assert!(read > 0 && read < 100_000, "{read} messages read: flow control did not hold the reading");
    let started = Instant::now();
    assert!(rsng.stop(), "rsng did not exit after SIGTERM");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    let _ = sender.join();
    let err = stderr_of(tmp.path(), Daemon::Rsng);
    let lost: u64 = err
        .lines()
        .find(|l| l.contains("they are lost; destination='d#network'"))
        .and_then(|l| l.split("count='").nth(1)?.split('\'').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no report of the lost messages:\n{err}"));
    assert_eq!(lost, read, "every message read was held in the queue and is lost\n{err}");
}

/// A destination that accepts the connection but never reads holds the writer inside a write:
/// the stop still ends, and a second SIGTERM ends it without waiting for the grace period.
#[test]
fn a_second_signal_exits_at_once() {
    let tmp = TempDir::new("stop-twice").expect("tempdir");
    let peer = TcpListener::bind("127.0.0.1:0").expect("bind peer");
    let dst = peer.local_addr().expect("addr").port();
    // Accepts and holds connections without reading from them.
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        peer.set_nonblocking(true).expect("nonblocking");
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            match peer.accept() {
                Ok((c, _)) => held.push(c),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            if held.len() > 4 {
                break;
            }
        }
        held
    });
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| {
        format!(
            "@version: 3.38\noptions {{ use-dns(no); }};\n\
             source s {{ network(ip(127.0.0.1) port({})); }};\n\
             destination d {{ network(\"127.0.0.1\" port({dst}) log-fifo-size(100000)); }};\n\
             log {{ source(s); destination(d); }};\n",
            p.tcp[0]
        )
    });
    let sender = flood(ports.tcp[0], 100_000);
    // The socket buffers fill up and the writer stays inside its write.
    rsng.wait_for(20, || query(tmp.path(), "dst.network.d#0.*.queued") > 1000);
    assert!(query(tmp.path(), "dst.network.d#0.*.queued") > 1000, "the writer is not held");
    let pid = rsng.pid().parse::<u32>().expect("pid");
    term(pid);
    std::thread::sleep(Duration::from_millis(300));
    term(pid);
    rsng.wait_for(10, || std::fs::read_to_string(tmp.path().join("rsng.pid")).is_err());
    assert!(rsng.stop(), "rsng did not exit");
    let _ = sender.join();
    drop(holder);
    let err = stderr_of(tmp.path(), Daemon::Rsng);
    assert!(err.contains("Second stop signal received"), "{err}");
}
