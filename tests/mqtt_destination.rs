//! `mqtt()` against a private mosquitto broker started here on a free loopback port. No Debian
//! package of syslog-ng 3.38 ships the mqtt module, so this is not differential: what the broker
//! delivers to a subscriber (topic, QoS, payload) is checked against 3.38's documented behaviour.
//! A broker stopped for three seconds must get every message once it is back (QoS 1, flow
//! control on), and bad options are refused with their location. Over TLS (`ssl://`), a broker
//! requiring client certificates gets the messages of a client it trusts, and a client refuses a
//! broker whose certificate comes from an unknown CA or names another host. The `mqtt()` source
//! gets what `mosquitto_pub` publishes to the topics it subscribes to (wildcards, QoS 0/1/2,
//! over TCP and TLS), and with its persistent session what was published while rsng was away.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsng_tests::{free_tcp_ports, rsng_bin, Daemon, RunningDaemon, TempDir};

#[path = "tls_common.rs"]
mod tls_common;

const USER: &str = "logger";
const PASSWORD: &str = "s3cret";

/// A private mosquitto with a password file and persistence, so that a subscriber's session and
/// its queued messages survive a restart.
struct Broker {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Broker {
    fn start(dir: &Path) -> Broker {
        Broker::start_with(dir, "")
    }

    /// A broker with `listeners` (more `listener` sections) after its plain one.
    fn start_with(dir: &Path, listeners: &str) -> Broker {
        let port = free_tcp_ports(1)[0];
        let passwords = dir.join("passwords");
        let status = Command::new("mosquitto_passwd")
            .args(["-b", "-c"])
            .arg(&passwords)
            .args([USER, PASSWORD])
            .status()
            .expect("mosquitto_passwd (apt-get install mosquitto)");
        assert!(status.success(), "mosquitto_passwd failed");
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\npersistence true\n\
             persistence_location {}/\nlog_dest file {}\nuser root\n{listeners}",
            passwords.display(),
            dir.display(),
            dir.join("mosquitto.log").display()
        );
        // `user root`: started as root, mosquitto would otherwise switch to its own user, which
        // cannot write here (a non-root start ignores the option).
        std::fs::write(dir.join("mosquitto.conf"), conf).expect("mosquitto.conf");
        let mut b = Broker { port, dir: dir.to_path_buf(), child: None };
        b.spawn();
        b
    }

