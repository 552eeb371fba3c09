//! The real `syslog-ng-ctl` against rsng: stats counters equal the messages sent, `reload`
//! switches configurations (and refuses a broken one, keeping the old running), `stop` stops.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rsng_tests::{oracle_skipped, Daemon, RunningDaemon, TempDir};

const CTL: &str = "/usr/sbin/syslog-ng-ctl";

fn ctl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(CTL).args(args).arg("-c").arg(dir.join("rsng.ctl")).output().expect("run syslog-ng-ctl");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn wait_lines(path: &Path, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let count = fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0);
        if count >= n || Instant::now() > deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn config(port: u16, out: &Path, second: bool) -> String {
    let extra = if second {
        format!("destination d2 {{ file(\"{}/second\"); }};\nlog {{ source(s); destination(d2); }};\n", out.display())
    } else {
        String::new()
    };
    format!(
        "@version: 3.38\nsource s {{ network(ip(127.0.0.1) port({port})); }};\n\
         destination d {{ file(\"{}/first\"); }};\nlog {{ source(s); destination(d); }};\n{extra}",
        out.display()
    )
}

#[test]
fn syslog_ng_ctl_stats_reload_stop() {
    if oracle_skipped() || !Path::new(CTL).exists() {
        assert!(oracle_skipped(), "{CTL} is missing: install syslog-ng-core (cargo xtask test does)");
        return;
    }
    let tmp = TempDir::new("control").expect("tempdir");
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).expect("out");
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| config(p.tcp[0], &out, false));
    let port = ports.tcp[0];
    let batch: String = (0..25).map(|i| format!("<13>Jan  2 03:04:05 h p[{i}]: message {i}\n")).collect();
    rsng.send_tcp(port, batch.as_bytes());
    assert_eq!(wait_lines(&out.join("first"), 25), 25);

    let (ok, stats) = ctl(tmp.path(), &["stats"]);
    assert!(ok, "{stats}");
    assert!(stats.starts_with("SourceName;SourceId;SourceInstance;State;Type;Number\n"), "{stats}");
    for line in ["source;s;;a;processed;25", "destination;d;;a;processed;25", "center;;received;a;processed;25"] {
        assert!(stats.lines().any(|l| l == line), "missing `{line}` in:\n{stats}");
    }
    let conn = format!("src.network;s;afsocket_sd.(stream,AF_INET(127.0.0.1:{port}));a;connections;0");
    assert!(stats.lines().any(|l| l == conn), "missing `{conn}` in:\n{stats}");
    let (ok, sum) = ctl(tmp.path(), &["query", "get", "--sum", "destination.*"]);
    assert!(ok && sum.trim() == "25", "{sum}");

    // A valid new configuration: the second destination gets what comes after the reload.
    fs::write(tmp.path().join("rsng.conf"), config(port, &out, true)).expect("new config");
    let (ok, answer) = ctl(tmp.path(), &["reload"]);
    assert!(ok && answer.contains("Config reload successful"), "{answer}");
    rsng.send_tcp(port, b"<13>Jan  2 03:04:05 h p: after reload\n");
    assert_eq!(wait_lines(&out.join("second"), 1), 1);
    assert_eq!(wait_lines(&out.join("first"), 26), 26);

    // A broken configuration is refused and the running one stays.
    fs::write(tmp.path().join("rsng.conf"), "@version: 3.38\nsource s { network(port(; };\n").expect("bad config");
    let (ok, answer) = ctl(tmp.path(), &["reload"]);
    assert!(!ok, "a broken configuration was accepted: {answer}");
    rsng.send_tcp(port, b"<13>Jan  2 03:04:05 h p: still running\n");
    assert_eq!(wait_lines(&out.join("second"), 2), 2);

    // rsng's own client speaks the same protocol.
    let ours = rsng_tests::rsng_bin().with_file_name("rsng-ctl");
    let out = Command::new(&ours).arg("-c").arg(tmp.path().join("rsng.ctl")).arg("stats").output().expect("rsng-ctl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.lines().any(|l| l == "source;s;;a;processed;27"), "rsng-ctl stats:\n{text}");

    let (ok, answer) = ctl(tmp.path(), &["stop"]);
    assert!(ok && answer.contains("Shutdown initiated"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmp.path().join("rsng.ctl").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!tmp.path().join("rsng.ctl").exists(), "rsng did not stop");
    drop(rsng);
}
