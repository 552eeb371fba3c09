//! `mark-freq()` and `mark-mode()`: `-- MARK --` messages, differential against syslog-ng 3.38.
//!
//! MARKs fall due on whole seconds, so both daemons run the same configuration for the same
//! time with `mark-freq(1)` and their outputs are compared line for line with the time masked,
//! allowing one MARK more or less at either end of the run.

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use rsng_tests::{oracle_skipped, Daemon, RunningDaemon, TempDir};

/// Every file of one run, keyed by its name.
type Outputs = Vec<(&'static str, String)>;

const FILES: &[&str] = &["dst_idle", "periodical", "internal", "none", "default_file", "program_default", "fields"];

fn config(port: u16, dir: &Path, global: &str) -> String {
    let f = |name: &str| dir.join(format!("{name}.log")).display().to_string();
    format!(
        "@version: 3.38\n\
         options {{ keep-hostname(yes); {global} }};\n\
         source s_int {{ internal(); }};\n\
         source s_net {{ network(ip(127.0.0.1) port({port})); }};\n\
         destination d_dst {{ file(\"{}\" mark-mode(dst-idle)); }};\n\
         destination d_per {{ file(\"{}\" mark-mode(periodical)); }};\n\
         destination d_int {{ file(\"{}\" mark-mode(internal)); }};\n\
         destination d_none {{ file(\"{}\" mark-mode(none)); }};\n\
         destination d_file {{ file(\"{}\"); }};\n\
         destination d_prog {{ program(\"cat >> {}\"); }};\n\
         destination d_fields {{ file(\"{}\" mark-mode(internal) \
         template(\"$PRI|$FACILITY.$LEVEL|$HOST|$PROGRAM|$MSGHDR|$SOURCE|$TAGS|$MSG\\n\")); }};\n\
         log {{ source(s_int); source(s_net); destination(d_dst); destination(d_per); destination(d_int); \
         destination(d_none); destination(d_file); destination(d_prog); destination(d_fields); }};\n",
        f("dst_idle"),
        f("periodical"),
        f("internal"),
        f("none"),
        f("default_file"),
        f("program_default"),
        f("fields"),
    )
}

/// Runs `daemon` for about five seconds; one message from another host arrives after the first.
fn run(daemon: Daemon, root: &Path, global: &str) -> Outputs {
    let dir = root.join(daemon.name());
    fs::create_dir_all(&dir).expect("dir");
    let (running, ports, _) = RunningDaemon::start(daemon, &dir, 0, 1, |p| config(p.tcp[0], &dir, global));
    std::thread::sleep(Duration::from_millis(1200));
    let mut s = TcpStream::connect(("127.0.0.1", ports.tcp[0])).expect("connect");
    s.write_all(b"<13>Dec  7 06:50:00 otherhost prog: from another host\n").expect("send");
    drop(s);
    std::thread::sleep(Duration::from_millis(3700));
    assert!(running.stop(), "{} did not stop", daemon.name());
    FILES.iter().map(|f| (*f, fs::read_to_string(dir.join(format!("{f}.log"))).unwrap_or_default())).collect()
}

fn marks(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.ends_with("-- MARK --")).collect()
}

/// The lines of a MARK, with the time (`Dec  7 06:45:01 `) cut off.
fn untimed(line: &str) -> &str {
    line.get(16..).unwrap_or(line)
}

/// Where the first MARK comes relative to the message from another host: before it or after.
fn first_mark_after_remote(text: &str) -> Option<bool> {
    let lines: Vec<&str> = text.lines().collect();
    let mark = lines.iter().position(|l| l.ends_with("-- MARK --"))?;
    let remote = lines.iter().position(|l| l.contains("from another host"))?;
    Some(mark > remote)
}

