//! `cargo xtask bench destinations`: what each daemon *delivers* to a server, per destination
//! driver, rsng beside syslog-ng in one run.
//!
//! For every destination both daemons run the same configuration (a `network()` TCP source with
//! `flags(flow-control)` feeding the destination), alternating run by run, against one private
//! server started here on free loopback ports in a temporary directory. `rsng-loadgen` sends the
//! same N messages; the bench then counts what arrived *at the server* (rows, records, list
//! entries, request bodies, queued messages) until everything is there or nothing more arrives.
//! It reports delivered/s, CPU per delivered message, peak RSS and the daemon's `dropped`
//! counters. The bench reports; it asserts nothing.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::pipeline_bench::{cpu_seconds, host_info, status_kib};

const USAGE: &str = "\
usage: cargo xtask bench destinations [--messages N] [--runs N] [--only NAME,...] [--no-build]

Runs each destination on rsng and on syslog-ng 3.38 (alternating), each against the same private
server started by the bench, sends N messages (default 20000) with rsng-loadgen over one TCP
connection with flow control, and reports messages delivered to the server per second, CPU per
delivered message, peak RSS and dropped messages, as medians of N runs (default 3), with
rsng/syslog-ng ratios.
Destinations: http kafka-c amqp redis sql sql-batch mqtt (mqtt: rsng only, Debian's syslog-ng
3.38 has no mqtt module).
";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http,
    Kafka,
    Amqp,
    Redis,
    Sql,
    SqlBatch,
    Mqtt,
}

struct Scenario {
    name: &'static str,
    kind: Kind,
    /// How the delivered messages are counted (for the table's notes).
    counted: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "http", kind: Kind::Http, counted: "bodies received by the bench's HTTP server" },
    Scenario {
        name: "kafka-c",
        kind: Kind::Kafka,
        counted: "records in the topic at the end (the sum of its partitions' end offsets, kcat -Q); time until the written counter reached them (syslog-ng counts a record written once librdkafka queued it, rsng once the broker confirmed it)",
    },
    Scenario {
        name: "amqp",
        kind: Kind::Amqp,
        counted: "messages in the bound queue (a passive Queue.Declare over AMQP, polled); time until the queue held them",
    },
    Scenario { name: "redis", kind: Kind::Redis, counted: "LLEN of the list" },
    Scenario { name: "sql", kind: Kind::Sql, counted: "rows (count(*) with psql)" },
    Scenario { name: "sql-batch", kind: Kind::SqlBatch, counted: "rows (count(*) with psql)" },
    Scenario { name: "mqtt", kind: Kind::Mqtt, counted: "messages read back with mosquitto_sub" },
];

struct Settings {
    messages: usize,
    runs: usize,
    build: bool,
    only: Vec<String>,
}

#[derive(Clone, Copy, Default)]
struct Sample {
    sent: u64,
    delivered: u64,
    dropped: u64,
    seconds: f64,
    cpu: f64,
    peak_rss_kib: u64,
}

impl Sample {
    fn rate(&self) -> f64 {
        self.delivered as f64 / self.seconds.max(1e-9)
    }
    fn cpu_per_msg_us(&self) -> f64 {
        self.cpu * 1e6 / (self.delivered.max(1)) as f64
    }
}

