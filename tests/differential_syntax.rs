//! Differential tests of `rsng --syntax-only` against syslog-ng 3.38 `--syntax-only`.
//!
//! - `corpus`: real-world configurations (`tests/corpus/{public,wild}`, rows of `MANIFEST.tsv` with
//!   kind `full` and a 3.38 verdict of `ok` or `error`). Asserts that the verdicts agree on at least
//!   95% of the files and the first error line on at least 90% of the files both reject at a
//!   location in the file itself. The full report goes to `target/differential-corpus.txt`.
//! - `cases`: small hand-written files (`tests/cases/syntax/*.conf`); verdict and error line must
//!   agree exactly, except for the cases listed in `EXPECTED_DIFFERENCES.tsv`.
//!
//! Both tools always run live, side by side, on the same file in the same environment: some
//! configurations name key files, users or list files whose existence decides the verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rsng_tests::{
    base_name, clip, copy_dir, oracle_bin, oracle_skipped, package_dir, parallel_map, read_tsv, rsng_bin, run_oracle,
    run_rsng, target_dir, TempDir, Verdict,
};

const MIN_VERDICT_AGREEMENT: f64 = 95.0;
const MIN_LINE_AGREEMENT: f64 = 90.0;
/// syslog-ng takes ~50 ms per file; CI has two cores.
const WORKERS: usize = 3;
const CASE_DIR_TOKEN: &str = "@CASEDIR@";

/// Returns false (after saying so) when the differential tests are switched off.
fn oracle_available() -> bool {
    if oracle_skipped() {
        eprintln!("RSNG_SKIP_ORACLE=1: skipping the differential test");
        return false;
    }
    oracle_bin();
    rsng_bin();
    true
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn has_version_pragma(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("@version"))
}

/// One corpus file to check.
struct CorpusEntry {
    /// `public/NAME.conf` or `wild/NAME.conf`.
    key: String,
    path: PathBuf,
    manifest_verdict: String,
}

/// Both verdicts for one corpus file.
struct CorpusResult {
    oracle: Verdict,
    rsng: Verdict,
    /// The oracle saw a copy with `@version: 3.38` prepended (its lines are shifted back).
    version_added: bool,
}

impl CorpusResult {
    fn verdict_agrees(&self) -> bool {
        !self.rsng.crashed && self.oracle.ok == self.rsng.ok
    }

    /// `Some(agree)` when both reject and syslog-ng located the error in the file itself.
    fn line_agrees(&self, file_name: &str) -> Option<bool> {
        if self.oracle.ok || self.rsng.ok || self.rsng.crashed {
            return None;
        }
        let line = self.oracle.line?;
        if self.oracle.file_name()? != file_name {
            return None;
        }
        Some(self.rsng.file_name() == Some(file_name) && self.rsng.line == Some(line))
    }
}

fn corpus_entries() -> Vec<CorpusEntry> {
    let root = package_dir().join("corpus");
    let mut entries = Vec::new();
    for set in ["public", "wild"] {
        let manifest = root.join(set).join("MANIFEST.tsv");
        let rows = read_tsv(&manifest).unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
        for row in rows {
            let [file, _origin, kind, _tls, verdict, ..] = row.as_slice() else {
                panic!("{}: malformed row {row:?}", manifest.display());
            };
            if kind == "full" && (verdict == "ok" || verdict == "error") {
                entries.push(CorpusEntry {
                    key: format!("{set}/{file}"),
                    path: root.join(set).join(file),
                    manifest_verdict: verdict.clone(),
                });
            }
        }
    }
    entries
}

