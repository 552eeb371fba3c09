//! `cargo xtask light`: syslog-ng 3.38's own functional test suite ("Light", `tests/light/` of its
//! source, taken from Debian's source package) run against rsng and against syslog-ng, with a
//! table of the results side by side.
//!
//! The suite finds the daemon through `--installdir`: `sbin/syslog-ng`, `sbin/syslog-ng-ctl` and
//! `bin/loggen` (plus `bin/slogkey`/`bin/slogverify` for the secure-logging test) under one
//! prefix. rsng's prefix has rsng itself as `sbin/syslog-ng` (a symbolic link to the release
//! binary, nothing in between) and Debian's `syslog-ng-ctl` and `loggen`; syslog-ng's prefix links
//! Debian's binaries. Everything lives under `target/light/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{is_root, on_path, run, step, workspace_root};

/// What the suite and its set-up need beyond the oracle: `dpkg-source` (to unpack the source
/// package), a Python venv, and the syslog-ng modules some tests load (for syslog-ng's column).
const PACKAGES: [(&str, &str); 7] = [
    ("/usr/bin/dpkg-source", "dpkg-dev"),
    ("/usr/lib/syslog-ng/3.38/libexamples.so", "syslog-ng-mod-examples"),
    ("/usr/lib/syslog-ng/3.38/libgraphite.so", "syslog-ng-mod-graphite"),
    ("/usr/bin/slogkey", "syslog-ng-mod-slog"),
    ("/usr/sbin/syslog-ng", "syslog-ng-core"),
    // The SNMP tests: snmp() against a private snmptrapd.
    ("/usr/lib/syslog-ng/3.38/libafsnmp.so", "syslog-ng-mod-snmp"),
    ("/usr/sbin/snmptrapd", "snmptrapd"),
];

/// The suite's Python dependencies (its tox.ini), from PyPI.
const PYTHON_PACKAGES: [&str; 3] = ["pytest", "psutil", "pathlib2"];

const USAGE: &str = "\
usage: cargo xtask light [-k EXPR]

Fetches syslog-ng 3.38's functional test suite from Debian's source package into target/light/,
runs it against rsng and against syslog-ng, and prints a table: test, result on syslog-ng, result
on rsng, reason. -k selects tests by pytest expression.";

pub fn run_light(args: &[String]) -> Result<(), String> {
    let mut select = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-k" => select = Some(rest.next().ok_or("-k needs an expression")?.clone()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let root = workspace_root();
    let light = root.join("target/light");
    fs::create_dir_all(&light).map_err(|e| format!("cannot create {}: {e}", light.display()))?;

    step("installing what the suite needs");
    ensure_packages()?;
    step("building rsng");
    run(&super::cargo(), &["build", "--release", "-p", "rsng"], &[])?;
    step("fetching the suite from Debian's source package");
    let suite = fetch_suite(&light)?;
    step("setting up the Python environment");
    let python = venv(&light)?;
    step("building the install prefixes");
    let rsng_bin = root.join("target/release/rsng");
    let rsng_prefix = prefix(&light.join("prefix-rsng"), &rsng_bin)?;
    let oracle_prefix = prefix(&light.join("prefix-syslog-ng"), Path::new(super::ORACLE))?;

    let mut results = Vec::new();
    for (name, prefix) in [("syslog-ng", &oracle_prefix), ("rsng", &rsng_prefix)] {
        step(&format!("running the suite against {name}"));
        let report = light.join(format!("results-{name}.xml"));
        let _ = fs::remove_file(&report);
        run_suite(&python, &suite, prefix, &report, select.as_deref())?;
        let text = fs::read_to_string(&report).map_err(|e| format!("no results from the {name} run: {e}"))?;
        results.push(parse_junit(&text));
    }
    print_table(&results[0], &results[1]);
    Ok(())
}