    fn spawn(&mut self) {
        // Debian installs the broker in /usr/sbin, which a non-root PATH may lack.
        let child = Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (apt-get install mosquitto)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM: mosquitto saves its sessions and exits.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// A subscriber to every topic with a persistent session (`-c`), QoS 2, printing
    /// `TOPIC|QOS|PAYLOAD` per message.
    fn subscribe(&self) -> Subscriber {
        let mut child = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-u", USER, "-P", PASSWORD])
            .args(["-i", "rsng-test-subscriber", "-c", "-q", "2", "-t", "#", "-F", "%t|%q|%p"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub (apt-get install mosquitto-clients)");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                seen.lock().expect("lines").push(line);
            }
        });
        // The subscription is in place once the broker logs it.
        let log = self.dir.join("mosquitto.log");
        let ok = wait_until(10, || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("rsng-test-subscriber") && l.contains("as "))
        });
        assert!(ok, "the subscriber did not connect");
        std::thread::sleep(Duration::from_millis(300));
        Subscriber { child, lines }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Subscriber {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Subscriber {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

fn lines(program: &str, messages: &[String]) -> String {
    messages.iter().map(|m| format!("<13>Jan  1 00:00:00 host {program}: {m}\n")).collect()
}

#[test]
fn messages_arrive_on_their_topics_with_their_qos() {
    let dir = TempDir::new("mqtt-topics").expect("dir");
    let broker = Broker::start(dir.path());
    let sub = broker.subscribe();
    let port = broker.port;
    let (d, ports, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 1, |p| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d_plain {{ mqtt(address("tcp://127.0.0.1:{port}") topic("logs/plain") username("{USER}") password("{PASSWORD}")); }};
destination d_one {{ mqtt(address("tcp://127.0.0.1:{port}") topic("logs/${{PROGRAM}}") fallback-topic("logs/fallback")
    qos(1) template("$PROGRAM said $MSG") username("{USER}") password("{PASSWORD}") client-id("rsng-one")); }};
destination d_two {{ mqtt(address("tcp://127.0.0.1:{port}") topic("${{.unset}}") fallback-topic("logs/fallback")
    qos(2) template("$MSG") username("{USER}") password("{PASSWORD}") keepalive(1)); }};
log {{ source(s); destination(d_plain); destination(d_one); destination(d_two); }};
"#,
            input = p.tcp[0]
        )
    });
    let input = ports.tcp[0];
    let msgs: Vec<String> = ["one", "two \"quoted\"", "three"].iter().map(|s| s.to_string()).collect();
    // One connection: the order is kept.
    let input_text = lines("app", &msgs) + &lines("web", &["four".to_string()]);
    d.send_tcp(input, input_text.as_bytes());
    let ok = wait_until(30, || sub.lines().len() >= 12);
    std::thread::sleep(Duration::from_millis(500));
    let got = sub.lines();
    assert!(ok && got.len() == 12, "{got:?}; stderr:\n{}", d.stderr());
    let on =
        |prefix: &str| -> Vec<String> { got.iter().filter_map(|l| l.strip_prefix(prefix)).map(String::from).collect() };
    // The default template is `$ISODATE $HOST $MSGHDR$MSG`: the date (first word) varies.
    let plain: Vec<String> = on("logs/plain|0|")
        .iter()
        .map(|p| p.split_once(' ').map(|(_, rest)| rest.to_string()).unwrap_or_default())
        .collect();
    // `$HOST` is the sender's address (keep-hostname(no)).
    let expected =
        ["127.0.0.1 app: one", "127.0.0.1 app: two \"quoted\"", "127.0.0.1 app: three", "127.0.0.1 web: four"];
    assert_eq!(plain, expected);
    assert!(on("logs/plain|0|").iter().all(|p| p.starts_with("20") && p.as_bytes().get(10) == Some(&b'T')), "{got:?}");
    assert_eq!(on("logs/app|1|"), ["app said one", "app said two \"quoted\"", "app said three"]);
    assert_eq!(on("logs/web|1|"), ["web said four"]);
    // An empty topic goes to fallback-topic().
    assert_eq!(on("logs/fallback|2|"), ["one", "two \"quoted\"", "three", "four"]);
    let log = std::fs::read_to_string(dir.path().join("mosquitto.log")).expect("log");
    assert!(log.contains("as rsng-one"), "client-id() not used:\n{log}");
    assert!(log.contains("as syslog-ng-destination-logs/plain"), "default client id:\n{log}");
    assert!(d.stderr().contains("Error constructing topic"), "{}", d.stderr());
    let stats = Command::new("syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(dir.path().join("rsng.ctl"))
        .output()
        .expect("syslog-ng-ctl");
    let stats = String::from_utf8_lossy(&stats.stdout).replace(&format!(":{port},"), ":PORT,");
    for row in [
        "dst.mqtt-destination;d_plain#0;mqtt,tcp://127.0.0.1:PORT,logs/plain;a;written;4",
        "dst.mqtt-destination;d_one#0;mqtt,tcp://127.0.0.1:PORT,logs/${PROGRAM};a;written;4",
        "dst.mqtt-destination;d_two#0;mqtt,tcp://127.0.0.1:PORT,${.unset};a;written;4",
    ] {
        assert!(stats.lines().any(|l| l == row), "no {row} in:\n{stats}");
    }
    // keepalive(1): an idle connection is pinged, so the broker (which allows 1.5 keep-alive
    // periods of silence) keeps it.
    std::thread::sleep(Duration::from_millis(3500));
    let log = std::fs::read_to_string(dir.path().join("mosquitto.log")).expect("log");
    assert!(!log.contains("exceeded timeout"), "{log}");
    assert!(log.contains("k1"), "keepalive(1) not sent in CONNECT:\n{log}");
    d.stop();
}

#[test]
fn a_broker_away_for_three_seconds_gets_every_message() {
    let dir = TempDir::new("mqtt-outage").expect("dir");
    run_outage(dir.path(), "log-fifo-size(50)");
}

#[test]
fn a_broker_away_for_three_seconds_gets_every_message_from_a_reliable_disk_buffer() {
    let dir = TempDir::new("mqtt-outage-disk").expect("dir");
    let queue = format!("disk-buffer(reliable(yes) disk-buf-size(1048576) dir(\"{}\"))", dir.path().display());
    run_outage(dir.path(), &queue);
}

/// `queue`: the destination's queue options (a small memory queue, or a reliable disk buffer).
fn run_outage(dir: &Path, queue: &str) {
    const COUNT: usize = 400;
    let mut broker = Broker::start(dir);
    let sub = broker.subscribe();
    let port = broker.port;
    let (d, ports, _) = RunningDaemon::start(Daemon::Rsng, dir, 0, 1, |p| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input}) log-iw-size(50)); }};
