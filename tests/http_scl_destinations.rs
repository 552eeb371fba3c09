//! The SCL destinations that Debian's syslog-ng 3.38 builds on `http()`
//! (`/usr/share/syslog-ng/include/scl/`): `discord()`, `slack()`, `telegram()`,
//! `elasticsearch-http()` and `sumologic-http()`. Both daemons include `scl.conf`, run the same
//! configuration and send to an HTTP server of their own, started here on a free loopback port.
//! The requests it receives (method, path, headers but `User-Agent` and the case of header names,
//! bodies) must be the same.
//! `telegram()` and `sumologic-http()` build fixed `https://` URLs; a later `url()` among their
//! extra options replaces it (in both daemons), which points them at the test's server.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsng_tests::{oracle_skipped, Daemon, RunningDaemon, TempDir};

/// One request as the server read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    method: String,
    path: String,
    /// Name and value of each header line, in order, as sent.
    headers: Vec<(String, String)>,
    body: String,
}

/// A small HTTP/1.1 server that records each request and answers 200; it stops listening when
/// dropped (its connection threads end with their connections).
struct Server {
    port: u16,
    /// Each request with the time it arrived.
    requests: Arc<Mutex<Vec<(Request, Instant)>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests: Arc<Mutex<Vec<(Request, Instant)>>> = Arc::default();
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &seen);
                });
            }
        });
        Server { port, requests }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("requests").iter().map(|(r, _)| r.clone()).collect()
    }

    fn arrivals(&self) -> Vec<Instant> {
        self.requests.lock().expect("requests").iter().map(|(_, t)| *t).collect()
    }

    fn count(&self, path: &str) -> usize {
        self.requests.lock().expect("requests").iter().filter(|(r, _)| r.path == path).count()
    }
}

