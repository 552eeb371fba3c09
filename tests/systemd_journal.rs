//! `systemd-journal()` against syslog-ng 3.38's own, both reading the same journal files.
//!
//! The files are written by `systemd-journal-remote` from journal export format into a temporary
//! directory laid out as `/var/log`: `journal/<machine-id>/remote-N.journal`. Each daemon runs in
//! its own mount namespace (`unshare -m`) where that directory is mounted over `/var/log` (and an
//! empty one over `/run/log`, where journald keeps its volatile journal), so both open the
//! default journal location with sd_journal_open() and find the test's files only; the host's
//! journal is untouched. The two daemons write what they read with the same template, and the
//! files must be identical.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rsng_tests::{oracle_bin, oracle_skipped, rsng_bin, TempDir};

/// Every macro the journal source sets, and all the name-value pairs. Lines start with `@@`
/// (messages may have several lines).
const TEMPLATE: &str = r#"@@ $ISODATE $HOST $HOST_FROM $PROGRAM $PID $FACILITY.$LEVEL $TAGS [$MSG] $(format-json --scope nv-pairs --key .journald.* --exclude HOST_FROM --exclude SOURCE)\n"#;

/// Where journal-remote is installed (Debian package `systemd-journal-remote`).
fn journal_remote() -> PathBuf {
    ["/usr/lib/systemd/systemd-journal-remote", "/lib/systemd/systemd-journal-remote"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("systemd-journal-remote is missing: apt-get install systemd-journal-remote (`cargo xtask test` does)")
}

fn machine_id() -> String {
    fs::read_to_string("/etc/machine-id")
        .expect("/etc/machine-id: sd-journal reads only this machine's journal directory")
        .trim()
        .to_string()
}

/// The current boot's id as the journal writes it.
fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id").trim().replace('-', "")
}

