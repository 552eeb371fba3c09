//! Shared helpers for rsng's end-to-end and differential tests.
//!
//! The differential tests run the same configuration file through `rsng --syntax-only` and through
//! the real syslog-ng 3.38 (`/usr/sbin/syslog-ng --syntax-only`, the oracle) and compare the two
//! [`Verdict`]s: accepted or rejected, and for rejections the file and line of the first error.
//!
//! Environment:
//! - `RSNG_BIN`: the rsng binary to test (default `<target>/release/rsng`, then `<target>/debug/rsng`;
//!   if neither exists it is built once with `cargo build --release -p rsng`).
//! - `SYSLOG_NG_BIN`: the oracle (default `/usr/sbin/syslog-ng`).
//! - `RSNG_SKIP_ORACLE=1`: skip the differential tests instead of failing when the oracle is missing.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one run of either tool may take before it is killed.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the real syslog-ng lives on Debian.
pub const DEFAULT_ORACLE: &str = "/usr/sbin/syslog-ng";

/// The outcome of checking one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The configuration was accepted (exit status 0).
    pub ok: bool,
    /// 1-based line of the first error, when the tool named one.
    pub line: Option<usize>,
    /// File of the first error as the tool printed it (may be an included file).
    pub file: Option<String>,
    /// The first error (or, for accepted files, the first warning); empty when there was none.
    pub message: String,
    /// The tool did not finish normally: timeout, signal, panic or an exit status other than 0/1.
    pub crashed: bool,
}

impl Verdict {
    /// `ok`, `error` or `CRASH`, with `@file:line` when known: for tables.
    pub fn summary(&self) -> String {
        let word = match (self.crashed, self.ok) {
            (true, _) => "CRASH",
            (false, true) => "ok",
            (false, false) => "error",
        };
        match (&self.file, self.line) {
            (Some(file), Some(line)) => format!("{word} @{}:{line}", base_name(file)),
            (None, Some(line)) => format!("{word} @{line}"),
            _ => word.to_string(),
        }
    }

    /// The file name (without directories) of the first error.
    pub fn file_name(&self) -> Option<&str> {
        self.file.as_deref().map(base_name)
    }
}

/// The last component of a path given as text.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The workspace root (the parent of this package).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Cargo's target directory for this workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// This package's directory (`<workspace>/tests`), where the corpus and the cases live.
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The rsng binary under test; built once (release) when no binary is found.
pub fn rsng_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("RSNG_BIN") {
            let bin = PathBuf::from(bin);
            assert!(bin.is_file(), "RSNG_BIN={} does not exist", bin.display());
            return bin;
        }
        let release = target_dir().join("release/rsng");
        let debug = target_dir().join("debug/rsng");
        for bin in [&release, &debug] {
            if bin.is_file() {
                return bin.clone();
            }
        }
        eprintln!("rsng binary not found");
        build_release()
    })
}

/// Builds the release binary with `cargo build --release -p rsng`; returns its path.
pub fn build_release() -> PathBuf {
    let release = target_dir().join("release/rsng");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!("running `{cargo} build --release -p rsng`");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "rsng"])
        .current_dir(workspace_root())
        .status()
        .unwrap_or_else(|e| panic!("cannot run `{cargo} build --release -p rsng`: {e}"));
    assert!(status.success(), "`cargo build --release -p rsng` failed ({status})");
    assert!(release.is_file(), "cargo built rsng but {} is missing", release.display());
    release
}

/// Whether the differential tests should be skipped (`RSNG_SKIP_ORACLE=1`).
pub fn oracle_skipped() -> bool {
    std::env::var("RSNG_SKIP_ORACLE").is_ok_and(|v| v == "1")
}

