//! `cargo xtask bench`: benchmarks for rsng against the real syslog-ng.
//!
//! Only the standard library is used (xtask has no dependencies).
//!
//! Subcommands:
//!
//! * `config` (the default): configuration loading. Generates deterministic
//!   configurations of N objects into `target/bench/`, then runs
//!   `rsng --syntax-only -f CONF` and `syslog-ng --syntax-only -f CONF`
//!   alternately, measuring wall time and peak RSS, and prints a table plus
//!   the rsng / syslog-ng ratios. Results are also written to
//!   `target/bench/config-load.txt`.
//!
//! Wall time is measured with `std::time::Instant` around the child process.
//! Peak RSS is taken from GNU time (`/usr/bin/time -f ... -o FILE`, Debian
//! package `time`), which reports the child's `ru_maxrss` from `wait4`. When
//! GNU time is not installed, RSS is reported as unknown (std has no portable
//! way to get a child's rusage, and polling `/proc/<pid>/status` is neither
//! accurate nor free).
//!
//! The bench reports; it does not assert targets. It exits non-zero only when
//! rsng fails to validate a generated configuration (or cannot be built/run).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Default number of objects per generated configuration.
const DEFAULT_SIZES: &[usize] = &[9_600, 100_000];
/// Default number of timed runs per program and size.
const DEFAULT_RUNS: usize = 5;
/// Default number of untimed warm-up runs per program and size.
const DEFAULT_WARMUP: usize = 1;
/// Where the real syslog-ng lives on Debian/Ubuntu.
const DEFAULT_SYSLOG_NG: &str = "/usr/sbin/syslog-ng";
/// GNU time, used for peak RSS.
const GNU_TIME: &str = "/usr/bin/time";
/// Marker for the line GNU time writes into its output file.
const TIME_MARKER: &str = "RSNG_BENCH_TIME";

/// Size whose ratios are compared against the project's targets.
const TARGET_RATIO_SIZE: usize = 9_600;
/// rsng must take at most this fraction of syslog-ng's time at [`TARGET_RATIO_SIZE`].
const TARGET_TIME_RATIO: f64 = 0.5;
/// Size that rsng must validate (syslog-ng 3.38 cannot).
const TARGET_LARGE_SIZE: usize = 100_000;

const USAGE: &str = "\
usage: cargo xtask bench [config] [options]

Subcommands:
  config              configuration loading, rsng vs syslog-ng (default)
  pipeline            messages delivered per second, CPU per written message, RSS, drops and
                      losses per scenario (TLS, TCP, UDP, idle connections; see --help)
  destinations        messages delivered per second to http(), kafka-c(), amqp(), redis(),
                      sql() and mqtt(), each against a private server (see --help)
  overload            overload without flow control, both daemons loaded by loggen at once:
                      messages received, written and dropped (see --help)

Options:
  --runs N            timed runs per program and size (default 5)
  --warmup N          untimed warm-up runs per program and size (default 1)
  --sizes A,B,...     object counts to generate (default 9600,100000);
                      each is rounded down to a multiple of 4
  --no-build          do not run `cargo build --release -p rsng` first
  --rsng PATH         rsng binary (default: <target>/release/rsng)
  --syslog-ng PATH    syslog-ng binary (default: /usr/sbin/syslog-ng)
  --syslog-ng-only    skip rsng (e.g. while it does not build yet)
  -h, --help          print this help
";

/// Entry point for `cargo xtask bench [args...]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Tolerate being handed the subcommand name itself.
    if args.first() == Some(&"bench") {
        args.remove(0);
    }
    let (sub, rest) = match args.first() {
        Some(&s) if !s.starts_with('-') => (s, &args[1..]),
        _ => ("config", &args[..]),
    };
    match sub {
        "config" => {
            let Some(opts) = Options::parse(rest)? else {
                print!("{USAGE}");
                return Ok(());
            };
            config_bench(&opts)
        }
        "pipeline" => crate::pipeline_bench::run(rest),
        "destinations" => crate::destinations_bench::run(rest),
        "overload" => crate::overload_bench::run(rest),
        "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown bench `{other}`\n\n{USAGE}")),
    }
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Options {
    runs: usize,
    warmup: usize,
    sizes: Vec<usize>,
    build: bool,
    rsng: Option<PathBuf>,
    syslog_ng: PathBuf,
    rsng_enabled: bool,
}

