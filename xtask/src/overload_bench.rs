//! `cargo xtask bench overload`: overload without flow control, both daemons at once.
//!
//! syslog-ng and rsng run the same configuration side by side (a TCP `network()` source into a
//! `file()` with `log-fifo-size(100)`, `stats-level(1)`), and each gets the same `loggen` load at
//! the same time: four connections at full speed. Running both at once, rather than one after
//! the other, gives each the same machine; the loads compete for the CPUs as they would on a
//! busy relay. Each daemon's own counters then say what it received, wrote and dropped. The
//! bench reports every run and the median of the written ratio; it asserts nothing.
//! `tests/reliability.rs` runs the same comparison once as a test of the accounting.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pipeline_bench::{count_lines, free_port, host_info};

const LOGGEN: &str = "/usr/bin/loggen";

const USAGE: &str = "\
usage: cargo xtask bench overload [--runs N] [--seconds S] [--no-build]

Runs syslog-ng 3.38 and rsng at the same time on one configuration (TCP source, file
destination with log-fifo-size(100), no flow control), loads both at once with loggen (four
connections at full speed for S seconds, default 2), and reports what each received, wrote
and dropped, from its own counters, with the rsng/syslog-ng ratio of messages written; the
median over N runs (default 5).
";

struct Counts {
    received: u64,
    written: u64,
    dropped: u64,
    lines: u64,
}

struct Running {
    name: &'static str,
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Running {
    fn ctl(&self) -> PathBuf {
        self.dir.join("ctl")
    }

    fn out(&self) -> PathBuf {
        self.dir.join("out.log")
    }

    fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub fn run(args: &[&str]) -> Result<(), String> {
    let (mut runs, mut seconds, mut build) = (5usize, 2u32, true);
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        let mut value = |what: &str| it.next().copied().ok_or_else(|| format!("{what} needs a value"));
        match arg {
            "--runs" => runs = value("--runs")?.parse::<usize>().map_err(|_| "--runs needs a number")?.max(1),
            "--seconds" => seconds = value("--seconds")?.parse::<u32>().map_err(|_| "--seconds needs a number")?.max(1),
            "--no-build" => build = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    if !Path::new(LOGGEN).exists() {
        return Err(format!("{LOGGEN} is missing: install syslog-ng-core"));
    }
    if build {
        crate::run(&crate::cargo(), &["build", "--release", "-p", "rsng"], &[])?;
    }
    let target = xtask::package::target_dir();
    let rsng = target.join("release/rsng");
    let dir = target.join("bench/overload");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let mut report = format!(
        "overload: log-fifo-size(100), no flow control, loggen with 4 connections for {seconds} s on each \
         daemon at once; {}\n\n| run | daemon | received | written | dropped | written ratio |\n|---|---|---|---|---|---|\n",
        host_info()
    );
    let mut ratios = Vec::new();
    for run in 0..runs {
        let daemons = [
            start("syslog-ng", Path::new("/usr/sbin/syslog-ng"), &dir.join(format!("{run}-syslog-ng")))?,
            start("rsng", &rsng, &dir.join(format!("{run}-rsng")))?,
        ];
        let loads: Vec<Child> = daemons
            .iter()
            .map(|d| {
                Command::new(LOGGEN)
                    .args(["--inet", "--stream", "--rate=100000000", "--active-connections=4", "-Q"])
                    .arg(format!("--interval={seconds}"))
                    .args(["127.0.0.1", &d.port.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("loggen: {e}"))
            })
            .collect::<Result<_, _>>()?;
        for mut l in loads {
            let _ = l.wait();
        }
        let counts: Vec<Counts> = daemons.iter().map(settle).collect();
        let ratio = counts[1].written as f64 / counts[0].written.max(1) as f64;
        for (d, c) in daemons.iter().zip(&counts) {
            let accounted = if c.written + c.dropped == c.received && c.lines == c.written {
                String::new()
            } else {
                format!(" (lines {}, written + dropped != received)", c.lines)
            };
            let r = if d.name == "rsng" { format!("{ratio:.2}x") } else { String::new() };
            report.push_str(&format!(
                "| {run} | {} | {} | {} | {}{accounted} | {r} |\n",
                d.name, c.received, c.written, c.dropped
            ));
        }
        eprintln!(
            "run {run}: syslog-ng wrote {}, rsng wrote {} (dropped {}): {ratio:.2}x",
            counts[0].written, counts[1].written, counts[1].dropped
        );
        ratios.push(ratio);
        for d in daemons {
            d.stop();
        }
    }
    ratios.sort_by(f64::total_cmp);
    report.push_str(&format!(
        "\nrsng/syslog-ng messages written: median {:.2}x, min {:.2}x, max {:.2}x over {runs} runs\n",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    ));
    print!("{report}");
    fs::write(dir.join("result.md"), &report).map_err(|e| e.to_string())?;
    Ok(())
}

fn start(name: &'static str, bin: &Path, dir: &Path) -> Result<Running, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let port = free_port(false);
    let conf = dir.join("bench.conf");
    fs::write(
        &conf,
        format!(
            "@version: 3.38\noptions {{ use-dns(no); dns-cache(no); stats-freq(0); stats-level(1); log-fifo-size(100); }};\n\
             source s {{ network(ip(127.0.0.1) port({port})); }};\n\
             destination d {{ file(\"{}\"); }};\nlog {{ source(s); destination(d); }};\n",
            dir.join("out.log").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let ctl = dir.join("ctl");
    let child = Command::new(bin)
        .arg("-F")
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("pid"))
        .arg("-R")
        .arg(dir.join("persist"))
        .arg("-c")
        .arg(&ctl)
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("stderr")).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut running = Running { name, child, dir: dir.to_path_buf(), port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while UnixStream::connect(running.ctl()).is_err() {
        if Instant::now() > deadline || running.child.try_wait().ok().flatten().is_some() {
            let _ = running.child.kill();
            return Err(format!("{name} did not start (see {})", dir.join("stderr").display()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(running)
}

/// The daemon's counters once everything it received is written or dropped (or 30 s passed).
fn settle(d: &Running) -> Counts {
    let prefix = format!("dst.file;d#0;{};", d.out().display());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = stats(&d.ctl());
        let get = |component: &str, kind: &str| {
            stats.iter().find(|(name, k, _)| name.starts_with(component) && k == kind).map_or(0, |(_, _, v)| *v)
        };
        let c = Counts {
            received: get("center;;received;", "processed"),
            written: get(&prefix, "written"),
            dropped: get(&prefix, "dropped"),
            lines: count_lines(&d.out()),
        };
        let queued = get(&prefix, "queued");
        if (c.received == c.written + c.dropped && queued == 0 && c.lines == c.written) || Instant::now() > deadline {
            return c;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `STATS` over the control socket: (name up to the type, type, value) per counter.
fn stats(ctl: &Path) -> Vec<(String, String, u64)> {
    let Ok(mut stream) = UnixStream::connect(ctl) else { return Vec::new() };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"STATS\n").is_err() {
        return Vec::new();
    }
    BufReader::new(stream)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| l != ".")
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(';')?;
            let (head, kind) = name.rsplit_once(';')?;
            Some((format!("{head};"), kind.to_string(), value.parse().ok()?))
        })
        .collect()
}
