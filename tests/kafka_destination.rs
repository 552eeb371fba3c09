//! `kafka-c()` against syslog-ng 3.38's kafka module: both daemons run the same configuration and
//! produce to a Kafka cluster of their own — librdkafka's mock cluster, run here on free loopback
//! ports (Debian packages no Kafka broker). The records read back with kcat (topics, partitions,
//! keys, values) must be the same, and a broker that is down for three seconds must get every
//! message once it is back (flow control on).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rsng_tests::{oracle_skipped, Daemon, RunningDaemon, TempDir};

type Cluster = MockCluster<'static, DefaultProducerContext>;

/// A one-broker cluster with `topics`, one partition each (so that order is kept).
fn cluster(topics: &[&str]) -> Cluster {
    let c = MockCluster::new(1).expect("mock cluster");
    for t in topics {
        c.create_topic(t, 1, 1).expect("create topic");
    }
    c
}

/// One record as kcat reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    topic: String,
    partition: i32,
    /// `None`: the record has no key.
    key: Option<String>,
    value: String,
}

/// Every record of `topic`, in order, read with kcat.
fn read(bootstrap: &str, topic: &str) -> Vec<Record> {
    // Lengths first, so that the fields can hold any byte.
    let out = Command::new("kcat")
        .args(["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"])
        .args(["-f", "%p %K %S|%k%s\n"])
        .output()
        .expect("kcat (apt-get install kcat)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut records = Vec::new();
    let mut rest = text.as_str();
    while let Some((head, tail)) = rest.split_once('|') {
        let mut f = head.split(' ');
        let partition: i32 = f.next().and_then(|x| x.parse().ok()).expect("partition");
        let key_len: i64 = f.next().and_then(|x| x.parse().ok()).expect("key length");
        let value_len: usize = f.next().and_then(|x| x.parse().ok()).expect("value length");
        let key_len_used = key_len.max(0) as usize;
        let key = (key_len >= 0).then(|| tail[..key_len_used].to_string());
        let value = tail[key_len_used..key_len_used + value_len].to_string();
        records.push(Record { topic: topic.to_string(), partition, key, value });
        rest = &tail[key_len_used + value_len + 1..];
    }
    records
}

fn wait_until(seconds: u64, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn start(daemon: Daemon, dir: &Path, config: impl Fn(u16) -> String) -> (RunningDaemon, u16) {
    let (d, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| config(p.tcp[0]));
    (d, ports.tcp[0])
}

/// `dst.kafka` rows of `syslog-ng-ctl stats` that are not 0.
fn stats_rows(dir: &Path, daemon: Daemon) -> Vec<String> {
    let out = Command::new("syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(dir.join(format!("{}.ctl", daemon.name())))
        .output()
        .expect("syslog-ng-ctl");
    let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("dst.kafka;"))
        .filter(|l| [";processed;", ";written;", ";dropped;"].iter().any(|k| l.contains(k)))
        .filter(|l| !l.ends_with(";0"))
        .map(String::from)
        .collect();
    rows.sort();
    rows
}

const TOPICS: &[&str] = &["logs", "plain", "t-prog", "fallback", "batched", "sync"];

fn records_config(input: u16, bootstrap: &str) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d_keyed {{ kafka-c(bootstrap-servers("{bootstrap}") topic("logs") key("$PROGRAM-$PID")
    message("$PROGRAM [$SEVERITY] $MSG") config("client.id" => "differential" "linger.ms"("2"))); }};
destination d_plain {{ kafka-c(bootstrap-servers("{bootstrap}") topic("plain") message("${{MSG}}")
    persist-name("plain")); }};
destination d_template {{ kafka-c(bootstrap-servers("{bootstrap}") topic("t-$PROGRAM") fallback-topic("fallback")
    key("$MSG") message("$HOST $MSG")); }};
destination d_batched {{ kafka-c(bootstrap-servers("{bootstrap}") topic("batched") key("k") message("$MSG")
    batch-lines(3) batch-timeout(500) workers(2) persist-name("batched")); }};
destination d_sync {{ kafka-c(bootstrap-servers("{bootstrap}") topic("sync") message("$MSG") sync-send(yes)); }};
log {{ source(s); destination(d_keyed); destination(d_plain); destination(d_template); destination(d_batched);
    destination(d_sync); }};
"#
    )
}

struct Observed {
    records: Vec<Record>,
    stats: Vec<String>,
}

fn all_records(bootstrap: &str) -> Vec<Record> {
    TOPICS.iter().flat_map(|t| read(bootstrap, t)).collect()
}

