//! rsng under a service manager: the readiness protocol (`NOTIFY_SOCKET`), read here from a
//! datagram socket the test binds, as systemd would.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rsng_tests::{free_tcp_ports, rsng_bin, TempDir};

/// Generous: CI shares two cores among many tests.
const WAIT: Duration = Duration::from_secs(30);

/// An rsng process, killed when dropped.
struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Daemon {
    /// `rsng -F` on `config` with its files in `dir`; `env` is added to the environment, from which
    /// every variable of the readiness protocol is removed first.
    fn start(dir: &Path, config: &str, env: &[(&str, &str)]) -> Daemon {
        fs::write(dir.join("rsng.conf"), config).expect("write config");
        let mut cmd = Command::new(rsng_bin());
        cmd.arg("-F")
            .arg("-f")
            .arg(dir.join("rsng.conf"))
            .arg("-p")
            .arg(dir.join("rsng.pid"))
            .arg("-R")
            .arg(dir.join("rsng.persist"))
            .arg("-c")
            .arg(dir.join("rsng.ctl"))
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("rsng.stderr")).expect("stderr file"));
        let child = cmd.spawn().expect("start rsng");
        Daemon { child, dir: dir.to_path_buf() }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{name} failed");
    }

    /// Waits for the exit; returns the exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("rsng did not exit in time; stderr:\n{}", self.stderr());
    }

    fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("rsng.stderr")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The service manager's end: a bound datagram socket.
struct Manager {
    socket: UnixDatagram,
    /// What rsng sends as `NOTIFY_SOCKET`.
    address: String,
}

impl Manager {
    fn at_path(path: &Path) -> Manager {
        let socket = UnixDatagram::bind(path).expect("bind the notification socket");
        Manager { socket, address: path.display().to_string() }
    }

    fn abstract_name(name: &str) -> Manager {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract address");
        let socket = UnixDatagram::bind_addr(&addr).expect("bind the abstract notification socket");
        Manager { socket, address: format!("@{name}") }
    }

    /// The next datagram, or `None` after `timeout`.
    fn next(&self, timeout: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(timeout)).expect("read timeout");
        let mut buf = [0u8; 4096];
        match self.socket.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => None,
            Err(e) => panic!("reading the notification socket: {e}"),
        }
    }

    /// Datagrams until one holds `line` as a whole line; returns them all, the match last.
    fn until(&self, line: &str, daemon: &Daemon) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Some(msg) = self.next(Duration::from_millis(200)) {
                let found = msg.lines().any(|l| l == line);
                seen.push(msg);
                if found {
                    return seen;
                }
            }
        }
        panic!("no `{line}` from rsng; received {seen:?}; stderr:\n{}", daemon.stderr());
    }
}

/// The `KEY=value` lines of one datagram.
fn field<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

fn monotonic_usec() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    let t = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC");
    t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1_000
}

fn config(port: u16, dir: &Path, extra_destination: bool) -> String {
    let extra = if extra_destination {
        format!(
            "destination d_more {{ file(\"{}/more.log\"); }};\nlog {{ source(s_net); destination(d_more); }};\n",
            dir.display()
        )
    } else {
        String::new()
    };
    format!(
        "@version: 3.38\n\
         source s_net {{ network(ip(127.0.0.1) port({port}) transport(tcp)); }};\n\
         destination d_file {{ file(\"{dir}/out.log\"); }};\n\
         destination d_child {{ program(\"env > {dir}/child.env; exec cat > /dev/null\"); }};\n\
         log {{ source(s_net); destination(d_file); destination(d_child); }};\n{extra}",
        dir = dir.display()
    )
}