/// One journal entry: wall-clock time in microseconds and fields.
struct Entry {
    usec: u64,
    fields: Vec<(&'static str, Vec<u8>)>,
}

fn entry(usec: u64, fields: &[(&'static str, &[u8])]) -> Entry {
    Entry { usec, fields: fields.iter().map(|(k, v)| (*k, v.to_vec())).collect() }
}

/// A private journal: a directory to mount over `/var/log`, filled file by file.
struct Journal {
    root: PathBuf,
    /// Empty: mounted over `/run/log`.
    run_log: PathBuf,
    files: usize,
}

impl Journal {
    fn new(dir: &Path) -> Journal {
        let root = dir.join("varlog");
        fs::create_dir_all(root.join("journal").join(machine_id())).expect("journal dir");
        let run_log = dir.join("runlog");
        fs::create_dir_all(&run_log).expect("empty /run/log");
        Journal { root, run_log, files: 0 }
    }

    /// Writes `entries` as a new journal file (journal export format through journal-remote).
    fn add(&mut self, boot: &str, entries: &[Entry]) {
        self.add_to(None, boot, entries);
    }

    /// [`Journal::add`] into journal namespace `namespace` (its directory `<machine-id>.NAME`).
    fn add_to(&mut self, namespace: Option<&str>, boot: &str, entries: &[Entry]) {
        let mut export = Vec::new();
        for e in entries {
            // Entries of one boot are ordered by their monotonic time across files.
            write!(
                export,
                "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID={boot}\n",
                e.usec,
                e.usec - BASE
            )
            .unwrap();
            for (k, v) in &e.fields {
                if v.iter().any(|&b| b == b'\n' || b < 0x20 && b != b'\t') {
                    // Binary-safe form: the name, a newline, the length (64-bit LE), the bytes.
                    export.extend_from_slice(k.as_bytes());
                    export.push(b'\n');
                    export.extend_from_slice(&(v.len() as u64).to_le_bytes());
                    export.extend_from_slice(v);
                    export.push(b'\n');
                } else {
                    export.extend_from_slice(k.as_bytes());
                    export.push(b'=');
                    export.extend_from_slice(v);
                    export.push(b'\n');
                }
            }
            export.push(b'\n');
        }
        self.files += 1;
        let dir = match namespace {
            Some(ns) => self.root.join("journal").join(format!("{}.{ns}", machine_id())),
            None => self.root.join("journal").join(machine_id()),
        };
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join(format!("remote-{}.journal", self.files));
        let mut child = Command::new(journal_remote())
            .arg(format!("--output={}", target.display()))
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run systemd-journal-remote");
        child.stdin.take().unwrap().write_all(&export).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "journal-remote failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The test entries' times start here (2023-11-14T22:13:20Z); their monotonic time counts from it.
const BASE: u64 = 1_700_000_000_000_000;

/// A daemon in its private mount namespace.
struct Jail {
    child: Child,
    dir: PathBuf,
    name: &'static str,
}

fn start(name: &'static str, binary: &Path, dir: &Path, journal: &Journal, config: &str) -> Jail {
    start_on(name, binary, dir, journal, config, false)
}

/// [`start`]; with `systemd`, `/run` is a private tmpfs with `/run/systemd/system` in it, which
/// is how both daemons tell that systemd is the init system.
fn start_on(name: &'static str, binary: &Path, dir: &Path, journal: &Journal, config: &str, systemd: bool) -> Jail {
    let jail_dir = dir.join(name);
    fs::create_dir_all(&jail_dir).unwrap();
    let conf = jail_dir.join("daemon.conf");
    fs::write(&conf, config.replace("OUT", &jail_dir.join("out").display().to_string())).unwrap();
    let _ = fs::remove_file(jail_dir.join("pid"));
    // journald's volatile journal lives under /run/log where it exists.
    let run = if systemd {
        "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system".to_string()
    } else {
        format!("if [ -d /run/log ]; then mount --bind {} /run/log; fi", journal.run_log.display())
    };
    let script = format!(
        "mount --bind {root} /var/log && {run} && \
         exec {bin} -F -f {conf} -R {d}/persist -p {d}/pid -c {d}/ctl --no-caps",
        root = journal.root.display(),
        bin = binary.display(),
        conf = conf.display(),
        d = jail_dir.display(),
    );
    let child = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::OpenOptions::new().create(true).append(true).open(jail_dir.join("stderr")).unwrap())
        .spawn()
        .expect("run unshare (util-linux) for a private /var/log");
    let mut jail = Jail { child, dir: jail_dir, name };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !jail.dir.join("pid").exists() {
        if let Ok(Some(status)) = jail.child.try_wait() {
            panic!("{name} exited ({status}) at start-up: {}", jail.stderr());
        }
        assert!(Instant::now() < deadline, "{name} did not start in time: {}", jail.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    jail
}

impl Jail {
    /// Replaces the configuration (for a reload).
    fn rewrite(&self, config: &str) {
        fs::write(self.dir.join("daemon.conf"), config.replace("OUT", &self.dir.join("out").display().to_string()))
            .unwrap();
    }

    fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    fn output(&self) -> String {
        fs::read_to_string(self.dir.join("out")).unwrap_or_default()
    }

    /// Waits until the output has `lines` lines (at most 10 s), then a little longer for any
    /// line too many.
    fn wait_lines(&self, lines: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while count(&self.output()) < lines && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
    }

    fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not stop in time", self.name);
    }
}

impl Drop for Jail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many messages an output holds.
fn count(output: &str) -> usize {
    output.matches("@@ ").count()
}

fn config(source: &str, filter: &str) -> String {
    format!(
        "@version: 3.38\nsource s_journal {{ {source}; }};\n{filter}\
         destination d_out {{ file(\"OUT\" template(\"{}\")); }};\n\
         log {{ source(s_journal); {}destination(d_out); }};\n",
        TEMPLATE.replace('"', "\\\""),
        if filter.is_empty() { "" } else { "filter(f_match); " }
    )
}

/// Entries that exercise the name-value pairs and the macros.
fn sample_entries(from: u64, n: usize) -> Vec<Entry> {
    let mut out = Vec::new();
    for i in 0..n as u64 {
        let t = BASE + from + i * 1_000_123;
        let text = format!("message {}", from / 1000 + i);
        out.push(match i % 6 {
            0 => entry(
                t,
                &[
                    ("MESSAGE", text.as_bytes()),
                    ("_HOSTNAME", b"jhost"),
                    ("_PID", b"123"),
                    ("SYSLOG_IDENTIFIER", b"myapp"),
                    ("PRIORITY", b"3"),
                    ("SYSLOG_FACILITY", b"4"),
                    ("_COMM", b"myapp-bin"),
                ],
            ),
            // No identifier: $PROGRAM from _COMM; no priority: local0.notice.
            1 => entry(t, &[("MESSAGE", format!("{text}\nsecond line").as_bytes()), ("_COMM", b"comm1")]),
            // A value with `=` and UTF-8, an odd priority field.
            2 => entry(
                t,
                &[
                    ("MESSAGE", format!("{text} é = ü").as_bytes()),
                    ("CUSTOM_FIELD", b"a=b=c"),
                    ("PRIORITY", b" 6x"),
                    ("SYSLOG_IDENTIFIER", b"kv"),
                    ("_SYSTEMD_UNIT", b"kv.service"),
                ],
            ),
            // A long field (beyond max-field-size() in the options test).
            3 => entry(t, &[("MESSAGE", text.as_bytes()), ("LONG", "x".repeat(100).as_bytes()), ("_PID", b"77")]),
            // Without a message.
            4 => entry(t, &[("SYSLOG_IDENTIFIER", b"silent"), ("SYSLOG_FACILITY", b"10"), ("PRIORITY", b"1")]),
            _ => entry(t, &[("MESSAGE", text.as_bytes()), ("_COMM", b"sshd"), ("_UID", b"0")]),
        });
    }
    out
}

/// Both daemons on `config`, over journal files written by `setup`; returns the outputs after
/// `lines` lines.
fn compare(tag: &str, source: &str, filter: &str, lines: usize, fill: impl Fn(&mut Journal)) -> (String, String) {
    let tmp = TempDir::new(tag).unwrap();
    let mut journal = Journal::new(tmp.path());
    fill(&mut journal);
    let text = config(source, filter);
    let mut outputs = Vec::new();
    for (name, bin) in [("syslog-ng", oracle_bin()), ("rsng", rsng_bin().to_path_buf())] {
        let jail = start(name, &bin, tmp.path(), &journal, &text);
        jail.wait_lines(lines);
        let out = jail.output();
        jail.stop();
        outputs.push(out);
    }
    let rsng = outputs.pop().unwrap();
    let oracle = outputs.pop().unwrap();
    assert_eq!(count(&oracle), lines, "syslog-ng's output:\n{oracle}");
    assert_eq!(rsng, oracle, "config:\n{text}");
    (oracle, rsng)
}

#[test]
fn messages_and_fields_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let (out, _) =
        compare("journal-fields", "systemd-journal()", "", 12, |j| j.add(&boot_id(), &sample_entries(0, 12)));
    // The mapping is the one syslog-ng documents, not only the same as its output.
    assert!(out.contains("myapp 123 auth.err"), "{out}");
    assert!(out.contains("comm1  local0.notice .source.s_journal [message 1\nsecond line]"), "{out}");
    assert!(out.contains("\"CUSTOM_FIELD\":\"a=b=c\""), "{out}");
}

#[test]
fn options_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let source = "systemd-journal(prefix(\"jd.\") max-field-size(10) default-level(err) default-facility(daemon) \
                  time-zone(\"Asia/Kolkata\") keep-hostname(yes) tags(\"t1\") log-fetch-limit(3))";
    let (out, _) = compare("journal-options", source, "", 12, |j| j.add(&boot_id(), &sample_entries(0, 12)));
    assert!(out.contains("\"jd\":{"), "prefix(): {out}");
    assert!(out.contains("+05:30 jhost"), "time-zone() and keep-hostname(): {out}");
    assert!(out.contains("\"LONG\":\"xxxxxxxxxx\""), "max-field-size(): {out}");
    assert!(out.contains("daemon.err"), "default-facility() and default-level(): {out}");
}

#[test]
fn overrides_and_chained_hostnames_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let source = "systemd-journal(prefix(\"\") program-override(\"prog\") host-override(\"h\"))";
    compare("journal-overrides", source, "", 6, |j| j.add(&boot_id(), &sample_entries(0, 6)));
    let (out, _) = compare("journal-chain", "systemd-journal(chain-hostnames(yes))", "", 6, |j| {
        j.add(&boot_id(), &sample_entries(0, 6))
    });
    assert!(out.contains("\"HOST\":\"jhost/"), "{out}");
}

/// syslog-ng 3.38 has no `matches()` (4.x added it): rsng's `matches()` must give what 3.38
/// gives with a filter on the same fields.
#[test]
fn matches_select_what_a_filter_on_the_fields_selects() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("journal-matches").unwrap();
    let mut journal = Journal::new(tmp.path());
    let boot = boot_id();
    journal.add(&boot, &sample_entries(0, 12));
    // Entries of another boot: match-boot(yes) leaves them out.
    journal.add("00000000000000000000000000000001", &sample_entries(50_000_000, 6));
    let oracle_filter = format!(
        "filter f_match {{ (\"${{.journald._COMM}}\" eq \"sshd\" or \"${{.journald._COMM}}\" eq \"comm1\") \
         and \"${{.journald._BOOT_ID}}\" eq \"{boot}\" }};\n"
    );
    let oracle_text = config("systemd-journal()", &oracle_filter);
    let rsng_text =
        config("systemd-journal(matches(\"_COMM\" => \"sshd\" \"_COMM\" => \"comm1\") match-boot(yes))", "");
    let oracle = start("syslog-ng", &oracle_bin(), tmp.path(), &journal, &oracle_text);
    oracle.wait_lines(4);
    let expected = oracle.output();
    oracle.stop();
    let rsng = start("rsng", rsng_bin(), tmp.path(), &journal, &rsng_text);
    rsng.wait_lines(4);
    let got = rsng.output();
    rsng.stop();
    assert_eq!(count(&expected), 4, "syslog-ng's output:\n{expected}");
    assert_eq!(got, expected);
}

/// Both daemons stop and start again (and reload) over a growing journal: each entry is read
/// once, continuing from the cursor in the persist file.
#[test]
fn restart_and_reload_continue_from_the_saved_cursor() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("journal-restart").unwrap();
    let boot = boot_id();
    let text = config("systemd-journal()", "");
    let mut outputs = Vec::new();
    for (name, bin) in [("syslog-ng", oracle_bin()), ("rsng", rsng_bin().to_path_buf())] {
        // Each daemon sees the journal grow the same way: its files are copied per daemon.
        let mut mine = Journal::new(&tmp.path().join(format!("{name}-journal")));
        mine.add(&boot, &sample_entries(0, 5));
        let jail = start(name, &bin, tmp.path(), &mine, &text);
        jail.wait_lines(5);
        // Followed while running.
        mine.add(&boot, &sample_entries(10_000_000, 3));
        jail.wait_lines(8);
        // A reload that builds the source anew (another option) keeps the position.
        jail.rewrite(&config("systemd-journal(tags(\"reloaded\"))", ""));
        let _ = Command::new("kill").arg("-HUP").arg(jail.child.id().to_string()).status();
        std::thread::sleep(Duration::from_millis(1500));
        mine.add(&boot, &sample_entries(20_000_000, 2));
        jail.wait_lines(10);
        jail.stop();
        // Written while stopped, read after the restart.
        mine.add(&boot, &sample_entries(30_000_000, 4));
        let jail = start(name, &bin, tmp.path(), &mine, &text);
        jail.wait_lines(14);
        let out = jail.output();
        jail.stop();
        outputs.push((name, out));
    }
    let (_, rsng) = outputs.pop().unwrap();
    let (_, oracle) = outputs.pop().unwrap();
    assert_eq!(count(&oracle), 14, "syslog-ng's output:\n{oracle}");
    assert_eq!(oracle.matches(",reloaded ").count(), 2, "the reload took effect: {oracle}");
    assert_eq!(rsng, oracle);
    let persist = fs::read_to_string(tmp.path().join("rsng/persist")).unwrap();
    assert!(persist.contains("systemd-journal\ttext s="), "the cursor is kept under syslog-ng's key: {persist}");
}