pub fn run(args: &[&str]) -> Result<(), String> {
    let mut s = Settings { messages: 20_000, runs: 3, build: true, only: Vec::new() };
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        let mut value = |what: &str| it.next().copied().ok_or_else(|| format!("{what} needs a value"));
        match arg {
            "--messages" => {
                s.messages = value("--messages")?.parse::<usize>().map_err(|_| "--messages needs a number")?.max(1)
            }
            "--runs" => s.runs = value("--runs")?.parse::<usize>().map_err(|_| "--runs needs a number")?.max(1),
            "--only" => s.only = value("--only")?.split(',').map(String::from).collect(),
            "--no-build" => s.build = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    if let Some(bad) = s.only.iter().find(|o| !SCENARIOS.iter().any(|sc| sc.name == o.as_str())) {
        return Err(format!("unknown destination `{bad}`\n\n{USAGE}"));
    }
    if s.build {
        crate::run(&crate::cargo(), &["build", "--release", "-p", "rsng", "-p", "rsng-loadgen"], &[])?;
    }
    let target = xtask::package::target_dir();
    let rsng = target.join("release/rsng");
    let loadgen = target.join("release/rsng-loadgen");
    let syslog_ng = PathBuf::from("/usr/sbin/syslog-ng");
    let dir = target.join("bench/destinations");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut report = format!(
        "destinations: {} messages of 300 bytes per run over one TCP connection with flow control, \
         medians of {} runs; {}\n\n\
         | destination | daemon | delivered/s | CPU µs/delivered | peak RSS | delivered | dropped | \
         delivered/s ratio | CPU ratio | RSS ratio |\n|---|---|---|---|---|---|---|---|---|---|\n",
        s.messages,
        s.runs,
        host_info()
    );
    let mut notes = String::from("\nHow delivered messages were counted:\n\n");
    for sc in SCENARIOS.iter().filter(|sc| s.only.is_empty() || s.only.iter().any(|o| o == sc.name)) {
        let sc_dir = dir.join(sc.name);
        fs::create_dir_all(&sc_dir).map_err(|e| e.to_string())?;
        eprintln!("{}: starting the server", sc.name);
        let server = Server::start(sc.kind, &sc_dir)?;
        let daemons: Vec<(&str, &PathBuf)> = if sc.kind == Kind::Mqtt {
            vec![("rsng", &rsng)]
        } else {
            vec![("syslog-ng", &syslog_ng), ("rsng", &rsng)]
        };
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); daemons.len()];
        for run in 0..s.runs {
            for (i, (name, bin)) in daemons.iter().enumerate() {
                let tag = format!("{}_{}", name.replace('-', "_"), run);
                let run_dir = sc_dir.join(&tag);
                let sample = one_run(bin, &loadgen, &run_dir, &server, &tag, s.messages)?;
                eprintln!(
                    "{} {name} run {run}: sent {} delivered {} dropped {} | {:.0} msg/s, {:.2} us CPU/msg, \
                     peak RSS {} KiB",
                    sc.name,
                    sample.sent,
                    sample.delivered,
                    sample.dropped,
                    sample.rate(),
                    sample.cpu_per_msg_us(),
                    sample.peak_rss_kib
                );
                samples[i].push(sample);
            }
        }
        drop(server);
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
                    med(v, &|s| s.peak_rss_kib as f64),
                    med(v, &|s| s.delivered as f64),
                    med(v, &|s| s.dropped as f64),
                ]
            })
            .collect();
        if sc.kind == Kind::Mqtt {
            report.push_str(&format!(
                "| {} | syslog-ng | - | - | - | - | - | no mqtt module in Debian's syslog-ng 3.38 | | |\n",
                sc.name
            ));
        }
        for (i, (name, _)) in daemons.iter().enumerate() {
            let r = rows[i];
            let ratios = if *name == "rsng" && daemons.len() == 2 {
                format!(
                    "{:.2}x | {:.2}x | {:.2}x",
                    r[0] / rows[0][0].max(1e-9),
                    r[1] / rows[0][1].max(1e-9),
                    r[2] / rows[0][2].max(1e-9)
                )
            } else {
                " | | ".to_string()
            };
            report.push_str(&format!(
                "| {} | {name} | {:.0} | {:.2} | {:.1} MiB | {:.0} | {:.0} | {ratios} |\n",
                sc.name,
                r[0],
                r[1],
                r[2] / 1024.0,
                r[3],
                r[4]
            ));
        }
        notes.push_str(&format!("- {}: {}\n", sc.name, sc.counted));
    }
    report.push_str(&notes);
    print!("\n{report}");
    fs::write(dir.join("result.md"), &report).map_err(|e| e.to_string())?;
    eprintln!("written to {}", dir.join("result.md").display());
    Ok(())
}

fn free_ports(n: usize) -> Vec<u16> {
    // Held together so that the ports differ.
    let listeners: Vec<TcpListener> = (0..n).filter_map(|_| TcpListener::bind("127.0.0.1:0").ok()).collect();
    listeners.iter().filter_map(|l| l.local_addr().ok()).map(|a| a.port()).collect()
}