/// The syslog-ng binary used as the oracle. Panics with instructions when it is missing.
pub fn oracle_bin() -> PathBuf {
    let bin = std::env::var_os("SYSLOG_NG_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_ORACLE));
    assert!(
        bin.is_file(),
        "the oracle {} is missing: the differential tests compare rsng with the real syslog-ng 3.38.\n\
         Install it with `apt-get install syslog-ng-core syslog-ng-scl` (`cargo xtask test` does this),\n\
         point SYSLOG_NG_BIN at it, or set RSNG_SKIP_ORACLE=1 to skip these tests.",
        bin.display()
    );
    bin
}

/// A directory removed (with its contents) when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> io::Result<TempDir> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("rsng-{tag}-{}-{n}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// What a finished (or killed) process left behind.
#[derive(Debug)]
pub struct Output {
    /// Exit code; `None` when killed by a signal or by the timeout.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with a timeout, capturing its output in files inside `dir` (also its working
/// directory), so that stray grandchildren holding a pipe open cannot hang the test.
pub fn run_with_timeout(mut cmd: Command, dir: &Path, timeout: Duration) -> io::Result<Output> {
    let out_path = dir.join(".stdout");
    let err_path = dir.join(".stderr");
    let mut child = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path)?)
        .stderr(fs::File::create(&err_path)?)
        .spawn()?;
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| -> io::Result<String> {
        let mut bytes = Vec::new();
        fs::File::open(p)?.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    Ok(Output {
        code: if timed_out { None } else { status.code() },
        timed_out,
        stdout: read(&out_path)?,
        stderr: read(&err_path)?,
    })
}

/// Runs `syslog-ng --syntax-only -f FILE` (working directory: a fresh temporary directory).
pub fn run_oracle(file: &Path) -> Verdict {
    let mut cmd = Command::new(oracle_bin());
    cmd.arg("--syntax-only").arg("-f").arg(file);
    run_tool("syslog-ng", cmd, parse_oracle_output)
}

/// Runs `rsng --syntax-only -f FILE` with one-line diagnostics (`RSNG_DIAGNOSTIC_FORMAT=short`).
pub fn run_rsng(file: &Path) -> Verdict {
    let mut cmd = Command::new(rsng_bin());
    cmd.arg("--syntax-only").arg("-f").arg(file);
    run_tool("rsng", cmd, parse_rsng_output)
}

fn run_tool(name: &str, mut cmd: Command, parse: fn(bool, &str) -> Verdict) -> Verdict {
    // Both tools get the same environment: backticks may read environment variables.
    cmd.env("RSNG_DIAGNOSTIC_FORMAT", "short").env("NO_COLOR", "1");
    let dir = TempDir::new("run").expect("cannot create a temporary directory");
    let out = match run_with_timeout(cmd, dir.path(), TOOL_TIMEOUT) {
        Ok(out) => out,
        Err(e) => return crash(format!("{name} could not be run: {e}")),
    };
    let text = format!("{}{}", out.stderr, out.stdout);
    match out.code {
        _ if out.timed_out => crash(format!("{name} timed out after {}s (killed)", TOOL_TIMEOUT.as_secs())),
        Some(0) => parse(true, &text),
        Some(1) => parse(false, &text),
        Some(code) => crash(format!("{name} exited with status {code}: {}", first_line(&text))),
        None => crash(format!("{name} was killed by a signal: {}", first_line(&text))),
    }
}

fn crash(message: String) -> Verdict {
    Verdict { ok: false, line: None, file: None, message, crashed: true }
}

fn first_line(text: &str) -> &str {
    text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("")
}

/// Strips syslog-ng's `[2024-01-02T03:04:05.123456] ` prefix from an internal message line.
fn strip_timestamp(line: &str) -> &str {
    if line.starts_with('[') {
        if let Some(end) = line.find("] ") {
            return &line[end + 2..];
        }
    }
    line
}

/// Finds `in FILE:L:C-L:C:` at the end of a syslog-ng grammar error header.
fn grammar_location(line: &str) -> Option<(String, usize)> {
    let rest = line.strip_suffix(':')?;
    let (head, end) = rest.rsplit_once('-')?;
    let (end_line, end_col) = end.split_once(':')?;
    end_line.parse::<usize>().ok()?;
    end_col.parse::<usize>().ok()?;
    let at = head.rfind(" in ")?;
    let loc = &head[at + 4..];
    let mut parts = loc.rsplitn(3, ':');
    parts.next()?.parse::<usize>().ok()?;
    let line_no = parts.next()?.parse::<usize>().ok()?;
    Some((parts.next()?.to_string(), line_no))
}

/// Finds `key='value'` in a syslog-ng internal message.
fn kv<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}='"))? + key.len() + 2;
    let len = line[start..].find('\'')?;
    Some(&line[start..start + len])
}

