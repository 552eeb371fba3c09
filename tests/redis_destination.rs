//! `redis()` against syslog-ng 3.38's redis module: both daemons run the same configuration and
//! send to a Redis server started here on a free loopback port. The commands the server executes
//! (seen through `MONITOR`, per connection) and the data they leave must be the same, and a server
//! stopped for three seconds must get every message once it is back (flow control on).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsng_tests::{free_tcp_ports, oracle_skipped, Daemon, RunningDaemon, TempDir};

const PASSWORD: &str = "s3cret";

/// A private redis-server: no persistence but the snapshot written when it is stopped, so that a
/// restart finds the data again.
struct Redis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    fn start(dir: &Path) -> Redis {
        let port = free_tcp_ports(1)[0];
        let mut r = Redis { port, dir: dir.to_path_buf(), child: None };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--requirepass", PASSWORD, "--dir"])
            .arg(&self.dir)
            .args(["--dbfilename", "dump.rdb", "--logfile", "redis.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.client().is_none() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An authenticated connection.
    fn client(&self) -> Option<Client> {
        let s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let mut c = Client { reader: BufReader::new(s.try_clone().ok()?), writer: s };
        (c.call(&["AUTH", PASSWORD]).ok()? == "OK").then_some(c)
    }

    fn call(&self, args: &[&str]) -> String {
        self.client().expect("connect to redis").call(args).expect("redis reply")
    }

    /// `SHUTDOWN SAVE`: the server writes its data and exits.
    fn stop(&mut self) {
        let _ = self.client().map(|mut c| c.call(&["SHUTDOWN", "SAVE"]));
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    fn monitor(&self) -> Monitor {
        let mut c = self.client().expect("monitor connection");
        assert_eq!(c.call(&["MONITOR"]).expect("monitor"), "OK");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while c.reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                seen.lock().expect("lines").push(line.trim_end().to_string());
                line.clear();
            }
        });
        Monitor { lines }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Sends one command; the reply as text (array items joined by newlines).
    fn call(&mut self, args: &[&str]) -> std::io::Result<String> {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.writer.write_all(out.as_bytes())?;
        self.reply()
    }

    fn reply(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let body = line.trim_end().to_string();
        let rest = body.get(1..).unwrap_or_default().to_string();
        Ok(match body.as_bytes().first() {
            Some(b'$') => {
                let n: i64 = rest.parse().unwrap_or(-1);
                if n < 0 {
                    String::new()
                } else {
                    let mut buf = vec![0; n as usize + 2];
                    self.reader.read_exact(&mut buf)?;
                    String::from_utf8_lossy(&buf[..n as usize]).into_owned()
                }
            }
            Some(b'*') => {
                let n: i64 = rest.parse().unwrap_or(0);
                let mut items = Vec::new();
                for _ in 0..n.max(0) {
                    items.push(self.reply()?);
                }
                items.join("\n")
            }
            _ => rest,
        })
    }
}

/// What `MONITOR` printed: `TIME [DB ADDR:PORT] "CMD" "ARG" ...`.
struct Monitor {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Monitor {
    /// The commands of each client connection, in order, as a sorted list (connections from the
    /// two daemons' workers interleave in any order), without this test's own commands.
    fn by_connection(&self) -> Vec<Vec<String>> {
        let mut conns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for l in self.lines.lock().expect("lines").iter() {
            let Some((head, command)) = l.split_once("] ") else { continue };
            let client = head.rsplit(' ').next().unwrap_or_default().to_string();
            conns.entry(client).or_default().push(command.to_string());
        }
        let mut out: Vec<Vec<String>> = conns
            .into_values()
            .filter(|c| {
                !c.iter()
                    .any(|x| ["LRANGE", "HGETALL", "LLEN", "HLEN"].iter().any(|t| x.starts_with(&format!("\"{t}\""))))
            })
            .collect();
        out.sort();
        out
    }

    fn incr(&self) -> usize {
        self.lines.lock().expect("lines").iter().filter(|l| l.contains("\"INCR\"")).count()
    }

