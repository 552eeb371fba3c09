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