fn run_records(daemon: Daemon, dir: &Path) -> Observed {
    let cluster = cluster(TOPICS);
    let bootstrap = cluster.bootstrap_servers();
    let (d, input) = start(daemon, dir, |input| records_config(input, &bootstrap));
    let input_lines = [
        "<13>Jan  1 00:00:00 host prog[42]: one",
        "<11>Jan  1 00:00:01 host prog[42]: two words",
        "<14>Jan  1 00:00:02 host other/x: to the fallback topic",
        "<13>Jan  1 00:00:03 host prog: \"quoted\" and unicode \u{e9}",
        "<13>Jan  1 00:00:04 host prog: five",
    ];
    let data: String = input_lines.iter().map(|l| format!("{l}\n")).collect();
    d.send_tcp(input, data.as_bytes());
    // 5 records in logs, plain, batched and sync each, 4 in t-prog and 1 in fallback.
    let ok = wait_until(30, || all_records(&bootstrap).len() >= 25);
    std::thread::sleep(Duration::from_millis(1000));
    let records = all_records(&bootstrap);
    assert!(ok, "{}: {} records: {records:?}; stderr:\n{}", daemon.name(), records.len(), d.stderr());
    let stats = stats_rows(dir, daemon);
    d.stop();
    Observed { records, stats }
}

#[test]
fn records_as_syslog_ng_produces_them() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("kafka-records").expect("dir");
    let ours = run_records(Daemon::Rsng, dir.path());
    let theirs = run_records(Daemon::Oracle, dir.path());
    // Two workers may interleave their batches: the batched topic is compared as a set.
    let sorted = |o: &Observed| {
        let mut r = o.records.clone();
        let (mut batched, rest): (Vec<_>, Vec<_>) = r.drain(..).partition(|x| x.topic == "batched");
        batched.sort();
        (rest, batched)
    };
    assert_eq!(sorted(&ours), sorted(&theirs));
    assert_eq!(ours.stats, theirs.stats);
    let logs: Vec<&Record> = ours.records.iter().filter(|r| r.topic == "logs").collect();
    assert_eq!(logs[0].key.as_deref(), Some("prog-42"));
    assert_eq!(logs[1].value, "prog [err] two words");
    assert!(
        ours.records.iter().any(|r| r.topic == "fallback" && r.value == "127.0.0.1 to the fallback topic"),
        "{:?}",
        ours.records
    );
    assert!(ours.records.iter().filter(|r| r.topic == "plain").all(|r| r.key.is_none()));
}

/// `queue`: the destination's queue options (a small memory queue, or a reliable disk buffer).
fn outage_config(input: u16, bootstrap: &str, queue: &str) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input}) log-iw-size(50)); }};
destination d {{ kafka-c(bootstrap-servers("{bootstrap}") topic("out") message("$MSG") {queue}
    config("reconnect.backoff.max.ms" => "500")); }};
log {{ source(s); destination(d); flags(flow-control); }};
"#
    )
}

/// How often each of `count` numbered messages is in the topic.
fn arrivals(bootstrap: &str, count: usize) -> Vec<usize> {
    let mut seen = vec![0; count];
    for r in read(bootstrap, "out") {
        if let Some(n) = r.value.strip_prefix("m-").and_then(|n| n.parse::<usize>().ok()) {
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
    let cluster = cluster(&["out"]);
    let bootstrap = cluster.bootstrap_servers();
    let (d, input) = start(daemon, dir, |input| outage_config(input, &bootstrap, &queue));
    let lines = |range: std::ops::Range<usize>| -> String {
        range.map(|i| format!("<13>Jan  1 00:00:00 host prog: m-{i}\n")).collect()
    };
    d.send_tcp(input, lines(0..100).as_bytes());
    assert!(
        wait_until(30, || arrivals(&bootstrap, COUNT).iter().sum::<usize>() >= 100),
        "{}: before the outage; stderr:\n{}",
        daemon.name(),
        d.stderr()
    );
    cluster.broker_down(1).expect("broker down");
    // Sent while the broker is away: more than the queue holds, so flow control holds the rest.
    let rest = lines(100..COUNT);
    let sender = std::thread::spawn(move || {
        use std::io::Write as _;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", input)).expect("connect");
        s.write_all(rest.as_bytes()).expect("send");
    });
    std::thread::sleep(Duration::from_secs(3));
    cluster.broker_up(1).expect("broker up");
    sender.join().expect("sender");
    let ok = wait_until(60, || arrivals(&bootstrap, COUNT).iter().all(|&n| n >= 1));
    let seen = arrivals(&bootstrap, COUNT);
    let missing: Vec<usize> = (0..COUNT).filter(|&i| seen[i] == 0).collect();
    let doubled: Vec<usize> = (0..COUNT).filter(|&i| seen[i] > 1).collect();
    assert!(ok && missing.is_empty(), "{}: missing {missing:?}, twice {doubled:?}", daemon.name());
    assert!(doubled.is_empty(), "{}: twice {doubled:?}", daemon.name());
    d.stop();
}

#[test]
fn a_broker_down_for_three_seconds_gets_every_message() {
    let dir = TempDir::new("kafka-outage").expect("dir");
    run_outage(Daemon::Rsng, dir.path(), false);
    if !oracle_skipped() {
        run_outage(Daemon::Oracle, dir.path(), false);
    }
}

#[test]
fn a_broker_down_for_three_seconds_gets_every_message_from_a_reliable_disk_buffer() {
    let dir = TempDir::new("kafka-outage-disk").expect("dir");
    run_outage(Daemon::Rsng, dir.path(), true);
    if !oracle_skipped() {
        run_outage(Daemon::Oracle, dir.path(), true);
    }
}
