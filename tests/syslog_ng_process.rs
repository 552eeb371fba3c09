//! rsng as a drop-in for the syslog-ng process: every flag of syslog-ng 3.38's command line is
//! accepted and does what it does there, and the life-cycle messages (start, reload, stop) are
//! syslog-ng's, word for word, so that scripts and test suites that wait for them work.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rsng_tests::{oracle_skipped, rsng_bin, Daemon, TempDir};

const CTL: &str = "/usr/sbin/syslog-ng-ctl";

/// A foreground daemon started with the test's own flags, killed when dropped.
struct Proc {
    child: Child,
    ctl: PathBuf,
    stderr: PathBuf,
}

impl Proc {
    /// Starts `daemon` on `config` in `dir` with `flags`, and waits until its control socket
    /// answers.
    fn start(daemon: Daemon, dir: &Path, config: &str, flags: &[&str]) -> Proc {
        let name = daemon.name();
        let conf = dir.join(format!("{name}.conf"));
        fs::write(&conf, config).expect("write config");
        let ctl = dir.join(format!("{name}.ctl"));
        let stderr = dir.join(format!("{name}.stderr"));
        let bin = match daemon {
            Daemon::Oracle => rsng_tests::oracle_bin(),
            Daemon::Rsng => rsng_bin().to_path_buf(),
        };
        let child = Command::new(bin)
            .arg("--foreground")
            .args(flags)
            .arg(format!("--cfgfile={}", conf.display()))
            .arg(format!("--persist-file={}", dir.join(format!("{name}.persist")).display()))
            .arg(format!("--pidfile={}", dir.join(format!("{name}.pid")).display()))
            .arg(format!("--control={}", ctl.display()))
            .env("TZ", "UTC")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let mut p = Proc { child, ctl, stderr };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("{name} exited at start-up ({status}): {}", p.stderr());
            }
            if p.ctl.exists() && std::os::unix::net::UnixStream::connect(&p.ctl).is_ok() {
                return p;
            }
            assert!(Instant::now() < deadline, "{name} did not start in time: {}", p.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ctl_cmd(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(CTL).args(args).arg("-c").arg(&self.ctl).output().expect("run syslog-ng-ctl");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// One line of `/proc/PID/limits`.
    fn limit(&self, what: &str) -> String {
        let limits = fs::read_to_string(format!("/proc/{}/limits", self.child.id())).expect("limits");
        let line = limits.lines().find(|l| l.starts_with(what)).unwrap_or_else(|| panic!("no {what} in {limits}"));
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Waits until `text` appears on stderr (at most 20 s).
    fn wait_stderr(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.stderr().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// `syslog-ng-ctl stop`, then waits for the exit; returns the reply and the exit status.
    fn stop(mut self) -> (bool, String, Option<i32>) {
        let reply = self.ctl_cmd(&["stop"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (reply.0, reply.1, status.code());
            }
            assert!(Instant::now() < deadline, "did not stop in time");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have_oracle() -> bool {
    if oracle_skipped() || !Path::new(CTL).exists() {
        assert!(oracle_skipped(), "{CTL} is missing: install syslog-ng-core (cargo xtask test does)");
        return false;
    }
    true
}

const CONFIG: &str = "@version: 3.38\nsource s { internal(); };\ndestination d { file(\"internal.log\"); };\n\
                      log { source(s); destination(d); };\n";

/// The open-file limit of this process: (soft, hard).
fn own_fd_limit() -> (u64, u64) {
    let limits = fs::read_to_string("/proc/self/limits").expect("limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("open files line");
    let nums: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    (nums[0], nums[1])
}

#[test]
fn every_syslog_ng_flag_is_accepted_and_applied_alike() {
    if !have_oracle() {
        return;
    }
    let (_, hard) = own_fd_limit();
    // Above the hard limit: raised where the process may (CAP_SYS_RESOURCE), refused where not;
    // both daemons must end up with the same limit either way.
    let fd_limit = (hard + 1000).to_string();
    let fd_flag = format!("--fd-limit={fd_limit}");
    let flags = [
        "--enable-core",
        "--startup-debug",
        "--no-caps",
        fd_flag.as_str(),
        "--caps=cap_syslog=ep",
        "--no-module-discovery",
        "--seed",
        "--worker-threads=2",
        "--process-mode=foreground",
    ];
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let tmp = TempDir::new(&format!("flags-{}", daemon.name())).expect("tempdir");
        // Without discovery syslog-ng loads only the modules the configuration names.
        let config = CONFIG.replacen('\n', "\n@module affile\n", 1);
        let p = Proc::start(daemon, tmp.path(), &config, &flags);
        let core = p.limit("Max core file size");
        let files = p.limit("Max open files");
        let err = p.stderr();
        let refused = err.contains(&format!("Error setting file number limit; limit='{fd_limit}'"));
        let (ok, reply, code) = p.stop();
        assert!(ok && reply.contains("Shutdown initiated"), "{}: {reply}", daemon.name());
        assert_eq!(code, Some(0), "{} exit status", daemon.name());
        assert!(core.ends_with("unlimited unlimited bytes"), "{}: --enable-core: {core}", daemon.name());
        seen.push((files, refused));
    }
    assert_eq!(seen[0], seen[1], "--fd-limit: syslog-ng's result, then rsng's");
}

#[test]
fn help_flags_and_module_registry() {
    for flag in ["--help-all", "--help-process", "--help-log"] {
        let out = Command::new(rsng_bin()).arg(flag).output().expect("run rsng");
        assert!(out.status.success(), "{flag}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("--enable-core") && text.contains("--startup-debug"), "{flag}: {text}");
    }
    let out = Command::new(rsng_bin()).arg("--module-registry").output().expect("run rsng");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("source") && text.contains("network"), "{text}");
}

#[test]
fn flags_without_meaning_here_warn() {
    let tmp = TempDir::new("flags-warn").expect("tempdir");
    let p = Proc::start(Daemon::Rsng, tmp.path(), CONFIG, &["--module-path=/nowhere", "--interactive"]);
    assert!(p.wait_stderr("--module-path is ignored; path='/nowhere'"), "{}", p.stderr());
    assert!(p.stderr().contains("--interactive is ignored"), "{}", p.stderr());
    let (ok, _, code) = p.stop();
    assert!(ok && code == Some(0));
}

/// syslog-ng's life-cycle messages (the ones scripts and test suites wait for).
const LIFECYCLE: &[&str] = &[
    "starting up;",
    "shutting down;",
    "New configuration initialized",
    "Configuration reload",
    "Error reloading configuration",
    "Error initializing new configuration",
];

/// The life-cycle lines of `text`, with the bracketed time stamp (stderr) or the BSD header
/// (`internal()` to a file) and the version masked by position.
fn lifecycle_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| LIFECYCLE.iter().any(|m| l.contains(m)))
        .map(|l| {
            let l = if l.starts_with('[') { l.split_once("] ").map_or(l, |(_, rest)| rest) } else { l };
            // `Mmm dd hh:mm:ss host syslog-ng[pid]: text`: time, host and pid differ.
            let l = if l.len() > 16 && l.as_bytes()[3] == b' ' && l.as_bytes()[6] == b' ' {
                l.split_once("]: ").map_or(l, |(_, rest)| rest)
            } else {
                l
            };
            match l.find("version='") {
                Some(at) => format!("{}version='<V>'", &l[..at]),
                None => l.to_string(),
            }
        })
        .collect()
}

/// Reloads (control socket, SIGHUP), reloads a broken file (both ways), stops; returns the
/// daemon's stderr and what its `internal()` source wrote.
fn lifecycle(daemon: Daemon, flags: &[&str]) -> (String, String) {
    let tmp = TempDir::new(&format!("lifecycle-{}", daemon.name())).expect("tempdir");
    let p = Proc::start(daemon, tmp.path(), CONFIG, flags);
    let name = daemon.name();
    let conf = tmp.path().join(format!("{name}.conf"));
    let out = tmp.path().join("internal.log");
    let count = |what: &str| -> usize {
        fs::read_to_string(&p.stderr).unwrap_or_default().matches(what).count()
            + fs::read_to_string(&out).unwrap_or_default().matches(what).count()
    };
    let wait_count = |what: &str, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while count(what) < n {
            assert!(Instant::now() < deadline, "{name}: waiting for {n} × {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_count("starting up", 1);
    let (ok, reply) = p.ctl_cmd(&["reload"]);
    assert!(ok, "{name}: {reply}");
    wait_count("Configuration reload finished", 1);
    let hup = || {
        let status = Command::new("kill").arg("-HUP").arg(p.child.id().to_string()).status().expect("kill");
        assert!(status.success());
    };
    hup();
    wait_count("Configuration reload finished", 2);
    fs::write(&conf, format!("{CONFIG}garbage {{\n")).expect("break config");
    let (ok, reply) = p.ctl_cmd(&["reload"]);
    assert!(!ok && reply.contains("Syntax error parsing configuration file"), "{name}: {reply}");
    hup();
    wait_count("Error reloading configuration", 1);
    let (ok, reply, code) = p.stop();
    assert!(ok && reply.contains("Shutdown initiated") && code == Some(0), "{name}: {reply} {code:?}");
    (
        fs::read_to_string(tmp.path().join(format!("{name}.stderr"))).unwrap_or_default(),
        fs::read_to_string(out).unwrap_or_default(),
    )
}

#[test]
fn lifecycle_messages_are_syslog_ngs() {
    if !have_oracle() {
        return;
    }
    // As the Light suite runs syslog-ng: messages on stderr, with time stamps.
    let flags = ["--enable-core", "--stderr", "--debug", "--verbose", "--startup-debug", "--no-caps"];
    let (oracle, _) = lifecycle(Daemon::Oracle, &flags);
    let (ours, _) = lifecycle(Daemon::Rsng, &flags);
    let expected = lifecycle_lines(&oracle);
    assert_eq!(expected.len(), 9, "syslog-ng's life cycle: {oracle}");
    assert_eq!(lifecycle_lines(&ours), expected, "rsng's stderr: {ours}");
    // Every stderr line of rsng's life cycle has syslog-ng's time stamp form.
    for line in ours.lines().filter(|l| LIFECYCLE.iter().any(|m| l.contains(m))) {
        let stamp = line.get(..28).unwrap_or_default();
        let b = stamp.as_bytes();
        assert!(
            b.len() == 28 && b[0] == b'[' && b[11] == b'T' && b[20] == b'.' && b[27] == b']',
            "time stamp form: {line}"
        );
    }
    // Without -e they go to internal() instead.
    let (_, oracle) = lifecycle(Daemon::Oracle, &["--no-caps"]);
    let (_, ours) = lifecycle(Daemon::Rsng, &["--no-caps"]);
    let expected = lifecycle_lines(&oracle);
    assert_eq!(expected.len(), 7, "syslog-ng's internal() life cycle: {oracle}");
    assert_eq!(lifecycle_lines(&ours), expected, "rsng's internal(): {ours}");
}

/// `syslog-ng-ctl stop` always gets its answer: the daemon writes it before it exits, however
/// quickly it stops.
#[test]
fn stop_is_always_answered() {
    if !Path::new(CTL).exists() {
        assert!(oracle_skipped(), "{CTL} is missing: install syslog-ng-core (cargo xtask test does)");
        return;
    }
    let tmp = TempDir::new("stop-race").expect("tempdir");
    let config = "@version: 3.38\nsource s { internal(); };\nlog { source(s); };\n";
    let mut lost = Vec::new();
    for cycle in 0..200 {
        let p = Proc::start(Daemon::Rsng, tmp.path(), config, &["--no-caps"]);
        let (ok, reply, code) = p.stop();
        if !(ok && reply.contains("Shutdown initiated") && code == Some(0)) {
            lost.push(format!("cycle {cycle}: ok={ok} code={code:?} reply={reply:?}"));
        }
    }
    assert!(lost.is_empty(), "{} of 200 stops unanswered: {lost:?}", lost.len());
}

/// A new configuration that cannot start (its port is taken) is reverted: the same answer to
/// `syslog-ng-ctl reload` and the same life-cycle lines as syslog-ng.
fn failed_reload(daemon: Daemon) -> (String, Vec<String>) {
    let tmp = TempDir::new(&format!("failed-reload-{}", daemon.name())).expect("tempdir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let p = Proc::start(daemon, tmp.path(), CONFIG, &["--stderr", "--no-caps"]);
    let conf = tmp.path().join(format!("{}.conf", daemon.name()));
    fs::write(&conf, format!("{CONFIG}source n {{ network(ip(127.0.0.1) port({port})); }};\nlog {{ source(n); }};\n"))
        .expect("write");
    let (ok, reply) = p.ctl_cmd(&["reload"]);
    assert!(!ok, "{}: {reply}", daemon.name());
    assert!(p.wait_stderr("Configuration reload finished"), "{}: {}", daemon.name(), p.stderr());
    let (stopped, _, code) = p.stop();
    assert!(stopped && code == Some(0));
    let err = fs::read_to_string(tmp.path().join(format!("{}.stderr", daemon.name()))).unwrap_or_default();
    drop(taken);
    (reply.trim().to_string(), lifecycle_lines(&err))
}

#[test]
fn failed_reload_reverts_as_syslog_ng_does() {
    if !have_oracle() {
        return;
    }
    let expected = failed_reload(Daemon::Oracle);
    assert_eq!(expected.0, "Config reload failed, reverted to previous config");
    assert_eq!(failed_reload(Daemon::Rsng), expected);
}