fn wait_for_file(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn send_line(port: u16, line: &str) {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to rsng");
    s.write_all(format!("{line}\n").as_bytes()).expect("send");
}

#[test]
fn ready_reloading_and_stopping_are_reported() {
    let tmp = TempDir::new("notify").expect("tempdir");
    let dir = tmp.path();
    let manager = Manager::at_path(&dir.join("notify.sock"));
    let port = free_tcp_ports(1)[0];
    let mut rsng = Daemon::start(dir, &config(port, dir, false), &[("NOTIFY_SOCKET", &manager.address)]);

    let before_ready = manager.until("READY=1", &rsng);
    // READY=1 means listening: a connection made right now is accepted.
    let connected = std::net::TcpStream::connect(("127.0.0.1", port));
    assert!(connected.is_ok(), "READY=1 came before the source listened: {connected:?}");
    drop(connected);
    let ready = before_ready.last().expect("the READY=1 datagram");
    assert_eq!(field(ready, "STATUS"), Some("running; 1 source, 2 destinations"), "{ready:?}");
    assert!(before_ready.iter().all(|m| !m.contains("RELOADING=1") && !m.contains("STOPPING=1")), "{before_ready:?}");

    send_line(port, "<13>Jan  2 03:04:05 host prog: before reload");
    assert!(wait_for_file(&dir.join("out.log"), "before reload").contains("before reload"));
    // program() children do not inherit the notification socket (nor could they reach it by
    // path after rsng removed it from the environment).
    let env = wait_for_file(&dir.join("child.env"), "PATH=");
    assert!(env.contains("PATH="), "the program() destination did not run: {env:?}");
    assert!(!env.contains("NOTIFY_SOCKET"), "a child inherited NOTIFY_SOCKET:\n{env}");

    // A good reload: RELOADING=1 with the monotonic time of its start, then READY=1.
    fs::write(dir.join("rsng.conf"), config(port, dir, true)).expect("new config");
    let asked = monotonic_usec();
    rsng.signal("HUP");
    let seen = manager.until("RELOADING=1", &rsng);
    let answered = monotonic_usec();
    let reloading = seen.last().expect("the RELOADING=1 datagram");
    let usec: u64 = field(reloading, "MONOTONIC_USEC")
        .unwrap_or_else(|| panic!("RELOADING=1 without MONOTONIC_USEC: {reloading:?}"))
        .parse()
        .expect("MONOTONIC_USEC is a number");
    assert!(asked <= usec && usec <= answered, "MONOTONIC_USEC={usec} not within [{asked}, {answered}]");
    assert_eq!(field(reloading, "STATUS"), Some("reloading"));
    let seen = manager.until("READY=1", &rsng);
    assert_eq!(field(seen.last().unwrap(), "STATUS"), Some("running; 1 source, 3 destinations"), "{seen:?}");
    send_line(port, "<13>Jan  2 03:04:05 host prog: after reload");
    assert!(wait_for_file(&dir.join("more.log"), "after reload").contains("after reload"));

    // A broken configuration: the old one continues, and the service manager hears READY=1.
    fs::write(dir.join("rsng.conf"), "@version: 3.38\nsource s_net { network(port(; };\n").expect("bad config");
    rsng.signal("HUP");
    manager.until("RELOADING=1", &rsng);
    let seen = manager.until("READY=1", &rsng);
    assert_eq!(field(seen.last().unwrap(), "STATUS"), Some("running; 1 source, 3 destinations"), "{seen:?}");
    send_line(port, "<13>Jan  2 03:04:05 host prog: after a failed reload");
    assert!(wait_for_file(&dir.join("more.log"), "failed reload").contains("failed reload"));

    rsng.signal("TERM");
    let seen = manager.until("STOPPING=1", &rsng);
    assert_eq!(field(seen.last().unwrap(), "STATUS"), Some("stopping"));
    assert_eq!(rsng.wait_exit(), Some(0), "stderr:\n{}", rsng.stderr());
    // No watchdog was asked for, so none was sent.
    assert!(seen.iter().all(|m| !m.contains("WATCHDOG=1")), "{seen:?}");
}

#[test]
fn watchdog_pings_on_an_abstract_socket() {
    let tmp = TempDir::new("watchdog").expect("tempdir");
    let dir = tmp.path();
    let name = dir.file_name().expect("temporary directory name").to_string_lossy().into_owned();
    let manager = Manager::abstract_name(&name);
    let port = free_tcp_ports(1)[0];
    let mut rsng = Daemon::start(
        dir,
        &config(port, dir, false),
        &[("NOTIFY_SOCKET", &manager.address), ("WATCHDOG_USEC", "400000")],
    );
    manager.until("READY=1", &rsng);
    for _ in 0..4 {
        manager.until("WATCHDOG=1", &rsng);
    }
    rsng.signal("TERM");
    manager.until("STOPPING=1", &rsng);
    assert_eq!(rsng.wait_exit(), Some(0), "stderr:\n{}", rsng.stderr());
}

#[test]
fn watchdog_meant_for_another_process_is_not_pinged() {
    let tmp = TempDir::new("watchdog-pid").expect("tempdir");
    let dir = tmp.path();
    let manager = Manager::at_path(&dir.join("notify.sock"));
    let port = free_tcp_ports(1)[0];
    // WATCHDOG_PID names another process (pid 1 is never rsng here).
    let mut rsng = Daemon::start(
        dir,
        &config(port, dir, false),
        &[("NOTIFY_SOCKET", &manager.address), ("WATCHDOG_USEC", "200000"), ("WATCHDOG_PID", "1")],
    );
    manager.until("READY=1", &rsng);
    // Ten watchdog periods: a ping would have come by now.
    let quiet_until = Instant::now() + Duration::from_secs(1);
    while let Some(msg) =
        manager.next(quiet_until.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)))
    {
        assert!(!msg.contains("WATCHDOG=1"), "pinged a watchdog meant for pid 1: {msg:?}");
        if Instant::now() >= quiet_until {
            break;
        }
    }
    rsng.signal("TERM");
    manager.until("STOPPING=1", &rsng);
    assert_eq!(rsng.wait_exit(), Some(0), "stderr:\n{}", rsng.stderr());
}

