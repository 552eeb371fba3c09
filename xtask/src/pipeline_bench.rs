//! `cargo xtask bench pipeline`: message throughput and CPU per message, rsng beside syslog-ng.
//!
//! Both daemons run the same configuration (a TCP `network()` source writing every message to a
//! file with the default template). For each run, `loggen` (from syslog-ng-core) sends N messages
//! over several connections as fast as it can; the time runs from loggen's start until the
//! destination file holds N lines, and the daemon's CPU time (user + system, from
//! `/proc/PID/stat`) over the same span is divided by N. Runs alternate between the two daemons
//! so that machine noise hits both alike; the report gives medians and rsng/syslog-ng ratios.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LOGGEN: &str = "/usr/bin/loggen";

struct Settings {
    messages: usize,
    connections: usize,
    runs: usize,
    size: usize,
    build: bool,
    /// Over TLS (`transport("tls")`, loggen `--use-ssl`), with a certificate made for the run.
    tls: bool,
}

const USAGE: &str = "\
usage: cargo xtask bench pipeline [--messages N] [--connections N] [--runs N] [--size BYTES] [--tls] [--no-build]

Sends N messages with loggen over TCP to rsng and to syslog-ng (alternating runs) and reports
messages per second and CPU microseconds per message for each, with rsng/syslog-ng ratios.
";

pub fn run(args: &[&str]) -> Result<(), String> {
    let mut s = Settings { messages: 200_000, connections: 4, runs: 3, size: 256, build: true, tls: false };
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        let mut num = |what: &str| -> Result<usize, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{what} needs a number"))
        };
        match arg {
            "--messages" => s.messages = num("--messages")?,
            "--connections" => s.connections = num("--connections")?.max(1),
            "--runs" => s.runs = num("--runs")?.max(1),
            "--size" => s.size = num("--size")?.max(64),
            "--no-build" => s.build = false,
            "--tls" => s.tls = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    if !Path::new(LOGGEN).exists() {
        return Err(format!("{LOGGEN} is missing (Debian package syslog-ng-core)"));
    }
    let root = workspace_root();
    if s.build {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "rsng"])
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err("building rsng failed".into());
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let rsng = target.join("release/rsng");
    let syslog_ng = PathBuf::from("/usr/sbin/syslog-ng");
    let dir = root.join("target/bench/pipeline");
    let mut results: Vec<(&str, Vec<(f64, f64)>)> = vec![("syslog-ng", Vec::new()), ("rsng", Vec::new())];
    for run in 0..s.runs {
        for (i, (name, bin)) in [("syslog-ng", &syslog_ng), ("rsng", &rsng)].into_iter().enumerate() {
            let r = one_run(bin, &dir.join(format!("{name}-{run}")), &s)?;
            eprintln!("run {run} {name}: {:.0} msg/s, {:.2} us CPU/msg", r.0, r.1);
            results[i].1.push(r);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let mut report = format!(
        "pipeline: {} messages of {} bytes over {} {} connections, network() -> file(), {} runs each\n",
        s.messages,
        s.size,
        s.connections,
        if s.tls { "TLS" } else { "TCP" },
        s.runs
    );
    let mut med = Vec::new();
    for (name, rs) in &results {
        let mut rate: Vec<f64> = rs.iter().map(|r| r.0).collect();
        let mut cpu: Vec<f64> = rs.iter().map(|r| r.1).collect();
        let (rate, cpu) = (median(&mut rate), median(&mut cpu));
        report.push_str(&format!("  {name:<10} {rate:>10.0} msg/s  {cpu:>6.2} us CPU/msg (medians)\n"));
        med.push((rate, cpu));
    }
    report.push_str(&format!(
        "  rsng/syslog-ng: throughput {:.2}x, CPU per message {:.2}x\n",
        med[1].0 / med[0].0,
        med[1].1 / med[0].1
    ));
    print!("{report}");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    fs::write(dir.join("result.txt"), &report).map_err(|e| e.to_string())?;
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(26514)
}

/// CPU time (user + system) of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}

/// A self-signed certificate for the TLS runs, made with the `openssl` command.
fn make_certificate(dir: &Path) -> Result<(), String> {
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("openssl: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("openssl could not make a certificate".into())
    }
}

fn count_lines(path: &Path) -> usize {
    fs::read(path).map(|d| d.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0)
}

/// One timed run: (messages per second, CPU microseconds per message).
fn one_run(bin: &Path, dir: &Path, s: &Settings) -> Result<(f64, f64), String> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let port = free_port();
    let out = dir.join("out");
    let conf = dir.join("bench.conf");
    let transport = if s.tls {
        make_certificate(dir)?;
        format!(
            "transport(\"tls\") tls(key-file(\"{0}/key.pem\") cert-file(\"{0}/cert.pem\") peer-verify(optional-untrusted))",
            dir.display()
        )
    } else {
        String::new()
    };
    fs::write(
        &conf,
        format!(
            "@version: 3.38\noptions {{ use-dns(no); keep-hostname(yes); stats-freq(0); log-fifo-size(100000); }};\n\
             source s {{ network(ip(127.0.0.1) port({port}) max-connections(100) log-iw-size(100000) {transport}); }};\n\
             destination d {{ file(\"{}\"); }};\nlog {{ source(s); destination(d); flags(flow-control); }};\n",
            out.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut daemon: Child = Command::new(bin)
        .arg("-F")
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("pid"))
        .arg("-R")
        .arg(dir.join("persist"))
        .arg("-c")
        .arg(dir.join("ctl"))
        .arg("--no-caps")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let _ = daemon.kill();
            return Err(format!("{} did not listen on {port}", bin.display()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The probe connection above counts as one (empty) connection; let it settle.
    std::thread::sleep(Duration::from_millis(200));
    let cpu_before = cpu_seconds(daemon.id());
    let start = Instant::now();
    let per_conn = s.messages / s.connections;
    let total = per_conn * s.connections;
    let mut loggen = Command::new(LOGGEN);
    // loggen's TLS plugin is a transport of its own (TCP over IPv4 implied).
    if s.tls {
        loggen.arg("--use-ssl");
    } else {
        loggen.args(["--inet", "--stream"]);
    }
    let status = loggen
        .args(["--quiet", "--rate=100000000"])
        .arg(format!("--active-connections={}", s.connections))
        .arg(format!("--number={per_conn}"))
        .arg(format!("--size={}", s.size))
        .args(["127.0.0.1", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("loggen: {e}"))?;
    if !status.success() {
        let _ = daemon.kill();
        return Err(format!("loggen failed against {}", bin.display()));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while count_lines(&out) < total {
        if Instant::now() > deadline {
            let _ = daemon.kill();
            return Err(format!("{}: only {} of {total} messages arrived", bin.display(), count_lines(&out)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(daemon.id()) - cpu_before;
    let _ = Command::new("kill").arg("-TERM").arg(daemon.id().to_string()).status();
    let _ = daemon.wait();
    Ok((total as f64 / elapsed, cpu * 1e6 / total as f64))
}
