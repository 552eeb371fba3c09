//! The file-family drivers against syslog-ng 3.38: the same configuration runs in both daemons,
//! each in its own directory (`@DIR@`), on the same input files, pipes and programs; the files
//! they write are compared byte for byte (with each side's directory replaced by `<DIR>`), and
//! for destinations that create files, also their permissions and owners.
//!
//! Covered: `file()` sources following appended lines, keeping their position across a restart
//! (no line lost or repeated), source options (`flags(no-parse)`, `program-override()`,
//! `default-facility()`, `log-msg-size()`, `keep-timestamp(no)`, kernel log lines), the multi-line modes,
//! `wildcard-file()`; `file()` destinations with macros in the path, `create-dirs()`, `perm()`,
//! `owner()`, `group()`, `dir-perm()`, `overwrite-if-older()`, `symlink-as()`, `time-reap()`;
//! `pipe()` as source and destination; `program()` as source and destination; `stdin()`, whose end
//! stops the daemon. rsng alone: options
//! it does not run are refused at start-up, and `usertty()` with nobody logged in writes nothing.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rsng_tests::{oracle_bin, oracle_skipped, rsng_bin, run_with_timeout, Daemon, RunningDaemon, TempDir};

const HEADER: &str = "@version: 3.38\noptions { use-dns(no); dns-cache(no); stats-freq(0); };\n";

/// A template without receive times, which differ between the daemons.
const FIELDS: &str = "$HOST|$PROGRAM|$PID|$MSG|$FACILITY.$LEVEL|$FILE_NAME|$SOURCE|$TAGS\\n";

/// Messages of many shapes; the last line is not complete yet.
const MIXED: &[u8] = b"<13>Jan  2 03:04:05 host1 prog[123]: a plain message\n\
<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n\
<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] An application event\n\
no priority at all\n\
<14>Jan 1 1:2:3 host4 single digits\n\
\n\
<13>Jun  6 06:06:06 host8 \xc3\xa9t\xc3\xa9 utf8 \xff invalid\n\
<13>Jul  7 07:07:07 host9 trailing CR\r\n\
before a NUL\0after the NUL\n\
<13>Aug  8 08:08:08 host10 prog: a partial";
/// Messages in [`MIXED`] (the empty line is skipped, the NUL ends a message, the partial line
/// waits).
const MIXED_COUNT: usize = 9;
/// Completes the partial line of [`MIXED`] and adds two messages.
const APPENDED: &[u8] = b" line completed\n<13>Sep  9 09:09:09 host11 appended: one\nappended two\n";

/// Lines as the kernel log (`/proc/kmsg`) has them.
const KERNEL: &[u8] = b"<6>[    0.000000] Linux version 6.1.0 (builder@host) #1 SMP\n\
<12>[10196.209105] rsngtest: hello from user space\n\
<3>[   12.345678] usb 1-1: device descriptor read/64, error -110\n\
no priority [1.0] here\n";

/// Runs `run` for syslog-ng and rsng side by side, each with its own directory
/// (`ROOT/syslog-ng`, `ROOT/rsng`). `None` when the oracle is skipped.
fn run_both(tag: &str, run: impl Fn(Daemon, &Path) + Sync) -> Option<TempDir> {
    if oracle_skipped() {
        eprintln!("RSNG_SKIP_ORACLE=1: skipping {tag}");
        return None;
    }
    let tmp = TempDir::new(tag).expect("tempdir");
    std::thread::scope(|s| {
        for daemon in [Daemon::Oracle, Daemon::Rsng] {
            let dir = tmp.path().join(daemon.name());
            fs::create_dir_all(&dir).expect("side dir");
            let run = &run;
            s.spawn(move || run(daemon, &dir));
        }
    });
    Some(tmp)
}

/// Starts `daemon` on `config` (with [`HEADER`] and `@DIR@` replaced) in `dir`.
fn start(daemon: Daemon, dir: &Path, config: &str) -> RunningDaemon {
    let text = format!("{HEADER}{}\n", config.replace("@DIR@", &dir.display().to_string()));
    RunningDaemon::start(daemon, dir, 0, 0, |_| text.clone()).0
}