/// `read-old-records(no)`: what was in the journal before the start is skipped, what comes
/// after is read.
#[test]
fn read_old_records_no_skips_what_was_there() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("journal-old").unwrap();
    let boot = boot_id();
    let text = config("systemd-journal(read-old-records(no))", "");
    let mut outputs = Vec::new();
    for (name, bin) in [("syslog-ng", oracle_bin()), ("rsng", rsng_bin().to_path_buf())] {
        let mut mine = Journal::new(&tmp.path().join(format!("{name}-journal")));
        mine.add(&boot, &sample_entries(0, 6));
        let jail = start(name, &bin, tmp.path(), &mine, &text);
        std::thread::sleep(Duration::from_millis(1000));
        mine.add(&boot, &sample_entries(10_000_000, 3));
        jail.wait_lines(3);
        let out = jail.output();
        jail.stop();
        outputs.push(out);
    }
    let rsng = outputs.pop().unwrap();
    let oracle = outputs.pop().unwrap();
    assert_eq!(count(&oracle), 3, "syslog-ng's output:\n{oracle}");
    assert!(oracle.contains("[message 10000]"), "{oracle}");
    assert_eq!(rsng, oracle);
}

/// `system()` as 3.38 generates it: the journal where systemd is the init system. Both daemons
/// read the same journal through `system()` (with its `app-parser()`) on a host that looks like
/// a systemd host.
#[test]
fn system_reads_the_journal_where_systemd_runs() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("journal-system").unwrap();
    let mut journal = Journal::new(tmp.path());
    journal.add(&boot_id(), &sample_entries(0, 6));
    let text = config("system()", "");
    let mut outputs = Vec::new();
    for (name, bin) in [("syslog-ng", oracle_bin()), ("rsng", rsng_bin().to_path_buf())] {
        let jail = start_on(name, &bin, tmp.path(), &journal, &text, true);
        jail.wait_lines(6);
        outputs.push(jail.output());
        jail.stop();
    }
    let rsng = outputs.pop().unwrap();
    let oracle = outputs.pop().unwrap();
    assert_eq!(count(&oracle), 6, "syslog-ng's output:\n{oracle}");
    assert_eq!(rsng, oracle);
}

