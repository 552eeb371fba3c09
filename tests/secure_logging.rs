//! `$(slog)` (syslog-ng's secure logging) against syslog-ng 3.38's `slogkey` and `slogverify`
//! (Debian's `syslog-ng-mod-slog`): keys made by `slogkey`, entries written by rsng, and by
//! syslog-ng and rsng in turn on the same key and MAC files, decrypt and verify with `slogverify`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rsng_tests::{oracle_skipped, Daemon, RunningDaemon, TempDir};

const SLOGKEY: &str = "/usr/bin/slogkey";
const SLOGVERIFY: &str = "/usr/bin/slogverify";

fn have_slog() -> bool {
    let present = Path::new(SLOGKEY).exists() && Path::new("/usr/lib/syslog-ng/3.38/libsecure-logging.so").exists();
    if oracle_skipped() || !present {
        assert!(oracle_skipped(), "syslog-ng-mod-slog is missing: cargo xtask test installs it");
        return false;
    }
    true
}

fn run_ok(program: &str, args: &[&Path], dir: &Path) -> String {
    let out = Command::new(program).args(args).current_dir(dir).output().expect(program);
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A host key derived from a new master key, and the verifier's copy of it.
fn make_keys(dir: &Path) {
    run_ok(SLOGKEY, &[Path::new("-m"), &dir.join("master.key")], dir);
    run_ok(
        SLOGKEY,
        &[Path::new("-d"), &dir.join("master.key"), Path::new("host"), Path::new("serial"), &dir.join("host.key")],
        dir,
    );
    fs::copy(dir.join("host.key"), dir.join("verify.key")).expect("copy key");
}

fn config(dir: &Path, first: usize, count: usize) -> String {
    format!(
        r#"@version: 3.38
source s {{ example-msg-generator(num({count}) freq(0) template("entry $(iterate $(+ 1 $_) {first})")); }};
destination d {{ file("{out}" template("$(slog -k {key} -m {mac} $MSG)\n")); }};
log {{ source(s); destination(d); }};
"#,
        out = dir.join("secure.log").display(),
        key = dir.join("host.key").display(),
        mac = dir.join("host.mac").display(),
    )
}

/// Runs `daemon` until `secure.log` has `lines` lines.
fn write_entries(daemon: Daemon, dir: &Path, first: usize, count: usize, lines: usize) {
    let run_dir = dir.join(format!("run-{}-{first}", daemon.name()));
    fs::create_dir_all(&run_dir).expect("run dir");
    let text = config(dir, first, count);
    let (running, _, _) = RunningDaemon::start(daemon, &run_dir, 0, 0, |_| text.clone());
    let path = dir.join("secure.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::read_to_string(&path).unwrap_or_default().lines().count() < lines && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(running.stop(), "{} did not stop", daemon.name());
    assert_eq!(fs::read_to_string(&path).expect("secure.log").lines().count(), lines, "{}", daemon.name());
}

/// `slogverify`'s decryption of `secure.log`, and whether it found the aggregated MAC matching.
fn verify(dir: &Path) -> (Vec<String>, String) {
    let out = Command::new(SLOGVERIFY)
        .arg("-k")
        .arg(dir.join("verify.key"))
        .arg("-m")
        .arg(dir.join("host.mac"))
        .arg(dir.join("secure.log"))
        .arg(dir.join("plain.txt"))
        .output()
        .expect("slogverify");
    let report = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let plain = fs::read_to_string(dir.join("plain.txt")).unwrap_or_default();
    (plain.lines().map(String::from).collect(), report)
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:020}: entry {i}")).collect()
}

#[test]
fn rsng_entries_verify_with_slogverify() {
    if !have_slog() {
        return;
    }
    let tmp = TempDir::new("slog-rsng").expect("tempdir");
    make_keys(tmp.path());
    write_entries(Daemon::Rsng, tmp.path(), 0, 3, 3);
    let log = fs::read_to_string(tmp.path().join("secure.log")).expect("secure.log");
    assert!(!log.contains("entry"), "clear text in the encrypted log:\n{log}");
    // The entry numbers are the base64 of the little-endian counter.
    let counters: Vec<&str> = log.lines().map(|l| l.split(':').next().unwrap_or_default()).collect();
    assert_eq!(counters, ["AAAAAAAAAAA=", "AQAAAAAAAAA=", "AgAAAAAAAAA="]);
    // A restart goes on from the evolved key and the counter in the key file.
    write_entries(Daemon::Rsng, tmp.path(), 3, 2, 5);
    let (plain, report) = verify(tmp.path());
    assert_eq!(plain, expected(5), "{report}");
    assert!(report.contains("Aggregated MAC matches"), "{report}");
}

#[test]
fn syslog_ng_and_rsng_continue_each_others_logs() {
    if !have_slog() {
        return;
    }
    let tmp = TempDir::new("slog-both").expect("tempdir");
    make_keys(tmp.path());
    write_entries(Daemon::Oracle, tmp.path(), 0, 2, 2);
    write_entries(Daemon::Rsng, tmp.path(), 2, 2, 4);
    write_entries(Daemon::Oracle, tmp.path(), 4, 1, 5);
    let (plain, report) = verify(tmp.path());
    assert_eq!(plain, expected(5), "{report}");
    assert!(report.contains("Aggregated MAC matches"), "{report}");
}

#[test]
fn a_changed_entry_fails_verification() {
    if !have_slog() {
        return;
    }
    let tmp = TempDir::new("slog-tamper").expect("tempdir");
    make_keys(tmp.path());
    write_entries(Daemon::Rsng, tmp.path(), 0, 3, 3);
    let path = tmp.path().join("secure.log");
    let log = fs::read_to_string(&path).expect("secure.log");
    // Drop the middle entry: the aggregated MAC no longer matches.
    let kept: Vec<&str> = log.lines().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| l).collect();
    fs::write(&path, kept.join("\n") + "\n").expect("rewrite");
    let (_, report) = verify(tmp.path());
    assert!(!report.contains("Aggregated MAC matches"), "{report}");
}

#[test]
fn a_missing_key_file_is_a_template_error_naming_it() {
    let tmp = TempDir::new("slog-nokey").expect("tempdir");
    let conf = tmp.path().join("nokey.conf");
    fs::write(&conf, config(tmp.path(), 0, 1)).expect("config");
    let out = Command::new(rsng_tests::rsng_bin()).arg("--syntax-only").arg("-f").arg(&conf).output().expect("rsng");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Invalid path or non existing regular file"), "{text}");
    assert!(text.contains(&tmp.path().join("host.key").display().to_string()), "{text}");
}