/// Stops the daemon, failing the test (with its stderr) when it does not stop in time.
fn stop(d: RunningDaemon) {
    let name = d.daemon.name();
    let err = d.stderr();
    assert!(d.stop(), "{name} did not stop in time; stderr:\n{err}");
}

fn lines_in(path: &Path) -> usize {
    fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// Waits (at most `secs`) until `path` has at least `n` lines.
fn wait_lines(path: &Path, n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while lines_in(path) < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn append(path: &Path, data: &[u8]) {
    use std::io::Write as _;
    let mut f = fs::OpenOptions::new().append(true).create(true).open(path).expect("open for append");
    f.write_all(data).expect("append");
}

/// `file` of both sides with each side's directory replaced by `<DIR>`.
fn both_outputs(root: &Path, file: &str) -> (String, String) {
    let read = |d: Daemon| {
        let dir = root.join(d.name());
        let bytes = fs::read(dir.join(file)).unwrap_or_default();
        String::from_utf8_lossy(&bytes).replace(&dir.display().to_string(), "<DIR>")
    };
    (read(Daemon::Oracle), read(Daemon::Rsng))
}

/// Compares `file` of both sides byte for byte (sorted by line with `sorted`); returns the lines.
fn compare(root: &Path, file: &str, sorted: bool) -> usize {
    let (mut oracle, mut rsng) = both_outputs(root, file);
    if sorted {
        let sort = |t: &str| {
            let mut l: Vec<&str> = t.split_inclusive('\n').collect();
            l.sort_unstable();
            l.concat()
        };
        oracle = sort(&oracle);
        rsng = sort(&rsng);
    }
    assert!(!oracle.is_empty(), "syslog-ng wrote nothing to {file}");
    assert_eq!(rsng, oracle, "{file} differs (left: rsng, right: syslog-ng)");
    eprintln!("== {file} (identical)\n{oracle}");
    oracle.matches('\n').count()
}

#[test]
fn file_source_follows_appended_lines() {
    let config = format!(
        "source s {{ file(\"@DIR@/in.log\" follow-freq(0.2)); }};\n\
         destination d {{ file(\"@DIR@/out.log\" template(\"{FIELDS}\")); }};\n\
         log {{ source(s); destination(d); }};"
    );
    let Some(root) = run_both("file-follow", |daemon, dir| {
        fs::write(dir.join("in.log"), MIXED).unwrap();
        let d = start(daemon, dir, &config);
        wait_lines(&dir.join("out.log"), MIXED_COUNT, 10);
        append(&dir.join("in.log"), APPENDED);
        wait_lines(&dir.join("out.log"), MIXED_COUNT + 3, 10);
        std::thread::sleep(Duration::from_millis(500));
        stop(d);
    }) else {
        return;
    };
    assert_eq!(compare(root.path(), "out.log", false), MIXED_COUNT + 3);
}

#[test]
fn file_source_options() {
    let config = format!(
        "source s_noparse {{ file(\"@DIR@/in1.log\" follow-freq(0.2) flags(no-parse)); }};\n\
         source s_override {{ file(\"@DIR@/in2.log\" follow-freq(0.2) program-override(\"overridden\") default-facility(local3) default-priority(warning) keep-hostname(yes)); }};\n\
         source s_small {{ file(\"@DIR@/in3.log\" follow-freq(0.2) log-msg-size(24) tags(\"t1\", \"t2\")); }};\n\
         source s_stamp {{ file(\"@DIR@/in4.log\" follow-freq(0.2) keep-timestamp(no) flags(no-multi-line)); }};\n\
         source s_kernel {{ file(\"@DIR@/in5.log\" follow-freq(0.2) flags(kernel) program-override(\"kernel\") keep-timestamp(no)); }};\n\
         destination d1 {{ file(\"@DIR@/out1.log\" template(\"{FIELDS}\")); }};\n\
         destination d2 {{ file(\"@DIR@/out2.log\" template(\"{FIELDS}\")); }};\n\
         destination d3 {{ file(\"@DIR@/out3.log\" template(\"{FIELDS}\")); }};\n\
         destination d4 {{ file(\"@DIR@/out4.log\" template(\"$HOST|$PROGRAM|$MSG|${{S_YEAR}}|${{R_YEAR}}\\n\")); }};\n\
         destination d5 {{ file(\"@DIR@/out5.log\" template(\"{FIELDS}\")); }};\n\
         log {{ source(s_noparse); destination(d1); }};\n\
         log {{ source(s_override); destination(d2); }};\n\
         log {{ source(s_small); destination(d3); }};\n\
         log {{ source(s_stamp); destination(d4); }};\n\
         log {{ source(s_kernel); destination(d5); }};"
    );
    let Some(root) = run_both("file-options", |daemon, dir| {
        for i in 1..=4 {
            fs::write(dir.join(format!("in{i}.log")), MIXED).unwrap();
        }
        fs::write(dir.join("in5.log"), KERNEL).unwrap();
        let d = start(daemon, dir, &config);
        wait_lines(&dir.join("out5.log"), 4, 10);
        wait_lines(&dir.join("out1.log"), MIXED_COUNT, 10);
        wait_lines(&dir.join("out2.log"), MIXED_COUNT, 10);
        wait_lines(&dir.join("out3.log"), MIXED_COUNT, 10);
        wait_lines(&dir.join("out4.log"), MIXED_COUNT, 10);
        std::thread::sleep(Duration::from_millis(800));
        stop(d);
    }) else {
        return;
    };
    for i in 1..=5 {
        compare(root.path(), &format!("out{i}.log"), false);
    }
}

#[test]
fn restart_continues_from_the_saved_position() {
    let config = format!(
        "source s {{ file(\"@DIR@/in.log\" follow-freq(0.2)); }};\n\
         destination d {{ file(\"@DIR@/out.log\" template(\"{FIELDS}\")); }};\n\
         log {{ source(s); destination(d); }};"
    );
    let Some(root) = run_both("file-restart", |daemon, dir| {
        fs::write(dir.join("in.log"), MIXED).unwrap();
        let d = start(daemon, dir, &config);
        wait_lines(&dir.join("out.log"), MIXED_COUNT, 10);
        std::thread::sleep(Duration::from_millis(500));
        stop(d);
        // Written while the daemon is down: the partial line is completed, more lines follow.
        append(&dir.join("in.log"), APPENDED);
        let d = start(daemon, dir, &config);
        wait_lines(&dir.join("out.log"), MIXED_COUNT + 3, 10);
        append(&dir.join("in.log"), b"after the restart\n");
        wait_lines(&dir.join("out.log"), MIXED_COUNT + 4, 10);
        std::thread::sleep(Duration::from_millis(500));
        stop(d);
    }) else {
        return;
    };
    assert_eq!(compare(root.path(), "out.log", false), MIXED_COUNT + 4);
    let persist = fs::read_to_string(root.path().join("rsng/rsng.persist")).unwrap_or_default();
    assert!(persist.contains("affile_sd_curpos("), "rsng's persist file has no file position:\n{persist}");
}

#[test]
fn multi_line_modes() {
    const INPUT: &[u8] = b"first line\n  continued\n\ttab continued\nsecond line\n\nSTART one\nmore of one\nSTART two END trailing\nx\nSTART three\nend GARBAGE here\nthird\n  cont\nlast\n";
    let config = "source s_ind { file(\"@DIR@/in1.log\" follow-freq(0.2) flags(no-parse) multi-line-mode(indented)); };\n\
         source s_pg { file(\"@DIR@/in2.log\" follow-freq(0.2) flags(no-parse) multi-line-mode(prefix-garbage) multi-line-prefix(\"^START\") multi-line-garbage(\"GARBAGE\")); };\n\
         source s_ps { file(\"@DIR@/in3.log\" follow-freq(0.2) flags(no-parse) multi-line-mode(prefix-suffix) multi-line-prefix(\"^START\") multi-line-suffix(\"END\")); };\n\
         source s_parsed { file(\"@DIR@/in4.log\" follow-freq(0.2) multi-line-mode(indented)); };\n\
         destination d1 { file(\"@DIR@/out1.log\" template(\"[$MSG]\\n\")); };\n\
         destination d2 { file(\"@DIR@/out2.log\" template(\"[$MSG]\\n\")); };\n\
         destination d3 { file(\"@DIR@/out3.log\" template(\"[$MSG]\\n\")); };\n\
         destination d4 { file(\"@DIR@/out4.log\" template(\"[$PROGRAM|$MSG]\\n\")); };\n\
         log { source(s_ind); destination(d1); };\n\
         log { source(s_pg); destination(d2); };\n\
         log { source(s_ps); destination(d3); };\n\
         log { source(s_parsed); destination(d4); };";
    let Some(root) = run_both("file-multiline", |daemon, dir| {
        for i in 1..=4 {
            fs::write(dir.join(format!("in{i}.log")), INPUT).unwrap();
        }
        let d = start(daemon, dir, config);
        for i in 1..=4 {
            wait_lines(&dir.join(format!("out{i}.log")), 3, 10);
        }
        std::thread::sleep(Duration::from_millis(1000));
        stop(d);
    }) else {
        return;
    };
    for i in 1..=4 {
        compare(root.path(), &format!("out{i}.log"), false);
    }
}

#[test]
fn wildcard_file_source() {
    let config = format!(
        "source s {{ wildcard-file(base-dir(\"@DIR@/in\") filename-pattern(\"*.log\") recursive(yes) follow-freq(0.2)); }};\n\
         source s_legacy {{ file(\"@DIR@/legacy/*.txt\" follow-freq(0.2)); }};\n\
         destination d {{ file(\"@DIR@/out.log\" template(\"{FIELDS}\")); }};\n\
         destination d_legacy {{ file(\"@DIR@/legacy.out\" template(\"{FIELDS}\")); }};\n\
         log {{ source(s); destination(d); }};\n\
         log {{ source(s_legacy); destination(d_legacy); }};"
    );
    let Some(root) = run_both("file-wildcard", |daemon, dir| {
        fs::create_dir_all(dir.join("in/sub")).unwrap();
        fs::create_dir_all(dir.join("legacy")).unwrap();
        fs::write(dir.join("in/a.log"), b"<13>Jan  1 00:00:01 h a: one\n<13>Jan  1 00:00:02 h a: two\n").unwrap();
        fs::write(dir.join("in/b.txt"), b"<13>Jan  1 00:00:03 h b: not matched\n").unwrap();
        fs::write(dir.join("in/sub/c.log"), b"<13>Jan  1 00:00:04 h c: in a subdirectory\n").unwrap();
        fs::write(dir.join("legacy/x.txt"), b"<13>Jan  1 00:00:05 h x: legacy\n").unwrap();
        let d = start(daemon, dir, &config);
        wait_lines(&dir.join("out.log"), 3, 10);
        // A file created while running is found too.
        fs::write(dir.join("in/d.log"), b"<13>Jan  1 00:00:06 h d: created later\n").unwrap();
        append(&dir.join("in/a.log"), b"<13>Jan  1 00:00:07 h a: three\n");
        wait_lines(&dir.join("out.log"), 5, 10);
        wait_lines(&dir.join("legacy.out"), 1, 10);
        std::thread::sleep(Duration::from_millis(800));
        stop(d);
    }) else {
        return;
    };
    assert_eq!(compare(root.path(), "out.log", true), 5);
    assert_eq!(compare(root.path(), "legacy.out", true), 1);
}

/// Every file and directory under `dir`: relative path, mode, owner, group, and contents.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            let kind = if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else if meta.file_type().is_symlink() {
                format!("link->{}", fs::read_link(&path).unwrap().display())
                    .replace(&dir.display().to_string(), "<DIR>")
            } else {
                format!("{:?}", String::from_utf8_lossy(&fs::read(&path).unwrap()))
            };
            out.push(format!("{rel} {:o} {}:{} {kind}", meta.permissions().mode() & 0o7777, meta.uid(), meta.gid()));
        }
    }
    out.sort();
    out
}