destination d {{ mqtt(address("tcp://127.0.0.1:{port}") topic("out") qos(1) template("$MSG")
    username("{USER}") password("{PASSWORD}") {queue}); }};
log {{ source(s); destination(d); flags(flow-control); }};
"#,
            input = p.tcp[0]
        )
    });
    let input = ports.tcp[0];
    let arrivals = || {
        let mut seen = vec![0usize; COUNT];
        for l in sub.lines() {
            if let Some(n) = l.strip_prefix("out|1|m-").and_then(|n| n.parse::<usize>().ok()) {
                if n < COUNT {
                    seen[n] += 1;
                }
            }
        }
        seen
    };
    let msgs: Vec<String> = (0..COUNT).map(|i| format!("m-{i}")).collect();
    d.send_tcp(input, lines("prog", &msgs[..100]).as_bytes());
    assert!(wait_until(30, || arrivals().iter().sum::<usize>() >= 100), "before the outage:\n{}", d.stderr());
    broker.stop();
    // Sent while the broker is away: more than the queue holds, so flow control holds the rest.
    let rest = lines("prog", &msgs[100..]);
    let sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", input)).expect("connect");
        s.write_all(rest.as_bytes()).expect("send");
    });
    std::thread::sleep(Duration::from_secs(3));
    broker.spawn();
    sender.join().expect("sender");
    let ok = wait_until(60, || arrivals().iter().all(|&n| n >= 1));
    std::thread::sleep(Duration::from_millis(500));
    let seen = arrivals();
    let missing: Vec<usize> = (0..COUNT).filter(|&i| seen[i] == 0).collect();
    let doubled: Vec<usize> = (0..COUNT).filter(|&i| seen[i] > 1).collect();
    // QoS 1 is at least once: a message whose acknowledgement the outage cut off is sent again.
    eprintln!("outage with {queue}: {} of {COUNT} arrived, {} twice", COUNT - missing.len(), doubled.len());
    assert!(ok && missing.is_empty(), "missing {missing:?}; stderr:\n{}", d.stderr());
    assert!(d.stderr().contains("Error connecting mqtt client"), "the outage was not seen:\n{}", d.stderr());
    d.stop();
}

/// Starts rsng on a configuration with `destination` at line 4, column 3, and returns what it
/// printed when it refused to start.
fn refusal(dir: &Path, destination: &str) -> String {
    let conf = dir.join("bad.conf");
    let text = format!(
        "@version: 3.38\nsource s {{ tcp(ip(\"127.0.0.1\") port({})); }};\ndestination d {{\n  {destination};\n}};\n\
         log {{ source(s); destination(d); }};\n",
        free_tcp_ports(1)[0]
    );
    std::fs::write(&conf, text).expect("conf");
    let out = Command::new(rsng_bin())
        .arg("-F")
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("bad.pid"))
        .arg("-R")
        .arg(dir.join("bad.persist"))
        .arg("-c")
        .arg(dir.join("bad.ctl"))
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("rsng");
    assert!(!out.status.success(), "{destination}: accepted");
    format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout))
}