impl Options {
    /// Returns `Ok(None)` when help was requested.
    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        let mut opts = Options {
            runs: DEFAULT_RUNS,
            warmup: DEFAULT_WARMUP,
            sizes: DEFAULT_SIZES.to_vec(),
            build: true,
            rsng: None,
            syslog_ng: PathBuf::from(DEFAULT_SYSLOG_NG),
            rsng_enabled: true,
        };
        let mut it = args.iter();
        while let Some(&arg) = it.next() {
            // Accept both `--opt value` and `--opt=value`.
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v)),
                _ => (arg, None),
            };
            let mut value = |what: &str| -> Result<String, String> {
                match inline {
                    Some(v) => Ok(v.to_string()),
                    None => it.next().map(|s| s.to_string()).ok_or_else(|| format!("{name} needs {what}\n\n{USAGE}")),
                }
            };
            match name {
                "-h" | "--help" => return Ok(None),
                "--runs" => opts.runs = parse_count(&value("a number")?, "--runs", 1)?,
                "--warmup" => opts.warmup = parse_count(&value("a number")?, "--warmup", 0)?,
                "--sizes" => {
                    let v = value("a list of sizes")?;
                    let mut sizes = Vec::new();
                    for s in v.split(',').filter(|s| !s.trim().is_empty()) {
                        let n = parse_count(s.trim(), "--sizes", 4)?;
                        sizes.push(n / 4 * 4);
                    }
                    if sizes.is_empty() {
                        return Err("--sizes needs at least one size".into());
                    }
                    opts.sizes = sizes;
                }
                "--no-build" => opts.build = false,
                "--rsng" => opts.rsng = Some(PathBuf::from(value("a path")?)),
                "--syslog-ng" => opts.syslog_ng = PathBuf::from(value("a path")?),
                "--syslog-ng-only" => opts.rsng_enabled = false,
                other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
            }
        }
        Ok(Some(opts))
    }
}

fn parse_count(s: &str, opt: &str, min: usize) -> Result<usize, String> {
    let cleaned: String = s.chars().filter(|c| *c != '_').collect();
    match cleaned.parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("{opt}: expected an integer >= {min}, got `{s}`")),
    }
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// The workspace root: the parent of xtask's manifest directory, or (when
/// compiled outside cargo) the nearest ancestor of the current directory
/// whose Cargo.toml declares a `[workspace]`.
fn workspace_root() -> Result<PathBuf, String> {
    if let Some(dir) = option_env!("CARGO_MANIFEST_DIR") {
        if let Some(parent) = Path::new(dir).parent() {
            if parent.join("Cargo.toml").is_file() {
                return Ok(parent.to_path_buf());
            }
        }
    }
    let cwd = std::env::current_dir().map_err(|e| format!("current dir: {e}"))?;
    for dir in cwd.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = fs::read_to_string(&manifest) {
            if text.contains("[workspace]") {
                return Ok(dir.to_path_buf());
            }
        }
    }
    Err("could not find the workspace root (no Cargo.toml with [workspace])".into())
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                root.join(d)
            }
        }
        _ => root.join("target"),
    }
}

// ---------------------------------------------------------------------------
// Config generator
// ---------------------------------------------------------------------------