#[test]
fn destination_paths_directories_and_permissions() {
    const INPUT: &[u8] = b"<13>Jan  1 00:00:01 hostA progA: one\n<13>Jan  1 00:00:02 hostB progB: two\n<13>Jan  1 00:00:03 hostA progB: three\n<13>Jan  1 00:00:04 hostA progA: four\n";
    let config = "options { keep-hostname(yes); };\n\
         source s { file(\"@DIR@/in.log\" follow-freq(0.2)); };\n\
         destination d_tree { file(\"@DIR@/out/$HOST/$PROGRAM.log\" create-dirs(yes) perm(0640) dir-perm(0750) owner(\"nobody\") group(\"daemon\") template(\"$MSG\\n\")); };\n\
         destination d_existing { file(\"@DIR@/out/existing.log\" template(\"$MSG\\n\")); };\n\
         destination d_old { file(\"@DIR@/out/old.log\" overwrite-if-older(60) symlink-as(\"@DIR@/out/current.log\") template(\"$MSG\\n\")); };\n\
         destination d_flush { file(\"@DIR@/out/flushed.log\" flush-lines(2) fsync(yes)); };\n\
         destination d_5424 { file(\"@DIR@/rfc5424.log\" flags(syslog-protocol)); };\n\
         log { source(s); destination(d_tree); destination(d_existing); destination(d_old); destination(d_flush); destination(d_5424); };";
    let Some(root) = run_both("file-dest-tree", |daemon, dir| {
        fs::write(dir.join("in.log"), INPUT).unwrap();
        fs::create_dir_all(dir.join("out")).unwrap();
        let existing = dir.join("out/existing.log");
        fs::write(&existing, b"kept\n").unwrap();
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o644)).unwrap();
        let old = dir.join("out/old.log");
        fs::write(&old, b"stale content\n").unwrap();
        let touched = Command::new("touch").arg("-d").arg("2 hours ago").arg(&old).status().unwrap();
        assert!(touched.success());
        let d = start(daemon, dir, config);
        wait_lines(&dir.join("out/existing.log"), 5, 10);
        wait_lines(&dir.join("out/flushed.log"), 4, 10);
        wait_lines(&dir.join("rfc5424.log"), 4, 10);
        std::thread::sleep(Duration::from_millis(800));
        stop(d);
    }) else {
        return;
    };
    let oracle = tree(&root.path().join("syslog-ng/out"));
    let rsng = tree(&root.path().join("rsng/out"));
    let masked = |t: Vec<String>| -> Vec<String> {
        // The default-format file has receive stamps only on its own lines; compare its mode.
        t.into_iter()
            .map(|l| if l.starts_with("flushed.log ") { l[..l.find('"').unwrap_or(l.len())].to_string() } else { l })
            .collect()
    };
    assert_eq!(masked(rsng), masked(oracle), "destination trees differ (left: rsng, right: syslog-ng)");
    compare(root.path(), "out/flushed.log", false);
    compare(root.path(), "rfc5424.log", false);
}