#[test]
fn bad_options_are_refused_with_their_location() {
    let dir = TempDir::new("mqtt-bad").expect("dir");
    let cases = [
        ("mqtt(address(\"tcp://127.0.0.1:1\"))", "the topic() argument is required"),
        ("mqtt(topic(\"t\") qos(3))", "Allowed QOS values: 0, 1, 2"),
        ("mqtt(topic(\"t\") address(\"127.0.0.1:1883\"))", "Invalid address"),
        ("mqtt(topic(\"t\") address(\"tcp://127.0.0.1:99999\"))", "bad port"),
        ("mqtt(topic(\"$PROGRAM\"))", "fallback_topic() argument is required"),
        ("mqtt(topic(\"t\") client-id(\"\"))", "client_id can't be empty"),
        ("mqtt(topic(\"t\") address(\"wss://127.0.0.1:8883\"))", "WebSocket"),
    ];
    for (destination, expected) in cases {
        let text = refusal(dir.path(), destination);
        assert!(text.contains(expected), "{destination}: {text}");
        assert!(text.contains("bad.conf:4:3"), "{destination}: no location in {text}");
    }
    // Refused at the option itself: a proxy would change how the connection goes, batching is
    // not an mqtt() option in 3.38, and 3.38 knows no TLS 1.3 as ssl-version().
    let cases = [
        (
            "mqtt(topic(\"t\") address(\"ssl://127.0.0.1:1\") tls(ssl-version(\"tlsv1_3\")))",
            "bad.conf:4:52",
            "unsupported SSL version: tlsv1_3",
        ),
        ("mqtt(topic(\"t\") http-proxy(\"http://p:3128\"))", "bad.conf:4:19", "HTTP proxy"),
        ("mqtt(topic(\"t\") batch-lines(10))", "bad.conf:4:19", "batch-lines()"),
    ];
    for (destination, location, expected) in cases {
        let text = refusal(dir.path(), destination);
        assert!(text.contains(expected) && text.contains(location), "{destination}: {text}");
    }
}

