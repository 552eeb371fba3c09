//! `syslog-ng-ctl stats` at `stats-level(0)` to `(3)`: the same configuration and messages
//! through syslog-ng 3.38 and rsng give the same rows (names, states and values; stamps and
//! per-second rates, which depend on timing, and syslog-ng's own allocator counters are masked).
//! Then `--reset` on both, and rsng's Prometheus export of the same counters.

use std::fs;
use std::path::Path;
use std::process::Command;

use rsng_tests::{oracle_skipped, rsng_bin, Daemon, RunningDaemon, TempDir};

/// Rows of `syslog-ng-ctl stats`, sorted, with the values that depend on timing or on
/// syslog-ng's allocator replaced by a letter.
fn masked(stats: &str) -> Vec<String> {
    let mut rows: Vec<String> = stats
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("SourceName;"))
        .map(|line| {
            let fields: Vec<&str> = line.split(';').collect();
            if fields.len() != 6 {
                return line.to_string();
            }
            // syslog-ng works its rates out once a minute, so they may still be 0.
            let rate = fields[4].starts_with("eps_");
            let timing = fields[4] == "stamp";
            let allocator = fields[0] == "global"
                && matches!(fields[1], "msg_allocated_bytes" | "scratch_buffers_count" | "scratch_buffers_bytes");
            if allocator || rate || (timing && fields[5] != "0") {
                format!("{};{}", fields[..5].join(";"), "V")
            } else {
                line.to_string()
            }
        })
        .collect();
    rows.sort();
    rows
}