#[test]
fn idle_files_are_reaped_and_reopened() {
    let config = "source s { file(\"@DIR@/in.log\" follow-freq(0.2)); };\n\
         destination d { file(\"@DIR@/out-$PROGRAM.log\" time-reap(1) template(\"$MSG\\n\")); };\n\
         log { source(s); destination(d); };";
    let Some(root) = run_both("file-reap", |daemon, dir| {
        fs::write(dir.join("in.log"), b"<13>Jan  1 00:00:01 h prog: one\n").unwrap();
        let d = start(daemon, dir, config);
        let out = dir.join("out-prog.log");
        wait_lines(&out, 1, 10);
        // Closed after a second without messages; the next message opens the path again.
        std::thread::sleep(Duration::from_millis(2500));
        fs::rename(&out, dir.join("rotated.log")).unwrap();
        append(&dir.join("in.log"), b"<13>Jan  1 00:00:02 h prog: two\n");
        wait_lines(&out, 1, 10);
        std::thread::sleep(Duration::from_millis(500));
        stop(d);
    }) else {
        return;
    };
    assert_eq!(compare(root.path(), "out-prog.log", false), 1);
    assert_eq!(compare(root.path(), "rotated.log", false), 1);
}

#[test]
fn pipe_source_and_destination() {
    let config = format!(
        "source s_pipe {{ pipe(\"@DIR@/in.fifo\"); }};\n\
         source s_file {{ file(\"@DIR@/in.log\" follow-freq(0.2)); }};\n\
         destination d_from_pipe {{ file(\"@DIR@/from-pipe.log\" template(\"{FIELDS}\")); }};\n\
         destination d_pipe {{ pipe(\"@DIR@/out.fifo\" template(\"$MSG\\n\")); }};\n\
         log {{ source(s_pipe); destination(d_from_pipe); }};\n\
         log {{ source(s_file); destination(d_pipe); }};"
    );
    let Some(root) = run_both("pipe", |daemon, dir| {
        fs::write(dir.join("in.log"), b"<13>Jan  1 00:00:01 h p: to the pipe\n<13>Jan  1 00:00:02 h p: second\n")
            .unwrap();
        let fifo = dir.join("out.fifo");
        assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        // Open for reading and writing so that opening does not wait for the daemon.
        let reader = fs::OpenOptions::new().read(true).write(true).open(&fifo).unwrap();
        let collected = dir.join("from-out-fifo.log");
        let target = collected.clone();
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut reader = reader;
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                append(&target, &buf[..n]);
            }
        });
        let d = start(daemon, dir, &config);
        let input = dir.join("in.fifo");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !input.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        {
            use std::io::Write as _;
            let mut w = fs::OpenOptions::new().write(true).open(&input).expect("open in.fifo");
            w.write_all(
                b"<13>Jan  1 00:00:01 h piped: one\nno hostname expected here\n<13>Jan  1 00:00:02 piped2: two\n",
            )
            .unwrap();
        }
        wait_lines(&dir.join("from-pipe.log"), 3, 10);
        wait_lines(&collected, 2, 10);
        std::thread::sleep(Duration::from_millis(500));
        stop(d);
    }) else {
        return;
    };
    assert_eq!(compare(root.path(), "from-pipe.log", false), 3);
    assert_eq!(compare(root.path(), "from-out-fifo.log", false), 2);
    for d in [Daemon::Oracle, Daemon::Rsng] {
        let meta = fs::metadata(root.path().join(d.name()).join("in.fifo")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600, "{} made in.fifo with another mode", d.name());
    }
}