fn check_corpus_file(entry: &CorpusEntry) -> CorpusResult {
    let text = fs::read(&entry.path).unwrap_or_else(|e| panic!("cannot read {}: {e}", entry.path.display()));
    let rsng = run_rsng(&entry.path);
    if has_version_pragma(&String::from_utf8_lossy(&text)) {
        return CorpusResult { oracle: run_oracle(&entry.path), rsng, version_added: false };
    }
    // syslog-ng 3.38 refuses files without @version; compare the rest of the file instead.
    let dir = TempDir::new("corpus").expect("temporary directory");
    let copy = dir.path().join(entry.path.file_name().expect("file name"));
    let mut patched = b"@version: 3.38\n".to_vec();
    patched.extend_from_slice(&text);
    fs::write(&copy, patched).expect("write the versioned copy");
    let mut oracle = run_oracle(&copy);
    if oracle.file_name() == copy.file_name().and_then(|n| n.to_str()) {
        oracle.line = oracle.line.map(|l| l.saturating_sub(1));
        oracle.file = Some(entry.path.display().to_string());
    }
    CorpusResult { oracle, rsng, version_added: true }
}

fn row(out: &mut String, key: &str, result: &CorpusResult, note: &str) {
    let _ = writeln!(
        out,
        "{key}{note}\n    syslog-ng: {:<22} {}\n    rsng:      {:<22} {}",
        result.oracle.summary() + if result.version_added { " (+@version)" } else { "" },
        clip(&result.oracle.message, 160),
        result.rsng.summary(),
        clip(&result.rsng.message, 160),
    );
}

#[test]
fn corpus() {
    if !oracle_available() {
        return;
    }
    let entries = corpus_entries();
    assert!(!entries.is_empty(), "no corpus entries found under {}", package_dir().join("corpus").display());
    let known: BTreeMap<String, String> = read_tsv(&package_dir().join("corpus/KNOWN_DIFFERENCES.tsv"))
        .expect("tests/corpus/KNOWN_DIFFERENCES.tsv")
        .into_iter()
        .filter_map(|r| Some((r.first()?.clone(), r.get(1).cloned().unwrap_or_default())))
        .collect();
    let is_known = |e: &CorpusEntry| known.get(&e.key).or_else(|| known.get(base_name(&e.key))).cloned();

    let results = parallel_map(&entries, WORKERS, check_corpus_file);

    let (mut verdict_agree, mut line_counted, mut line_agree) = (0, 0, 0);
    let (mut stale_manifest, mut crashes) = (0, Vec::new());
    let mut disagreements = String::new();
    let mut documented = String::new();
    for (entry, result) in entries.iter().zip(&results) {
        assert!(!result.oracle.crashed, "{}: {}", entry.key, result.oracle.message);
        let name = base_name(&entry.key);
        let verdict_ok = result.verdict_agrees();
        let line_ok = result.line_agrees(name);
        verdict_agree += usize::from(verdict_ok);
        line_counted += usize::from(line_ok.is_some());
        line_agree += usize::from(line_ok == Some(true));
        if result.rsng.crashed {
            crashes.push(format!("{}: {}", entry.key, result.rsng.message));
        }
        let live = if result.oracle.ok { "ok" } else { "error" };
        if !result.version_added && live != entry.manifest_verdict {
            stale_manifest += 1;
        }
        if verdict_ok && line_ok != Some(false) {
            continue;
        }
        let what = if verdict_ok { " [line differs]" } else { " [verdict differs]" };
        match is_known(entry) {
            Some(reason) => row(&mut documented, &entry.key, result, &format!("{what} — {reason}")),
            None => row(&mut disagreements, &entry.key, result, what),
        }
    }

    let total = entries.len();
    let verdict_pct = percent(verdict_agree, total);
    let line_pct = percent(line_agree, line_counted);
    let mut report = String::new();
    let _ = writeln!(report, "rsng vs syslog-ng 3.38 --syntax-only on the config corpus\n");
    let _ = writeln!(report, "== Disagreements ==");
    report.push_str(if disagreements.is_empty() { "(none)\n" } else { &disagreements });
    let _ = writeln!(report, "\n== Documented differences (tests/corpus/KNOWN_DIFFERENCES.tsv) ==");
    report.push_str(if documented.is_empty() { "(none)\n" } else { &documented });
    let _ = writeln!(report, "\n== Totals ==");
    let _ = writeln!(report, "files counted:       {total} (kind=full, 3.38 verdict ok|error)");
    let _ = writeln!(
        report,
        "oracle run with an added @version line: {}",
        results.iter().filter(|r| r.version_added).count()
    );
    let _ = writeln!(
        report,
        "verdict agreement:   {verdict_agree}/{total} = {verdict_pct:.1}% (required {MIN_VERDICT_AGREEMENT}%)"
    );
    let _ = writeln!(
        report,
        "error-line agreement: {line_agree}/{line_counted} = {line_pct:.1}% (required {MIN_LINE_AGREEMENT}%; \
         files both reject with a syslog-ng location in the file itself)"
    );
    let _ = writeln!(report, "rsng crashes/timeouts: {}", crashes.len());
    let _ = writeln!(report, "live syslog-ng verdict differs from MANIFEST.tsv: {stale_manifest} (informational)");
    println!("{report}");
    let out = target_dir().join("differential-corpus.txt");
    let _ = fs::create_dir_all(target_dir());
    match fs::write(&out, &report) {
        Ok(()) => println!("report written to {}", out.display()),
        Err(e) => println!("could not write {}: {e}", out.display()),
    }

    assert!(crashes.is_empty(), "rsng crashed or timed out:\n{}", crashes.join("\n"));
    assert!(
        verdict_pct >= MIN_VERDICT_AGREEMENT,
        "verdict agreement {verdict_pct:.1}% is below {MIN_VERDICT_AGREEMENT}% (see the report above)"
    );
    assert!(
        line_pct >= MIN_LINE_AGREEMENT,
        "error-line agreement {line_pct:.1}% is below {MIN_LINE_AGREEMENT}% (see the report above)"
    );
}