/// A broker with two TLS listeners requiring a client certificate from the test CA: one with
/// a certificate for `localhost`/`127.0.0.1`, one with a certificate for `other.example`.
fn tls_broker(dir: &Path) -> (Broker, u16, u16) {
    let pki = tls_common::pki();
    let [good, wrong] = free_tcp_ports(2)[..] else { unreachable!() };
    let listener = |port: u16, name: &str| {
        format!(
            "listener {port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
            pki.file("ca.pem"),
            pki.file(&format!("{name}.pem")),
            pki.file(&format!("{name}.key"))
        )
    };
    let listeners = listener(good, "server") + &listener(wrong, "wrongname");
    let broker = Broker::start_with(dir, &listeners);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", wrong)).is_err() {
        assert!(Instant::now() < deadline, "the TLS listeners did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (broker, good, wrong)
}

#[test]
fn tls_brokers_get_messages_from_trusted_clients_and_untrusted_brokers_are_refused() {
    let dir = TempDir::new("mqtt-tls").expect("dir");
    let (broker, good, wrong) = tls_broker(dir.path());
    let sub = broker.subscribe();
    let pki = tls_common::pki();
    let ca = pki.file("ca.pem");
    let rogue_ca = pki.file("rogue-ca.pem");
    let client = tls_common::identity("client");
    let (d, ports, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 1, |p| {
        let dest = |name: &str, address: String, tls: String| {
            format!(
                "destination d_{name} {{ mqtt(address(\"{address}\") topic(\"tls/{name}\") qos(1) template(\"$MSG\") \
                 client-id(\"rsng-{name}\") username(\"{USER}\") password(\"{PASSWORD}\") tls({tls})); }};\n"
            )
        };
        let mut conf = format!(
            "@version: 3.38\noptions {{ use-dns(no); time-reopen(1); stats-level(1); }};\n\
             source s {{ tcp(ip(\"127.0.0.1\") port({})); }};\n",
            p.tcp[0]
        );
        // Trusted both ways, by a CA file and by a hashed CA directory.
        conf += &dest("ok", format!("ssl://127.0.0.1:{good}"), format!("ca-file(\"{ca}\") {client}"));
        conf += &dest(
            "cadir",
            format!("ssl://localhost:{good}"),
            format!("ca-dir(\"{}\") {client} ssl-version(\"tlsv1_2\")", pki.file("cadir")),
        );
        // The broker's certificate names another host: accepted only without peer verification.
        conf += &dest("noverify", format!("ssl://127.0.0.1:{wrong}"), format!("{client} peer-verify(no)"));
        // Refused by rsng: unknown CA, wrong host name.
        conf += &dest("rogue", format!("ssl://127.0.0.1:{good}"), format!("ca-file(\"{rogue_ca}\") {client}"));
        conf += &dest("wrongname", format!("ssl://127.0.0.1:{wrong}"), format!("ca-file(\"{ca}\") {client}"));
        // Refused by the broker: no client certificate.
        conf += &dest("nocert", format!("ssl://127.0.0.1:{good}"), format!("ca-file(\"{ca}\")"));
        conf += "log { source(s); destination(d_ok); destination(d_cadir); destination(d_noverify); \
                 destination(d_rogue); destination(d_wrongname); destination(d_nocert); };\n";
        conf
    });
    let msgs: Vec<String> = (0..5).map(|i| format!("secret-{i}")).collect();
    d.send_tcp(ports.tcp[0], lines("app", &msgs).as_bytes());
    let ok = wait_until(30, || sub.lines().len() >= 15);
    // Time for anything that should not arrive.
    std::thread::sleep(Duration::from_millis(1500));
    let got = sub.lines();
    let on = |topic: &str| -> Vec<String> {
        got.iter().filter_map(|l| l.strip_prefix(&format!("tls/{topic}|1|"))).map(String::from).collect()
    };
    let stderr = d.stderr();
    assert!(ok, "{got:?}; stderr:\n{stderr}");
    for topic in ["ok", "cadir", "noverify"] {
        assert_eq!(on(topic), msgs, "tls/{topic}: {got:?}; stderr:\n{stderr}");
    }
    for topic in ["rogue", "wrongname", "nocert"] {
        assert!(on(topic).is_empty(), "tls/{topic} got through: {got:?}");
    }
    assert_eq!(got.len(), 15, "{got:?}");
    let error_of = |name: &str| -> String {
        stderr
            .lines()
            .find(|l| l.contains("Error connecting mqtt client") && l.contains(&format!("client_id='rsng-{name}'")))
            .unwrap_or_else(|| panic!("no connection error for d_{name}:\n{stderr}"))
            .to_string()
    };
    let rogue = error_of("rogue");
    assert!(rogue.contains("certificate verify failed"), "{rogue}");
    let wrongname = error_of("wrongname");
    assert!(wrongname.contains("certificate verify failed") && wrongname.contains("other.example"), "{wrongname}");
    let nocert = error_of("nocert");
    assert!(nocert.contains("SSL error") || nocert.contains("reset"), "{nocert}");
    let log = std::fs::read_to_string(dir.path().join("mosquitto.log")).expect("log");
    assert!(log.contains("as rsng-ok") && log.contains("as rsng-cadir") && log.contains("as rsng-noverify"), "{log}");
    let stats = Command::new("syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(dir.path().join("rsng.ctl"))
        .output()
        .expect("syslog-ng-ctl");
    let stats = String::from_utf8_lossy(&stats.stdout).to_string();
    for (name, written) in [("ok", 5), ("noverify", 5), ("rogue", 0), ("wrongname", 0)] {
        let row = |l: &&str| l.contains(&format!(";d_{name}#0;")) && l.ends_with(&format!(";written;{written}"));
        assert!(stats.lines().any(|l| row(&l)), "d_{name} written {written}:\n{stats}");
    }
    d.stop();
}

#[test]
fn tls_with_a_tcp_address_is_warned_about() {
    let dir = TempDir::new("mqtt-tls-tcp").expect("dir");
    let broker = Broker::start(dir.path());
    let sub = broker.subscribe();
    let port = broker.port;
    let ca = tls_common::pki().file("ca.pem");
    let (d, ports, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 1, |p| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d {{ mqtt(address("tcp://127.0.0.1:{port}") topic("plain") template("$MSG")
    username("{USER}") password("{PASSWORD}") tls(ca-file("{ca}"))); }};
log {{ source(s); destination(d); }};
"#,
            input = p.tcp[0]
        )
    });
    d.send_tcp(ports.tcp[0], lines("app", &["clear".to_string()]).as_bytes());
    assert!(wait_until(20, || sub.lines().len() == 1), "{:?}", sub.lines());
    assert_eq!(sub.lines(), ["plain|0|clear"]);
    d.stop();
    // The warning is given at start-up, on stderr with -e.
    let conf = dir.path().join("warn.conf");
    std::fs::write(&conf, std::fs::read_to_string(dir.path().join("rsng.conf")).expect("conf")).expect("conf");
    let stderr = dir.path().join("warn.stderr");
    let mut child = Command::new(rsng_bin())
        .args(["-F", "-e", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.path().join("warn.pid"))
        .arg("-R")
        .arg(dir.path().join("warn.persist"))
        .arg("-c")
        .arg(dir.path().join("warn.ctl"))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr"))
        .spawn()
        .expect("rsng");
    let warned = wait_until(10, || {
        std::fs::read_to_string(&stderr).is_ok_and(|t| t.contains("tls() has no effect with a tcp:// address"))
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(warned, "{:?}", std::fs::read_to_string(&stderr));
}

/// Publishes `message` to `topic` with `mosquitto_pub` on the broker's plain listener.
fn publish(broker: &Broker, topic: &str, qos: u8, message: &str) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-u", USER, "-P", PASSWORD])
        .args(["-t", topic, "-q", &qos.to_string(), "-m", message])
        .status()
        .expect("mosquitto_pub (apt-get install mosquitto-clients)");
    assert!(status.success(), "mosquitto_pub {topic} {message}");
}

/// Waits until the broker has logged a SUBSCRIBE of client `id` (mosquitto logs subscriptions at
/// its default level only as the client connecting; the SUBACK follows at once).
fn wait_subscribed(dir: &Path, id: &str) {
    let log = dir.join("mosquitto.log");
    let ok = wait_until(20, || std::fs::read_to_string(&log).is_ok_and(|l| l.contains(&format!("as {id} "))));
    assert!(ok, "{id} did not connect: {:?}", std::fs::read_to_string(&log));
    std::thread::sleep(Duration::from_millis(500));
}

fn source_lines(path: &Path, n: usize) -> Vec<String> {
    tls_common::wait_lines(path, n, 20)
}

#[test]
fn the_source_gets_what_is_published_to_its_topics() {
    let dir = TempDir::new("mqtt-source").expect("dir");
    let broker = Broker::start(dir.path());
    let port = broker.port;
    let out = dir.path().join("out.log");
    let (d, _, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 0, |_| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s_one {{ mqtt(address("tcp://127.0.0.1:{port}") topic("in/+/x") qos(1) client-id("rsng-one")
    username("{USER}") password("{PASSWORD}")); }};
source s_two {{ mqtt(address("tcp://127.0.0.1:{port}") topic("prio/#") qos(2) username("{USER}")
    password("{PASSWORD}") default-facility(local0) default-priority(warning)); }};
destination d {{ file("{out}" template("$SOURCE|$PRI|$PROGRAM|${{HOST}}|$MSG\n")); }};
log {{ source(s_one); source(s_two); destination(d); }};
"#,
            out = out.display()
        )
    });
    wait_subscribed(dir.path(), "rsng-one");
    wait_subscribed(dir.path(), "syslog-ng-source-prio/#");
    publish(&broker, "in/a/x", 0, "first");
    publish(&broker, "in/b/x", 1, "second with <13>Jan  1 00:00:00 h p: no parsing");
    publish(&broker, "in/a/y", 1, "not subscribed");
    publish(&broker, "in/a/b/x", 1, "not subscribed either");
    publish(&broker, "prio", 2, "exactly once");
    publish(&broker, "prio/deep/er", 1, "deeper");
    let got = source_lines(&out, 4);
    std::thread::sleep(Duration::from_millis(1000));
    let got = if got.len() >= 4 { tls_common::lines(&out) } else { got };
    let host = got.first().and_then(|l| l.split('|').nth(3)).unwrap_or_default().to_string();
    assert!(!host.is_empty(), "{got:?}; stderr:\n{}", d.stderr());
    let expected: Vec<String> = [
        "s_one|13||HOST|first",
        "s_one|13||HOST|second with <13>Jan  1 00:00:00 h p: no parsing",
        "s_two|132||HOST|exactly once",
        "s_two|132||HOST|deeper",
    ]
    .iter()
    .map(|l| l.replace("HOST", &host))
    .collect();
    assert_eq!(got, expected, "stderr:\n{}", d.stderr());
    d.stop();
}

