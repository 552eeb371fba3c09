//! Shared by the TLS end-to-end tests: the generated PKI and small file helpers.

#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rsng_tests::TempDir;
pub use rsng_transport::tls::test_pki::TestPki;

/// One PKI per test binary (RSA key generation is the slow part).
pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<(TempDir, TestPki)> = OnceLock::new();
    &PKI.get_or_init(|| {
        let dir = TempDir::new("tls-pki").expect("temp dir");
        let pki = TestPki::generate(dir.path()).expect("generate the test PKI");
        (dir, pki)
    })
    .1
}

/// `tls(...)` options naming PKI files: `key`/`cert` are the base name of a pair.
pub fn identity(name: &str) -> String {
    let p = pki();
    format!("key-file(\"{}\") cert-file(\"{}\")", p.file(&format!("{name}.key")), p.file(&format!("{name}.pem")))
}

/// The lines of a file (none when it does not exist).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).map(|t| t.lines().map(String::from).collect()).unwrap_or_default()
}

/// Waits until `path` has at least `n` lines, at most `seconds`.
pub fn wait_lines(path: &Path, n: usize, seconds: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let l = lines(path);
        if l.len() >= n || Instant::now() > deadline {
            return l;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `count` numbered BSD syslog lines: `<13>Jan  1 00:00:00 sender app: {tag}-{i}`.
pub fn messages(tag: &str, count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        out.extend_from_slice(format!("<13>Jan  1 00:00:00 sender app: {tag}-{i}\n").as_bytes());
    }
    out
}

/// Checks that `lines` (as `PREFIX|MESSAGE`) hold `tag-0` .. `tag-{count-1}` exactly once each,
/// every one with `prefix`.
pub fn assert_exactly_once(lines: &[String], tag: &str, count: usize, prefix: &str) {
    let mut seen = vec![0usize; count];
    for line in lines {
        let (p, msg) = line.split_once('|').unwrap_or(("", line));
        assert_eq!(p, prefix, "unexpected peer identity in {line:?}");
        let n: usize = msg
            .strip_prefix(&format!("{tag}-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        assert!(n < count, "unexpected line {line:?}");
        seen[n] += 1;
    }
    let missing: Vec<usize> = seen.iter().enumerate().filter(|(_, &c)| c == 0).map(|(i, _)| i).collect();
    let doubled: Vec<usize> = seen.iter().enumerate().filter(|(_, &c)| c > 1).map(|(i, _)| i).collect();
    assert!(missing.is_empty() && doubled.is_empty(), "missing {missing:?}, duplicated {doubled:?}");
}