fn wait_for(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{cmd:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

// ---------------------------------------------------------------------------
// The servers
// ---------------------------------------------------------------------------

/// One private server per destination, shared by both daemons and every run; each run writes to
/// a target of its own (path, topic, queue, list, database) named by its tag.
enum Server {
    Http(HttpSink),
    Kafka { helper: Child, _stdin: ChildStdin, bootstrap: String },
    Amqp(Rabbit),
    Redis { child: Child, port: u16 },
    Sql(Postgres, bool),
    Mqtt { child: Child, port: u16, dir: PathBuf, subscribers: Mutex<Vec<Child>> },
}

/// The librdkafka mock cluster, run by python3-confluent-kafka (Debian packages no Kafka broker):
/// prints its bootstrap address and lives until its stdin closes.
const KAFKA_MOCK: &str = "\
import sys, confluent_kafka
p = confluent_kafka.Producer({'test.mock.num.brokers': 1, 'log_level': 0})
b = list(p.list_topics(timeout=30).brokers.values())[0]
print(f'{b.host}:{b.port}', flush=True)
sys.stdin.read()
";

impl Server {
    fn start(kind: Kind, dir: &Path) -> Result<Server, String> {
        match kind {
            Kind::Http => Ok(Server::Http(HttpSink::start()?)),
            Kind::Kafka => {
                let mut helper = Command::new("/usr/bin/python3")
                    .args(["-c", KAFKA_MOCK])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(fs::File::create(dir.join("kafka-mock.log")).map_err(|e| e.to_string())?)
                    .spawn()
                    .map_err(|e| format!("python3 (apt-get install python3-confluent-kafka): {e}"))?;
                let stdin = helper.stdin.take().expect("stdin");
                let mut line = String::new();
                BufReader::new(helper.stdout.take().expect("stdout"))
                    .read_line(&mut line)
                    .map_err(|e| e.to_string())?;
                let bootstrap = line.trim().to_string();
                if bootstrap.is_empty() {
                    let _ = helper.kill();
                    return Err(format!(
                        "the Kafka mock cluster did not start (python3-confluent-kafka installed?), see {}",
                        dir.join("kafka-mock.log").display()
                    ));
                }
                Ok(Server::Kafka { helper, _stdin: stdin, bootstrap })
            }
            Kind::Amqp => Ok(Server::Amqp(Rabbit::start(dir)?)),
            Kind::Redis => {
                let port = free_ports(1)[0];
                let child = Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                    .arg("--dir")
                    .arg(dir)
                    .args(["--logfile", "redis.log"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("redis-server (apt-get install redis-server): {e}"))?;
                let server = Server::Redis { child, port };
                if !wait_for(10, || redis_call(port, &["PING"]).is_ok()) {
                    return Err("redis-server did not start".into());
                }
                Ok(server)
            }
            Kind::Sql | Kind::SqlBatch => Ok(Server::Sql(Postgres::start(dir)?, kind == Kind::SqlBatch)),
            Kind::Mqtt => {
                let port = free_ports(1)[0];
                let conf = format!(
                    "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest file {}\n\
                     user root\nmax_queued_messages 0\n",
                    dir.join("mosquitto.log").display()
                );
                fs::write(dir.join("mosquitto.conf"), conf).map_err(|e| e.to_string())?;
                let child = Command::new("/usr/sbin/mosquitto")
                    .arg("-c")
                    .arg(dir.join("mosquitto.conf"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("mosquitto (apt-get install mosquitto): {e}"))?;
                let server = Server::Mqtt { child, port, dir: dir.to_path_buf(), subscribers: Mutex::default() };
                if !wait_for(10, || TcpStream::connect(("127.0.0.1", port)).is_ok()) {
                    return Err("mosquitto did not start".into());
                }
                Ok(server)
            }
        }
    }

    /// Makes the run's target ready (a queue bound to its exchange, a database, a subscriber).
    fn prepare(&self, tag: &str) -> Result<(), String> {
        match self {
            Server::Amqp(r) => r.prepare(tag),
            Server::Sql(pg, _) => pg.psql("postgres", &format!("CREATE DATABASE bench_{tag}")).map(drop),
            Server::Mqtt { port, dir, subscribers, .. } => {
                let out = fs::File::create(dir.join(format!("sub-{tag}"))).map_err(|e| e.to_string())?;
                let id = format!("bench-sub-{tag}");
                let child = Command::new("mosquitto_sub")
                    .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1", "-t", tag, "-i", &id])
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("mosquitto_sub (apt-get install mosquitto-clients): {e}"))?;
                subscribers.lock().expect("subscribers").push(child);
                // The subscription is in place once the broker logs the client.
                let log = dir.join("mosquitto.log");
                if !wait_for(10, || fs::read_to_string(&log).is_ok_and(|l| l.contains(&id))) {
                    return Err("mosquitto_sub did not connect".into());
                }
                std::thread::sleep(Duration::from_millis(200));
                Ok(())
            }
            Server::Http(_) | Server::Kafka { .. } | Server::Redis { .. } => Ok(()),
        }
    }

    /// The destination statement's driver for the run `tag`.
    fn destination(&self, tag: &str) -> String {
        match self {
            Server::Http(h) => format!(
                "http(url(\"http://127.0.0.1:{}/{tag}\") method(\"POST\") body(\"$MSG\") batch-lines(100) \
                 batch-timeout(100))",
                h.port
            ),
            Server::Kafka { bootstrap, .. } => {
                format!("kafka-c(bootstrap-servers(\"{bootstrap}\") topic(\"{tag}\") message(\"$MSG\"))")
            }
            Server::Amqp(r) => format!(
                "amqp(host(\"127.0.0.1\") port({}) vhost(\"/\") exchange(\"{tag}\") routing-key(\"bench\") \
                 body(\"$MSG\") username(\"guest\") password(\"guest\"))",
                r.port
            ),
            Server::Redis { port, .. } => {
                format!("redis(host(\"127.0.0.1\") port({port}) command(\"RPUSH\" \"{tag}\" \"$MSG\"))")
            }
            Server::Sql(pg, batch) => format!(
                "sql(type(pgsql) host(\"127.0.0.1\") port(\"{}\") username(\"postgres\") password(\"x\") \
                 database(\"bench_{tag}\") table(\"messages\") columns(\"host\", \"program\", \"message text\") \
                 values(\"$HOST\", \"$PROGRAM\", \"$MSG\"){})",
                pg.port,
                if *batch { " flags(explicit-commits) batch-lines(100) batch-timeout(100)" } else { "" }
            ),
            Server::Mqtt { port, .. } => {
                format!("mqtt(address(\"tcp://127.0.0.1:{port}\") topic(\"{tag}\") template(\"$MSG\") qos(1))")
            }
        }
    }

    /// What arrived for `tag` so far; `None` where counting is too costly to poll (the bench
    /// then watches the daemon's written counter and counts once at the end).
    fn delivered(&self, tag: &str) -> Option<u64> {
        match self {
            Server::Http(h) => Some(h.count(tag)),
            Server::Amqp(r) => Some(r.queued(tag)),
            Server::Kafka { .. } => None,
            Server::Redis { port, .. } => {
                Some(redis_call(*port, &["LLEN", tag]).ok().and_then(|r| r.parse().ok()).unwrap_or(0))
            }
            Server::Sql(pg, _) => Some(
                pg.psql(&format!("bench_{tag}"), "SELECT count(*) FROM messages")
                    .ok()
                    .and_then(|o| o.trim().parse().ok())
                    .unwrap_or(0),
            ),
            Server::Mqtt { dir, .. } => Some(count_lines(&dir.join(format!("sub-{tag}")))),
        }
    }

    fn polls_cheaply(&self) -> bool {
        matches!(
            self,
            Server::Http(_) | Server::Redis { .. } | Server::Mqtt { .. } | Server::Amqp(_) | Server::Kafka { .. }
        )
    }

    /// The final count, for the servers that are not polled.
    fn final_count(&self, tag: &str) -> u64 {
        match self {
            Server::Kafka { bootstrap, .. } => kafka_records(bootstrap, tag),
            _ => self.delivered(tag).unwrap_or(0),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Server::Http(_) | Server::Amqp(_) | Server::Sql(..) => {}
            Server::Kafka { helper, .. } => {
                let _ = helper.kill();
                let _ = helper.wait();
            }
            Server::Redis { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Server::Mqtt { child, subscribers, .. } => {
                for s in subscribers.get_mut().expect("subscribers").iter_mut() {
                    let _ = s.kill();
                    let _ = s.wait();
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The records appended to `topic`: the sum of its partitions' end offsets. Reading the records
/// back would miss the oldest ones, which the mock cluster drops once a partition holds about
/// 5 MB.
fn kafka_records(bootstrap: &str, topic: &str) -> u64 {
    let Ok(meta) = output(Command::new("kcat").args(["-L", "-b", bootstrap, "-t", topic, "-m", "5"])) else {
        return 0;
    };
    let partitions: u32 = meta
        .split_once(" partitions")
        .and_then(|(before, _)| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut query = Command::new("kcat");
    query.args(["-Q", "-b", bootstrap, "-m", "5"]);
    for p in 0..partitions {
        query.args(["-t", &format!("{topic}:{p}:-1")]);
    }
    output(&mut query).map_or(0, |o| {
        o.lines().filter_map(|l| l.rsplit_once(" offset ").and_then(|(_, n)| n.trim().parse::<u64>().ok())).sum()
    })
}

fn count_lines(path: &Path) -> u64 {
    fs::read(path).map(|d| d.iter().filter(|&&b| b == b'\n').count() as u64).unwrap_or(0)
}

/// One command over RESP, its reply as text (integer or status).
fn redis_call(port: u16, args: &[&str]) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).map_err(|e| e.to_string())?;
    match line.as_bytes().first() {
        Some(b':' | b'+') => Ok(line[1..].trim_end().to_string()),
        _ => Err(format!("redis: {}", line.trim_end())),
    }
}

/// An HTTP/1.1 server that counts the messages (lines holding rsng-loadgen's `seq=` mark) in
/// the bodies it receives, per path, and answers 200 to each request.
struct HttpSink {
    port: u16,
    counts: Arc<Mutex<HashMap<String, u64>>>,
    stop: Arc<AtomicBool>,
}

impl HttpSink {
    fn start() -> Result<HttpSink, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let counts: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        let stop: Arc<AtomicBool> = Arc::default();
        let (c, st) = (counts.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let c = c.clone();
                std::thread::spawn(move || {
                    let _ = serve_http(stream, &c);
                });
            }
        });
        Ok(HttpSink { port, counts, stop })
    }

    fn count(&self, tag: &str) -> u64 {
        self.counts.lock().expect("counts").get(&format!("/{tag}")).copied().unwrap_or(0)
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_http(stream: TcpStream, counts: &Mutex<HashMap<String, u64>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split(' ').nth(1).unwrap_or_default().to_string();
        let mut length = 0;
        let mut chunked = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').unwrap_or((h, ""));
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else if name.eq_ignore_ascii_case("expect") {
                writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            }
        }
        body.clear();
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
                let start = body.len();
                body.resize(start + n + 2, 0);
                reader.read_exact(&mut body[start..])?;
                body.truncate(start + n);
                if n == 0 {
                    break;
                }
            }
        } else {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        let messages = body.windows(4).filter(|w| w == b"seq=").count() as u64;
        *counts.lock().expect("counts").entry(path).or_default() += messages;
        writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?;
    }
}

/// A private RabbitMQ node with the management plugin (for `rabbitmqadmin`), stopped when
/// dropped.
struct Rabbit {
    child: Child,
    port: u16,
    admin_port: u16,
    env: Vec<(String, String)>,
    /// The connection that counts queued messages, opened on first use.
    probe: Mutex<Option<QueueProbe>>,
}

impl Rabbit {
    fn start(dir: &Path) -> Result<Rabbit, String> {
        let base = dir.join("rabbit");
        fs::create_dir_all(&base).map_err(|e| e.to_string())?;
        let ports = free_ports(4);
        fs::write(base.join("enabled_plugins"), "[rabbitmq_management].\n").map_err(|e| e.to_string())?;
        fs::write(
            base.join("rabbitmq.conf"),
            format!("management.tcp.port = {}\nmanagement.tcp.ip = 127.0.0.1\n", ports[3]),
        )
        .map_err(|e| e.to_string())?;
        fs::write(base.join("rabbitmq-env.conf"), "").map_err(|e| e.to_string())?;
        let b = |name: &str| base.join(name).to_string_lossy().to_string();
        let env: Vec<(String, String)> = [
            ("HOME", b("")),
            ("RABBITMQ_NODENAME", format!("rsngbench{}@localhost", ports[0])),
            ("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1".to_string()),
            ("RABBITMQ_NODE_PORT", ports[0].to_string()),
            ("RABBITMQ_DIST_PORT", ports[1].to_string()),
            ("ERL_EPMD_PORT", ports[2].to_string()),
            ("ERL_EPMD_ADDRESS", "127.0.0.1".to_string()),
            ("RABBITMQ_MNESIA_BASE", b("mnesia")),
            ("RABBITMQ_LOG_BASE", b("log")),
            ("RABBITMQ_CONFIG_FILE", b("rabbitmq")),
            ("RABBITMQ_ENABLED_PLUGINS_FILE", b("enabled_plugins")),
            ("RABBITMQ_PID_FILE", b("pid")),
            ("RABBITMQ_CONF_ENV_FILE", b("rabbitmq-env.conf")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let child = Command::new("/usr/lib/rabbitmq/bin/rabbitmq-server")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(fs::File::create(base.join("server.out")).map_err(|e| e.to_string())?)
            .stderr(Stdio::null())
            // Its own process group, so that the Erlang processes go with it.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("rabbitmq-server (apt-get install rabbitmq-server): {e}"))?;
        let rabbit = Rabbit { child, port: ports[0], admin_port: ports[3], env, probe: Mutex::default() };
        let up = wait_for(120, || {
            fs::read_to_string(base.join("server.out")).unwrap_or_default().contains("completed with")
                && TcpStream::connect(("127.0.0.1", rabbit.port)).is_ok()
                && TcpStream::connect(("127.0.0.1", rabbit.admin_port)).is_ok()
        });
        if !up {
            return Err(format!("rabbitmq did not start, see {}", base.join("server.out").display()));
        }
        Ok(rabbit)
    }

    fn admin(&self, args: &[&str]) -> Result<String, String> {
        output(Command::new("rabbitmqadmin").args(["-H", "127.0.0.1", "-P", &self.admin_port.to_string()]).args(args))
    }

    /// An exchange `tag` with a queue `tag` bound to it.
    fn prepare(&self, tag: &str) -> Result<(), String> {
        self.admin(&["declare", "exchange", &format!("name={tag}"), "type=direct"])?;
        self.admin(&["declare", "queue", &format!("name={tag}"), "durable=true"])?;
        self.admin(&[
            "declare",
            "binding",
            &format!("source={tag}"),
            &format!("destination={tag}"),
            "routing_key=bench",
        ])
        .map(drop)
    }

    /// The messages `queue` holds, asked over AMQP (cheap enough to poll, unlike rabbitmqctl,
    /// which costs the broker half a CPU-second). 0 when the broker does not answer.
    fn queued(&self, queue: &str) -> u64 {
        let mut probe = self.probe.lock().expect("probe");
        for _ in 0..2 {
            if probe.is_none() {
                *probe = QueueProbe::connect(self.port).ok();
            }
            match probe.as_mut().map(|p| p.count(queue)) {
                Some(Ok(n)) => return n,
                // Connected again once: a passive declare of a missing queue closes the channel.
                _ => *probe = None,
            }
        }
        0
    }
}

/// A minimal AMQP 0-9-1 connection (PLAIN guest/guest, vhost `/`) that asks for a queue's
/// message count with a passive Queue.Declare on channel 1.
struct QueueProbe {
    stream: TcpStream,
}

impl QueueProbe {
    fn connect(port: u16) -> Result<QueueProbe, String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let mut p = QueueProbe { stream };
        p.stream.write_all(b"AMQP\x00\x00\x09\x01").map_err(|e| e.to_string())?;
        p.expect((10, 10))?;
        let mut start_ok = Vec::new();
        start_ok.extend_from_slice(&0u32.to_be_bytes()); // client properties: an empty table
        short_str(&mut start_ok, "PLAIN");
        long_str(&mut start_ok, b"\0guest\0guest");
        short_str(&mut start_ok, "en_US");
        p.send(0, (10, 11), &start_ok)?;
        let tune = p.expect((10, 30))?;
        let mut tune_ok = tune.get(..6).ok_or("short Connection.Tune")?.to_vec();
        tune_ok.extend_from_slice(&0u16.to_be_bytes()); // no heartbeats
        p.send(0, (10, 31), &tune_ok)?;
        let mut open = Vec::new();
        short_str(&mut open, "/");
        short_str(&mut open, "");
        open.push(0);
        p.send(0, (10, 40), &open)?;
        p.expect((10, 41))?;
        p.send(1, (20, 10), &[0])?;
        p.expect((20, 11))?;
        Ok(p)
    }

    fn count(&mut self, queue: &str) -> Result<u64, String> {
        let mut declare = vec![0, 0];
        short_str(&mut declare, queue);
        declare.push(1); // passive
        declare.extend_from_slice(&0u32.to_be_bytes());
        self.send(1, (50, 10), &declare)?;
        let ok = self.expect((50, 11))?;
        let name_len = usize::from(*ok.first().ok_or("short Queue.DeclareOk")?);
        let count = ok.get(1 + name_len..5 + name_len).ok_or("short Queue.DeclareOk")?;
        Ok(u64::from(u32::from_be_bytes(count.try_into().map_err(|_| "short Queue.DeclareOk")?)))
    }

    fn send(&mut self, channel: u16, (class, method): (u16, u16), args: &[u8]) -> Result<(), String> {
        let mut frame = vec![1];
        frame.extend_from_slice(&channel.to_be_bytes());
        frame.extend_from_slice(&(4 + args.len() as u32).to_be_bytes());
        frame.extend_from_slice(&class.to_be_bytes());
        frame.extend_from_slice(&method.to_be_bytes());
        frame.extend_from_slice(args);
        frame.push(0xCE);
        self.stream.write_all(&frame).map_err(|e| e.to_string())
    }

    /// Reads frames until a method frame, which must be `want`; returns its arguments.
    fn expect(&mut self, want: (u16, u16)) -> Result<Vec<u8>, String> {
        loop {
            let mut head = [0u8; 7];
            self.stream.read_exact(&mut head).map_err(|e| e.to_string())?;
            let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
            let mut payload = vec![0u8; size + 1];
            self.stream.read_exact(&mut payload).map_err(|e| e.to_string())?;
            payload.pop();
            if head[0] != 1 {
                continue; // a heartbeat or content
            }
            let id = payload.get(..4).ok_or("short method frame")?;
            let got = (u16::from_be_bytes([id[0], id[1]]), u16::from_be_bytes([id[2], id[3]]));
            if got != want {
                return Err(format!("AMQP: expected method {want:?}, got {got:?}"));
            }
            return Ok(payload.split_off(4));
        }
    }
}

fn short_str(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn long_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .arg("30")
            .arg("/usr/lib/rabbitmq/bin/rabbitmqctl")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("shutdown")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("kill").args(["-KILL", "--"]).arg(format!("-{}", self.child.id())).status();
        let _ = self.child.wait();
        // The Erlang port mapper runs on as a daemon of its own.
        let _ = Command::new("epmd")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("-kill")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A private PostgreSQL cluster (run as the `postgres` user, which it requires), stopped when
/// dropped.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

fn as_postgres(program: &Path, args: &[&str]) -> Result<String, String> {
    output(Command::new("runuser").args(["-u", "postgres", "--"]).arg(program).args(args))
}

impl Postgres {
    fn start(dir: &Path) -> Result<Postgres, String> {
        let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
            .map_err(|_| "PostgreSQL is not installed (apt-get install postgresql)".to_string())?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").is_file())
            .collect();
        versions.sort();
        let bin = versions.pop().ok_or("no initdb under /usr/lib/postgresql")?;
        let data = dir.join("pg");
        fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        // The server's files belong to `postgres`, in a directory it can reach.
        let mut p = dir.to_path_buf();
        while p.parent().is_some() {
            let _ = Command::new("chmod").arg("o+x").arg(&p).status();
            p.pop();
        }
        output(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&data))?;
        let d = data.to_string_lossy().to_string();
        as_postgres(&bin.join("initdb"), &["-D", &d, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])?;
        let port = free_ports(1)[0];
        let opts = format!("-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = format!("{d}/server.log");
        let pg = Postgres { bin, data, port };
        as_postgres(&pg.bin.join("pg_ctl"), &["-D", &d, "-o", &opts, "-l", &log, "-w", "start"])?;
        Ok(pg)
    }

    fn psql(&self, db: &str, query: &str) -> Result<String, String> {
        let port = self.port.to_string();
        as_postgres(
            &self.bin.join("psql"),
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", db, "-XAtq", "-c", query],
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let d = self.data.to_string_lossy().to_string();
        let _ = as_postgres(&self.bin.join("pg_ctl"), &["-D", &d, "-m", "immediate", "-w", "stop"]);
    }
}

// ---------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------

/// A `syslog-ng-ctl stats` counter (`written`, `dropped`) summed over the destination and source
/// rows, read over the control socket.
fn counter(ctl: &Path, name: &str) -> u64 {
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
        if f.len() == 6 && f[4] == name && (f[0].starts_with("dst.") || f[0].starts_with("src.")) {
            total += f[5].parse::<u64>().unwrap_or(0);
        }
    }
    total
}

fn config(port: u16, destination: &str) -> String {
    format!(
        "@version: 3.38\noptions {{ use-dns(no); dns-cache(no); keep-hostname(yes); stats-freq(0); stats-level(1); \
         time-reopen(1); }};\n\
         source s {{ network(ip(127.0.0.1) port({port}) transport(\"tcp\") log-iw-size(1000)); }};\n\
         destination d {{ {destination}; }};\nlog {{ source(s); destination(d); flags(flow-control); }};\n"
    )
}

fn one_run(
    bin: &Path,
    loadgen: &Path,
    dir: &Path,
    server: &Server,
    tag: &str,
    messages: usize,
) -> Result<Sample, String> {
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    server.prepare(tag)?;
    let port = free_ports(1)[0];
    let conf = dir.join("bench.conf");
    let ctl = dir.join("ctl");
    fs::write(&conf, config(port, &server.destination(tag))).map_err(|e| e.to_string())?;
    let mut daemon =
        crate::daemon::start(Command::new(bin), &conf, dir, Duration::from_secs(20), &bin.display().to_string())?;
    let pid = daemon.id();
    // The destination connects at start-up; give it that time outside the measurement.
    std::thread::sleep(Duration::from_millis(1000));
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let out = Command::new(loadgen)
        .args(["--transport", "tcp", "--format", "rfc3164", "--connections", "1", "--size", "300"])
        .args(["--count", &messages.to_string()])
        .arg(format!("127.0.0.1:{port}"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("rsng-loadgen: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let sent: u64 = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("sent="))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("rsng-loadgen printed no count: {text}"))?;
    // Polls what arrived until all of it is there or nothing more arrives for a while.
    let poll = || server.delivered(tag).unwrap_or_else(|| counter(&ctl, "written"));
    let mut seen = poll();
    let mut last_growth = start.elapsed();
    let mut stable_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(600);
    // Counting by running a client (psql, kcat) costs CPU beside the daemon: less often.
    let interval = Duration::from_millis(if server.polls_cheaply() { 50 } else { 200 });
    while seen < sent && stable_since.elapsed() < Duration::from_secs(5) && Instant::now() < deadline {
        std::thread::sleep(interval);
        let now = poll();
        if now != seen {
            seen = now;
            last_growth = start.elapsed();
            stable_since = Instant::now();
        }
    }
    let cpu = cpu_seconds(pid) - cpu_before;
    let peak_rss_kib = status_kib(pid, "VmHWM");
    let dropped = counter(&ctl, "dropped");
    crate::daemon::stop(&mut daemon);
    // A server counted only now: wait for its count to settle.
    let mut delivered = server.final_count(tag);
    if server.delivered(tag).is_none() {
        let mut tries = 0;
        while delivered < sent && tries < 5 {
            std::thread::sleep(Duration::from_millis(500));
            delivered = server.final_count(tag);
            tries += 1;
        }
    }
    Ok(Sample { sent, delivered, dropped, seconds: last_growth.as_secs_f64(), cpu, peak_rss_kib })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_sink_counts_messages_per_path_over_one_connection() {
        let sink = HttpSink::start().expect("sink");
        let mut s = TcpStream::connect(("127.0.0.1", sink.port)).expect("connect");
        let body = "seq=1 a\nseq=2 b";
        write!(s, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        write!(s, "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nseq=3 c\r\n0\r\n\r\n").expect("write");
        let mut reader = BufReader::new(s);
        let mut answers = 0;
        let mut line = String::new();
        while answers < 2 && reader.read_line(&mut line).expect("read") > 0 {
            if line.starts_with("HTTP/1.1 200") {
                answers += 1;
            }
            line.clear();
        }
        assert_eq!((sink.count("a"), sink.count("b"), sink.count("c")), (2, 1, 0));
    }

    #[test]
    fn the_configuration_has_flow_control_and_the_destination() {
        let c = config(5140, "redis(port(1))");
        assert!(c.contains("port(5140)") && c.contains("destination d { redis(port(1)); };"));
        assert!(c.contains("flags(flow-control)"));
    }
}