fn compare(oracle: &Outputs, rsng: &Outputs) {
    for ((name, want), (_, got)) in oracle.iter().zip(rsng) {
        let (w, g) = (marks(want), marks(got));
        assert!(
            w.len().abs_diff(g.len()) <= 1,
            "{name}: syslog-ng wrote {} MARKs, rsng {}:\n--- syslog-ng\n{want}--- rsng\n{got}",
            w.len(),
            g.len()
        );
        assert_eq!(w.is_empty(), g.is_empty(), "{name}:\n--- syslog-ng\n{want}--- rsng\n{got}");
        let shapes = |m: &[&str]| {
            let mut s: Vec<String> = m.iter().map(|l| untimed(l).to_string()).collect();
            s.dedup();
            s
        };
        if *name == "fields" {
            // No time in this template: the MARK lines themselves must be the same.
            let (mut w, mut g) = (w.clone(), g.clone());
            w.dedup();
            g.dedup();
            assert_eq!(g, w, "{name}");
        } else {
            assert_eq!(shapes(&g), shapes(&w), "{name}");
        }
        assert_eq!(
            first_mark_after_remote(got),
            first_mark_after_remote(want),
            "{name}: first MARK before or after the remote message:\n--- syslog-ng\n{want}--- rsng\n{got}"
        );
    }
}

/// `mark-freq(1)` with the global `mark-mode()` left at syslog-ng's `host-idle`: `dst-idle` and
/// `periodical` file destinations write a MARK each second, `internal` ones pass the
/// `internal()` source's MARKs (`syslog.info`, this host, no program, the source's tag), `none`
/// and a `file()` without `mark-mode()` write none, and a `program()` destination without
/// `mark-mode()` (the global `host-idle`) writes its first MARK a second after the message from
/// another host.
#[test]
fn mark_modes_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("mark-modes").expect("tempdir");
    let oracle = run(Daemon::Oracle, tmp.path(), "mark-freq(1);");
    let rsng = run(Daemon::Rsng, tmp.path(), "mark-freq(1);");
    let get = |o: &Outputs, n: &str| o.iter().find(|(f, _)| *f == n).map(|(_, t)| t.clone()).unwrap_or_default();
    // What syslog-ng does, so that a change of the reference shows here.
    for (name, some) in [
        ("dst_idle", true),
        ("periodical", true),
        ("internal", true),
        ("none", false),
        ("default_file", false),
        ("program_default", true),
    ] {
        assert_eq!(!marks(&get(&oracle, name)).is_empty(), some, "syslog-ng {name}:\n{}", get(&oracle, name));
    }
    assert_eq!(first_mark_after_remote(&get(&oracle, "program_default")), Some(true));
    assert!(
        marks(&get(&oracle, "fields"))
            .iter()
            .all(|l| l.starts_with("46|syslog.info|") && l.contains("|s_int|.source.s_int|")),
        "{}",
        get(&oracle, "fields")
    );
    compare(&oracle, &rsng);
}

/// The global `mark-mode(dst-idle)` becomes the default of `program()` (not of `file()`, whose
/// own default is `none`), and `mark-freq(0)` turns every MARK off.
#[test]
fn global_mark_mode_and_mark_freq_zero_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("mark-global").expect("tempdir");
    let global = "mark-freq(1); mark-mode(dst-idle);";
    let oracle = run(Daemon::Oracle, tmp.path(), global);
    let rsng = run(Daemon::Rsng, tmp.path(), global);
    let prog =
        |o: &Outputs| o.iter().find(|(f, _)| *f == "program_default").map(|(_, t)| t.clone()).unwrap_or_default();
    assert_eq!(first_mark_after_remote(&prog(&oracle)), Some(false), "{}", prog(&oracle));
    compare(&oracle, &rsng);

    let tmp = TempDir::new("mark-off").expect("tempdir");
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let out = run(daemon, tmp.path(), "mark-freq(0);");
        for (name, text) in &out {
            assert!(marks(text).is_empty(), "{} {name}:\n{text}", daemon.name());
        }
    }
}
