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
