//! `cargo xtask link-order`: which functions the release `rsng` runs, in the order the linker
//! puts them at the start of its code.
//!
//! The kernel maps a program's code in runs of 64 KiB or more (fault-around, large page-cache
//! folios) around each page it executes, so functions that run scattered among the ones that
//! never do keep most of the code resident. rsng runs under callgrind here, starting up and
//! receiving over TLS, TCP and UDP, forwarding over TLS and writing files, answering `STATS` and
//! stopping; every function of the binary that ran goes into `crates/rsng/link-order.txt`,
//! which `crates/rsng/build.rs` hands to the linker (`--symbol-ordering-file`) for release
//! builds. Names that no longer exist are skipped by the linker, so a stale file costs memory,
//! never correctness; run this again after larger changes.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::pipeline_bench::{count_lines, free_port, make_certificate};

const USAGE: &str = "\
usage: cargo xtask link-order [--no-build]

Runs the release rsng under valgrind's callgrind (start-up; TLS, TCP and UDP sources; a TLS
network() destination; file() destinations; STATS; stop) and writes every function of the binary
that ran to crates/rsng/link-order.txt, the linker's symbol ordering for release builds.
Needs valgrind and openssl. --no-build uses the existing target/release binaries.";

const FILE_HEADER: &str = "\
# Functions of the release rsng that run at start-up and on the usual message paths, written by
# `cargo xtask link-order`; crates/rsng/build.rs passes this file to the linker so that they lie
# together at the start of the code and keep few pages resident. Stale names are skipped.
";

pub fn run(args: &[String]) -> Result<(), String> {
    let mut build = true;
    for arg in args {
        match arg.as_str() {
            "--no-build" => build = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    if !crate::on_path("valgrind") {
        return Err("valgrind is needed (Debian package `valgrind`)".into());
    }
    if build {
        crate::run(&crate::cargo(), &["build", "--release", "-p", "rsng", "-p", "rsng-loadgen"], &[])?;
    }
    let target = xtask::package::target_dir();
    let rsng = target.join("release/rsng");
    let loadgen = target.join("release/rsng-loadgen");
    let dir = target.join("link-order");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    make_certificate(&dir)?;

    let ran = functions_run(&rsng, &loadgen, &dir)?;
    let defined = text_symbols(&rsng)?;
    let order: Vec<&String> = ran.iter().filter(|name| defined.contains(*name)).collect();
    if order.len() < 100 {
        return Err(format!(
            "only {} functions of {} were seen running; is it a release build?",
            order.len(),
            rsng.display()
        ));
    }
    let out = crate::workspace_root().join("crates/rsng/link-order.txt");
    let mut text = String::from(FILE_HEADER);
    for name in &order {
        text.push_str(name);
        text.push('\n');
    }
    fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("{} functions written to {}", order.len(), out.display());
    Ok(())
}

/// The names of every function callgrind saw running (mangled).
fn functions_run(rsng: &Path, loadgen: &Path, dir: &Path) -> Result<BTreeSet<String>, String> {
    let ports = [free_port(false), free_port(false), free_port(true), free_port(false)];
    let (tls_in, tcp_in, udp_in, relay_in) = (ports[0], ports[1], ports[2], ports[3]);
    let tls = format!(
        "transport(\"tls\") tls(key-file(\"{0}/key.pem\") cert-file(\"{0}/cert.pem\") peer-verify(optional-untrusted))",
        dir.display()
    );
    let conf = format!(
        "@version: 3.38\n\
         options {{ use-dns(no); dns-cache(no); keep-hostname(yes); stats-freq(0); stats-level(1); }};\n\
         source s_tls {{ network(ip(127.0.0.1) port({tls_in}) {tls} flags(syslog-protocol)); }};\n\
         source s_tcp {{ network(ip(127.0.0.1) port({tcp_in}) transport(\"tcp\")); }};\n\
         source s_udp {{ network(ip(127.0.0.1) port({udp_in}) transport(\"udp\")); }};\n\
         source s_relay {{ syslog(ip(127.0.0.1) port({relay_in}) {tls}); }};\n\
         destination d_file {{ file(\"{out}/out\"); }};\n\
         destination d_relay {{ syslog(\"127.0.0.1\" port({relay_in}) transport(\"tls\") tls(peer-verify(optional-untrusted))); }};\n\
         log {{ source(s_tls); source(s_udp); source(s_relay); destination(d_file); flags(flow-control); }};\n\
         log {{ source(s_tcp); destination(d_relay); flags(flow-control); }};\n",
        out = dir.display()
    );
    let conf_path = dir.join("profile.conf");
    fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let ctl = dir.join("ctl");
    let profile = dir.join("callgrind.out");
    let mut valgrind = Command::new("valgrind");
    valgrind
        .args(["--tool=callgrind", "--demangle=no"])
        .arg(format!("--callgrind-out-file={}", profile.display()))
        .arg(rsng);
    let mut daemon = crate::daemon::start(valgrind, &conf_path, dir, Duration::from_secs(120), "rsng under valgrind")?;
    let send = |transport: &str, format: &str, connections: &str, count: u64, port: u16| {
        Command::new(loadgen)
            .args(["--transport", transport, "--format", format, "--connections", connections, "--size", "300"])
            .args(["--count", &count.to_string()])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("rsng-loadgen: {e}"))
    };
    let mut expected = 0;
    for (transport, format, connections, count, port) in [
        ("tls", "rfc5424", "4", 20_000, tls_in),
        ("tcp", "rfc3164", "2", 20_000, tcp_in),
        ("udp", "rfc3164", "1", 2_000, udp_in),
    ] {
        send(transport, format, connections, count, port)?;
        expected += count;
        // Slow under valgrind: let each load arrive before the next, so each path runs alone
        // for a while; UDP may lose some in the kernel, which does not matter here.
        let out = dir.join("out");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut last = (0, Instant::now());
        while count_lines(&out) < expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(500));
            let now = count_lines(&out);
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(10) {
                break;
            }
        }
        expected = count_lines(&out);
    }
    if let Ok(mut stream) = UnixStream::connect(&ctl) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = stream.write_all(b"STATS\n");
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if line == "." {
                break;
            }
        }
    }
    // No kill after a grace period: callgrind writes its profile as the program exits.
    let _ = Command::new("kill").arg("-TERM").arg(daemon.id().to_string()).status();
    let _ = daemon.wait();
    let text = fs::read_to_string(&profile).map_err(|e| format!("{}: {e}", profile.display()))?;
    // callgrind names a function once, at its first mention as `fn=(N) name` or `cfn=(N) name`;
    // a `'N` suffix marks a recursion depth.
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("fn=(").or_else(|| line.strip_prefix("cfn=(")) else { continue };
        let Some((_, name)) = rest.split_once(") ") else { continue };
        let name = match name.rsplit_once('\'') {
            Some((base, depth)) if depth.bytes().all(|b| b.is_ascii_digit()) => base,
            _ => name,
        };
        names.insert(name.to_string());
    }
    Ok(names)
}

/// The function symbols `nm` finds in the binary.
fn text_symbols(binary: &Path) -> Result<BTreeSet<String>, String> {
    let out = Command::new("nm").arg("--defined-only").arg(binary).output().map_err(|e| format!("nm: {e}"))?;
    if !out.status.success() {
        return Err(format!("nm {} failed", binary.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, kind, name) = (fields.next()?, fields.next()?, fields.next()?);
            matches!(kind, "t" | "T" | "w" | "W").then(|| name.to_string())
        })
        .collect())
}