fn handle(stream: TcpStream, requests: &Mutex<Vec<(Request, Instant)>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        let (method, path) =
            (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end_matches(['\r', '\n']);
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').unwrap_or((h, ""));
            let value = value.trim_start().to_string();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            }
            headers.push((name.to_string(), value));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let request = Request { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() };
        requests.lock().expect("requests").push((request, Instant::now()));
        writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
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

/// Every SCL destination built on `http()`, with its defaults and with options of its own, each
/// on a path of its own.
const PATHS: &[&str] = &[
    "/discord",
    "/discord-options",
    "/slack",
    "/slack-options",
    "/telegram",
    "/telegram-options",
    "/elastic",
    "/elastic-options",
    "/sumologic",
];

fn config(input: u16, server: u16) -> String {
    let url = |path: &str| format!("http://127.0.0.1:{server}{path}");
    format!(
        r##"@version: 3.38
@include "scl.conf"
options {{ use-dns(no); keep-hostname(yes); time-reopen(1); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d_discord {{ discord(url("{}")); }};
destination d_discord_options {{ discord(url("{}") template("$PROGRAM: $MSG") max-msg-length(12)
    username("logbot") avatar-url("http://example.com/a.png") tts(true)); }};
destination d_slack {{ slack(hook-url("{}")); }};
destination d_slack_options {{ slack(hook-url("{}") template("<$HOST> $MSG") colors("#000001,#000002,#000003,#000004,#000005,#000006,#000007,#000008")
    title("T $PROGRAM") title-link("http://example.com/t") pretext("pre") footer("foot") image-url("http://example.com/i.png")); }};
destination d_telegram {{ telegram(bot-id("123:abc") chat-id("-42") url("{}")); }};
destination d_telegram_options {{ telegram(bot-id("1") chat-id("2") template("$HOST says ${{MSG}}") parse-mode("markdown")
    disable-web-page-preview("false") disable-notification("true") extra-parameters("reply_to_message_id=7")
    max-size(20) url("{}")); }};
destination d_elastic {{ elasticsearch-http(url("{}") index("logs") type("msg")); }};
destination d_elastic_options {{ elasticsearch-http(url("{}") index("idx-$PROGRAM") type("") custom_id("$PID")
    workers(1) template("$(format-json --scope nv-pairs --key HOST --key MSG)") headers("Content-Type: application/json", "X-Tenant: t1")); }};
destination d_sumologic {{ sumologic-http(deployment("eu") collector("c0ll3ct0r") tls(peer-verify(no))
    url("{}") headers("X-Sumo-Category: cat") body("$MSG")); }};
log {{ source(s); destination(d_discord); destination(d_discord_options); destination(d_slack); destination(d_slack_options);
    destination(d_telegram); destination(d_telegram_options); destination(d_elastic); destination(d_elastic_options);
    destination(d_sumologic); }};
"##,
        url(PATHS[0]),
        url(PATHS[1]),
        url(PATHS[2]),
        url(PATHS[3]),
        url(PATHS[4]),
        url(PATHS[5]),
        url(PATHS[6]),
        url(PATHS[7]),
        url(PATHS[8]),
    )
}

/// Messages of several severities, with characters JSON and URL encoding must escape, and one
/// longer than discord()'s default `max-msg-length(2000)`.
fn messages() -> Vec<String> {
    vec![
        "<11>Jan  1 00:00:00 host prog[12]: plain message".to_string(),
        "<14>Jan  1 00:00:01 other-host my-app: it's a \"quoted\" \\ message & more=1 ÁRVÍZTŰRŐ + 100%".to_string(),
        format!("<15>Jan  1 00:00:02 host prog[7]: long {}", "0123456789".repeat(210)),
        "<8>Jan  1 00:00:03 host kernel: emergency <b>tags</b>".to_string(),
    ]
}

/// The requests of each path, in order, without `User-Agent` (it names the daemon), with header
/// names in lower case (curl sends a name from `headers()` as spelt, `Content-type` in
/// discord() and slack(); rsng in Title-Case: names are case-insensitive) and with the server's
/// port as `PORT`.
fn by_path(requests: &[Request], port: u16) -> BTreeMap<String, Vec<Request>> {
    let mut out: BTreeMap<String, Vec<Request>> = BTreeMap::new();
    for r in requests {
        let mut r = r.clone();
        r.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("user-agent"));
        for (n, v) in &mut r.headers {
            n.make_ascii_lowercase();
            *v = v.replace(&format!(":{port}"), ":PORT");
        }
        out.entry(r.path.clone()).or_default().push(r);
    }
    out
}

fn run(daemon: Daemon, dir: &Path) -> BTreeMap<String, Vec<Request>> {
    let server = Server::start();
    let (d, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| config(p.tcp[0], server.port));
    let input = ports.tcp[0];
    // One message at a time, each delivered everywhere before the next, so that the batches
    // (elasticsearch-http() sends up to 100 per request, with 4 workers) are the same.
    for (i, m) in messages().iter().enumerate() {
        d.send_tcp(input, format!("{m}\n").as_bytes());
        let ok = wait_until(30, || PATHS.iter().all(|p| server.count(p) > i));
        assert!(
            ok,
            "{}: message {i} did not reach every path: {:?}; stderr:\n{}",
            daemon.name(),
            PATHS.iter().map(|p| (p, server.count(p))).collect::<Vec<_>>(),
            d.stderr()
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    by_path(&server.requests(), server.port)
}

/// Where rsng's requests to `path` differ from syslog-ng's, briefly (bodies around the first
/// difference).
fn differences(path: &str, ours: &[Request], theirs: &[Request]) -> Vec<String> {
    let mut out = Vec::new();
    if ours.len() != theirs.len() {
        out.push(format!("{path}: {} requests, syslog-ng {}", ours.len(), theirs.len()));
    }
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if (&a.method, &a.path) != (&b.method, &b.path) {
            out.push(format!("{path}[{i}]: {} {}, syslog-ng {} {}", a.method, a.path, b.method, b.path));
        }
        if a.headers != b.headers {
            out.push(format!("{path}[{i}] headers:\n  rsng      {:?}\n  syslog-ng {:?}", a.headers, b.headers));
        }
        if a.body != b.body {
            let at = a.body.bytes().zip(b.body.bytes()).take_while(|(x, y)| x == y).count();
            let around = |s: &str| -> String {
                s.char_indices().filter(|(k, _)| k + 60 >= at && *k < at + 60).map(|(_, c)| c).collect()
            };
            out.push(format!(
                "{path}[{i}] body ({} bytes, syslog-ng {}), from byte {at}:\n  rsng      {:?}\n  syslog-ng {:?}",
                a.body.len(),
                b.body.len(),
                around(&a.body),
                around(&b.body)
            ));
        }
    }
    out
}

#[test]
fn scl_destinations_on_http_send_what_syslog_ng_sends() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("http-scl").expect("dir");
    let ours = run(Daemon::Rsng, dir.path());
    let theirs = run(Daemon::Oracle, dir.path());
    let differences: Vec<String> = PATHS.iter().flat_map(|p| differences(p, &ours[*p], &theirs[*p])).collect();
    assert!(differences.is_empty(), "rsng differs from syslog-ng:\n{}", differences.join("\n"));
    assert_eq!(ours, theirs);
    // The requests carry what the SCL builds, not just anything both daemons agree on.
    let discord = &ours["/discord"];
    assert_eq!(discord.len(), 4);
    assert!(discord[0].body.contains(r#""content":"plain message""#), "{}", discord[0].body);
    let telegram = &ours["/telegram"][0];
    assert!(telegram.body.starts_with("disable_web_page_preview=true&"), "{}", telegram.body);
    assert!(telegram.body.contains("chat_id=-42&"), "{}", telegram.body);
    let elastic = &ours["/elastic"][0];
    assert!(elastic.body.starts_with(r#"{"index":{"_type":"msg","_index":"logs"}}"#), "{}", elastic.body);
}

fn throttle_config(input: u16, server: u16) -> String {
    format!(
        r#"@version: 3.38
@include "scl.conf"
options {{ use-dns(no); keep-hostname(yes); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d {{ discord(url("http://127.0.0.1:{server}/throttled") throttle(2)); }};
log {{ source(s); destination(d); }};
"#
    )
}

/// The requests of seven messages sent at once through `discord(throttle(2))`, and the seconds
/// from the first to the last.
fn run_throttled(daemon: Daemon, dir: &Path) -> (Vec<Request>, f64) {
    let server = Server::start();
    let (d, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| throttle_config(p.tcp[0], server.port));
    let lines: String = (0..7).map(|i| format!("<13>Jan  1 00:00:00 host prog: m{i}\n")).collect();
    d.send_tcp(ports.tcp[0], lines.as_bytes());
    let ok = wait_until(30, || server.count("/throttled") >= 7);
    assert!(ok, "{}: {} requests; stderr:\n{}", daemon.name(), server.count("/throttled"), d.stderr());
    let t = server.arrivals();
    let spread = t[t.len() - 1].duration_since(t[0]).as_secs_f64();
    (by_path(&server.requests(), server.port).remove("/throttled").unwrap_or_default(), spread)
}

/// `throttle()` (2 a second here; discord() sets 5, slack() and telegram() 1): a burst of two,
/// then one request every half second, as syslog-ng's queue lets them out.
#[test]
fn throttle_paces_requests_as_syslog_ng_does() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("http-scl-throttle").expect("dir");
    let (ours, our_spread) = run_throttled(Daemon::Rsng, dir.path());
    let (theirs, their_spread) = run_throttled(Daemon::Oracle, dir.path());
    assert_eq!(ours, theirs);
    // Seven messages at 2 a second after a burst of two: 2.5 s from the first to the last.
    for (name, spread) in [("rsng", our_spread), ("syslog-ng", their_spread)] {
        assert!((2.3..4.0).contains(&spread), "{name}: {spread:.2} s from the first request to the last");
    }
}