fn ctl(dir: &Path, daemon: Daemon, args: &[&str]) -> String {
    let out = Command::new("/usr/sbin/syslog-ng-ctl")
        .args(args)
        .arg("-c")
        .arg(dir.join(format!("{}.ctl", daemon.name())))
        .output()
        .expect("syslog-ng-ctl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const INPUT: &[u8] =
    b"<13>Dec  7 10:00:00 h p: a=b hello\n<13>Dec  7 10:00:00 h q: x\n<190>Dec  7 10:00:01 h p: local7\n";

/// Runs one level on `daemon`: the stats after the messages, and after a reset.
fn run(daemon: Daemon, dir: &Path, level: u32) -> (String, String, String, Option<String>) {
    let out = dir.join(format!("{}-{level}.out", daemon.name()));
    let _ = fs::remove_file(&out);
    let (running, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| {
        format!(
            "@version: 3.38\n\
             options {{ stats-level({level}); }};\n\
             source s_net {{ network(ip(127.0.0.1) port({}) tags(\"t_net\")); }};\n\
             source s_int {{ internal(); }};\n\
             destination d_file {{ file(\"{}\" truncate-size(20)); }};\n\
             filter f_x {{ program(\"p\"); }};\n\
             parser p_kv {{ kv-parser(); }};\n\
             log {{ source(s_net); filter(f_x); parser(p_kv); destination(d_file); }};\n\
             log {{ source(s_int); }};\n",
            p.tcp[0],
            out.display()
        )
    });
    running.send_tcp(ports.tcp[0], INPUT);
    // truncate-size(20) cuts the line ends off too: two messages are 40 bytes.
    running.wait_for(20, || fs::metadata(&out).is_ok_and(|m| m.len() >= 40));
    // The connection's end is seen too.
    std::thread::sleep(std::time::Duration::from_millis(400));
    let before = ctl(dir, daemon, &["stats"]);
    let reset = ctl(dir, daemon, &["stats", "--reset"]);
    let after = ctl(dir, daemon, &["stats"]);
    let prometheus = (daemon == Daemon::Rsng).then(|| {
        let out = Command::new(rsng_bin().with_file_name("rsng-ctl"))
            .args(["stats", "--format", "prometheus", "-c"])
            .arg(dir.join("rsng.ctl"))
            .output()
            .expect("rsng-ctl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    assert!(running.stop(), "{} did not stop", daemon.name());
    // Each daemon listens on a port of its own.
    let port = |text: String| {
        text.replace(&format!(":{})", ports.tcp[0]), ":PORT)").replace(&out.display().to_string(), "OUT")
    };
    (port(before), reset, port(after), prometheus.map(port))
}

#[test]
fn stats_rows_at_every_level_are_syslog_ngs() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("stats-levels").expect("tempdir");
    for level in 0..=3 {
        let (oracle, oracle_reset, oracle_after, _) = run(Daemon::Oracle, tmp.path(), level);
        let (rsng, rsng_reset, rsng_after, prometheus) = run(Daemon::Rsng, tmp.path(), level);
        let (oracle, rsng) = (masked(&oracle), masked(&rsng));
        assert!(oracle.iter().any(|r| r.starts_with("dst.file;") || level == 0), "level {level}: {oracle:#?}");
        assert_eq!(rsng, oracle, "level {level}");
        assert_eq!(rsng_reset, oracle_reset, "level {level}: the answer to --reset");
        assert_eq!(masked(&rsng_after), masked(&oracle_after), "level {level}: after --reset");

        // Prometheus: every row but the stamps, named as syslog-ng 4.x names its legacy counters.
        let prometheus = prometheus.expect("rsng's export");
        let rows: Vec<&str> = rsng_after.lines().filter(|l| l.split(';').count() == 6).skip(1).collect();
        let exported: Vec<&str> = prometheus.lines().collect();
        assert_eq!(exported.len(), rows.iter().filter(|r| !r.contains(";stamp;")).count(), "{prometheus}");
        let expect = |row: &str| -> bool { exported.iter().any(|l| l.starts_with(row)) };
        assert!(expect("syslogng_center_processed{stat_instance=\"received\"} "), "{prometheus}");
        assert!(expect("syslogng_source_processed{id=\"s_net\"} 0"), "{prometheus}");
        assert!(expect("syslogng_global_msg_clones_processed 0"), "{prometheus}");
        if level >= 1 {
            assert!(
                expect("syslogng_src_network_processed{id=\"s_net#0\",stat_instance=\"tcp,127.0.0.1\"} 0"),
                "{prometheus}"
            );
        }
    }
}

/// Starts `daemon` with the global `options`, a TCP source that keeps the senders' host names
/// and a file destination, sends `input` and waits until its `lines` lines are written.
fn counting(daemon: Daemon, dir: &Path, options: &str, input: &[u8], lines: usize) -> RunningDaemon {
    let out = dir.join("out");
    let (running, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| {
        format!(
            "@version: 3.38\noptions {{ {options} stats-freq(0); }};\n\
             source s_net {{ network(ip(127.0.0.1) port({}) keep-hostname(yes)); }};\n\
             destination d {{ file(\"{}\"); }};\n\
             log {{ source(s_net); destination(d); }};\n",
            p.tcp[0],
            out.display()
        )
    });
    running.send_tcp(ports.tcp[0], input);
    running.wait_for(20, || fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= lines));
    running
}

/// The dynamic rows (`d`) of `syslog-ng-ctl stats`, stamps masked, sorted.
fn dynamic_rows(stats: &str) -> Vec<String> {
    masked(stats).into_iter().filter(|r| r.split(';').nth(3) == Some("d")).collect()
}

/// `stats-max-dynamics()`: once that many dynamic counters exist, new values get none (the
/// first message's host, sender, program and per-source host fill a limit of 4). Same rows on
/// both daemons.
#[test]
fn stats_max_dynamics_limits_the_dynamic_counters() {
    if oracle_skipped() {
        return;
    }
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let tmp = TempDir::new("max-dynamics").expect("tempdir");
        let input = b"<13>Dec  7 10:00:00 h1 p: one\n<13>Dec  7 10:00:00 h2 p: two\n<13>Dec  7 10:00:00 h3 q: three\n";
        let running = counting(daemon, tmp.path(), "stats-level(3); stats-max-dynamics(4);", input, 3);
        let rows = dynamic_rows(&ctl(tmp.path(), daemon, &["stats"]));
        assert!(running.stop());
        seen.push(rows);
    }
    assert_eq!(seen[0].len(), 8, "syslog-ng: four counters of two rows each:\n{:#?}", seen[0]);
    assert_eq!(seen[1], seen[0], "rsng differs from syslog-ng");
}

/// `stats-lifetime()`: a dynamic counter not updated for that long goes at the next statistics
/// period (half the lifetime without `stats-freq()`). Same rows on both daemons.
#[test]
fn stats_lifetime_prunes_idle_dynamic_counters() {
    if oracle_skipped() {
        return;
    }
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let tmp = TempDir::new("stats-lifetime").expect("tempdir");
        let input = b"<13>Dec  7 10:00:00 h1 p: one\n";
        let running = counting(daemon, tmp.path(), "stats-level(2); stats-lifetime(2);", input, 1);
        let fresh = dynamic_rows(&ctl(tmp.path(), daemon, &["stats"]));
        // Idle for more than the lifetime, and a period of a second on top.
        std::thread::sleep(std::time::Duration::from_millis(4500));
        let later = dynamic_rows(&ctl(tmp.path(), daemon, &["stats"]));
        assert!(running.stop());
        seen.push((fresh, later));
    }
    assert_eq!(seen[0].0, vec!["src.host;;h1;d;processed;1".to_string(), "src.host;;h1;d;stamp;V".to_string()]);
    assert!(seen[0].1.is_empty(), "syslog-ng kept {:?}", seen[0].1);
    assert_eq!(seen[1], seen[0], "rsng differs from syslog-ng");
}