    fn len(&self) -> usize {
        self.lines.lock().expect("lines").len()
    }
}

fn wait_until(seconds: u64, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn start(daemon: Daemon, dir: &Path, config: impl Fn(u16) -> String) -> (RunningDaemon, u16) {
    let (d, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| config(p.tcp[0]));
    (d, ports.tcp[0])
}

fn lines(messages: &[String]) -> String {
    messages.iter().map(|m| format!("<13>Jan  1 00:00:00 host prog: {m}\n")).collect()
}

/// `dst.redis` rows of `syslog-ng-ctl stats` that are not 0, with the port as `PORT`.
fn stats_rows(dir: &Path, daemon: Daemon, port: u16) -> Vec<String> {
    let out = Command::new("syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(dir.join(format!("{}.ctl", daemon.name())))
        .output()
        .expect("syslog-ng-ctl");
    let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("dst.redis;"))
        .filter(|l| [";processed;", ";written;", ";dropped;"].iter().any(|k| l.contains(k)))
        .filter(|l| !l.ends_with(";0"))
        .map(|l| l.replace(&format!(",{port};"), ",PORT;"))
        .collect();
    rows.sort();
    rows
}

fn commands_config(input: u16, server: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d_single {{ redis(host("127.0.0.1") port({server}) auth("{PASSWORD}") persist-name("single")
    command("RPUSH" "single" "$PROGRAM: $MSG")); }};
destination d_batch {{ redis(port({server}) auth("{PASSWORD}") persist-name("batch") command("HSET" "batch-${{PROGRAM}}" "$MSG" "${{SEVERITY}}")
    batch-lines(3) batch-timeout(1000)); }};
destination d_refused {{ redis(port({server}) auth("{PASSWORD}") persist-name("refused")
    command("INCR" "wrongtype") retries(2)); }};
log {{ source(s); destination(d_single); destination(d_batch); }};
log {{ source(s); filter {{ message("text") }}; destination(d_refused); }};
"#
    )
}

struct Observed {
    commands: Vec<Vec<String>>,
    single: String,
    batch: String,
    stats: Vec<String>,
}

fn run_commands(daemon: Daemon, dir: &Path) -> Observed {
    let work = dir.join(daemon.name());
    std::fs::create_dir_all(&work).expect("dir");
    let redis = Redis::start(&work);
    // INCR on a list fails with WRONGTYPE.
    redis.call(&["RPUSH", "wrongtype", "x"]);
    let monitor = redis.monitor();
    let (d, input) = start(daemon, dir, |input| commands_config(input, redis.port));
    let msgs: Vec<String> = ["one", "two \"quoted\"", "three", "text", "five"].iter().map(|s| s.to_string()).collect();
    RunningDaemon::send_tcp(&d, input, lines(&msgs).as_bytes());
    // 5 RPUSH, 5 HSET, and INCR of a list: tried twice (retries(2)), then dropped.
    let ok = wait_until(30, || {
        redis.call(&["LLEN", "single"]) == "5" && redis.call(&["HLEN", "batch-prog"]) == "5" && monitor.incr() >= 2
    });
    std::thread::sleep(Duration::from_millis(2500));
    assert!(ok, "{}: monitor saw {} lines; stderr:\n{}", daemon.name(), monitor.len(), d.stderr());
    let stats = stats_rows(dir, daemon, redis.port);
    let single = redis.call(&["LRANGE", "single", "0", "-1"]);
    let batch = redis.call(&["HGETALL", "batch-prog"]);
    // MONITOR reports each command a moment after it ran: without this wait, the AUTH of the
    // last call could be seen without its HGETALL and look like a connection of the daemon's.
    wait_until(5, || monitor.lines.lock().expect("lines").iter().any(|l| l.contains("\"HGETALL\"")));
    let commands = monitor.by_connection();
    d.stop();
    Observed { commands, single, batch, stats }
}

#[test]
fn commands_as_syslog_ng_sends_them() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("redis-commands").expect("dir");
    let ours = run_commands(Daemon::Rsng, dir.path());
    let theirs = run_commands(Daemon::Oracle, dir.path());
    assert_eq!(ours.commands, theirs.commands);
    assert_eq!(ours.single, theirs.single);
    assert_eq!(ours.batch, theirs.batch);
    assert_eq!(ours.stats, theirs.stats);
    // What the comparison covers: the connections start with AUTH and PING and carry the templated
    // arguments; the refused INCR went out as often as retries() allows.
    let all: Vec<&String> = ours.commands.iter().flatten().collect();
    assert!(all.iter().any(|c| c.as_str() == "\"RPUSH\" \"single\" \"prog: two \\\"quoted\\\"\""), "{all:?}");
    assert!(all.iter().any(|c| c.as_str() == "\"HSET\" \"batch-prog\" \"three\" \"notice\""), "{all:?}");
    assert_eq!(all.iter().filter(|c| c.as_str() == "\"INCR\" \"wrongtype\"").count(), 2, "{all:?}");
    let start = ["\"AUTH\" \"(redacted)\"", "\"ping\""];
    assert!(ours.commands.iter().all(|c| c.len() > 2 && c[..2] == start), "{:?}", ours.commands);
    assert_eq!(ours.single.lines().count(), 5);
}

/// `queue`: the destination's queue options (a small memory queue, or a reliable disk buffer).
fn outage_config(input: u16, server: u16, queue: &str) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input}) log-iw-size(50)); }};
destination d {{ redis(port({server}) auth("{PASSWORD}") command("RPUSH" "out" "$MSG")
    batch-lines(10) batch-timeout(200) {queue}); }};
