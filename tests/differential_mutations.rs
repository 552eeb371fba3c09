//! Broken configurations: real configurations that syslog-ng 3.38 accepts, each with one token
//! deleted, doubled, replaced, inserted or swapped (a fixed pseudo-random sequence), checked by
//! both tools. rsng must refuse what syslog-ng refuses and name the same line nearly always.

use std::fs;

use rsng_tests::{package_dir, parallel_map, read_tsv, run_oracle, run_rsng, TempDir};

const MUTANTS: usize = 240;
const WORKERS: usize = 3;

/// A small deterministic generator (xorshift64*), so every run checks the same mutants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Token ranges of a configuration: strings, words, and the punctuation that shapes statements.
/// Pragma lines are left alone.
fn tokens(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if line_start && b == b'@' || b == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        line_start = b == b'\n';
        let start = i;
        match b {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.push((start, i));
            }
            b'{' | b'}' | b'(' | b')' | b';' => {
                i += 1;
                out.push((start, i));
            }
            _ if b.is_ascii_alphanumeric() || b"_-.$/".contains(&b) => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"_-.$/".contains(&bytes[i])) {
                    i += 1;
                }
                out.push((start, i));
            }
            _ => i += 1,
        }
    }
    out
}

fn mutate(text: &str, rng: &mut Rng) -> Option<String> {
    const INSERTS: &[&str] =
        &[";", "}", "{", "(", ")", "source", "log", "filter", "yes", "\"x\"", "42", "and", "level(err)"];
    let toks = tokens(text);
    if toks.len() < 2 {
        return None;
    }
    let (s, e) = toks[rng.below(toks.len())];
    let insert = INSERTS[rng.below(INSERTS.len())];
    Some(match rng.below(5) {
        0 => format!("{}{}", &text[..s], &text[e..]),
        1 => format!("{} {}{}", &text[..e], &text[s..e], &text[e..]),
        2 => format!("{}{insert} {}", &text[..s], &text[s..]),
        3 => format!("{}{insert}{}", &text[..s], &text[e..]),
        _ => {
            let (s2, e2) = toks[rng.below(toks.len())];
            let ((a0, a1), (b0, b1)) = if s < s2 { ((s, e), (s2, e2)) } else { ((s2, e2), (s, e)) };
            if a1 > b0 {
                return None;
            }
            format!("{}{}{}{}{}", &text[..a0], &text[b0..b1], &text[a1..b0], &text[a0..a1], &text[b1..])
        }
    })
}

#[test]
fn broken_configurations_are_refused_where_syslog_ng_refuses_them() {
    if rsng_tests::oracle_skipped() {
        return;
    }
    // Seeds: full configurations that syslog-ng 3.38 accepts, with an explicit @version.
    let mut seeds = Vec::new();
    for set in ["public", "wild"] {
        let dir = package_dir().join("corpus").join(set);
        for row in read_tsv(&dir.join("MANIFEST.tsv")).expect("manifest").into_iter().skip(1) {
            if row.len() >= 5 && row[2] == "full" && row[4] == "ok" {
                let text = fs::read_to_string(dir.join(&row[0])).expect("config");
                if text.lines().any(|l| l.starts_with("@version")) {
                    seeds.push(text);
                }
            }
        }
    }
    assert!(seeds.len() > 50, "seeds found");
    let work = TempDir::new("mutants").expect("temp dir");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut files = Vec::new();
    while files.len() < MUTANTS {
        let seed = &seeds[rng.below(seeds.len())];
        if let Some(text) = mutate(seed, &mut rng) {
            let path = work.path().join(format!("m{}.conf", files.len()));
            fs::write(&path, text).expect("write mutant");
            files.push(path);
        }
    }
    let results = parallel_map(&files, WORKERS, |path| (run_oracle(path), run_rsng(path)));
    let (mut verdicts, mut both_refused, mut same_line) = (0, 0, 0);
    let mut report = String::new();
    for (path, (theirs, ours)) in files.iter().zip(&results) {
        assert!(!ours.crashed, "rsng crashed on {}: {}", path.display(), ours.message);
        let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
        if theirs.ok == ours.ok {
            verdicts += 1;
        } else {
            report.push_str(&format!(
                "{name}: syslog-ng {} / rsng {}: {}\n",
                theirs.summary(),
                ours.summary(),
                ours.message
            ));
        }
        let same_file = theirs.file_name().is_some() && theirs.file_name() == ours.file_name();
        if !theirs.ok && !ours.ok && theirs.line.is_some() && same_file {
            both_refused += 1;
            if theirs.line == ours.line {
                same_line += 1;
            } else {
                report.push_str(&format!(
                    "{name}: line {:?} / {:?}: {} / {}\n",
                    theirs.line, ours.line, theirs.message, ours.message
                ));
            }
        }
    }
    let verdict_share = 100.0 * verdicts as f64 / files.len() as f64;
    let line_share = 100.0 * same_line as f64 / both_refused.max(1) as f64;
    println!(
        "{report}mutants: verdicts agree {verdicts}/{} = {verdict_share:.1}%, error lines agree {same_line}/{both_refused} = {line_share:.1}%",
        files.len()
    );
    assert!(verdict_share >= 95.0, "verdict agreement {verdict_share:.1}% is below 95%");
    assert!(line_share >= 85.0, "error-line agreement {line_share:.1}% is below 85%");
}