#[test]
fn program_source_and_destination() {
    let config = format!(
        "source s_prog {{ program(\"cat @DIR@/prog-in.txt; exec sleep 60\"); }};\n\
         source s_file {{ file(\"@DIR@/in.log\" follow-freq(0.2)); }};\n\
         destination d_from_prog {{ file(\"@DIR@/from-prog.log\" template(\"{FIELDS}\")); }};\n\
         destination d_prog {{ program(\"cat >> @DIR@/to-prog.log\" template(\"$PROGRAM: $MSG\\n\")); }};\n\
         destination d_env {{ program(\"echo \\\"[$HOME]\\\" >> @DIR@/env.log; cat > /dev/null\" inherit-environment(no)); }};\n\
         log {{ source(s_prog); destination(d_from_prog); }};\n\
         log {{ source(s_file); destination(d_prog); destination(d_env); }};"
    );
    let Some(root) = run_both("program", |daemon, dir| {
        fs::write(dir.join("prog-in.txt"), b"<13>Jan  1 00:00:01 h fromprog[7]: one\nplain output line\n").unwrap();
        fs::write(dir.join("in.log"), b"<13>Jan  1 00:00:01 h p1: first\n<13>Jan  1 00:00:02 h p2: second\n").unwrap();
        let d = start(daemon, dir, &config);
        wait_lines(&dir.join("from-prog.log"), 2, 10);
        wait_lines(&dir.join("to-prog.log"), 2, 10);
        append(&dir.join("in.log"), b"<13>Jan  1 00:00:03 h p3: third\n");
        wait_lines(&dir.join("to-prog.log"), 3, 10);
        wait_lines(&dir.join("env.log"), 1, 10);
        std::thread::sleep(Duration::from_millis(500));
        stop(d);
    }) else {
        return;
    };
    assert_eq!(compare(root.path(), "from-prog.log", false), 2);
    assert_eq!(compare(root.path(), "to-prog.log", false), 3);
    assert_eq!(compare(root.path(), "env.log", false), 1);
}