#[test]
fn without_a_reachable_notify_socket_rsng_runs_as_before() {
    for notify in [None, Some("/nonexistent/rsng-notify.sock")] {
        let tmp = TempDir::new("no-notify").expect("tempdir");
        let dir = tmp.path();
        let port = free_tcp_ports(1)[0];
        let env: Vec<(&str, &str)> = notify.iter().map(|path| ("NOTIFY_SOCKET", *path)).collect();
        let mut rsng = Daemon::start(dir, &config(port, dir, false), &env);
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "rsng ({notify:?}) did not listen; stderr:\n{}", rsng.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
        send_line(port, "<13>Jan  2 03:04:05 host prog: delivered");
        let out = wait_for_file(&dir.join("out.log"), "delivered");
        assert!(out.contains("delivered"), "NOTIFY_SOCKET={notify:?}: {out:?}; stderr:\n{}", rsng.stderr());
        rsng.signal("TERM");
        assert_eq!(rsng.wait_exit(), Some(0), "NOTIFY_SOCKET={notify:?}; stderr:\n{}", rsng.stderr());
    }
}

/// `--generate` output of `binary` for `kind`.
fn generated(binary: &Path, kind: &str) -> String {
    let out = Command::new(binary).arg("--generate").arg(kind).output().expect("run --generate");
    assert!(out.status.success(), "{} --generate {kind}: {}", binary.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn manual_pages_and_completions_come_from_the_command_lines() {
    let tmp = TempDir::new("generate").expect("tempdir");
    let rsng = rsng_bin().to_path_buf();
    let ctl = rsng.with_file_name("rsng-ctl");
    for (binary, name, options) in [
        (&rsng, "rsng", &["--cfgfile", "--syntax-only", "--foreground", "--control", "--persist-file"][..]),
        (&ctl, "rsng-ctl", &[][..]),
    ] {
        let page = tmp.path().join(format!("{name}.8"));
        fs::write(&page, generated(binary, "man")).expect("write page");
        // man's own check: groff warnings (bad requests, broken escapes) go to standard error.
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .output()
            .expect("run man (man-db)");
        let text = String::from_utf8_lossy(&out.stdout);
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && warnings.trim().is_empty(), "man -l {name}.8:\n{warnings}");
        assert!(text.contains(&format!("{name}(8)")) && text.contains("SYNOPSIS"), "{text}");
        // What --help lists is in the page: both come from one definition.
        let help = Command::new(binary).arg("--help").output().expect("--help");
        let help = String::from_utf8_lossy(&help.stdout).into_owned() + &String::from_utf8_lossy(&help.stderr);
        for option in options {
            assert!(help.contains(option), "{name} --help lacks {option}:\n{help}");
            assert!(text.contains(option), "{name}.8 lacks {option}:\n{text}");
        }
        assert!(!text.contains("--generate"), "the hidden --generate shows in {name}.8");

        let bash = generated(binary, "complete-bash");
        let script = tmp.path().join(format!("{name}.bash"));
        fs::write(&script, &bash).expect("write bash completion");
        let check = Command::new("bash").arg("-n").arg(&script).output().expect("bash -n");
        assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
        assert!(bash.contains(&format!("complete -F _{}", name.replace('-', "__"))), "{bash}");
        assert!(generated(binary, "complete-zsh").starts_with(&format!("#compdef {name}")));
        assert!(generated(binary, "complete-fish").contains(&format!("complete -c {name}")));
    }
    // rsng-ctl's commands are in its page and its completions.
    let page = generated(&ctl, "man");
    let bash = generated(&ctl, "complete-bash");
    let usage = Command::new(&ctl).output().expect("rsng-ctl without arguments");
    let usage = String::from_utf8_lossy(&usage.stderr);
    assert!(page.contains("\\-\\-control") && usage.contains("[-c SOCKET]"), "{usage}");
    for command in ["stats", "query", "reload", "stop", "reopen", "verbose", "debug", "trace", "config"] {
        assert!(page.contains(&format!("\n.TP\n\\fB{command}")), "rsng-ctl.8 lacks {command}");
        assert!(usage.lines().any(|l| l.trim_start().starts_with(command)), "rsng-ctl's usage lacks {command}");
        assert!(bash.contains(command), "rsng-ctl bash completion lacks {command}");
    }
}

// ---------------------------------------------------------------------------------------------
// The Debian package (`cargo xtask deb`), installed into this machine and purged again.

/// Runs a command; returns (success, stdout, stderr).
fn sh(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn installed(package: &str) -> bool {
    let (ok, status, _) = sh("dpkg-query", &["-W", "-f=${Status}", package]);
    ok && status.contains("installed") && !status.contains("not-installed") && !status.contains("config-files")
}

/// Purges the package when dropped, so that a failed test leaves the machine as it was.
struct Installation;

impl Drop for Installation {
    fn drop(&mut self) {
        let _ = fs::remove_file(TEST_CONF);
        let _ = Command::new("dpkg").args(["--purge", "rsng"]).stdout(Stdio::null()).status();
    }
}

const TEST_CONF: &str = "/etc/rsng/conf.d/service-test.conf";

/// The files rsng's package installs (and no other package owns).
const PACKAGE_FILES: [&str; 15] = [
    "/usr/sbin/rsng",
    "/usr/sbin/rsng-ctl",
    "/usr/lib/systemd/system/rsng.service",
    "/etc/rsng/rsng.conf",
    "/etc/logrotate.d/rsng",
    "/usr/share/man/man8/rsng.8.gz",
    "/usr/share/man/man8/rsng-ctl.8.gz",
    "/usr/share/bash-completion/completions/rsng",
    "/usr/share/bash-completion/completions/rsng-ctl",
    "/usr/share/zsh/vendor-completions/_rsng",
    "/usr/share/zsh/vendor-completions/_rsng-ctl",
    "/usr/share/fish/vendor_completions.d/rsng.fish",
    "/usr/share/fish/vendor_completions.d/rsng-ctl.fish",
    "/usr/share/doc/rsng/copyright",
    "/etc/rsng/conf.d",
];

#[test]
fn debian_package_installs_works_and_purges() {
    let (_, uid, _) = sh("id", &["-u"]);
    assert_eq!(
        uid.trim(),
        "0",
        "this test installs the package with dpkg and needs root (CI runs as root); run it as root"
    );
    assert!(
        !installed("rsng"),
        "a package rsng is already installed here; this test installs and purges its own build, so remove it first"
    );
    let tmp = TempDir::new("deb").expect("tempdir");
    let binaries = rsng_bin().parent().expect("the binaries' directory").to_path_buf();
    let deb = xtask::package::build_deb(&xtask::package::DebOptions { binaries, out_dir: tmp.path().join("out") })
        .unwrap_or_else(|e| panic!("building the package: {e}"));

    let guard = Installation;
    let (ok, out, err) = sh("dpkg", &["-i", deb.to_str().expect("UTF-8 path")]);
    assert!(ok, "dpkg -i failed:\n{out}\n{err}");
    assert!(installed("rsng"));

    for path in PACKAGE_FILES {
        assert!(Path::new(path).exists(), "{path} is missing after installation");
        let (ok, owners, err) = sh("dpkg-query", &["-S", path]);
        assert!(ok, "dpkg -S {path}: {err}");
        // Directories may be shared; files belong to rsng alone.
        if Path::new(path).is_file() {
            assert_eq!(owners.trim(), format!("rsng: {path}"), "{path} is owned by another package too");
        }
    }
    {
        use std::os::unix::fs::PermissionsExt;
        for bin in ["/usr/sbin/rsng", "/usr/sbin/rsng-ctl"] {
            let mode = fs::metadata(bin).expect("binary").permissions().mode() & 0o777;
            assert_eq!(mode, 0o755, "{bin} mode {mode:o}");
        }
    }
    assert!(fs::read_dir("/etc/rsng/conf.d").expect("conf.d").next().is_none(), "conf.d is not empty");
    let (_, conffiles, _) = sh("dpkg-query", &["-W", "-f=${Conffiles}", "rsng"]);
    for conffile in ["/etc/rsng/rsng.conf", "/etc/logrotate.d/rsng"] {
        assert!(conffiles.contains(conffile), "{conffile} is not a conffile: {conffiles}");
    }
    // Nothing of syslog-ng's is replaced: rsng's files are not in syslog-ng's lists.
    for other in ["syslog-ng-core", "syslog-ng-scl"] {
        if installed(other) {
            let (_, list, _) = sh("dpkg-query", &["-L", other]);
            for path in PACKAGE_FILES.iter().filter(|p| Path::new(p).is_file()) {
                assert!(!list.lines().any(|l| l == *path), "{path} is also in {other}");
            }
        }
    }

    // The default configuration is valid, and reads conf.d.
    let (ok, _, err) = sh("/usr/sbin/rsng", &["--syntax-only", "-f", "/etc/rsng/rsng.conf"]);
    assert!(ok, "rsng --syntax-only -f /etc/rsng/rsng.conf:\n{err}");
    fs::write(TEST_CONF, "destination d_test { file(\"/dev/null\") no-such-option(1); };\n").expect("conf.d file");
    let (ok, _, err) = sh("/usr/sbin/rsng", &["--syntax-only", "-f", "/etc/rsng/rsng.conf"]);
    assert!(!ok && err.contains(TEST_CONF), "an error in conf.d went unnoticed:\n{err}");
    fs::remove_file(TEST_CONF).expect("remove the conf.d file");

    for page in ["/usr/share/man/man8/rsng.8.gz", "/usr/share/man/man8/rsng-ctl.8.gz"] {
        let out = Command::new("man").args(["--warnings", "-l", page]).output().expect("run man");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && err.trim().is_empty(), "man -l {page}:\n{err}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("SYNOPSIS"), "{page} renders no SYNOPSIS");
    }

    // The unit, checked by systemd itself where its tools are installed (this never installs
    // them: that would change the machine's init).
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let (ok, out, err) = sh("systemd-analyze", &["verify", "/usr/lib/systemd/system/rsng.service"]);
        let complaints: Vec<&str> = err.lines().chain(out.lines()).filter(|l| l.contains("rsng")).collect();
        assert!(ok && complaints.is_empty(), "systemd-analyze verify rsng.service:\n{out}\n{err}");
    }
    let unit = fs::read_to_string("/usr/lib/systemd/system/rsng.service").expect("unit");
    for line in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ExecStart=/usr/sbin/rsng -F -f /etc/rsng/rsng.conf -c /run/rsng/rsng.ctl -p /run/rsng/rsng.pid -R /var/lib/rsng/rsng.persist",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks `{line}`");
    }

    run_installed_default_configuration(tmp.path());

    drop(guard);
    assert!(!installed("rsng"), "rsng is still installed after dpkg --purge");
    for path in PACKAGE_FILES.iter().chain(&["/etc/rsng"]) {
        assert!(!Path::new(path).exists(), "{path} is left after dpkg --purge");
    }
}