/// `--preprocess-into` shows what `system()` reads: syslog-ng expands it in place, rsng names the
/// drivers in a comment; both pick the journal exactly when `/run/systemd/system` exists.
#[test]
fn preprocess_into_shows_the_choice_of_system() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("journal-preprocess").unwrap();
    let conf = tmp.path().join("system.conf");
    fs::write(&conf, "@version: 3.38\nsource s { system(); };\nlog { source(s); };\n").unwrap();
    for systemd in [true, false] {
        let setup = if systemd { "mkdir -p /run/systemd/system" } else { "true" };
        for bin in [oracle_bin(), rsng_bin().to_path_buf()] {
            let script = format!(
                "mount -t tmpfs tmpfs /run && {setup} && exec {} --preprocess-into=- -f {}",
                bin.display(),
                conf.display()
            );
            let out = Command::new("unshare").args(["-m", "sh", "-c", &script]).output().expect("run unshare");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{}: {}", bin.display(), String::from_utf8_lossy(&out.stderr));
            assert_eq!(text.contains("systemd-journal();"), systemd, "{}:\n{text}", bin.display());
            assert_eq!(text.contains("unix-dgram(\"/dev/log\""), !systemd, "{}:\n{text}", bin.display());
        }
    }
}

/// `systemd-syslog()` and, where systemd runs, `unix-dgram("/dev/log")` (which 3.38 turns into
/// it) read the socket systemd passes: `systemd-socket-activate` (from the systemd package)
/// binds it, passes it as descriptor 3 with `LISTEN_FDS`/`LISTEN_PID`, and starts the daemon at
/// the first datagram.
#[test]
fn systemd_syslog_reads_the_socket_systemd_passes() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("systemd-syslog").unwrap();
    for source in ["systemd-syslog()", "unix-dgram(\"/dev/log\")"] {
        let mut outputs = Vec::new();
        for (name, bin) in [("syslog-ng", oracle_bin()), ("rsng", rsng_bin().to_path_buf())] {
            let dir = tmp.path().join(format!("{name}-{}", outputs.len() + source.len()));
            fs::create_dir_all(&dir).unwrap();
            let out = dir.join("out");
            let conf = dir.join("daemon.conf");
            fs::write(
                &conf,
                format!(
                    "@version: 3.38\nsource s {{ {source}; }};\n\
                     destination d {{ file(\"{}\" template(\"$HOST $PROGRAM $PID $FACILITY.$LEVEL [$MSG]\\n\")); }};\n\
                     log {{ source(s); destination(d); }};\n",
                    out.display()
                ),
            )
            .unwrap();
            let sock = dir.join("syslog.sock");
            let script = format!(
                "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec systemd-socket-activate \
                 --datagram --listen={sock} {bin} -F -f {conf} -R {d}/persist -p {d}/pid -c {d}/ctl --no-caps",
                sock = sock.display(),
                bin = bin.display(),
                conf = conf.display(),
                d = dir.display()
            );
            let mut child = Command::new("unshare")
                .args(["-m", "sh", "-c", &script])
                .env("TZ", "UTC")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(dir.join("stderr")).unwrap())
                .spawn()
                .expect("run unshare and systemd-socket-activate");
            let deadline = Instant::now() + Duration::from_secs(10);
            while !sock.exists() {
                assert!(
                    Instant::now() < deadline,
                    "{name}: no socket: {}",
                    fs::read_to_string(dir.join("stderr")).unwrap()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let sender = std::os::unix::net::UnixDatagram::unbound().unwrap();
            for i in 0..5 {
                let msg = format!("<{}>Dec  7 00:10:0{i} app{i}[4{i}]: hello {i}", 24 + i);
                sender.send_to(msg.as_bytes(), &sock).unwrap();
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while fs::read_to_string(&out).unwrap_or_default().lines().count() < 5 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_millis(300));
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
            outputs.push(fs::read_to_string(&out).unwrap_or_default());
        }
        let rsng = outputs.pop().unwrap();
        let oracle = outputs.pop().unwrap();
        assert_eq!(oracle.lines().count(), 5, "{source}: syslog-ng's output:\n{oracle}");
        assert_eq!(rsng, oracle, "{source}");
    }
}

