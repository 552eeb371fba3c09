//! `cargo xtask bench pipeline`: what each daemon *delivers*, rsng beside syslog-ng in one run.
//!
//! For every scenario both daemons run the same configuration (a `network()` source writing to a
//! file, or relaying over TLS to a second daemon of the same kind), alternating run by run so that machine noise hits both alike. `rsng-loadgen` sends for
//! a fixed time as fast as it can (or holds idle connections open). Then the bench waits until
//! the output file stops growing and reads the daemon's own counters over its control socket.
//! It reports, as medians:
//!
//! - written/s: lines in the output file, divided by the time until the last one was written;
//! - CPU per *written* message (user + system time of the daemon over the run);
//! - peak RSS (`VmHWM`), or RSS per connection for the idle scenario;
//! - dropped (the daemon's `dropped` counters) and lost: sent − written − dropped, messages that
//!   vanished without being counted (for UDP, mostly in the kernel's receive buffer).
//!
//! The bench reports; it asserts nothing.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Tls,
    Udp,
}

#[derive(Clone)]
struct Scenario {
    name: &'static str,
    transport: Transport,
    format: &'static str,
    connections: usize,
    flow_control: bool,
    /// Hold idle connections open instead of sending (memory per connection).
    idle: bool,
    /// The destination's `log-fifo-size()`, when not the default.
    fifo: Option<usize>,
    /// The daemon relays over TLS (`syslog()`, RFC 5424 octet-counted) to a second daemon of its
    /// own kind, which writes the file; CPU and RSS are the relay's.
    relay: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "tls-1-fc",
        transport: Transport::Tls,
        format: "rfc5424",
        connections: 1,
        flow_control: true,
        idle: false,
        fifo: None,
        relay: false,
    },
    Scenario {
        name: "tls-4-fc",
        transport: Transport::Tls,
        format: "rfc5424",
        connections: 4,
        flow_control: true,
        idle: false,
        fifo: None,
        relay: false,
    },
    Scenario {
        name: "tls-1",
        transport: Transport::Tls,
        format: "rfc5424",
        connections: 1,
        flow_control: false,
        idle: false,
        fifo: None,
        relay: false,
    },
    Scenario {
        name: "tls-4",
        transport: Transport::Tls,
        format: "rfc5424",
        connections: 4,
        flow_control: false,
        idle: false,
        fifo: None,
        relay: false,
    },
    Scenario {
        name: "tcp-3164-4-fc",
        transport: Transport::Tcp,
        format: "rfc3164",
        connections: 4,
        flow_control: true,
        idle: false,
        fifo: None,
        relay: false,
    },
    // Overload without flow control: a queue of 100 messages, as in tests/reliability.rs.
    Scenario {
        name: "tcp-3164-4-fifo100",
        transport: Transport::Tcp,
        format: "rfc3164",
        connections: 4,
        flow_control: false,
        idle: false,
        fifo: Some(100),
        relay: false,
    },
    Scenario {
        name: "udp-1",
        transport: Transport::Udp,
        format: "rfc3164",
        connections: 1,
        flow_control: false,
        idle: false,
        fifo: None,
        relay: false,
    },
    Scenario {
        name: "tls-100-fc",
        transport: Transport::Tls,
        format: "rfc5424",
        connections: 100,
        flow_control: true,
        idle: false,
        fifo: None,
        relay: false,
    },
    Scenario {
        name: "tls-relay-4-fc",
        transport: Transport::Tls,
        format: "rfc5424",
        connections: 4,
        flow_control: true,
        idle: false,
        fifo: None,
        relay: true,
    },
    Scenario {
        name: "tls-1000-idle",
        transport: Transport::Tls,
        format: "rfc5424",
        connections: 1000,
        flow_control: true,
        idle: true,
        fifo: None,
        relay: false,
    },
];

struct Settings {
    seconds: f64,
    runs: usize,
    size: usize,
    build: bool,
    only: Vec<String>,
    /// `--worker-threads=N` for both daemons (their own default when `None`).
    workers: Option<usize>,
}

const USAGE: &str = "\
usage: cargo xtask bench pipeline [--seconds S] [--runs N] [--size BYTES] [--only NAME,...]
                                  [--worker-threads N] [--no-build]