#[test]
fn the_source_gets_what_was_published_while_it_was_away() {
    let dir = TempDir::new("mqtt-source-away").expect("dir");
    let broker = Broker::start(dir.path());
    let port = broker.port;
    let out = dir.path().join("out.log");
    let config = |_: &rsng_tests::Ports| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ mqtt(address("tcp://127.0.0.1:{port}") topic("away") qos(1) username("{USER}") password("{PASSWORD}")); }};
destination d {{ file("{out}" template("$MSG\n")); }};
log {{ source(s); destination(d); }};
"#,
            out = out.display()
        )
    };
    let (d, _, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 0, config);
    wait_subscribed(dir.path(), "syslog-ng-source-away");
    publish(&broker, "away", 1, "before");
    assert_eq!(source_lines(&out, 1), ["before"], "stderr:\n{}", d.stderr());
    d.stop();
    for i in 0..3 {
        publish(&broker, "away", 1, &format!("while away {i}"));
    }
    let (d, _, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 0, config);
    let got = source_lines(&out, 4);
    assert_eq!(got, ["before", "while away 0", "while away 1", "while away 2"], "stderr:\n{}", d.stderr());
    d.stop();
}

#[test]
fn the_source_subscribes_over_tls() {
    let dir = TempDir::new("mqtt-source-tls").expect("dir");
    let (broker, good, wrong) = tls_broker(dir.path());
    let pki = tls_common::pki();
    let ca = pki.file("ca.pem");
    let client = tls_common::identity("client");
    let out = dir.path().join("out.log");
    let (d, _, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 0, |_| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s_tls {{ mqtt(address("ssl://localhost:{good}") topic("secure") client-id("rsng-tls") username("{USER}")
    password("{PASSWORD}") tls(ca-file("{ca}") {client})); }};
source s_wrong {{ mqtt(address("ssl://127.0.0.1:{wrong}") topic("secure") client-id("rsng-wrong")
    username("{USER}") password("{PASSWORD}") tls(ca-file("{ca}") {client})); }};
destination d {{ file("{out}" template("$SOURCE $MSG\n")); }};
log {{ source(s_tls); source(s_wrong); destination(d); }};
"#,
            out = out.display()
        )
    });
    wait_subscribed(dir.path(), "rsng-tls");
    publish(&broker, "secure", 1, "over tls");
    let got = source_lines(&out, 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(tls_common::lines(&out), ["s_tls over tls"], "{got:?}; stderr:\n{}", d.stderr());
    let stderr = d.stderr();
    assert!(
        stderr.lines().any(|l| l.contains("client_id='rsng-wrong'") && l.contains("certificate verify failed")),
        "{stderr}"
    );
    d.stop();
}