log {{ source(s); destination(d); flags(flow-control); }};
"#
    )
}

/// How often each of `count` numbered messages is in the list.
fn arrivals(redis: &Redis, count: usize) -> Vec<usize> {
    let mut seen = vec![0; count];
    for item in redis.call(&["LRANGE", "out", "0", "-1"]).lines() {
        if let Some(n) = item.strip_prefix("m-").and_then(|n| n.parse::<usize>().ok()) {
            if n < count {
                seen[n] += 1;
            }
        }
    }
    seen
}

fn run_outage(daemon: Daemon, dir: &Path, disk_buffer: bool) {
    const COUNT: usize = 400;
    let work = dir.join(format!("outage-{}-{disk_buffer}", daemon.name()));
    std::fs::create_dir_all(&work).expect("dir");
    let queue = if disk_buffer {
        format!("disk-buffer(reliable(yes) disk-buf-size(1048576) dir(\"{}\"))", work.display())
    } else {
        "log-fifo-size(50)".to_string()
    };
    let mut redis = Redis::start(&work);
    let (d, input) = start(daemon, dir, |input| outage_config(input, redis.port, &queue));
    let msgs: Vec<String> = (0..COUNT).map(|i| format!("m-{i}")).collect();
    d.send_tcp(input, lines(&msgs[..100]).as_bytes());
    assert!(
        wait_until(30, || arrivals(&redis, COUNT).iter().sum::<usize>() >= 100),
        "{}: before the outage; stderr:\n{}",
        daemon.name(),
        d.stderr()
    );
    redis.stop();
    // Sent while the server is away: more than the queue holds, so flow control holds the rest.
    let rest = lines(&msgs[100..]);
    let sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", input)).expect("connect");
        s.write_all(rest.as_bytes()).expect("send");
    });
    std::thread::sleep(Duration::from_secs(3));
    redis.spawn();
    sender.join().expect("sender");
    let ok = wait_until(60, || arrivals(&redis, COUNT).iter().all(|&n| n >= 1));
    std::thread::sleep(Duration::from_millis(500));
    let seen = arrivals(&redis, COUNT);
    let missing: Vec<usize> = (0..COUNT).filter(|&i| seen[i] == 0).collect();
    let doubled: Vec<usize> = (0..COUNT).filter(|&i| seen[i] > 1).collect();
    assert!(ok && missing.is_empty(), "{}: missing {missing:?}, twice {doubled:?}", daemon.name());
    assert!(doubled.is_empty(), "{}: twice {doubled:?}", daemon.name());
}