/// Interprets syslog-ng's `--syntax-only` output. The location is the first grammar error header
/// (`Error parsing …, … in FILE:L:C-L:C:`) or backtick error (`filename='F', line='L:C'`);
/// warnings are never taken as the location. The message prefers the first non-warning
/// internal message (it explains a following generic "syntax error") over the header.
pub fn parse_oracle_output(ok: bool, text: &str) -> Verdict {
    let mut verdict = Verdict { ok, line: None, file: None, message: String::new(), crashed: false };
    let mut first_warning = None;
    for raw in text.lines() {
        let line = strip_timestamp(raw.trim_end());
        if line.is_empty() {
            continue;
        }
        if line.starts_with("WARNING:") {
            first_warning.get_or_insert_with(|| line.to_string());
            continue;
        }
        let is_error = line.starts_with("Error") || line.starts_with("ERROR") || raw.starts_with('[');
        if verdict.line.is_none() {
            if let Some((file, line_no)) = grammar_location(line) {
                verdict.file = Some(file);
                verdict.line = Some(line_no);
            } else if line.starts_with("Error performing backtick substitution") {
                let line_no = kv(line, "line").and_then(|l| l.split(':').next()?.parse().ok());
                if let Some(line_no) = line_no {
                    verdict.line = Some(line_no);
                    verdict.file = kv(line, "filename").map(str::to_string);
                }
            }
        }
        if is_error && verdict.message.is_empty() {
            verdict.message = line.to_string();
        }
    }
    if verdict.message.is_empty() {
        verdict.message = first_warning.unwrap_or_default();
    }
    if ok {
        verdict.line = None;
        verdict.file = None;
    }
    verdict
}

/// Interprets rsng's output under `RSNG_DIAGNOSTIC_FORMAT=short`: one diagnostic per line,
/// `FILE:LINE:COL: error: MESSAGE` (or `warning:`); the first error gives the location.
pub fn parse_rsng_output(ok: bool, text: &str) -> Verdict {
    let mut verdict = Verdict { ok, line: None, file: None, message: String::new(), crashed: false };
    let mut first_warning = None;
    for line in text.lines().map(str::trim_end) {
        if let Some((head, message)) = split_diagnostic(line, ": error: ", "error: ") {
            if verdict.message.is_empty() {
                verdict.message = message.to_string();
                let mut parts = head.rsplitn(3, ':');
                let col = parts.next().and_then(|c| c.parse::<usize>().ok());
                let line_no = parts.next().and_then(|l| l.parse::<usize>().ok());
                match (col, line_no, parts.next()) {
                    (Some(_), Some(line_no), Some(file)) => {
                        verdict.file = Some(file.to_string());
                        verdict.line = Some(line_no);
                    }
                    _ if !head.is_empty() => verdict.file = Some(head.to_string()),
                    _ => {}
                }
            }
        } else if let Some((_, message)) = split_diagnostic(line, ": warning: ", "warning: ") {
            first_warning.get_or_insert_with(|| format!("warning: {message}"));
        }
    }
    if verdict.message.is_empty() {
        verdict.message =
            if ok { first_warning.unwrap_or_default() } else { format!("(no `error:` line) {}", first_line(text)) };
    }
    if ok {
        verdict.line = None;
        verdict.file = None;
    }
    verdict
}

/// Splits `HEAD: error: MESSAGE` (or `error: MESSAGE` without a location).
fn split_diagnostic<'a>(line: &'a str, infix: &str, prefix: &str) -> Option<(&'a str, &'a str)> {
    if let Some(message) = line.strip_prefix(prefix) {
        return Some(("", message));
    }
    let at = line.find(infix)?;
    Some((&line[..at], &line[at + infix.len()..]))
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Reads a tab-separated file with a header line; returns the remaining non-empty rows.
pub fn read_tsv(path: &Path) -> io::Result<Vec<Vec<String>>> {
    let text = fs::read_to_string(path)?;
    Ok(text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect())
}

/// Truncates `text` to at most `max` characters, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// Runs `job` over `items` on `workers` threads; results keep the order of `items`.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], workers: usize, job: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<R>>> = std::sync::Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = job(item);
                results.lock().expect("results lock")[i] = Some(result);
            });
        }
    });
    results.into_inner().expect("results lock").into_iter().map(|r| r.expect("worker result")).collect()
}

/// Which daemon a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    /// The real syslog-ng 3.38.
    Oracle,
    /// rsng, the binary under test.
    Rsng,
}

impl Daemon {
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Oracle => "syslog-ng",
            Daemon::Rsng => "rsng",
        }
    }

    fn binary(self) -> PathBuf {
        match self {
            Daemon::Oracle => oracle_bin(),
            Daemon::Rsng => rsng_bin().to_path_buf(),
        }
    }
}