/// Generates a deterministic syslog-ng 3.38 configuration with `n / 4`
/// sources, destinations, filters and log paths each (so `4 * (n / 4)`
/// top-level objects). Every object is syntactically valid for syslog-ng 3.38
/// with `--syntax-only`: no TLS, no `in-list()`, nothing that needs existing
/// files at parse time.
pub fn generate_config(n: usize) -> String {
    let per = n / 4;
    // Roughly 200 bytes per quadruple of lines, plus headroom.
    let mut out = String::with_capacity(per * 420 + 256);
    let _ = writeln!(out, "@version: 3.38");
    let _ = writeln!(
        out,
        "# Generated by `cargo xtask bench config`: {} objects \
         ({per} sources, {per} destinations, {per} filters, {per} log paths).",
        per * 4
    );
    let _ = writeln!(out, "# Deterministic; do not edit.");

    for i in 0..per {
        let port = 20_000 + (i % 45_000);
        let _ = match i % 4 {
            0 => writeln!(out, "source s_{i} {{ network(ip(\"127.0.0.1\") port({port}) transport(\"tcp\")); }};"),
            1 => writeln!(out, "source s_{i} {{ network(ip(\"127.0.0.1\") port({port}) transport(\"udp\")); }};"),
            2 => writeln!(out, "source s_{i} {{ unix-dgram(\"/var/run/bench/s_{i}.sock\"); }};"),
            _ => writeln!(out, "source s_{i} {{ file(\"/var/log/bench/in/s_{i}.log\" follow-freq(1)); }};"),
        };
    }

    for i in 0..per {
        let (a, b) = ((i >> 8) & 0xff, i & 0xff);
        let _ = match i % 4 {
            0 => writeln!(
                out,
                "destination d_{i} {{ file(\"/var/log/bench/$HOST/$YEAR-$MONTH-$DAY.log\" \
                 template(\"$ISODATE $HOST $MSGHDR$MSG\\n\") create-dirs(yes)); }};"
            ),
            1 => writeln!(out, "destination d_{i} {{ network(\"10.{a}.{b}.1\" port(514) transport(\"tcp\")); }};"),
            2 => writeln!(out, "destination d_{i} {{ network(\"10.{a}.{b}.2\" port(514) transport(\"udp\")); }};"),
            _ => writeln!(
                out,
                "destination d_{i} {{ file(\"/var/log/bench/app_{i}.log\" \
                 perm(0640) flush-lines(10)); }};"
            ),
        };
    }

    for i in 0..per {
        let facility = i % 8;
        let _ = writeln!(
            out,
            "filter f_{i} {{ facility(local{facility}) and level(info..emerg) \
             or program(\"app_{i}\") and not message(\"x.*y\"); }};"
        );
    }

    for i in 0..per {
        let _ = writeln!(out, "log {{ source(s_{i}); filter(f_{i}); destination(d_{i}); }};");
    }
    out
}

// ---------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------

/// One execution of a program on a config.
#[derive(Debug, Clone)]
struct Sample {
    wall: Duration,
    /// Peak RSS in KiB, if known.
    rss_kib: Option<u64>,
    /// Exit code; `None` when killed by a signal.
    code: Option<i32>,
    stderr: String,
}