#[test]
fn a_server_away_for_three_seconds_gets_every_message() {
    let dir = TempDir::new("redis-outage").expect("dir");
    run_outage(Daemon::Rsng, dir.path(), false);
    if !oracle_skipped() {
        run_outage(Daemon::Oracle, dir.path(), false);
    }
}

#[test]
fn a_server_away_for_three_seconds_gets_every_message_from_a_reliable_disk_buffer() {
    let dir = TempDir::new("redis-outage-disk").expect("dir");
    run_outage(Daemon::Rsng, dir.path(), true);
    if !oracle_skipped() {
        run_outage(Daemon::Oracle, dir.path(), true);
    }
}

/// One list per message (`RPUSH` to the message's key); the key of the fifth is a string, so its
/// command is refused (WRONGTYPE).
fn refused_in_the_middle_config(input: u16, server: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d {{ redis(port({server}) auth("{PASSWORD}") persist-name("each") command("RPUSH" "$MSG" "$MSG")
    retries(2)); }};
log {{ source(s); destination(d); }};
"#
    )
}

struct RefusedRun {
    lists: Vec<String>,
    /// How often each command went out.
    commands: BTreeMap<String, usize>,
    stats: Vec<String>,
}

fn run_refused_in_the_middle(daemon: Daemon, dir: &Path) -> RefusedRun {
    let work = dir.join(format!("refused-{}", daemon.name()));
    std::fs::create_dir_all(&work).expect("dir");
    let redis = Redis::start(&work);
    redis.call(&["SET", "k05", "a string"]);
    let monitor = redis.monitor();
    let (d, input) = start(daemon, dir, |input| refused_in_the_middle_config(input, redis.port));
    let keys: Vec<String> = (1..=40).map(|i| format!("k{i:02}")).collect();
    // One write: the messages arrive together and go out as one chunk of commands.
    RunningDaemon::send_tcp(&d, input, lines(&keys).as_bytes());
    let rpush = |m: &Monitor| m.lines.lock().expect("lines").iter().filter(|l| l.contains("\"RPUSH\"")).count();
    // 39 taken once, the refused one twice (retries(2)).
    let ok = wait_until(30, || rpush(&monitor) >= 41);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(ok, "{}: monitor saw {} lines; stderr:\n{}", daemon.name(), monitor.len(), d.stderr());
    let stats = stats_rows(dir, daemon, redis.port);
    let lists = keys.iter().filter(|k| k.as_str() != "k05").map(|k| redis.call(&["LRANGE", k, "0", "-1"])).collect();
    let mut commands = BTreeMap::new();
    for l in monitor.lines.lock().expect("lines").iter() {
        if let Some((_, c)) = l.split_once("] ").filter(|(_, c)| c.starts_with("\"RPUSH\"")) {
            *commands.entry(c.to_string()).or_insert(0) += 1;
        }
    }
    d.stop();
    RefusedRun { lists, commands, stats }
}

/// Without `batch-lines()` rsng sends the commands of the queued messages together; a command
/// the server refuses in the middle must not cost the others: each of them arrives once, and
/// the refused one is tried `retries()` times and dropped, as syslog-ng (one command at a time)
/// ends up.
#[test]
fn a_refused_command_among_many_costs_only_itself() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("redis-refused").expect("dir");
    let ours = run_refused_in_the_middle(Daemon::Rsng, dir.path());
    let theirs = run_refused_in_the_middle(Daemon::Oracle, dir.path());
    assert_eq!(ours.lists.len(), 39);
    assert!(ours.lists.iter().all(|l| l.lines().count() == 1), "{:?}", ours.lists);
    assert_eq!(ours.lists, theirs.lists);
    assert_eq!(ours.commands.get("\"RPUSH\" \"k05\" \"k05\""), Some(&2), "{:?}", ours.commands);
    assert_eq!(ours.commands.values().sum::<usize>(), 41, "{:?}", ours.commands);
    assert_eq!(ours.commands, theirs.commands);
    assert_eq!(ours.stats, theirs.stats);
    assert!(ours.stats.iter().any(|r| r.ends_with(";dropped;1")), "{:?}", ours.stats);
}
