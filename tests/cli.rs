//! The command line behaves as syslog-ng's does where users and scripts depend on it: exit
//! codes, `--preprocess-into`, `-V`, and located errors on standard error.

use std::fs;
use std::process::Command;

use rsng_tests::{rsng_bin, run_with_timeout, TempDir, TOOL_TIMEOUT};

fn rsng(dir: &std::path::Path, args: &[&str]) -> rsng_tests::Output {
    let mut cmd = Command::new(rsng_bin());
    cmd.args(args).env("NO_COLOR", "1");
    run_with_timeout(cmd, dir, TOOL_TIMEOUT).expect("run rsng")
}

#[test]
fn exit_codes_follow_syslog_ng() {
    let dir = TempDir::new("cli").expect("temp dir");
    let good = dir.path().join("good.conf");
    let bad = dir.path().join("bad.conf");
    fs::write(&good, "@version: 3.38\nsource s { internal(); };\nlog { source(s); };\n").expect("write");
    fs::write(&bad, "@version: 3.38\nsource s { internal() };\n").expect("write");
    let ok = rsng(dir.path(), &["--syntax-only", "-f", good.to_str().expect("utf-8 path")]);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    let err = rsng(dir.path(), &["-s", "-f", bad.to_str().expect("utf-8 path")]);
    assert_eq!(err.code, Some(1));
    assert!(err.stderr.contains("bad.conf:2:23"), "located error: {}", err.stderr);
    let missing = rsng(dir.path(), &["-s", "-f", "/nonexistent/rsng.conf"]);
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("cannot read configuration file"), "{}", missing.stderr);
    let flag = rsng(dir.path(), &["--no-such-flag"]);
    assert_eq!(flag.code, Some(1), "a bad command line exits with 1, as in syslog-ng");
    let version = rsng(dir.path(), &["-V"]);
    assert_eq!(version.code, Some(0));
    assert!(version.stdout.contains("Config version: 3.38"), "{}", version.stdout);
}

#[test]
fn preprocess_into_writes_the_expanded_configuration() {
    let dir = TempDir::new("cli").expect("temp dir");
    let conf = dir.path().join("main.conf");
    let out = dir.path().join("expanded.conf");
    fs::write(
        &conf,
        // The body on lines of its own: on the header line, `name` would be substituted (with
        // nothing) when the line is read, as syslog-ng does.
        "@version: 3.38\n@define dir \"/var/log\"\nblock destination d(name()) {\n  file(\"`dir`/`name`\");\n};\n\
         destination dst { d(name(\"x.log\")); };\n",
    )
    .expect("write");
    let run = rsng(
        dir.path(),
        &["--preprocess-into", out.to_str().expect("utf-8 path"), "-f", conf.to_str().expect("utf-8 path")],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = fs::read_to_string(&out).expect("written");
    assert!(text.contains("file(\"/var/log/x.log\")"), "{text}");
    assert!(text.contains("@version: 3.38"), "pragma lines are kept: {text}");
    // The expanded text is itself a valid configuration.
    let again = rsng(dir.path(), &["-s", "-f", out.to_str().expect("utf-8 path")]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
}