/// The ports a test configuration listens on; the daemon is ready when all are bound.
#[derive(Debug, Clone, Default)]
pub struct Ports {
    pub udp: Vec<u16>,
    pub tcp: Vec<u16>,
}

/// A foreground daemon (syslog-ng, the oracle, or rsng) running a test's configuration, killed
/// when dropped.
#[derive(Debug)]
pub struct RunningOracle {
    child: std::process::Child,
    dir: PathBuf,
    pub daemon: Daemon,
}

/// The same type under the name that fits tests running either daemon.
pub type RunningDaemon = RunningOracle;

impl RunningOracle {
    /// Starts syslog-ng on the configuration `config(ports)` with its pid, persist and control
    /// files in `dir` and `TZ=UTC`, and waits until it has bound the `ports` UDP ports it was given
    /// (free ports picked here; picked again if another process takes one first). Returns the
    /// oracle, the ports and the configuration text.
    pub fn start_udp(dir: &Path, ports: usize, config: impl Fn(&[u16]) -> String) -> (RunningOracle, Vec<u16>, String) {
        let (d, p, text) = RunningOracle::start(Daemon::Oracle, dir, ports, 0, |p| config(&p.udp));
        (d, p.udp, text)
    }

    /// Starts `daemon` on `config(ports)` (`udp` free UDP and `tcp` free TCP ports on 127.0.0.1)
    /// in `dir` with `TZ=UTC`, and waits until every port is bound (with no ports: until the pid
    /// file appears). Tries again with other ports if one was taken meanwhile.
    pub fn start(
        daemon: Daemon,
        dir: &Path,
        udp: usize,
        tcp: usize,
        config: impl Fn(&Ports) -> String,
    ) -> (RunningOracle, Ports, String) {
        RunningOracle::start_with_env(daemon, dir, udp, tcp, &[], config)
    }

    /// [`RunningOracle::start`] with more environment variables (set after `TZ=UTC`, so `TZ` can
    /// be overridden), such as libfaketime's.
    pub fn start_with_env(
        daemon: Daemon,
        dir: &Path,
        udp: usize,
        tcp: usize,
        env: &[(&str, &str)],
        config: impl Fn(&Ports) -> String,
    ) -> (RunningOracle, Ports, String) {
        RunningOracle::start_wrapped(daemon, dir, udp, tcp, env, &[], config)
    }