/// Installs the packages that are missing (apt; root or sudo).
fn ensure_packages() -> Result<(), String> {
    let mut missing: Vec<&str> =
        PACKAGES.iter().filter(|(path, _)| !Path::new(path).exists()).map(|(_, p)| *p).collect();
    if !super::run_quietly("python3", &["-c", "import ensurepip, venv"]) {
        missing.push("python3-venv");
    }
    if missing.is_empty() {
        return Ok(());
    }
    apt(&["update"])?;
    let mut install = vec!["install", "-y"];
    install.extend_from_slice(&missing);
    apt(&install)
}

fn apt(args: &[&str]) -> Result<(), String> {
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    if is_root() {
        run("apt-get", args, &env)
    } else if on_path("sudo") {
        let mut full = vec!["DEBIAN_FRONTEND=noninteractive", "apt-get"];
        full.extend_from_slice(args);
        run("sudo", &full, &[])
    } else {
        Err("installing packages needs root, and sudo is not available".into())
    }
}

/// Unpacks syslog-ng's Debian source package (once) and returns its `tests/light` folder.
fn fetch_suite(light: &Path) -> Result<PathBuf, String> {
    let src = light.join("src");
    if let Some(found) = find_suite(&src) {
        println!("already fetched: {}", found.display());
        return Ok(found);
    }
    let _ = fs::remove_dir_all(&src);
    fs::create_dir_all(&src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    // A deb-src entry only for this call: the system's own list is left as it was.
    let list = Path::new("/etc/apt/sources.list.d/rsng-light-src.sources");
    fs::write(list, deb_src_entries()?).map_err(|e| format!("cannot write {}: {e} (needs root)", list.display()))?;
    let only_this = format!("Dir::Etc::sourcelist={}", list.display());
    let result = apt(&["update", "-o", &only_this, "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0"])
        .and_then(|()| {
            println!("+ apt-get source syslog-ng (in {})", src.display());
            let status = Command::new("apt-get")
                .args(["source", "syslog-ng"])
                .current_dir(&src)
                .status()
                .map_err(|e| format!("cannot run apt-get: {e}"))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("apt-get source syslog-ng failed ({status})"))
            }
        });
    let _ = fs::remove_file(list);
    result?;
    find_suite(&src).ok_or_else(|| format!("no tests/light in the unpacked source under {}", src.display()))
}

fn find_suite(src: &Path) -> Option<PathBuf> {
    fs::read_dir(src).ok()?.flatten().map(|e| e.path().join("tests/light")).find(|p| p.join("conftest.py").is_file())
}

/// `deb-src` twins of the system's Debian `deb` entries (deb822 `.sources` files).
fn deb_src_entries() -> Result<String, String> {
    let mut out = String::new();
    let dir = Path::new("/etc/apt/sources.list.d");
    for entry in fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "sources") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_default();
        for stanza in text.split("\n\n") {
            let debian = stanza.lines().any(|l| l.starts_with("URIs:") && l.contains("debian"));
            if debian && stanza.lines().any(|l| l.trim() == "Types: deb") {
                out.push_str(&stanza.replace("Types: deb", "Types: deb-src"));
                out.push_str("\n\n");
            }
        }
    }
    if out.is_empty() {
        return Err("no Debian entry in /etc/apt/sources.list.d/*.sources to derive a deb-src entry from".into());
    }
    Ok(out)
}

/// A venv with the suite's Python packages; returns its interpreter.
fn venv(light: &Path) -> Result<PathBuf, String> {
    let venv = light.join("venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let venv_path = venv.display().to_string();
        run("python3", &["-m", "venv", &venv_path], &[])?;
    }
    let python_path = python.display().to_string();
    let mut args = vec!["-m", "pip", "install", "--quiet"];
    args.extend_from_slice(&PYTHON_PACKAGES);
    run(&python_path, &["-c", "import pytest, psutil, pathlib2"], &[]).or_else(|_| {
        let mut full = vec![python_path.as_str()];
        full.extend_from_slice(&args);
        run(full[0], &full[1..], &[])
    })?;
    Ok(python)
}