#[test]
fn stdin_source_reads_to_the_end_and_stops() {
    let Some(root) = run_both("stdin", |daemon, dir| {
        use std::io::Write as _;
        let conf = dir.join("stdin.conf");
        let config = format!(
            "{HEADER}source s {{ stdin(); }};\n\
             destination d {{ file(\"{}/out.log\" template(\"{FIELDS}\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            dir.display()
        );
        fs::write(&conf, config).unwrap();
        let bin = match daemon {
            Daemon::Oracle => oracle_bin(),
            Daemon::Rsng => rsng_bin().to_path_buf(),
        };
        let mut child = Command::new(bin)
            .arg("-F")
            .arg("-f")
            .arg(&conf)
            .arg("-R")
            .arg(dir.join("persist"))
            .arg("-p")
            .arg(dir.join("pid"))
            .arg("-c")
            .arg(dir.join("ctl"))
            .arg("--no-caps")
            .env("TZ", "UTC")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the daemon");
        {
            let mut input = child.stdin.take().expect("stdin");
            // Both daemons read once they are up; the pipe holds the input until then.
            input.write_all(b"<13>Jan  1 00:00:01 h p: one\ntwo\nlast without a newline").unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!("{} did not stop at the end of its standard input", daemon.name());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }) else {
        return;
    };
    assert_eq!(compare(root.path(), "out.log", false), 3);
}

/// Runs rsng on `config` expecting it to refuse to start; returns its error output. With
/// `syntax_only_too`, `--syntax-only` must give the same verdict with the same error line, and
/// not warn about the refused option as ignored.
fn rsng_refuses(config: &str, syntax_only_too: bool) -> String {
    let tmp = TempDir::new("file-refuse").expect("tempdir");
    let conf = tmp.path().join("rsng.conf");
    fs::write(&conf, format!("{HEADER}{}\n", config.replace("@DIR@", &tmp.path().display().to_string()))).unwrap();
    let mut cmd = Command::new(rsng_bin());
    cmd.arg("-F").arg("-f").arg(&conf).arg("-R").arg(tmp.path().join("p")).arg("-p").arg(tmp.path().join("pid"));
    let out = run_with_timeout(cmd, tmp.path(), Duration::from_secs(10)).expect("run rsng");
    assert_eq!(out.code, Some(1), "rsng started although it should refuse; stderr:\n{}", out.stderr);
    let mut check = Command::new(rsng_bin());
    check.arg("--syntax-only").arg("-f").arg(&conf);
    let checked = run_with_timeout(check, tmp.path(), Duration::from_secs(10)).expect("run rsng --syntax-only");
    if syntax_only_too {
        assert_eq!(checked.code, Some(1), "--syntax-only accepts what start-up refuses:\n{}", out.stderr);
        let error = out.stderr.lines().find(|l| l.starts_with("rsng:")).expect("an error line");
        assert!(checked.stderr.contains(error), "--syntax-only gives another error:\n{}", checked.stderr);
        assert!(!checked.stderr.contains("ignored"), "a refused option is also warned about:\n{}", checked.stderr);
    } else {
        // Refusals that depend on the system (the file's type), as syslog-ng's init makes them.
        assert_eq!(checked.code, Some(0), "--syntax-only: {}", checked.stderr);
    }
    out.stderr
}

#[test]
fn options_rsng_does_not_run_are_refused() {
    let cases = [
        ("source s { file(\"@DIR@/x\" flags(store-raw-message)); }; log { source(s); };", "store-raw-message", true),
        ("source s { file(\"@DIR@/x\" encoding(\"latin2\")); }; log { source(s); };", "encoding", true),
        ("source s { wildcard-file(filename-pattern(\"*.log\")); }; log { source(s); };", "base-dir", true),
        ("source s { file(\"@DIR@/x\" follow-freq(0)); }; log { source(s); };", "follow_freq", false),
    ];
    for (config, word, syntax_only_too) in cases {
        let err = rsng_refuses(config, syntax_only_too);
        assert!(err.contains(word), "the error does not name `{word}`:\n{err}");
    }
}

#[test]
fn usertty_without_logins_writes_nothing() {
    let tmp = TempDir::new("file-usertty").expect("tempdir");
    let dir = tmp.path();
    fs::write(dir.join("in.log"), b"<13>Jan  1 00:00:01 h p: to every terminal\n").unwrap();
    let config = "source s { file(\"@DIR@/in.log\" follow-freq(0.2)); };\n\
         destination d_tty { usertty(\"nobody-logged-in-with-this-name\"); usertty(\"*\"); };\n\
         destination d { file(\"@DIR@/out.log\" template(\"$MSG\\n\")); };\n\
         log { source(s); destination(d_tty); destination(d); };";
    let d = start(Daemon::Rsng, dir, config);
    wait_lines(&dir.join("out.log"), 1, 10);
    assert_eq!(lines_in(&dir.join("out.log")), 1);
    stop(d);
}