    /// [`RunningOracle::start_with_env`] with the daemon started by `wrapper` (a command that
    /// ends by running its arguments in its own place, as `unshare` and `exec` do), so that the
    /// process is still the daemon's.
    pub fn start_wrapped(
        daemon: Daemon,
        dir: &Path,
        udp: usize,
        tcp: usize,
        env: &[(&str, &str)],
        wrapper: &[&str],
        config: impl Fn(&Ports) -> String,
    ) -> (RunningOracle, Ports, String) {
        for attempt in 0..5 {
            let ports = Ports { udp: free_udp_ports(udp), tcp: free_tcp_ports(tcp) };
            let text = config(&ports);
            let name = daemon.name();
            let conf = dir.join(format!("{name}.conf"));
            fs::write(&conf, &text).expect("write config");
            let stderr_path = dir.join(format!("{name}.stderr.{attempt}"));
            let pidfile = dir.join(format!("{name}.pid"));
            let _ = fs::remove_file(&pidfile);
            let mut cmd = match wrapper.split_first() {
                Some((program, args)) => {
                    let mut cmd = Command::new(program);
                    cmd.args(args).arg(daemon.binary());
                    cmd
                }
                None => Command::new(daemon.binary()),
            };
            cmd.arg("-F")
                .arg("-f")
                .arg(&conf)
                .arg("-p")
                .arg(&pidfile)
                .arg("-R")
                .arg(dir.join(format!("{name}.persist")))
                .arg("-c")
                .arg(dir.join(format!("{name}.ctl")))
                .arg("--no-caps")
                .env("TZ", "UTC")
                .envs(env.iter().copied())
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&stderr_path).expect("stderr file"));
            let child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
            let mut running = RunningOracle { child, dir: dir.to_path_buf(), daemon };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(status)) = running.child.try_wait() {
                    let err = fs::read_to_string(&stderr_path).unwrap_or_default();
                    eprintln!("{name} exited ({status}) on attempt {attempt}: {err}");
                    break;
                }
                let bound = ports.udp.iter().all(|p| std::net::UdpSocket::bind(("127.0.0.1", *p)).is_err())
                    && ports.tcp.iter().all(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_err());
                let ready = if udp + tcp == 0 { pidfile.exists() } else { bound };
                if ready {
                    if udp + tcp == 0 {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    return (running, ports, text);
                }
                assert!(Instant::now() < deadline, "{name} did not start in time");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("could not start {}", daemon.name());
    }

    /// Sends `data` over one TCP connection to `port` and closes it.
    pub fn send_tcp(&self, port: u16, data: &[u8]) {
        use std::io::Write as _;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(data).expect("send");
    }

    /// The process id syslog-ng reports (it appears in some of its messages).
    pub fn pid(&self) -> String {
        fs::read_to_string(self.dir.join(format!("{}.pid", self.daemon.name())))
            .map(|p| p.trim().to_string())
            .unwrap_or_else(|_| self.child.id().to_string())
    }

    /// Sends each message as one datagram to every port, pausing briefly every 16 messages so
    /// that the receiver's socket buffer does not overflow.
    pub fn send_udp<M: AsRef<[u8]>>(&self, ports: &[u16], messages: &[M]) {
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind sender");
        for (i, msg) in messages.iter().enumerate() {
            for port in ports {
                sender.send_to(msg.as_ref(), ("127.0.0.1", *port)).expect("send");
            }
            if i % 16 == 15 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// Waits until `done()` holds (polling), at most `seconds`.
    pub fn wait_for(&self, seconds: u64, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !done() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the daemon with SIGTERM, so that it flushes its files, and waits up to 10 s.
    /// Returns whether it exited in time.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// What the daemon wrote to stderr (all attempts).
    pub fn stderr(&self) -> String {
        let mut out = String::new();
        for attempt in 0..5 {
            if let Ok(t) = fs::read_to_string(self.dir.join(format!("{}.stderr.{attempt}", self.daemon.name()))) {
                out.push_str(&t);
            }
        }
        out
    }
}

impl Drop for RunningOracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `syslog-ng-ctl stats` prints for a daemon started by [`RunningOracle::start`] in `dir`
/// (empty when it cannot be asked).
pub fn ctl_stats(dir: &Path, daemon: Daemon) -> String {
    Command::new("/usr/sbin/syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(dir.join(format!("{}.ctl", daemon.name())))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// `n` TCP ports on 127.0.0.1 that were free a moment ago.
pub fn free_tcp_ports(n: usize) -> Vec<u16> {
    free_ports(n, |p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
}

/// `n` UDP ports on 127.0.0.1 that were free a moment ago.
pub fn free_udp_ports(n: usize) -> Vec<u16> {
    free_ports(n, |p| std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok())
}

/// Ports below the kernel's ephemeral range (32768 and up), handed out once per process. A port
/// from that range could be taken meanwhile as the local port of some client connection; the
/// daemon could then not listen on it, while the port still looked bound to a test.
fn free_ports(n: usize, free: impl Fn(u16) -> bool) -> Vec<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    // Test binaries of different runs start at different places, so that a port a previous
    // run's daemon still held is unlikely to be offered again at once.
    let _ = NEXT.compare_exchange(u32::MAX, std::process::id() % COUNT, Ordering::Relaxed, Ordering::Relaxed);
    let mut ports = Vec::with_capacity(n);
    while ports.len() < n {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT) as u16;
        if free(port) {
            ports.push(port);
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_grammar_error() {
        let text = "[2026-01-01T00:00:00.000000] WARNING: Your configuration file uses an obsoleted \
                    keyword; keyword='stats', location='a.conf:2:11'\n\
                    Error parsing options statement, syntax error, unexpected LL_IDENTIFIER, \
                    expecting LL_NUMBER in /tmp/a b.conf:2:17-2:21:\n\n\nsyslog-ng documentation: x\n";
        let v = parse_oracle_output(false, text);
        assert_eq!(v.line, Some(2));
        assert_eq!(v.file.as_deref(), Some("/tmp/a b.conf"));
        assert!(v.message.starts_with("Error parsing options statement"), "{}", v.message);
    }

    #[test]
    fn oracle_semantic_message_before_header() {
        let text = "[2026-01-01T00:00:00.1] Mandatory parameter not overridden; parameter='p', \
                    reference='d.conf:3:12'\nError parsing config, syntax error, unexpected LL_ERROR, \
                    expecting '}' in d.conf:3:12-3:13:\n";
        let v = parse_oracle_output(false, text);
        assert_eq!((v.file.as_deref(), v.line), (Some("d.conf"), Some(3)));
        assert!(v.message.starts_with("Mandatory parameter"), "{}", v.message);
    }

    #[test]
    fn oracle_backtick_and_unlocated_errors() {
        let text = "[t] Error performing backtick substitution in configuration file; error='missing \
                    closing backtick (`) character', filename='c.conf', line='85:1'\n";
        let v = parse_oracle_output(false, text);
        assert_eq!((v.file.as_deref(), v.line), (Some("c.conf"), Some(85)));
        let text = "[t] ERROR: configuration files without a version number have become unsupported\n";
        let v = parse_oracle_output(false, text);
        assert_eq!((v.file, v.line), (None, None));
        assert!(v.message.starts_with("ERROR: configuration files without"));
    }

    #[test]
    fn timeout_kills_the_process() {
        let dir = TempDir::new("timeout").unwrap();
        let mut cmd = Command::new("sleep");
        cmd.arg("5");
        let started = Instant::now();
        let out = run_with_timeout(cmd, dir.path(), Duration::from_millis(100)).unwrap();
        assert!(out.timed_out && out.code.is_none());
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn rsng_short_format() {
        let text = "/tmp/x.conf:3:1: warning: old version\n/tmp/x:y.conf:12:24: error: unknown option \
                    `foo`\n/tmp/x.conf:14:2: error: second\n";
        let v = parse_rsng_output(false, text);
        assert_eq!((v.file.as_deref(), v.line), (Some("/tmp/x:y.conf"), Some(12)));
        assert_eq!(v.message, "unknown option `foo`");
        let v = parse_rsng_output(false, "/nope.conf: error: cannot open\n");
        assert_eq!((v.file.as_deref(), v.line), (Some("/nope.conf"), None));
        let v = parse_rsng_output(true, "/x.conf:1:1: warning: something\n");
        assert!(v.ok && v.line.is_none() && v.message == "warning: something");
    }
}

/// Replaces receive times in daemon output with `<NOW>`: timestamps (ISO 8601, BSD `Mmm dd
/// hh:mm:ss` and syslog-ng's `full` form `Mmm dd yyyy hh:mm:ss`, with fractions and offsets) whose
/// instant is within minutes of the current time. The two daemons receive the same message a few
/// milliseconds apart, so these fields differ; stamps that came from the input are kept whatever
/// the date, the hour and the output zone. A stamp without an offset may be in any zone, so its
/// wall-clock time only has to be within 14 hours of UTC's.
pub fn mask_receive_times(text: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    mask_receive_times_at(text, now)
}

/// [`mask_receive_times`] as if the current time were `now` (Unix seconds).
pub fn mask_receive_times_at(text: &str, now: i64) -> String {
    const SLACK: i64 = 600;
    const ANY_ZONE: i64 = 14 * 3600 + SLACK;
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Only at the start of a token, so that digits inside a longer number are not taken.
        let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let found = if boundary { stamp_at(&bytes[i..], civil_year(now)) } else { None };
        match found {
            Some(stamp) => {
                let recent = match stamp.offset {
                    Some(offset) => (stamp.wall - offset - now).abs() <= SLACK,
                    None => stamp.years.iter().any(|&wall| (wall - now).abs() <= ANY_ZONE),
                };
                if recent {
                    out.push_str(&text[copied..i]);
                    out.push_str("<NOW>");
                    copied = i + stamp.len;
                }
                i += stamp.len;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A timestamp found in text: its wall-clock time as Unix seconds (for BSD stamps, one per
/// candidate year), its UTC offset when written, and its length.
struct FoundStamp {
    wall: i64,
    years: Vec<i64>,
    offset: Option<i64>,
    len: usize,
}

fn stamp_at(b: &[u8], now_year: i64) -> Option<FoundStamp> {
    let digits = |at: usize, n: usize| -> Option<i64> {
        let s = b.get(at..at + n)?;
        s.iter().all(u8::is_ascii_digit).then(|| s.iter().fold(0i64, |v, c| v * 10 + i64::from(c - b'0')))
    };
    let clock = |at: usize| -> Option<i64> {
        (b.get(at + 2) == Some(&b':') && b.get(at + 5) == Some(&b':'))
            .then_some(())
            .and_then(|()| Some(digits(at, 2)? * 3600 + digits(at + 3, 2)? * 60 + digits(at + 6, 2)?))
    };
    // Fraction and offset after the clock at `end`.
    let tail = |mut end: usize| -> (usize, Option<i64>) {
        if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        if b.get(end) == Some(&b'Z') {
            return (end + 1, Some(0));
        }
        if let (Some(&sign @ (b'+' | b'-')), Some(h), Some(b':'), Some(m)) =
            (b.get(end), digits(end + 1, 2), b.get(end + 3), digits(end + 4, 2))
        {
            let offset = (h * 3600 + m * 60) * if sign == b'-' { -1 } else { 1 };
            return (end + 6, Some(offset));
        }
        (end, None)
    };
    // ISO 8601: 2026-12-06T21:00:00
    if let (Some(y), Some(b'-'), Some(mo), Some(b'-'), Some(d), Some(b'T')) =
        (digits(0, 4), b.get(4), digits(5, 2), b.get(7), digits(8, 2), b.get(10))
    {
        let secs = clock(11)?;
        let wall = days_from_civil(y, mo, d) * 86400 + secs;
        let (len, offset) = tail(19);
        return Some(FoundStamp { wall, years: vec![wall], offset, len });
    }
    // BSD: "Dec  6 21:00:00", or syslog-ng's full form "Dec  6 2026 21:00:00".
    const MONTHS: [&[u8]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let month = MONTHS.iter().position(|m| b.starts_with(m))? as i64 + 1;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let day = match (b.get(4), digits(5, 1)) {
        (Some(b' '), Some(d)) => d,
        (Some(_), Some(_)) => digits(4, 2)?,
        _ => return None,
    };
    if b.get(6) != Some(&b' ') {
        return None;
    }
    let (year, at) = match (digits(7, 4), b.get(11)) {
        (Some(y), Some(b' ')) => (Some(y), 12),
        _ => (None, 7),
    };
    let secs = clock(at)?;
    let (len, offset) = tail(at + 8);
    let years: Vec<i64> = match year {
        Some(y) => vec![days_from_civil(y, month, day) * 86400 + secs],
        None => (now_year - 1..=now_year + 1).map(|y| days_from_civil(y, month, day) * 86400 + secs).collect(),
    };
    Some(FoundStamp { wall: years[0], years, offset, len })
}

/// Days since 1970-01-01 of a date whose fields were read from text.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    rsng_core::message::days_from_civil(y, m as u32, d as u32)
}

/// The UTC year of a Unix time.
fn civil_year(secs: i64) -> i64 {
    rsng_core::message::civil_from_days(secs.div_euclid(86400)).0
}

#[cfg(test)]
mod receive_time_tests {
    use super::*;

    /// 2026-12-06T20:59:08Z: after 18:30 UTC, when India is already on the next day.
    const EVENING: i64 = 1_796_590_748;

    #[test]
    fn receive_times_are_masked_in_every_zone_and_form() {
        let text = "2026-12-07T02:29:08.123+05:30 a\n\
                    2026-12-06T20:59:09Z b\n\
                    2026-12-06T15:59:08-05:00 c\n\
                    Dec  7 02:29:08 d\n\
                    Dec 07 2026 02:29:08 e\n";
        let masked = mask_receive_times_at(text, EVENING);
        assert_eq!(masked, "<NOW> a\n<NOW> b\n<NOW> c\n<NOW> d\n<NOW> e\n");
    }

    #[test]
    fn stamps_from_the_input_are_kept() {
        let text = "2026-12-07T02:29:08+00:00 tomorrow in UTC\n\
                    Jan  2 03:04:05 host1\n\
                    2003-10-11T22:14:15.003Z x\n\
                    12026-12-06T20:59:08Z in a longer number\n";
        assert_eq!(mask_receive_times_at(text, EVENING), text);
    }

    #[test]
    fn bsd_stamps_near_new_year_are_matched_across_the_year() {
        // 2026-12-31T23:00:00Z; a zone at +10:00 already shows January 1st.
        let now = days_from_civil(2026, 12, 31) * 86400 + 23 * 3600;
        assert_eq!(mask_receive_times_at("Jan  1 09:00:00 x", now), "<NOW> x");
        assert_eq!(civil_year(now), 2026);
        assert_eq!(civil_year(now + 3600), 2027);
    }
}