/// The installed rsng on the installed configuration, in a mount namespace with its own `/run`
/// and `/var/log`: local messages sent the way journald passes them on land in the Debian
/// layout's files, and the installed logrotate file rotates them with `rsng-ctl reopen`.
fn run_installed_default_configuration(tmp: &Path) {
    let script = format!(
        r#"set -e
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/log
mkdir -p /run/systemd/journal /run/rsng
/usr/sbin/rsng -F -f /etc/rsng/rsng.conf -c /run/rsng/rsng.ctl -p /run/rsng/rsng.pid -R {tmp}/rsng.persist 2>{tmp}/rsng.stderr &
pid=$!
wait_for() {{ i=0; while ! eval "$1"; do i=$((i+1)); if [ $i -gt 300 ]; then echo "timed out: $1" >&2; kill $pid; exit 1; fi; sleep 0.1; done; }}
wait_for '[ -S /run/systemd/journal/syslog ] && [ -S /run/rsng/rsng.ctl ]'
log() {{ logger --socket /run/systemd/journal/syslog -p "$1" -t service-test "$2"; }}
log auth.info "an auth message"
log daemon.notice "a daemon message"
log mail.err "a mail error"
log user.debug "a debug message"
wait_for 'grep -qs "a debug message" /var/log/rsng/debug'
wait_for 'grep -qs "a mail error" /var/log/rsng/error'
stat -c '%a %G' /var/log/rsng/syslog > {tmp}/mode
logrotate -f -s {tmp}/logrotate.state /etc/logrotate.d/rsng
log daemon.notice "after rotation"
wait_for 'grep -qs "after rotation" /var/log/rsng/syslog'
kill $pid
wait $pid || true
cp -r /var/log/rsng {tmp}/logs
"#,
        tmp = tmp.display()
    );
    let out = Command::new("unshare").args(["-m", "sh", "-c", &script]).output().expect("run unshare (util-linux)");
    let stderr = fs::read_to_string(tmp.join("rsng.stderr")).unwrap_or_default();
    assert!(
        out.status.success(),
        "the installed rsng on /etc/rsng/rsng.conf:\n{}\n{}\nrsng: {stderr}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = tmp.join("logs");
    let read = |name: &str| fs::read_to_string(logs.join(name)).unwrap_or_default();
    // Debian's layout: auth and mail stay out of syslog; errors of any facility go to error.
    // The forced rotation moved every file written before it to NAME.1.
    let expect = [
        ("auth.log.1", "an auth message", true),
        ("daemon.log.1", "a daemon message", true),
        ("mail.log.1", "a mail error", true),
        ("error.1", "a mail error", true),
        ("debug.1", "a debug message", true),
        ("syslog.1", "a daemon message", true),
        ("syslog.1", "an auth message", false),
        ("syslog.1", "a mail error", false),
        ("messages", "a daemon message", false),
        ("messages.1", "a daemon message", false),
        ("syslog", "after rotation", true),
        ("daemon.log", "after rotation", true),
        ("syslog", "a daemon message", false),
    ];
    for (file, text, present) in expect {
        assert_eq!(
            read(file).contains(text),
            present,
            "{file} {} `{text}`:\n{}",
            if present { "lacks" } else { "has" },
            read(file)
        );
    }
    assert_eq!(
        fs::read_to_string(tmp.join("mode")).unwrap_or_default().trim(),
        "640 adm",
        "the log files' mode and group"
    );
}