Runs each scenario on rsng and on syslog-ng 3.38 (alternating), sending with rsng-loadgen for
S seconds (default 5), and reports written messages per second, CPU per written message, peak
RSS, dropped and lost messages, as medians of N runs (default 3), with rsng/syslog-ng ratios.
Scenarios: tls-1-fc tls-4-fc tls-1 tls-4 tcp-3164-4-fc tcp-3164-4-fifo100 udp-1 tls-100-fc
tls-relay-4-fc tls-1000-idle (-fc: flags(flow-control); without it the default log-fifo-size
drops what does not fit; -fifo100: log-fifo-size(100); relay: the daemon forwards over TLS to a
second daemon of its own kind, which writes the file; CPU and RSS are the relay's). --worker-threads N starts both daemons with
--worker-threads=N (to see how each scales with the cores it may use).
";

#[derive(Clone, Copy, Default)]
struct Sample {
    sent: u64,
    written: u64,
    dropped: u64,
    seconds: f64,
    cpu: f64,
    peak_rss_kib: u64,
    rss_per_conn_kib: f64,
}

impl Sample {
    fn lost(&self) -> i64 {
        self.sent as i64 - self.written as i64 - self.dropped as i64
    }
    fn rate(&self) -> f64 {
        self.written as f64 / self.seconds.max(1e-9)
    }
    fn cpu_per_msg_us(&self) -> f64 {
        self.cpu * 1e6 / (self.written.max(1)) as f64
    }
}

pub fn run(args: &[&str]) -> Result<(), String> {
    let mut s = Settings { seconds: 5.0, runs: 3, size: 300, build: true, only: Vec::new(), workers: None };
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        let mut value = |what: &str| it.next().copied().ok_or_else(|| format!("{what} needs a value"));
        match arg {
            "--seconds" => s.seconds = value("--seconds")?.parse().map_err(|_| "--seconds needs a number")?,
            "--runs" => s.runs = value("--runs")?.parse::<usize>().map_err(|_| "--runs needs a number")?.max(1),
            "--size" => s.size = value("--size")?.parse::<usize>().map_err(|_| "--size needs a number")?.max(80),
            "--only" => s.only = value("--only")?.split(',').map(String::from).collect(),
            "--no-build" => s.build = false,
            "--worker-threads" => {
                s.workers = Some(value("--worker-threads")?.parse().map_err(|_| "--worker-threads needs a number")?)
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    if s.build {
        crate::run(&crate::cargo(), &["build", "--release", "-p", "rsng", "-p", "rsng-loadgen"], &[])?;
    }
    let target = xtask::package::target_dir();
    let rsng = target.join("release/rsng");
    let loadgen = target.join("release/rsng-loadgen");
    let syslog_ng = PathBuf::from("/usr/sbin/syslog-ng");
    let dir = target.join("bench/pipeline");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    make_certificate(&dir)?;
    let mut report = format!(
        "pipeline: {} s of load per run, {}-byte messages, medians of {} runs; {}{}\n\n\
         | scenario | daemon | written/s | CPU µs/written | peak RSS | dropped | lost | \
         written/s ratio | CPU ratio | RSS ratio |\n|---|---|---|---|---|---|---|---|---|---|\n",
        s.seconds,
        s.size,
        s.runs,
        host_info(),
        s.workers.map(|n| format!("; --worker-threads={n}")).unwrap_or_default()
    );
    for sc in SCENARIOS.iter().filter(|sc| s.only.is_empty() || s.only.iter().any(|o| o == sc.name)) {
        let mut samples: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
        for run in 0..s.runs {
            for (i, (name, bin)) in [("syslog-ng", &syslog_ng), ("rsng", &rsng)].into_iter().enumerate() {
                let run_dir = dir.join(format!("{}-{name}-{run}", sc.name));
                let sample = one_run(bin, &loadgen, &dir, &run_dir, sc, &s)?;
                eprintln!(
                    "{} {name} run {run}: sent {} written {} dropped {} lost {} | {:.0} msg/s, {:.2} us CPU/msg, \
                     peak RSS {} KiB{}",
                    sc.name,
                    sample.sent,
                    sample.written,
                    sample.dropped,
                    sample.lost(),
                    sample.rate(),
                    sample.cpu_per_msg_us(),
                    sample.peak_rss_kib,
                    if sc.idle {
                        format!(", {:.1} KiB per connection", sample.rss_per_conn_kib)
                    } else {
                        String::new()
                    }
                );
                samples[i].push(sample);
            }
        }
        let med = |v: &[Sample], f: &dyn Fn(&Sample) -> f64| {
            let mut x: Vec<f64> = v.iter().map(f).collect();
            x.sort_by(|a, b| a.total_cmp(b));
            x[x.len() / 2]
        };
        let rows: Vec<[f64; 5]> = samples
            .iter()
            .map(|v| {
                [
                    med(v, &|s| s.rate()),
                    med(v, &|s| s.cpu_per_msg_us()),
                    if sc.idle { med(v, &|s| s.rss_per_conn_kib) } else { med(v, &|s| s.peak_rss_kib as f64) },
                    med(v, &|s| s.dropped as f64),
                    med(v, &|s| s.lost() as f64),
                ]
            })
            .collect();
        for (i, name) in ["syslog-ng", "rsng"].iter().enumerate() {
            let r = rows[i];
            let rss = if sc.idle { format!("{:.1} KiB/conn", r[2]) } else { format!("{:.1} MiB", r[2] / 1024.0) };
            let ratios = if i == 1 {
                format!(
                    "{:.2}x | {:.2}x | {:.2}x",
                    r[0] / rows[0][0].max(1e-9),
                    r[1] / rows[0][1].max(1e-9),
                    r[2] / rows[0][2].max(1e-9)
                )
            } else {
                " | | ".to_string()
            };
            let (rate, cpu) = if sc.idle {
                ("-".to_string(), "-".to_string())
            } else {
                (format!("{:.0}", r[0]), format!("{:.2}", r[1]))
            };
            report.push_str(&format!(
                "| {} | {name} | {rate} | {cpu} | {rss} | {:.0} | {:.0} | {ratios} |\n",
                sc.name, r[3], r[4]
            ));
        }
    }
    print!("\n{report}");
    fs::write(dir.join("result.md"), &report).map_err(|e| e.to_string())?;
    Ok(())
}

pub(crate) fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).unwrap_or(26515)
    } else {
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(26514)
    }
}