/// `namespace()`: `*` (the default) reads every namespace, `NAME` only that one, `+NAME` that one
/// and the default one.
#[test]
fn namespace_selects_journal_namespaces() {
    if oracle_skipped() {
        return;
    }
    for (namespace, lines) in [("\"*\"", 9), ("\"blue\"", 3), ("\"+blue\"", 6)] {
        let source = format!("systemd-journal(namespace({namespace}))");
        compare("journal-namespace", &source, "", lines, |j| {
            j.add(&boot_id(), &sample_entries(0, 3));
            j.add_to(Some("blue"), &boot_id(), &sample_entries(5_000_000, 3));
            j.add_to(Some("green"), &boot_id(), &sample_entries(9_000_000, 3));
        });
    }
}

/// Flow control: the destination's server is away at first and the queue is small; the journal
/// waits, so every entry arrives, in order, once the server is there (with syslog-ng as with
/// rsng).
#[test]
fn a_slow_destination_holds_the_reader_back_without_losses() {
    if oracle_skipped() {
        return;
    }
    const N: usize = 600;
    let tmp = TempDir::new("journal-flow").unwrap();
    let mut journal = Journal::new(tmp.path());
    journal.add(&boot_id(), &sample_entries(0, N));
    for (name, bin) in [("syslog-ng", oracle_bin()), ("rsng", rsng_bin().to_path_buf())] {
        let port = rsng_tests::free_tcp_ports(1)[0];
        let text = format!(
            "@version: 3.38\noptions {{ time-reopen(1); }};\nsource s_journal {{ systemd-journal(log-iw-size(20)); }};\n\
             destination d_out {{ network(\"127.0.0.1\" port({port}) log-fifo-size(30) template(\"$MSG\\n\")); }};\n\
             log {{ source(s_journal); destination(d_out); flags(flow-control); }};\n"
        );
        let jail = start(name, &bin, tmp.path(), &journal, &text);
        // The daemon retries the connection meanwhile; what it read must wait.
        std::thread::sleep(Duration::from_secs(2));
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind the test server");
        listener.set_nonblocking(false).unwrap();
        let (mut conn, _) = listener.accept().expect("the daemon connects");
        conn.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut received = Vec::new();
        let mut buf = [0u8; 65536];
        while received.iter().filter(|&&b| b == b'\n').count() < N + N / 6 {
            match std::io::Read::read(&mut conn, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
        jail.stop();
        let text = String::from_utf8_lossy(&received);
        // Messages are "message K" (one of the six kinds has two lines, one has none).
        let numbers: Vec<usize> = text
            .lines()
            .filter_map(|l| l.strip_prefix("message "))
            .filter_map(|rest| rest.split(' ').next().and_then(|n| n.parse().ok()))
            .collect();
        let expected: Vec<usize> = (0..N).filter(|i| i % 6 != 4).collect();
        assert_eq!(numbers, expected, "{name}: every message with a text, in order");
    }
}

/// Runs `binary` on `config` in a private mount namespace where systemd looks like the init
/// system; returns `None` when it is still running after 3 s (it started; it is then stopped),
/// or its exit code and stderr.
fn start_or_refuse(binary: &Path, dir: &Path, name: &str, config: &str) -> Option<(i32, String)> {
    let d = dir.join(name);
    fs::create_dir_all(&d).unwrap();
    let conf = d.join("daemon.conf");
    fs::write(&conf, config).unwrap();
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && \
         exec {bin} -F -f {conf} -R {d}/persist -p {d}/pid -c {d}/ctl --no-caps",
        bin = binary.display(),
        conf = conf.display(),
        d = d.display(),
    );
    let mut child = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(d.join("stderr")).unwrap())
        .spawn()
        .expect("run unshare (util-linux)");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some((status.code().unwrap_or(-1), fs::read_to_string(d.join("stderr")).unwrap_or_default()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn only_one_journal_source_starts() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("journal-one").unwrap();
    let out = dir.path().join("out");
    let dest = format!("destination d {{ file(\"{}\"); }};\n", out.display());
    // (name, sources and log paths, where the refusal points: line:col of the second reader).
    let cases = [
        (
            "two-objects",
            "source s1 { systemd-journal(); };\nsource s2 { systemd-journal(namespace(\"x\")); };\n\
             log { source(s1); destination(d); };\nlog { source(s2); destination(d); };\n",
            Some("3:13"),
        ),
        (
            "one-object",
            "source s1 { systemd-journal(); systemd-journal(); };\nlog { source(s1); destination(d); };\n",
            Some("2:32"),
        ),
        (
            "system-too",
            "source s1 {\n  system();\n};\nsource s2 { systemd-journal(); };\n\
             log { source(s1); destination(d); };\nlog { source(s2); destination(d); };\n",
            Some("5:13"),
        ),
        // A source no log path uses is not started, so it is no second reader.
        (
            "unused",
            "source s1 { systemd-journal(); };\nsource s2 { systemd-journal(); };\nlog { source(s1); destination(d); };\n",
            None,
        ),
    ];
    for (name, body, refused_at) in cases {
        let config = format!("@version: 3.38\n{body}{dest}");
        for (daemon, binary) in [("syslog-ng", oracle_bin()), ("rsng", rsng_bin().to_path_buf())] {
            // The configuration is valid: only starting it fails.
            let conf = dir.path().join(format!("{name}-{daemon}.conf"));
            fs::write(&conf, &config).unwrap();
            let check = Command::new(&binary).arg("--syntax-only").arg("-f").arg(&conf).output().unwrap();
            assert!(
                check.status.success(),
                "{daemon} --syntax-only {name}: {}",
                String::from_utf8_lossy(&check.stderr)
            );
            let result = start_or_refuse(&binary, dir.path(), &format!("{name}-{daemon}"), &config);
            match (refused_at, result) {
                (None, None) => {}
                (Some(at), Some((code, stderr))) => {
                    assert_ne!(code, 0, "{daemon} {name}: {stderr}");
                    assert!(
                        stderr.contains("The configuration must not contain more than one systemd-journal() source"),
                        "{daemon} {name}: {stderr}"
                    );
                    let location = format!("daemon.conf:{at}'");
                    assert!(stderr.contains(&location), "{daemon} {name}: not at {location}: {stderr}");
                }
                (want, got) => panic!("{daemon} {name}: refusal expected at {want:?}, got {got:?}"),
            }
        }
    }
}