/// A case whose rsng verdict is meant to differ from syslog-ng's.
struct ExpectedDifference {
    rsng_ok: bool,
    reason: String,
}

fn expected_differences(dir: &Path) -> BTreeMap<String, ExpectedDifference> {
    let path = dir.join("EXPECTED_DIFFERENCES.tsv");
    let rows = read_tsv(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    rows.into_iter()
        .map(|row| {
            let [file, verdict, reason, ..] = row.as_slice() else {
                panic!("{}: expected file<TAB>ok|error<TAB>reason, got {row:?}", path.display());
            };
            let rsng_ok = match verdict.as_str() {
                "ok" => true,
                "error" => false,
                other => panic!("{}: verdict must be ok or error, got {other:?}", path.display()),
            };
            (file.clone(), ExpectedDifference { rsng_ok, reason: reason.clone() })
        })
        .collect()
}

/// Copies the cases to a temporary directory and replaces `@CASEDIR@` with its absolute path
/// (syslog-ng resolves relative `@include`s only through `include-path`).
fn materialize_cases(from: &Path, to: &Path) {
    copy_dir(from, to).expect("copy the case directory");
    fn substitute(dir: &Path, root: &str) {
        for entry in fs::read_dir(dir).expect("read case directory").flatten() {
            let path = entry.path();
            if path.is_dir() {
                substitute(&path, root);
            } else if let Ok(text) = fs::read_to_string(&path) {
                if text.contains(CASE_DIR_TOKEN) {
                    fs::write(&path, text.replace(CASE_DIR_TOKEN, root)).expect("write case");
                }
            }
        }
    }
    substitute(to, to.to_str().expect("temporary directory path is UTF-8"));
}

#[test]
fn cases() {
    if !oracle_available() {
        return;
    }
    let source = package_dir().join("cases/syntax");
    let expected = expected_differences(&source);
    let work = TempDir::new("cases").expect("temporary directory");
    let dir = work.path().join("syntax");
    materialize_cases(&source, &dir);

    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("read cases")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "expected the syntax cases in {}", source.display());
    for name in expected.keys() {
        assert!(names.contains(name), "EXPECTED_DIFFERENCES.tsv names a missing case {name}");
    }

    let results = parallel_map(&names, WORKERS, |name| {
        let path = dir.join(name);
        (run_oracle(&path), run_rsng(&path))
    });

    let mut failures = Vec::new();
    let mut table = String::new();
    for (name, (oracle, rsng)) in names.iter().zip(&results) {
        assert!(!oracle.crashed, "{name}: {}", oracle.message);
        let problem = match expected.get(name) {
            _ if rsng.crashed => Some("rsng crashed".to_string()),
            Some(diff) if rsng.ok != diff.rsng_ok => {
                Some(format!("expected rsng verdict {} ({})", if diff.rsng_ok { "ok" } else { "error" }, diff.reason))
            }
            Some(_) => None,
            None if oracle.ok != rsng.ok => Some("verdicts differ".to_string()),
            None if !oracle.ok
                && oracle.line.is_some()
                && (oracle.line != rsng.line || oracle.file_name() != rsng.file_name()) =>
            {
                Some("error locations differ".to_string())
            }
            None => None,
        };
        let mark = if problem.is_some() { "FAIL" } else { "pass" };
        let _ = writeln!(
            table,
            "{mark} {name:<36} syslog-ng: {:<40} rsng: {:<40} {}",
            oracle.summary(),
            rsng.summary(),
            problem.as_deref().unwrap_or("")
        );
        if let Some(problem) = problem {
            failures.push(format!(
                "{name}: {problem}\n    syslog-ng: {} — {}\n    rsng:      {} — {}",
                oracle.summary(),
                clip(&oracle.message, 200),
                rsng.summary(),
                clip(&rsng.message, 200)
            ));
        }
    }
    println!("{table}");
    println!("{} cases, {} failed", names.len(), failures.len());
    assert!(failures.is_empty(), "{} of {} syntax cases failed:\n{}", failures.len(), names.len(), failures.join("\n"));
}