/// CPU time (user + system) of a process, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
pub(crate) fn status_kib(pid: u32, field: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A self-signed certificate for the TLS runs, made with the `openssl` command.
pub(crate) fn make_certificate(dir: &Path) -> Result<(), String> {
    if dir.join("cert.pem").is_file() && dir.join("key.pem").is_file() {
        return Ok(());
    }
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=localhost"])
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

pub(crate) fn count_lines(path: &Path) -> u64 {
    fs::read(path).map(|d| d.iter().filter(|&&b| b == b'\n').count() as u64).unwrap_or(0)
}

/// The sum of the daemon's `dropped` counters, read with syslog-ng's `STATS` control command.
fn dropped(ctl: &Path) -> u64 {
    let Ok(mut stream) = UnixStream::connect(ctl) else { return 0 };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"STATS\n").is_err() {
        return 0;
    }
    let mut total = 0;
    for line in BufReader::new(stream).lines().map_while(Result::ok) {
        if line == "." {
            break;
        }
        let f: Vec<&str> = line.split(';').collect();
        if f.len() == 6 && f[4] == "dropped" && (f[0].starts_with("dst.") || f[0].starts_with("src.")) {
            total += f[5].parse::<u64>().unwrap_or(0);
        }
    }
    total
}

/// What a daemon does in a run.
#[derive(Clone, Copy)]
enum Role {
    /// Receives the load and writes the file.
    Alone,
    /// Receives the load and forwards it over TLS to the receiver on this port.
    Relay { to: u16 },
    /// Receives the relay's `syslog()` over TLS and writes the file.
    Receiver,
}

fn config(sc: &Scenario, port: u16, certs: &Path, out: &Path, role: Role) -> String {
    let tls = format!(
        "transport(\"tls\") tls(key-file(\"{0}/key.pem\") cert-file(\"{0}/cert.pem\") peer-verify(optional-untrusted))",
        certs.display()
    );
    let transport = match sc.transport {
        Transport::Tcp => "transport(\"tcp\")".to_string(),
        Transport::Udp => "transport(\"udp\") so-rcvbuf(8388608)".to_string(),
        Transport::Tls => tls.clone(),
    };
    let flow = if sc.flow_control { " flags(flow-control);" } else { "" };
    // With flow control each connection may have 1,000 messages in flight; without it the
    // defaults stand (log-fifo-size(10000)), as most configurations leave them.
    let window = if sc.flow_control {
        let conns = sc.connections.max(10) + 10;
        format!(" max-connections({conns}) log-iw-size({})", conns * 1000)
    } else {
        format!(" max-connections({})", sc.connections.max(10) + 10)
    };
    let fifo = match (sc.fifo, sc.flow_control) {
        (Some(n), _) => format!(" log-fifo-size({n})"),
        (None, true) => format!(" log-fifo-size({})", (sc.connections.max(10) + 10) * 1000),
        (None, false) => String::new(),
    };
    let protocol = if sc.format == "rfc3164" { "" } else { " flags(syslog-protocol)" };
    let source = match role {
        Role::Receiver => format!("syslog(ip(127.0.0.1) port({port}) {tls}{window})"),
        Role::Alone | Role::Relay { .. } => {
            format!("network(ip(127.0.0.1) port({port}) {transport}{window}{protocol})")
        }
    };
    let destination = match role {
        Role::Relay { to } => {
            format!("syslog(\"127.0.0.1\" port({to}) transport(\"tls\") tls(peer-verify(optional-untrusted)){fifo})")
        }
        Role::Alone | Role::Receiver => format!("file(\"{}\"{fifo})", out.display()),
    };
    format!(
        "@version: 3.38\noptions {{ use-dns(no); dns-cache(no); keep-hostname(yes); stats-freq(0); stats-level(1); }};\n\
         source s {{ {source}; }};\ndestination d {{ {destination}; }};\nlog {{ source(s); destination(d);{flow} }};\n"
    )
}

/// Starts `bin` on `conf` in `dir` and waits until its control socket answers.
fn start_daemon(bin: &Path, dir: &Path, conf: &str, s: &Settings) -> Result<Child, String> {
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let conf_path = dir.join("bench.conf");
    fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(bin);
    cmd.args(s.workers.map(|n| format!("--worker-threads={n}")));
    crate::daemon::start(cmd, &conf_path, dir, Duration::from_secs(10), &bin.display().to_string())
}

fn one_run(
    bin: &Path,
    loadgen: &Path,
    certs: &Path,
    dir: &Path,
    sc: &Scenario,
    s: &Settings,
) -> Result<Sample, String> {
    let _ = fs::remove_dir_all(dir);
    let udp = sc.transport == Transport::Udp;
    let port = free_port(udp);
    // With a relay, the file is the receiver's, in a directory of its own.
    let (receiver, out) = if sc.relay {
        let receiver_dir = dir.join("receiver");
        let out = receiver_dir.join("out");
        let to = free_port(false);
        let receiver = start_daemon(bin, &receiver_dir, &config(sc, to, certs, &out, Role::Receiver), s)?;
        (Some((receiver, to)), out)
    } else {
        (None, dir.join("out"))
    };
    let role = match &receiver {
        Some((_, to)) => Role::Relay { to: *to },
        None => Role::Alone,
    };
    let mut daemon = match start_daemon(bin, dir, &config(sc, port, certs, &out, role), s) {
        Ok(daemon) => daemon,
        Err(e) => {
            if let Some((mut receiver, _)) = receiver {
                crate::daemon::stop(&mut receiver);
            }
            return Err(e);
        }
    };
    let ctl = dir.join("ctl");
    let pid = daemon.id();
    std::thread::sleep(Duration::from_millis(300));
    let rss_before = status_kib(pid, "VmRSS");
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let mut cmd = Command::new(loadgen);
    cmd.arg("--transport")
        .arg(match sc.transport {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Udp => "udp",
        })
        .args(["--format", sc.format])
        .args(["--connections", &sc.connections.to_string()])
        .args(["--size", &s.size.to_string()])
        .args(["--duration", &s.seconds.to_string()])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if sc.idle {
        cmd.arg("--idle");
    }
    let child = cmd.spawn().map_err(|e| format!("rsng-loadgen: {e}"))?;
    let mut rss_per_conn_kib = 0.0;
    if sc.idle {
        // Every connection is open and has sent its one message well before the end.
        std::thread::sleep(Duration::from_secs_f64(s.seconds * 0.8));
        let rss = status_kib(pid, "VmRSS");
        rss_per_conn_kib = rss.saturating_sub(rss_before) as f64 / sc.connections as f64;
    }
    let output = child.wait_with_output().map_err(|e| format!("rsng-loadgen: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let sent: u64 = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("sent="))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("rsng-loadgen printed no count: {text}"))?;
    // Wait until the file stops growing, watching its size (counting its lines on every poll
    // would read the whole file again and again beside the daemon being measured).
    let size = || fs::metadata(&out).map_or(0, |m| m.len());
    let mut seen = size();
    let mut last_growth = start.elapsed();
    let mut stable_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    while stable_since.elapsed() < Duration::from_millis(1500) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let now = size();
        if now != seen {
            seen = now;
            last_growth = start.elapsed();
            stable_since = Instant::now();
        }
    }
    let written = count_lines(&out);
    let cpu = cpu_seconds(pid) - cpu_before;
    let peak_rss_kib = status_kib(pid, "VmHWM");
    let mut dropped_count = dropped(&ctl);
    crate::daemon::stop(&mut daemon);
    if let Some((mut receiver, _)) = receiver {
        dropped_count += dropped(&dir.join("receiver/ctl"));
        crate::daemon::stop(&mut receiver);
    }
    Ok(Sample {
        sent,
        written,
        dropped: dropped_count,
        seconds: last_growth.as_secs_f64(),
        cpu,
        peak_rss_kib,
        rss_per_conn_kib,
    })
}

pub(crate) fn host_info() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_default();
    format!("{cpus} CPUs ({model})")
}
