//! `--preprocess-into`: rsng writes the same expanded configuration as syslog-ng 3.38 (included
//! files inlined, backticks substituted, blocks expanded between `#Start Block`/`#End Block`
//! markers), compared line by line with trailing whitespace ignored.

use std::fs;
use std::process::Command;

use rsng_tests::{oracle_bin, oracle_skipped, rsng_bin, run_with_timeout, TempDir, TOOL_TIMEOUT};

fn preprocess(tool: &std::path::Path, conf: &std::path::Path, out: &std::path::Path, dir: &std::path::Path) -> String {
    let mut cmd = Command::new(tool);
    cmd.arg(format!("--preprocess-into={}", out.display())).arg("-f").arg(conf).env("HOME", "/home/test");
    let result = run_with_timeout(cmd, dir, TOOL_TIMEOUT).expect("run");
    assert_eq!(result.code, Some(0), "{} failed on {}: {}", tool.display(), conf.display(), result.stderr);
    fs::read_to_string(out).expect("output written")
}

fn normalized(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim_end().to_string()).collect()
}

#[test]
fn preprocess_into_matches_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let cases = rsng_tests::package_dir().join("cases/preprocess");
    let work = TempDir::new("preprocess").expect("temp dir");
    rsng_tests::copy_dir(&cases, work.path()).expect("copy cases");
    let mut names: Vec<_> = fs::read_dir(work.path())
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    names.sort();
    assert!(names.len() >= 3, "cases present");
    let mut failures = Vec::new();
    for conf in &names {
        let text = fs::read_to_string(conf).expect("read case");
        fs::write(conf, text.replace("@CASEDIR@", &work.path().display().to_string())).expect("write case");
        let theirs = preprocess(&oracle_bin(), conf, &work.path().join("sng.out"), work.path());
        let ours = preprocess(rsng_bin(), conf, &work.path().join("rsng.out"), work.path());
        let (theirs, ours) = (normalized(&theirs), normalized(&ours));
        if theirs != ours {
            let first = theirs.iter().zip(&ours).position(|(a, b)| a != b).unwrap_or(theirs.len().min(ours.len()));
            failures.push(format!(
                "{}: first difference at line {}:\n  syslog-ng: {:?}\n  rsng:      {:?}",
                conf.file_name().unwrap_or_default().to_string_lossy(),
                first + 1,
                theirs.get(first),
                ours.get(first)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
