//! Options that used to be accepted and ignored: each runs as syslog-ng 3.38 runs it (same
//! configuration and input through both daemons, same output bytes), or rsng warns about it at
//! start-up, naming the option, the driver and the configuration location.

use std::fs;
use std::path::Path;
use std::process::Command;

use rsng_tests::{mask_receive_times, oracle_skipped, rsng_bin, Daemon, RunningDaemon, TempDir};

/// Runs `config(port, output file)` in `daemon`, sends `input` over one TCP connection, and
/// returns what the daemon wrote once `lines` lines are there (or after 20 s).
fn run(daemon: Daemon, dir: &Path, config: &dyn Fn(u16, &Path) -> String, input: &[u8], lines: usize) -> String {
    let out = dir.join(format!("{}.out", daemon.name()));
    let (running, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| config(p.tcp[0], &out));
    running.send_tcp(ports.tcp[0], input);
    let count = || fs::read_to_string(&out).map_or(0, |t| t.lines().count());
    running.wait_for(20, || count() >= lines);
    assert!(running.stop(), "{} did not stop", daemon.name());
    fs::read_to_string(&out).unwrap_or_default()
}

/// The outputs of syslog-ng and rsng for the same configuration and input, receive times masked.
fn both(tag: &str, config: &dyn Fn(u16, &Path) -> String, input: &[u8], lines: usize) -> Option<(String, String)> {
    if oracle_skipped() {
        return None;
    }
    let tmp = TempDir::new(tag).expect("tempdir");
    let oracle = run(Daemon::Oracle, tmp.path(), config, input, lines);
    let rsng = run(Daemon::Rsng, tmp.path(), config, input, lines);
    Some((mask_receive_times(&oracle), mask_receive_times(&rsng)))
}

fn assert_same(oracle: &str, rsng: &str, lines: usize) {
    assert_eq!(oracle.lines().count(), lines, "syslog-ng wrote:\n{oracle}");
    assert_eq!(rsng, oracle, "rsng differs from syslog-ng");
}

/// Debian's default configuration sets `bad-hostname("^gconfd$")`: a header whose host field is
/// `gconfd` has no host name, and `gconfd` is read as the program.
#[test]
fn bad_hostname_is_read_as_the_program() {
    let config = |port: u16, out: &Path| {
        format!(
            "@version: 3.38\n\
             options {{ bad-hostname(\"^gconfd$\"); keep-hostname(yes); }};\n\
             source s {{ network(ip(127.0.0.1) port({port})); }};\n\
             destination d {{ file(\"{}\" template(\"$HOST|$PROGRAM|$PID|$MSG|$LEGACY_MSGHDR\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            out.display()
        )
    };
    let input = b"<13>Dec  6 10:00:00 gconfd prog[1]: one\n\
        <13>Dec  6 10:00:00 gconfdx prog[2]: two\n\
        <13>Dec  6 10:00:00 gconfd: three\n\
        <13>Dec  6 10:00:00 myhost gconfd[4]: four\n\
        <13>Dec  6 10:00:00 gconfd gconfd[5]: five\n\
        <13>1 2026-12-06T10:00:00Z gconfd app 6 - - six\n";
    let Some((oracle, rsng)) = both("bad-hostname", &config, input, 6) else { return };
    assert!(oracle.contains("|gconfd||prog[1]: one|"), "{oracle}");
    assert_same(&oracle, &rsng, 6);
}

/// The warning lines (`WARNING: option not implemented ...`) in `text`.
fn warnings(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("WARNING: option not implemented by rsng")).collect()
}

/// Options rsng does not run are named with their driver and location, by `--syntax-only` and by
/// start-up alike; options it runs, and values that change nothing, are not.
#[test]
fn unused_options_are_warned_about_at_start_up_and_with_syntax_only() {
    let tmp = TempDir::new("unused-warnings").expect("tempdir");
    let out = tmp.path().join("out");
    let config = |port: u16| {
        format!(
            "@version: 3.38\n\
             options {{ stats-freq(0); dns-cache-size(100); }};\n\
             source s {{ network(ip(127.0.0.1) port({port}) hook-commands(startup(\"true\"))); }};\n\
             destination d {{ file(\"{}\" disk-buffer(dir(\"{}\") mem-buf-size(10000))); }};\n\
             destination u {{ udp(\"127.0.0.1\" port(9) spoof-source(no) close-on-input(yes)); }};\n\
             log {{ source(s); destination(d); destination(u); }};\n",
            out.display(),
            tmp.path().display()
        )
    };
    let (running, _, text) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| config(p.tcp[0]));
    assert!(running.stop());
    let conf = tmp.path().join("syntax.conf");
    fs::write(&conf, &text).expect("config");
    let check = Command::new(rsng_bin()).arg("--syntax-only").arg("-f").arg(&conf).output().expect("rsng -s");
    assert!(check.status.success());
    let syntax_stderr = String::from_utf8_lossy(&check.stderr).replace(&conf.display().to_string(), "CONF");
    let start_stderr = running_stderr(tmp.path()).replace(&tmp.path().join("rsng.conf").display().to_string(), "CONF");
    let expected = [
        "WARNING: option not implemented by rsng, ignored; option='dns-cache-size', driver='options', location='CONF:2:26'",
        "WARNING: option not implemented by rsng, ignored; option='hook-commands', driver='network()', location='CONF:3:",
        "WARNING: option not implemented by rsng, ignored; option='disk-buffer.mem-buf-size', driver='file()', location='CONF:4:",
        "WARNING: option not implemented by rsng, ignored; option='close-on-input', driver='udp()', location='CONF:5:",
    ];
    for stderr in [&syntax_stderr, &start_stderr] {
        let lines = warnings(stderr);
        assert_eq!(lines.len(), expected.len(), "{stderr}");
        for (line, want) in lines.iter().zip(expected) {
            assert!(line.starts_with(want), "{line}\nexpected: {want}");
        }
    }
    assert_eq!(warnings(&syntax_stderr), warnings(&start_stderr));
}

fn running_stderr(dir: &Path) -> String {
    (0..5).filter_map(|a| fs::read_to_string(dir.join(format!("rsng.stderr.{a}"))).ok()).collect()
}