/// Runs `program --syntax-only -f conf`, wrapped in GNU time when available.
fn measure(program: &Path, conf: &Path, time_out: Option<&Path>) -> Result<Sample, String> {
    let mut cmd = match time_out {
        Some(out) => {
            let _ = fs::remove_file(out);
            let mut c = Command::new(GNU_TIME);
            c.arg("-f").arg(format!("{TIME_MARKER} %M")).arg("-o").arg(out).arg("--").arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.arg("--syntax-only").arg("-f").arg(conf).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());

    let start = Instant::now();
    let output = cmd.output().map_err(|e| format!("failed to run {}: {e}", program.display()))?;
    let wall = start.elapsed();

    let mut rss_kib = None;
    if let Some(out) = time_out {
        if let Ok(text) = fs::read_to_string(out) {
            rss_kib = text
                .lines()
                .filter_map(|l| l.strip_prefix(TIME_MARKER))
                .filter_map(|v| v.trim().parse::<u64>().ok())
                .next_back();
        }
    }
    Ok(Sample {
        wall,
        rss_kib,
        code: exit_code(&output.status),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

fn exit_code(status: &ExitStatus) -> Option<i32> {
    status.code()
}

/// Aggregated results for one program on one config.
#[derive(Debug, Clone)]
struct Summary {
    median: Duration,
    min: Duration,
    max_rss_kib: Option<u64>,
    /// Distinct exit codes seen, in order of first appearance.
    codes: Vec<Option<i32>>,
    /// First non-empty stderr line of the first failing run.
    first_error: Option<String>,
    /// Full stderr of the first failing run.
    failing_stderr: Option<String>,
}

impl Summary {
    fn from_samples(samples: &[Sample]) -> Summary {
        let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
        walls.sort();
        let median = if walls.is_empty() {
            Duration::ZERO
        } else if walls.len() % 2 == 1 {
            walls[walls.len() / 2]
        } else {
            (walls[walls.len() / 2 - 1] + walls[walls.len() / 2]) / 2
        };
        let min = walls.first().copied().unwrap_or(Duration::ZERO);
        let max_rss_kib = if samples.iter().all(|s| s.rss_kib.is_some()) {
            samples.iter().filter_map(|s| s.rss_kib).max()
        } else {
            None
        };
        let mut codes = Vec::new();
        for s in samples {
            if !codes.contains(&s.code) {
                codes.push(s.code);
            }
        }
        let failing = samples.iter().find(|s| s.code != Some(0));
        let first_error = failing.map(|s| {
            s.stderr.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("(no output on stderr)").to_string()
        });
        Summary { median, min, max_rss_kib, codes, first_error, failing_stderr: failing.map(|s| s.stderr.clone()) }
    }

    fn ok(&self) -> bool {
        self.codes == [Some(0)]
    }

    fn codes_str(&self) -> String {
        self.codes
            .iter()
            .map(|c| match c {
                Some(c) => c.to_string(),
                None => "signal".to_string(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn fmt_rss(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "unknown".to_string(),
    }
}

// ---------------------------------------------------------------------------
// The config bench
// ---------------------------------------------------------------------------

struct SizeResult {
    size: usize,
    conf: PathBuf,
    rsng: Option<Summary>,
    syslog_ng: Option<Summary>,
}

fn config_bench(opts: &Options) -> Result<(), String> {
    let root = workspace_root()?;
    let target = target_dir(&root);
    let bench_dir = target.join("bench");
    fs::create_dir_all(&bench_dir).map_err(|e| format!("cannot create {}: {e}", bench_dir.display()))?;

    // rsng binary.
    let rsng = if opts.rsng_enabled {
        let path = opts.rsng.clone().unwrap_or_else(|| target.join("release").join("rsng"));
        if opts.build {
            build_rsng(&root)?;
        }
        if !path.is_file() {
            return Err(format!(
                "rsng binary not found at {}; build it with `cargo build --release -p rsng` \
                 (or drop --no-build), pass --rsng PATH, or use --syslog-ng-only",
                path.display()
            ));
        }
        Some(path)
    } else {
        None
    };

    // syslog-ng binary: optional, the bench still runs rsng without it.
    let syslog_ng = if opts.syslog_ng.is_file() {
        Some(opts.syslog_ng.clone())
    } else {
        eprintln!("warning: syslog-ng not found at {}; ratios will be unavailable", opts.syslog_ng.display());
        None
    };
    if rsng.is_none() && syslog_ng.is_none() {
        return Err("nothing to benchmark: neither rsng nor syslog-ng is available".into());
    }

    let gnu_time = Path::new(GNU_TIME).is_file() && gnu_time_works();
    if !gnu_time {
        eprintln!(
            "note: {GNU_TIME} (GNU time, Debian package `time`) not usable; peak RSS will be \
             reported as unknown"
        );
    }
    let time_out = bench_dir.join("time.out");
    let time_out = gnu_time.then_some(time_out.as_path());

    let mut results = Vec::new();
    for &size in &opts.sizes {
        let conf = bench_dir.join(format!("config-{size}.conf"));
        let text = generate_config(size);
        fs::write(&conf, &text).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        eprintln!(
            "bench config: {} objects -> {} ({} KiB); {} warm-up + {} timed runs each",
            size,
            conf.display(),
            text.len() / 1024,
            opts.warmup,
            opts.runs
        );

        let mut rsng_samples = Vec::new();
        let mut sng_samples = Vec::new();
        for _ in 0..opts.warmup {
            if let Some(p) = &rsng {
                measure(p, &conf, None)?;
            }
            if let Some(p) = &syslog_ng {
                measure(p, &conf, None)?;
            }
        }
        for run in 0..opts.runs {
            // Alternate the order (ABBA...) so neither program is always first.
            let rsng_first = run % 2 == 0;
            for step in 0..2 {
                let do_rsng = (step == 0) == rsng_first;
                if do_rsng {
                    if let Some(p) = &rsng {
                        rsng_samples.push(measure(p, &conf, time_out)?);
                    }
                } else if let Some(p) = &syslog_ng {
                    sng_samples.push(measure(p, &conf, time_out)?);
                }
            }
        }
        results.push(SizeResult {
            size,
            conf,
            rsng: rsng.as_ref().map(|_| Summary::from_samples(&rsng_samples)),
            syslog_ng: syslog_ng.as_ref().map(|_| Summary::from_samples(&sng_samples)),
        });
    }
    if let Some(p) = time_out {
        let _ = fs::remove_file(p);
    }

    let report = render_report(opts, &root, rsng.as_deref(), syslog_ng.as_deref(), gnu_time, &results);
    print!("{report}");
    let out = bench_dir.join("config-load.txt");
    fs::write(&out, &report).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!("results written to {}", out.display());

    // Fail only if rsng did not validate a generated config.
    let mut failures = Vec::new();
    for r in &results {
        if let Some(s) = &r.rsng {
            if !s.ok() {
                eprintln!(
                    "\nrsng failed to validate {} (exit {}); stderr:\n{}",
                    r.conf.display(),
                    s.codes_str(),
                    s.failing_stderr.as_deref().unwrap_or("").trim_end()
                );
                failures.push(format!("{} objects", r.size));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("rsng failed to validate generated config(s): {}", failures.join(", ")))
    }
}

fn build_rsng(root: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --release -p rsng");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "rsng"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not run cargo to build rsng: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "could not build rsng: `cargo build --release -p rsng` failed ({status}); fix the \
             build, pass --no-build --rsng PATH, or use --syslog-ng-only"
        ))
    }
}

/// Checks that `/usr/bin/time` is GNU time (supports `-f` and `-o`).
fn gnu_time_works() -> bool {
    let out = std::env::temp_dir().join(format!("rsng-bench-time-{}", std::process::id()));
    let ok = Command::new(GNU_TIME)
        .arg("-f")
        .arg(format!("{TIME_MARKER} %M"))
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
        && fs::read_to_string(&out).map(|t| t.lines().any(|l| l.starts_with(TIME_MARKER))).unwrap_or(false);
    let _ = fs::remove_file(&out);
    ok
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

fn render_report(
    opts: &Options,
    root: &Path,
    rsng: Option<&Path>,
    syslog_ng: Option<&Path>,
    gnu_time: bool,
    results: &[SizeResult],
) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "rsng config-load benchmark (cargo xtask bench config)");
    let _ = writeln!(r, "date:       {}", utc_now());
    let _ = writeln!(r, "host:       {}", host_info());
    let _ = writeln!(
        r,
        "rsng:       {}",
        match rsng {
            Some(p) => format!("{} ({})", p.display(), git_rev(root)),
            None => "skipped".to_string(),
        }
    );
    let _ = writeln!(
        r,
        "syslog-ng:  {}",
        match syslog_ng {
            Some(p) => format!("{} ({})", p.display(), syslog_ng_version(p)),
            None => "not available".to_string(),
        }
    );
    let _ = writeln!(
        r,
        "method:     `--syntax-only -f CONF`, {} warm-up + {} timed runs each, alternating; \
         wall time via Instant; peak RSS {}",
        opts.warmup,
        opts.runs,
        if gnu_time { "via GNU time (%M, ru_maxrss)" } else { "unknown (GNU time not available)" }
    );
    let _ = writeln!(r);

    let _ = writeln!(
        r,
        "{:>8}  {:<10} {:>5}  {:>11}  {:>11}  {:>11}  note",
        "objects", "program", "exit", "median", "min", "max RSS"
    );
    for res in results {
        for (name, sum) in [("rsng", &res.rsng), ("syslog-ng", &res.syslog_ng)] {
            let Some(s) = sum else { continue };
            let note = if s.ok() { String::new() } else { s.first_error.clone().unwrap_or_default() };
            let line = format!(
                "{:>8}  {:<10} {:>5}  {:>11}  {:>11}  {:>11}  {}",
                res.size,
                name,
                s.codes_str(),
                fmt_ms(s.median),
                fmt_ms(s.min),
                fmt_rss(s.max_rss_kib),
                note
            );
            let _ = writeln!(r, "{}", line.trim_end());
        }
    }
    let _ = writeln!(r);

    let _ = writeln!(r, "Ratios (rsng / syslog-ng, same run; < 1.00 means rsng is faster / smaller):");
    for res in results {
        let _ = match (&res.rsng, &res.syslog_ng) {
            (Some(a), Some(b)) if a.ok() && b.ok() => writeln!(
                r,
                "  {:>8} objects: time {} (median), {} (min); peak RSS {}",
                res.size,
                ratio_str(time_ratio(a.median, b.median)),
                ratio_str(time_ratio(a.min, b.min)),
                ratio_str(rss_ratio(a, b)),
            ),
            (Some(a), Some(b)) => {
                writeln!(r, "  {:>8} objects: no ratio; rsng {}, syslog-ng {}", res.size, status_str(a), status_str(b))
            }
            (Some(a), None) => {
                writeln!(r, "  {:>8} objects: no ratio (syslog-ng not run); rsng {}", res.size, status_str(a))
            }
            (None, Some(b)) => {
                writeln!(r, "  {:>8} objects: no ratio (rsng not run); syslog-ng {}", res.size, status_str(b))
            }
            (None, None) => Ok(()),
        };
    }
    let _ = writeln!(r);

    let _ = writeln!(r, "Targets (reported, not asserted):");
    let mut any_target = false;
    if let Some(res) = results.iter().find(|x| x.size == TARGET_RATIO_SIZE) {
        any_target = true;
        match (&res.rsng, &res.syslog_ng) {
            (Some(a), Some(b)) if a.ok() && b.ok() => {
                let t = time_ratio(a.median, b.median);
                let _ = writeln!(
                    r,
                    "  {} objects, time <= {:.2}x syslog-ng: {} ({})",
                    res.size,
                    TARGET_TIME_RATIO,
                    met(t.map(|t| t <= TARGET_TIME_RATIO)),
                    ratio_str(t)
                );
                let m = rss_ratio(a, b);
                let less = match (a.max_rss_kib, b.max_rss_kib) {
                    (Some(x), Some(y)) => Some(x < y),
                    _ => None,
                };
                let _ = writeln!(
                    r,
                    "  {} objects, less memory than syslog-ng: {} ({} vs {}, {})",
                    res.size,
                    met(less),
                    fmt_rss(a.max_rss_kib),
                    fmt_rss(b.max_rss_kib),
                    ratio_str(m)
                );
            }
            _ => {
                let _ = writeln!(r, "  {} objects, time and memory vs syslog-ng: n/a (both must exit 0)", res.size);
            }
        }
    }
    if let Some(res) = results.iter().find(|x| x.size == TARGET_LARGE_SIZE) {
        any_target = true;
        let _ = match &res.rsng {
            Some(a) => writeln!(
                r,
                "  {} objects validated by rsng: {} ({})",
                res.size,
                if a.ok() { "yes, met" } else { "no, NOT met" },
                status_str(a)
            ),
            None => writeln!(r, "  {} objects validated by rsng: n/a (skipped)", res.size),
        };
    }
    if !any_target {
        let _ = writeln!(r, "  (no target sizes in this run)");
    }
    r
}

fn time_ratio(a: Duration, b: Duration) -> Option<f64> {
    let b = b.as_secs_f64();
    (b > 0.0).then(|| a.as_secs_f64() / b)
}

fn rss_ratio(a: &Summary, b: &Summary) -> Option<f64> {
    match (a.max_rss_kib, b.max_rss_kib) {
        (Some(x), Some(y)) if y > 0 => Some(x as f64 / y as f64),
        _ => None,
    }
}

fn ratio_str(r: Option<f64>) -> String {
    match r {
        Some(r) => format!("{r:.2}x"),
        None => "n/a".to_string(),
    }
}

fn met(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "n/a",
    }
}

fn status_str(s: &Summary) -> String {
    if s.ok() {
        format!("validated (exit 0) in {} median", fmt_ms(s.median))
    } else {
        format!("rejected (exit {}): {}", s.codes_str(), s.first_error.as_deref().unwrap_or(""))
    }
}

fn first_line_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
}

fn syslog_ng_version(p: &Path) -> String {
    let Ok(out) = Command::new(p).arg("--version").stdin(Stdio::null()).stderr(Stdio::null()).output() else {
        return "version unknown".to_string();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let installer = text.lines().find_map(|l| l.strip_prefix("Installer-Version:")).map(str::trim);
    match installer.or_else(|| text.lines().next().map(str::trim)) {
        Some(v) if !v.is_empty() => format!("version {v}"),
        _ => "version unknown".to_string(),
    }
}

fn git_rev(root: &Path) -> String {
    let rev = first_line_of(Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(root));
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| o.status.success() && !o.stdout.is_empty())
        .unwrap_or(false);
    match rev {
        Some(r) if dirty => format!("git {r}, modified"),
        Some(r) => format!("git {r}"),
        None => "git revision unknown".to_string(),
    }
}

fn host_info() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cpus = std::thread::available_parallelism().map(|n| n.get().to_string()).unwrap_or_else(|_| "?".to_string());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".to_string());
    format!("{} {}, kernel {kernel}, {cpu}, {cpus} CPUs", std::env::consts::OS, std::env::consts::ARCH)
}

/// Current UTC time as `YYYY-MM-DD HH:MM:SS UTC`, without any date crate.
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3_600, rem % 3_600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_sized() {
        let a = generate_config(96);
        assert_eq!(a, generate_config(96));
        assert!(a.starts_with("@version: 3.38\n"));
        assert_eq!(a.matches("\nsource s_").count(), 24);
        assert_eq!(a.matches("\ndestination d_").count(), 24);
        assert_eq!(a.matches("\nfilter f_").count(), 24);
        assert_eq!(a.matches("\nlog {").count(), 24);
    }

    #[test]
    fn options_parse() {
        let o = Options::parse(&["--runs", "3", "--sizes=8,100_000", "--no-build"]).unwrap().unwrap();
        assert_eq!(o.runs, 3);
        assert_eq!(o.sizes, vec![8, 100_000]);
        assert!(!o.build);
        assert!(Options::parse(&["--help"]).unwrap().is_none());
        assert!(Options::parse(&["--runs", "0"]).is_err());
    }

    #[test]
    fn median_of_even_count() {
        let mk =
            |ms| Sample { wall: Duration::from_millis(ms), rss_kib: Some(ms), code: Some(0), stderr: String::new() };
        let s = Summary::from_samples(&[mk(4), mk(1), mk(3), mk(2)]);
        assert_eq!(s.median, Duration::from_micros(2_500));
        assert_eq!(s.min, Duration::from_millis(1));
        assert_eq!(s.max_rss_kib, Some(4));
        assert!(s.ok());
    }
}