/// An install prefix whose `sbin/syslog-ng` is `daemon`, with Debian's tools beside it.
fn prefix(dir: &Path, daemon: &Path) -> Result<PathBuf, String> {
    let links = [
        ("sbin/syslog-ng", daemon.to_path_buf()),
        ("sbin/syslog-ng-ctl", PathBuf::from("/usr/sbin/syslog-ng-ctl")),
        ("bin/loggen", PathBuf::from("/usr/bin/loggen")),
        ("bin/slogkey", PathBuf::from("/usr/bin/slogkey")),
        ("bin/slogverify", PathBuf::from("/usr/bin/slogverify")),
    ];
    for (name, target) in links {
        let link = dir.join(name);
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link)
            .map_err(|e| format!("cannot link {} to {}: {e}", link.display(), target.display()))?;
    }
    Ok(dir.to_path_buf())
}

/// Runs the suite; failing tests are expected (the table shows them), so only a run that
/// produced no report is an error.
fn run_suite(python: &Path, suite: &Path, prefix: &Path, report: &Path, select: Option<&str>) -> Result<(), String> {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pytest", "functional_tests", "-p", "no:cacheprovider", "-q", "-rN"])
        .arg(format!("--installdir={}", prefix.display()))
        .arg(format!("--junitxml={}", report.display()))
        .current_dir(suite);
    if let Some(expr) = select {
        cmd.args(["-k", expr]);
    }
    println!("+ {cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run pytest: {e}"))?;
    println!("pytest exited with {status}");
    Ok(())
}

/// One test's outcome.
#[derive(Debug, Clone)]
struct Outcome {
    result: &'static str,
    reason: String,
}

/// Test name (`file.py::test[param]`) → outcome, from pytest's JUnit XML.
fn parse_junit(xml: &str) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    for case in xml.split("<testcase ").skip(1) {
        let head_end = case.find('>').unwrap_or(case.len());
        let head = &case[..head_end];
        let body = case.split("</testcase>").next().unwrap_or(case);
        let class = attr(head, "classname").unwrap_or_default();
        let name = attr(head, "name").unwrap_or_default();
        let file = class.rsplit('.').next().unwrap_or(&class);
        let (result, tag) = if body.contains("<failure") {
            ("FAIL", "<failure")
        } else if body.contains("<error") {
            ("ERROR", "<error")
        } else if body.contains("<skipped") {
            ("skip", "<skipped")
        } else {
            ("pass", "")
        };
        let reason = if tag.is_empty() {
            String::new()
        } else {
            body.split(tag)
                .nth(1)
                .and_then(|rest| attr(rest.split('>').next().unwrap_or(""), "message"))
                .unwrap_or_default()
        };
        out.insert(format!("{file}::{name}"), Outcome { result, reason });
    }
    out
}

/// The unescaped value of XML attribute `name` in `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\"")).or_else(|| tag.strip_prefix(&format!("{name}=\"")).map(|_| 0))?;
    let value_start = tag[start..].find('"')? + start + 1;
    let value_end = tag[value_start..].find('"')? + value_start;
    Some(
        tag[value_start..value_end]
            .replace("&#10;", " ")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn print_table(oracle: &BTreeMap<String, Outcome>, ours: &BTreeMap<String, Outcome>) {
    let names: std::collections::BTreeSet<&String> = oracle.keys().chain(ours.keys()).collect();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(4).min(90);
    println!("\n{:<width$}  {:<9}  {:<6}  reason (rsng)", "test", "syslog-ng", "rsng");
    let missing = Outcome { result: "-", reason: String::new() };
    for name in &names {
        let o = oracle.get(*name).unwrap_or(&missing);
        let r = ours.get(*name).unwrap_or(&missing);
        let mut reason: String = r.reason.chars().take(100).collect();
        if reason.len() < r.reason.len() {
            reason.push('…');
        }
        println!("{name:<width$}  {:<9}  {:<6}  {reason}", o.result, r.result);
    }
    let passed = |m: &BTreeMap<String, Outcome>| m.values().filter(|o| o.result == "pass").count();
    println!("\npassed: syslog-ng {}/{}, rsng {}/{}", passed(oracle), oracle.len(), passed(ours), ours.len());
}
