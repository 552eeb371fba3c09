//! Two used destinations with the same persist name (the same file, the same server, the same
//! `persist-name()`): syslog-ng 3.38 refuses to start, naming the persist name; rsng refuses
//! them with the same name, at `--syntax-only` already and at start-up. Duplicates that no log
//! path uses, or that `persist-name()` tells apart, start in both.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rsng_tests::{oracle_bin, oracle_skipped, rsng_bin, run_with_timeout, TempDir};

/// `(exit code, stderr)` of starting `program` in the foreground on `conf`; `None` as the code
/// when it was still running after 3 s (it started).
fn start(program: &Path, conf: &Path, dir: &Path) -> (Option<i32>, String) {
    let mut cmd = Command::new(program);
    cmd.arg("-F").arg("-f").arg(conf).arg("--no-caps");
    for (flag, file) in [("-p", "pid"), ("-c", "ctl"), ("-R", "persist")] {
        cmd.arg(flag).arg(dir.join(file));
    }
    let out = run_with_timeout(cmd, dir, Duration::from_secs(3)).expect("run");
    (out.code, out.stderr)
}

fn persist_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> =
        text.split("persist_name='").skip(1).filter_map(|rest| rest.split('\'').next().map(String::from)).collect();
    names.sort();
    names.dedup();
    names
}

const CASES: &[(&str, &str, &[&str])] = &[
    (
        "same file and same server",
        "destination d1 { file(\"DIR/out\"); };\ndestination d2 { file(\"DIR/out\"); };\n\
         destination d3 { network(\"127.0.0.1\" port(5555)); };\ndestination d4 { syslog(\"127.0.0.1\" port(5555) transport(\"tcp\")); };\n\
         log { source(s); destination(d1); destination(d2); destination(d3); destination(d4); };\n",
        &["affile_dd_writers(DIR/out)", "afsocket_dd.(stream,127.0.0.1:5555)"],
    ),
    (
        "same persist-name()",
        "destination d1 { file(\"DIR/a\" persist-name(\"p\")); };\ndestination d2 { file(\"DIR/b\" persist-name(\"p\")); };\n\
         log { source(s); destination(d1); destination(d2); };\n",
        &["affile_dd.p.writers"],
    ),
    (
        "same unix socket and same udp server",
        "destination d1 { unix-dgram(\"DIR/sock\"); };\ndestination d2 { unix-dgram(\"DIR/sock\"); };\n\
         destination d3 { udp(\"127.0.0.1\" port(5514)); };\ndestination d4 { network(\"127.0.0.1\" port(5514) transport(\"udp\")); };\n\
         log { source(s); destination(d1); destination(d2); destination(d3); destination(d4); };\n",
        &["afsocket_dd.(dgram,127.0.0.1:5514)", "afsocket_dd.(dgram,localhost.afunix:DIR/sock)"],
    ),
    (
        "an unused duplicate",
        "destination d1 { file(\"DIR/out\"); };\ndestination d2 { file(\"DIR/out\"); };\n\
         log { source(s); destination(d1); };\n",
        &[],
    ),
    (
        "told apart by persist-name()",
        "destination d1 { file(\"DIR/out\"); };\ndestination d2 { file(\"DIR/out\" persist-name(\"second\")); };\n\
         log { source(s); destination(d1); destination(d2); };\n",
        &[],
    ),
];

#[test]
fn conflicting_persist_names_are_refused_as_syslog_ng_refuses_them() {
    if oracle_skipped() {
        return;
    }
    for (what, body, expected) in CASES {
        let tmp = TempDir::new("persist-names").unwrap();
        let dir = tmp.path();
        let text =
            format!("@version: 3.38\nsource s {{ internal(); }};\n{body}").replace("DIR", &dir.display().to_string());
        let conf = dir.join("test.conf");
        std::fs::write(&conf, &text).unwrap();
        let expected: Vec<String> = expected.iter().map(|n| n.replace("DIR", &dir.display().to_string())).collect();

        let (oracle_code, oracle_err) = start(&oracle_bin(), &conf, dir);
        let (rsng_code, rsng_err) = start(rsng_bin(), &conf, dir);
        let check = Command::new(rsng_bin()).arg("--syntax-only").arg("-f").arg(&conf).output().unwrap();
        let check_err = String::from_utf8_lossy(&check.stderr).into_owned();
        if expected.is_empty() {
            assert_eq!(oracle_code, None, "{what}: syslog-ng did not start: {oracle_err}");
            assert_eq!(rsng_code, None, "{what}: rsng did not start: {rsng_err}");
            assert!(check.status.success(), "{what}: {check_err}");
            continue;
        }
        // syslog-ng fails at initialization (exit 2); rsng refuses the configuration (exit 1).
        assert_eq!(oracle_code, Some(2), "{what}: syslog-ng started: {oracle_err}");
        assert_eq!(persist_names(&oracle_err), expected, "{what}: syslog-ng said {oracle_err}");
        assert_eq!(rsng_code, Some(1), "{what}: rsng started: {rsng_err}");
        assert_eq!(persist_names(&rsng_err), expected, "{what}: rsng said {rsng_err}");
        assert_eq!(check.status.code(), Some(1), "{what}: --syntax-only passed");
        assert_eq!(persist_names(&check_err), expected, "{what}: --syntax-only said {check_err}");
        assert!(check_err.contains("test.conf:"), "{what}: no location in {check_err}");
    }
}
