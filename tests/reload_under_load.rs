//! Reload without losing a message: under a steady `loggen` load, rsng is reloaded twice (once
//! with the same configuration by SIGHUP, once with a changed one by `syslog-ng-ctl reload`) and
//! then stopped with SIGTERM; the destination must hold exactly the number of messages loggen
//! reports sent. The source is unchanged by both reloads, so its listener and loggen's
//! connections stay up.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rsng_tests::{oracle_skipped, Daemon, RunningDaemon, TempDir};

const LOGGEN: &str = "/usr/bin/loggen";
const CTL: &str = "/usr/sbin/syslog-ng-ctl";

fn config(port: u16, out: &Path, extra: bool) -> String {
    let more = if extra {
        format!(
            "destination d_extra {{ file(\"{}/extra\"); }};\nlog {{ source(s); destination(d_extra); }};\n",
            out.display()
        )
    } else {
        String::new()
    };
    format!(
        "@version: 3.38\noptions {{ use-dns(no); }};\n\
         source s {{ network(ip(127.0.0.1) port({port}) max-connections(10)); }};\n\
         destination d {{ file(\"{}/all\"); }};\nlog {{ source(s); destination(d); flags(flow-control); }};\n{more}",
        out.display()
    )
}

fn lines(path: &Path) -> usize {
    fs::read(path).map(|d| d.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0)
}

#[test]
fn two_reloads_under_load_lose_nothing() {
    if oracle_skipped() || !Path::new(LOGGEN).exists() {
        assert!(oracle_skipped(), "{LOGGEN} is missing: install syslog-ng-core (cargo xtask test does)");
        return;
    }
    let tmp = TempDir::new("reload-load").expect("tempdir");
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).expect("out");
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| config(p.tcp[0], &out, false));
    let port = ports.tcp[0];
    let loggen = Command::new(LOGGEN)
        .args(["--inet", "--stream", "--rate=3000", "--interval=4", "--active-connections=2"])
        .args(["127.0.0.1", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start loggen");
    std::thread::sleep(Duration::from_millis(1000));
    let pid = rsng.pid();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());
    std::thread::sleep(Duration::from_millis(1000));
    fs::write(tmp.path().join("rsng.conf"), config(port, &out, true)).expect("changed config");
    let reload = Command::new(CTL).arg("reload").arg("-c").arg(tmp.path().join("rsng.ctl")).output().expect("ctl");
    assert!(reload.status.success(), "reload failed: {}", String::from_utf8_lossy(&reload.stdout));
    let result = loggen.wait_with_output().expect("loggen");
    let report = String::from_utf8_lossy(&result.stderr).into_owned() + &String::from_utf8_lossy(&result.stdout);
    let sent: usize = report
        .lines()
        .rev()
        .filter_map(|l| l.split("count=").nth(1))
        .find_map(|rest| rest.split(',').next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in loggen's report: {report}"));
    assert!(sent > 1000, "loggen sent only {sent}: {report}");
    // Give the last bytes time to arrive before stopping.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines(&out.join("all")) < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(rsng.stop(), "rsng did not stop on SIGTERM");
    assert_eq!(lines(&out.join("all")), sent, "messages lost or duplicated across reloads");
    assert!(lines(&out.join("extra")) > 0, "the destination added by the reload got nothing");
}

fn ordered_config(port: u16, out: &Path, prefix: &str) -> String {
    format!(
        "@version: 3.38\noptions {{ use-dns(no); }};\n\
         source s {{ network(ip(127.0.0.1) port({port}) flags(no-parse) log-iw-size(20000)); }};\n\
         destination d {{ file(\"{}/all\" template(\"{prefix} $MSG\\n\") log-fifo-size(40000)); }};\n\
         log {{ source(s); destination(d); flags(flow-control); }};\n",
        out.display()
    )
}

/// A reload that changes a destination replaces its writer. The new writer starts once the old
/// one has written what it held, so the messages of one connection stay in order across three
/// such reloads under load, and none is lost or doubled.
#[test]
fn a_changed_destination_keeps_the_order() {
    use std::io::Write;
    let tmp = TempDir::new("reload-order").expect("tempdir");
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).expect("out");
    let (rsng, ports, _) =
        RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| ordered_config(p.tcp[0], &out, "A"));
    let port = ports.tcp[0];
    let sender = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let started = Instant::now();
        let mut n = 0u64;
        let mut buf = Vec::with_capacity(64 * 1024);
        while started.elapsed() < Duration::from_secs(3) {
            buf.clear();
            for _ in 0..1000 {
                writeln!(buf, "seq={n}").unwrap();
                n += 1;
            }
            s.write_all(&buf).expect("send");
        }
        n
    });
    let pid = rsng.pid();
    for prefix in ["B", "C", "D"] {
        std::thread::sleep(Duration::from_millis(700));
        fs::write(tmp.path().join("rsng.conf"), ordered_config(port, &out, prefix)).expect("changed config");
        assert!(Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());
    }
    let sent = sender.join().expect("sender") as usize;
    let deadline = Instant::now() + Duration::from_secs(20);
    while lines(&out.join("all")) < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(rsng.stop(), "rsng did not stop on SIGTERM");
    let text = fs::read_to_string(out.join("all")).expect("output");
    let mut prefixes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (prefix, seq) = line.split_once(" seq=").unwrap_or_else(|| panic!("line {i}: {line:?}"));
        assert_eq!(seq.parse::<usize>().ok(), Some(i), "line {i} out of order: {line:?}");
        if prefixes.last() != Some(&prefix) {
            prefixes.push(prefix);
        }
    }
    assert_eq!(text.lines().count(), sent, "messages lost or doubled across reloads");
    assert_eq!(prefixes, ["A", "B", "C", "D"], "each template takes over once, in order");
}