#[test]
fn the_source_waits_for_a_stalled_destination_under_flow_control() {
    const COUNT: usize = 300;
    let dir = TempDir::new("mqtt-source-flow").expect("dir");
    let broker = Broker::start(dir.path());
    let port = broker.port;
    let sink_port = free_tcp_ports(1)[0];
    let (d, _, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 0, |_| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ mqtt(address("tcp://127.0.0.1:{port}") topic("flow") qos(1) client-id("rsng-flow") log-iw-size(20)
    username("{USER}") password("{PASSWORD}")); }};
destination d {{ network("127.0.0.1" port({sink_port}) template("$MSG\n") log-fifo-size(20)); }};
log {{ source(s); destination(d); flags(flow-control); }};
"#
        )
    });
    wait_subscribed(dir.path(), "rsng-flow");
    // The destination's peer is not there yet: the source must stop taking messages.
    let lines: String = (0..COUNT).map(|i| format!("m-{i}\n")).collect();
    let mut publisher = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-u", USER, "-P", PASSWORD])
        .args(["-t", "flow", "-q", "1", "-l"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub");
    let mut stdin = publisher.stdin.take().expect("stdin");
    stdin.write_all(lines.as_bytes()).expect("publish");
    // Held open while the messages go out: at end of input mosquitto_pub disconnects at once.
    std::thread::sleep(Duration::from_secs(3));
    drop(stdin);
    let _ = publisher.wait();
    let listener = std::net::TcpListener::bind(("127.0.0.1", sink_port)).expect("sink");
    listener.set_nonblocking(false).expect("blocking");
    let (conn, _) = listener.accept().expect("rsng connects");
    conn.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut got = Vec::new();
    for line in BufReader::new(conn).lines() {
        let Ok(line) = line else { break };
        got.push(line);
        if got.len() == COUNT {
            break;
        }
    }
    let mut seen = vec![0usize; COUNT];
    for line in &got {
        let n: usize = line.strip_prefix("m-").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line:?}"));
        seen[n] += 1;
    }
    let missing: Vec<usize> = (0..COUNT).filter(|&i| seen[i] == 0).collect();
    let doubled: Vec<usize> = (0..COUNT).filter(|&i| seen[i] > 1).collect();
    assert!(
        missing.is_empty() && doubled.is_empty(),
        "missing {missing:?}, twice {doubled:?}; stderr:\n{}",
        d.stderr()
    );
    d.stop();
}