/// Fragments of the corpus (rows of kind `fragment` with a 3.38 verdict), checked the way the
/// corpus was: wrapped in `@version: 3.38` and `@include "scl.conf"`. Fragments often refer to
/// objects defined elsewhere, which rsng reports as undefined references (a documented
/// difference), so these count separately; the verdicts must still agree on nine in ten.
#[test]
fn corpus_fragments() {
    if !oracle_available() {
        return;
    }
    let work = TempDir::new("fragments").expect("temp dir");
    let mut files = Vec::new();
    for set in ["public", "wild"] {
        let dir = package_dir().join("corpus").join(set);
        for row in read_tsv(&dir.join("MANIFEST.tsv")).expect("manifest").into_iter().skip(1) {
            if row.len() < 5 || row[2] != "fragment" || !matches!(row[4].as_str(), "ok" | "error") {
                continue;
            }
            let text = fs::read_to_string(dir.join(&row[0])).expect("fragment");
            let path = work.path().join(format!("{set}__{}", row[0]));
            fs::write(&path, format!("@version: 3.38\n@include \"scl.conf\"\n{text}")).expect("write");
            files.push(path);
        }
    }
    let results = parallel_map(&files, WORKERS, |path| (run_oracle(path), run_rsng(path)));
    let mut agree = 0;
    let mut report = String::new();
    for (path, (theirs, ours)) in files.iter().zip(&results) {
        assert!(!ours.crashed, "rsng crashed on {}: {}", path.display(), ours.message);
        if theirs.ok == ours.ok {
            agree += 1;
        } else {
            let _ = writeln!(
                report,
                "{}\n    syslog-ng: {}  {}\n    rsng:      {}  {}",
                base_name(&path.to_string_lossy()),
                theirs.summary(),
                clip(&theirs.message, 100),
                ours.summary(),
                clip(&ours.message, 100)
            );
        }
    }
    let share = percent(agree, files.len());
    println!("{report}fragments: verdict agreement {agree}/{} = {share:.1}%", files.len());
    assert!(files.len() > 100, "fragments found");
    assert!(share >= 90.0, "fragment verdict agreement {share:.1}% is below 90%");
}
