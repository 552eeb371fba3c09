//! `http()` against syslog-ng 3.38's http module: both daemons run the same configuration and send
//! to HTTP servers of their own, started here on free loopback ports. What the servers receive
//! (method, path, headers but `User-Agent`, bodies, batches) must be the same, response codes must
//! lead to the same retries and drops, TLS with client certificates must work and refuse the same
//! servers, and a server that goes away for a while must get every message once it is back.

#[path = "tls_common.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::pki;
use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod, SslVerifyMode};
use rsng_tests::{oracle_skipped, Daemon, RunningDaemon, TempDir};

/// One request as the server read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    method: String,
    path: String,
    /// Name and value of each header line, in order, as sent.
    headers: Vec<(String, String)>,
    body: String,
    /// The common name of the client's certificate (TLS only).
    client_cn: Option<String>,
}

type Policy = Arc<dyn Fn(&str, usize) -> u16 + Send + Sync>;

/// A small HTTP/1.1 server: records each request and answers with the status `policy` gives for
/// its path and how many requests that path had before.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    tls: Option<Arc<SslAcceptor>>,
    policy: Policy,
}

impl Server {
    fn start(tls: Option<Arc<SslAcceptor>>, policy: Policy) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut s = Server { port, requests: Arc::default(), stop: Arc::default(), thread: None, tls, policy };
        s.serve(listener);
        s
    }

    fn serve(&mut self, listener: TcpListener) {
        let (requests, stop, tls, policy) =
            (self.requests.clone(), self.stop.clone(), self.tls.clone(), self.policy.clone());
        listener.set_nonblocking(true).expect("nonblocking");
        self.thread = Some(std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).expect("blocking");
                        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                        let (requests, stop, tls, policy) =
                            (requests.clone(), stop.clone(), tls.clone(), policy.clone());
                        conns.push(std::thread::spawn(move || {
                            let _ = handle(stream, tls, &requests, &stop, &policy);
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            drop(listener);
            for c in conns {
                let _ = c.join();
            }
        }));
    }

    /// Closes the port and every connection.
    fn pause(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Listens on the same port again.
    fn resume(&mut self) {
        self.stop.store(false, Ordering::SeqCst);
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("bind the same port again");
        self.serve(listener);
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("requests").clone()
    }

    fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.pause();
    }
}

/// A stream that may be TLS; reads time out so that the server can stop.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn handle(
    stream: TcpStream,
    tls: Option<Arc<SslAcceptor>>,
    requests: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
    policy: &Policy,
) -> std::io::Result<()> {
    let mut cn = None;
    let io: Box<dyn Stream> = match tls {
        Some(acceptor) => {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let s = acceptor.accept(stream).map_err(|e| std::io::Error::other(e.to_string()))?;
            cn = s.ssl().peer_certificate().and_then(|c| {
                c.subject_name()
                    .entries_by_nid(openssl::nid::Nid::COMMONNAME)
                    .next()
                    .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
            });
            let _ = s.get_ref().set_read_timeout(Some(Duration::from_millis(200)));
            Box::new(s)
        }
        None => Box::new(stream),
    };
    let mut reader = BufReader::new(io);
    loop {
        let mut line = String::new();
        // Waits for the next request, looking at the stop flag between reads.
        loop {
            match reader.read_line(&mut line) {
                Ok(0) => return Ok(()),
                Ok(_) => break,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    if stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
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
        let code = {
            let mut list = requests.lock().expect("requests");
            let before = list.iter().filter(|r| r.path == path).count();
            list.push(Request {
                method,
                path: path.clone(),
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
                client_cn: cn.clone(),
            });
            policy(&path, before)
        };
        let io = reader.get_mut();
        write!(io, "HTTP/1.1 {code} Status\r\nContent-Length: 2\r\n\r\nok")?;
        io.flush()?;
    }
}

fn always_ok() -> Policy {
    Arc::new(|_, _| 200)
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

fn send(d: &RunningDaemon, port: u16, lines: &[&str]) {
    let mut data = String::new();
    for l in lines {
        data.push_str(&format!("<13>Jan  1 00:00:00 host prog: {l}\n"));
    }
    d.send_tcp(port, data.as_bytes());
}

/// The requests of each path, in order, without `User-Agent` (the one header that differs) and
/// with the server's port in `Host` as `PORT`.
fn by_path(requests: &[Request], port: u16) -> BTreeMap<String, Vec<Request>> {
    let mut out: BTreeMap<String, Vec<Request>> = BTreeMap::new();
    for r in requests {
        let mut r = r.clone();
        r.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("user-agent"));
        for (_, v) in &mut r.headers {
            *v = v.replace(&format!(":{port}"), ":PORT");
        }
        out.entry(r.path.clone()).or_default().push(r);
    }
    out
}

/// The `processed`, `written` and `dropped` rows of the http destinations that are not 0, with
/// the server's port as `PORT`.
fn stats_rows(dir: &Path, daemon: Daemon, port: u16) -> Vec<String> {
    let out = Command::new("syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(dir.join(format!("{}.ctl", daemon.name())))
        .output()
        .expect("syslog-ng-ctl");
    let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("dst.http;"))
        .filter(|l| [";processed;", ";written;", ";dropped;"].iter().any(|k| l.contains(k)))
        .filter(|l| !l.ends_with(";0"))
        .map(|l| l.replace(&format!("127.0.0.1:{port}/"), "127.0.0.1:PORT/"))
        .collect();
    rows.sort();
    rows
}

fn plain_config(input: u16, server: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d_single {{ http(url("http://127.0.0.1:{server}/path?q=1")); }};
destination d_batch {{ http(url("http://127.0.0.1:{server}/batch") method("PUT") user("u") password("p")
    headers("X-A: 1", "X-B: two") body("$PROGRAM $MSG") body-prefix("[") body-suffix("]") delimiter(",")
    batch-lines(3) batch-timeout(1500) user-agent("ua/1")); }};
destination d_custom {{ http(url("http://127.0.0.1:{server}/custom") headers("Content-Type: application/json",
    "Accept: text/plain", "Host: logs.example") body("{{\"m\":\"$MSG\",\"s\":\"$SEVERITY\"}}")); }};
destination d_bytes {{ http(url("http://127.0.0.1:{server}/bytes") batch-lines(10) batch-bytes(12)
    batch-timeout(1500) delimiter("\n")); }};
log {{ source(s); destination(d_single); destination(d_batch); destination(d_custom); destination(d_bytes); }};
"#
    )
}

fn run_plain(daemon: Daemon, dir: &Path) -> (BTreeMap<String, Vec<Request>>, Vec<String>) {
    let server = Server::start(None, always_ok());
    let (d, input) = start(daemon, dir, |input| plain_config(input, server.port));
    send(&d, input, &["one", "two", "three", "four"]);
    // 4 single, 2 batches, 4 custom, and batch-bytes(12) splits "one\ntwo\nthree\nfour".
    let ok = wait_until(30, || server.requests().len() >= 4 + 2 + 4 + 2);
    std::thread::sleep(Duration::from_millis(800));
    assert!(ok, "{}: {} requests; stderr:\n{}", daemon.name(), server.requests().len(), d.stderr());
    let stats = stats_rows(dir, daemon, server.port);
    (by_path(&server.requests(), server.port), stats)
}

#[test]
fn requests_and_batches_as_syslog_ng_sends_them() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("http-plain").expect("dir");
    let (ours, our_stats) = run_plain(Daemon::Rsng, dir.path());
    let (theirs, their_stats) = run_plain(Daemon::Oracle, dir.path());
    assert_eq!(ours, theirs);
    let batch = &ours["/batch"];
    assert_eq!(
        batch.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
        ["[prog one,prog two,prog three]", "[prog four]"]
    );
    assert_eq!(batch[0].method, "PUT");
    assert!(batch[0].headers.contains(&("Authorization".into(), "Basic dTpw".into())));
    let single = &ours["/path?q=1"];
    assert_eq!(single.len(), 4);
    assert!(single[0].headers.contains(&("X-Syslog-Level".into(), "notice".into())));
    // Component, id and instance as syslog-ng names them; the counters the same.
    assert_eq!(our_stats, their_stats);
}

fn codes_config(input: u16, server: u16, log: &Path) -> String {
    let log = log.display();
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
source s_internal {{ internal(); }};
destination d_internal {{ file("{log}" template("$MSG\n")); }};
log {{ source(s_internal); destination(d_internal); }};
destination d_retry {{ http(url("http://127.0.0.1:{server}/retry")); }};
destination d_gone {{ http(url("http://127.0.0.1:{server}/gone")); }};
destination d_error {{ http(url("http://127.0.0.1:{server}/error") retries(2)); }};
destination d_action {{ http(url("http://127.0.0.1:{server}/action") response-action(404 => drop)); }};
log {{ source(s); destination(d_retry); destination(d_gone); destination(d_error); destination(d_action); }};
"#
    )
}

/// Per path: the requests the server got, and the internal messages about them.
fn run_codes(daemon: Daemon, dir: &Path) -> (BTreeMap<String, usize>, Vec<String>, String) {
    let policy: Policy = Arc::new(|path, before| match path {
        // Two server errors, then the message goes through.
        "/retry" if before < 2 => 500,
        "/retry" => 200,
        "/gone" => 410,
        "/error" => 504,
        _ => 404,
    });
    let server = Server::start(None, policy);
    let log = dir.join(format!("{}.internal", daemon.name()));
    let (d, input) = start(daemon, dir, |input| codes_config(input, server.port, &log));
    send(&d, input, &["hello"]);
    let ok = wait_until(30, || {
        server.count("/retry") >= 3
            && server.count("/gone") >= 1
            && server.count("/error") >= 2
            && server.count("/action") >= 1
    });
    // Long enough for a further retry after time-reopen(1), which must not come.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(ok, "{}: {:?}; stderr:\n{}", daemon.name(), server.requests(), d.stderr());
    let counts = ["/retry", "/gone", "/error", "/action"].iter().map(|p| (p.to_string(), server.count(p))).collect();
    let stats = stats_rows(dir, daemon, server.port);
    let stderr = d.stderr();
    drop(d);
    (counts, stats, std::fs::read_to_string(&log).unwrap_or_default() + &stderr)
}

#[test]
fn response_codes_retry_and_drop_as_in_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("http-codes").expect("dir");
    let (ours, our_stats, our_log) = run_codes(Daemon::Rsng, dir.path());
    let (theirs, their_stats, their_log) = run_codes(Daemon::Oracle, dir.path());
    assert_eq!(ours, theirs);
    assert_eq!(ours["/retry"], 3);
    assert_eq!(ours["/error"], 2);
    assert_eq!(our_stats, their_stats);
    for text in [
        "Server returned with a 5XX (server errors) status code, which indicates server failure.; url='http://127.0.0.1:",
        "Server disconnected while preparing messages for sending, trying again; driver='d_retry#0'",
        "Message(s) dropped while sending message to destination; driver='d_gone#0', worker_index='0', time_reopen='1', batch_size='1'",
        "Error occurred while trying to send a message, trying again; driver='d_error#0'",
        "Multiple failures while sending message(s) to destination, message(s) dropped; driver='d_error#0'",
        "http: handled by response_action; action='drop'",
    ] {
        assert!(their_log.contains(text), "syslog-ng did not log {text:?}:\n{their_log}");
        assert!(our_log.contains(text), "rsng did not log {text:?}:\n{our_log}");
    }
}

/// A TLS server with certificate `name` of the test PKI that requires a client certificate
/// issued by the test CA.
fn tls_acceptor(name: &str) -> Arc<SslAcceptor> {
    let p = pki();
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).expect("acceptor");
    b.set_private_key_file(p.path(&format!("{name}.key")), SslFiletype::PEM).expect("key");
    b.set_certificate_chain_file(p.path(&format!("{name}.pem"))).expect("certificate");
    b.set_ca_file(p.path("ca.pem")).expect("CA");
    b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    Arc::new(b.build())
}

fn tls_config(input: u16, good: u16, rogue: u16, wrong: u16, log: &Path) -> String {
    let p = pki();
    let tls = format!(
        "tls(ca-file(\"{}\") cert-file(\"{}\") key-file(\"{}\"))",
        p.file("ca.pem"),
        p.file("client.pem"),
        p.file("client.key")
    );
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
source s_internal {{ internal(); }};
destination d_internal {{ file("{log}" template("$MSG\n")); }};
log {{ source(s_internal); destination(d_internal); }};
destination d_good {{ http(url("https://localhost:{good}/good") {tls} batch-lines(2) batch-timeout(1000)); }};
destination d_rogue {{ http(url("https://localhost:{rogue}/rogue") {tls}); }};
destination d_wrong {{ http(url("https://localhost:{wrong}/wrong") {tls}); }};
destination d_unverified {{ http(url("https://localhost:{rogue}/unverified") {tls} peer-verify(no)); }};
log {{ source(s); destination(d_good); destination(d_rogue); destination(d_wrong); destination(d_unverified); }};
"#,
        log = log.display()
    )
}

struct TlsRun {
    good: BTreeMap<String, Vec<Request>>,
    unverified: BTreeMap<String, Vec<Request>>,
    refused: usize,
    /// The `error='...'` of each refused destination's request failure.
    errors: Vec<String>,
}

fn run_tls(daemon: Daemon, dir: &Path) -> TlsRun {
    let good = Server::start(Some(tls_acceptor("server")), always_ok());
    let rogue = Server::start(Some(tls_acceptor("rogue-server")), always_ok());
    let wrong = Server::start(Some(tls_acceptor("wrongname")), always_ok());
    let log = dir.join(format!("{}.tls.internal", daemon.name()));
    let (d, input) = start(daemon, dir, |input| tls_config(input, good.port, rogue.port, wrong.port, &log));
    send(&d, input, &["one", "two", "three"]);
    let ok = wait_until(30, || good.requests().len() >= 2 && rogue.count("/unverified") >= 3);
    // Time for the refused destinations to try (and fail) at least twice.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(ok, "{}: {:?} {:?}; stderr:\n{}", daemon.name(), good.requests(), rogue.requests(), d.stderr());
    drop(d);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut errors = Vec::new();
    for path in ["/rogue", "/wrong"] {
        let line = text
            .lines()
            .find(|l| l.starts_with("curl: error sending HTTP request;") && l.contains(path))
            .unwrap_or_else(|| panic!("{}: no request failure for {path}:\n{text}", daemon.name()));
        let error = line.split("error='").nth(1).and_then(|e| e.split('\'').next()).unwrap_or_default();
        errors.push(format!("{path}: {error}"));
    }
    TlsRun {
        good: by_path(&good.requests(), good.port),
        unverified: by_path(&rogue.requests(), rogue.port),
        refused: rogue.count("/rogue") + wrong.requests().len(),
        errors,
    }
}

#[test]
fn https_with_client_certificates_and_refused_servers() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("http-tls").expect("dir");
    let ours = run_tls(Daemon::Rsng, dir.path());
    let theirs = run_tls(Daemon::Oracle, dir.path());
    assert_eq!(ours.good, theirs.good);
    assert_eq!(ours.unverified, theirs.unverified);
    let bodies: Vec<&str> = ours.good["/good"].iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["one\ntwo", "three"]);
    assert!(ours.good["/good"].iter().all(|r| r.client_cn.as_deref() == Some("client1")));
    // An unknown CA and a certificate for another name: nothing is sent, the failure is logged.
    assert_eq!((ours.refused, theirs.refused), (0, 0));
    assert_eq!(ours.errors, theirs.errors);
    assert!(ours.errors.iter().all(|e| e.contains("SSL")), "{:?}", ours.errors);
}

fn outage_config(input: u16, server: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input}) log-iw-size(50)); }};
destination d {{ http(url("http://127.0.0.1:{server}/bulk") batch-lines(10) batch-timeout(200) log-fifo-size(50)); }};
log {{ source(s); destination(d); flags(flow-control); }};
"#
    )
}

/// How often each of `count` numbered messages arrived in the bodies.
fn arrivals(server: &Server, count: usize) -> Vec<usize> {
    let mut seen = vec![0; count];
    for r in server.requests() {
        for line in r.body.split('\n') {
            if let Some(n) = line.strip_prefix("m-").and_then(|n| n.parse::<usize>().ok()) {
                if n < count {
                    seen[n] += 1;
                }
            }
        }
    }
    seen
}

fn run_outage(daemon: Daemon, dir: &Path) {
    const COUNT: usize = 400;
    let mut server = Server::start(None, always_ok());
    let (d, input) = start(daemon, dir, |input| outage_config(input, server.port));
    let lines: Vec<String> = (0..COUNT).map(|i| format!("m-{i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    send(&d, input, &refs[..100]);
    assert!(
        wait_until(30, || arrivals(&server, COUNT).iter().sum::<usize>() >= 100),
        "{}: before the outage; stderr:\n{}",
        daemon.name(),
        d.stderr()
    );
    server.pause();
    // Sent while the server is away: more than the queue holds, so flow control holds the rest.
    let sender = {
        let rest: Vec<String> = lines[100..].to_vec();
        let mut data = String::new();
        for l in &rest {
            data.push_str(&format!("<13>Jan  1 00:00:00 host prog: {l}\n"));
        }
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", input)).expect("connect");
            s.write_all(data.as_bytes()).expect("send");
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    server.resume();
    sender.join().expect("sender");
    let ok = wait_until(60, || arrivals(&server, COUNT).iter().all(|&n| n >= 1));
    std::thread::sleep(Duration::from_millis(500));
    let seen = arrivals(&server, COUNT);
    let missing: Vec<usize> = (0..COUNT).filter(|&i| seen[i] == 0).collect();
    let doubled: Vec<usize> = (0..COUNT).filter(|&i| seen[i] > 1).collect();
    assert!(
        ok && missing.is_empty() && doubled.is_empty(),
        "{}: missing {missing:?}, twice {doubled:?}",
        daemon.name()
    );
}

#[test]
fn a_server_away_for_three_seconds_gets_every_message_once() {
    let dir = TempDir::new("http-outage").expect("dir");
    run_outage(Daemon::Rsng, dir.path());
    if !oracle_skipped() {
        run_outage(Daemon::Oracle, dir.path());
    }
}

fn balance_config(input: u16, a: u16, b: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d {{ http(url("http://127.0.0.1:{a}/lb" "http://127.0.0.1:{b}/lb") workers(2) persist-name("lb")); }};
log {{ source(s); destination(d); flags(flow-control); }};
"#
    )
}

fn delivered(servers: &[&Server], count: usize) -> Vec<usize> {
    let mut seen = vec![0; count];
    for s in servers {
        for (i, n) in arrivals_of(s, "lb-", count).into_iter().enumerate() {
            seen[i] += n;
        }
    }
    seen
}

fn arrivals_of(server: &Server, prefix: &str, count: usize) -> Vec<usize> {
    let mut seen = vec![0; count];
    for r in server.requests() {
        if let Some(n) = r.body.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok()) {
            if n < count {
                seen[n] += 1;
            }
        }
    }
    seen
}

fn run_balance(daemon: Daemon, dir: &Path) {
    const COUNT: usize = 60;
    let a = Server::start(None, always_ok());
    let mut b = Server::start(None, always_ok());
    let (d, input) = start(daemon, dir, |input| balance_config(input, a.port, b.port));
    let lines: Vec<String> = (0..COUNT).map(|i| format!("lb-{i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    send(&d, input, &refs[..30]);
    let all = |a: &Server, b: &Server, upto: usize| delivered(&[a, b], COUNT)[..upto].iter().all(|&n| n >= 1);
    assert!(wait_until(30, || all(&a, &b, 30)), "{}: stderr:\n{}", daemon.name(), d.stderr());
    // Both URLs are used by the two workers.
    assert!(a.count("/lb") > 0 && b.count("/lb") > 0, "{}: {} and {}", daemon.name(), a.count("/lb"), b.count("/lb"));
    // One URL goes away: its share goes to the other, nothing is lost.
    b.pause();
    let before = a.count("/lb");
    send(&d, input, &refs[30..]);
    assert!(wait_until(30, || all(&a, &b, COUNT)), "{}: after failover; stderr:\n{}", daemon.name(), d.stderr());
    assert_eq!(a.count("/lb") - before, COUNT - 30, "{}: the working URL took everything", daemon.name());
    std::thread::sleep(Duration::from_millis(300));
    let seen = delivered(&[&a, &b], COUNT);
    assert!(seen.iter().all(|&n| n == 1), "{}: {seen:?}", daemon.name());
}

#[test]
fn several_urls_share_the_load_and_fail_over() {
    let dir = TempDir::new("http-balance").expect("dir");
    run_balance(Daemon::Rsng, dir.path());
    if !oracle_skipped() {
        run_balance(Daemon::Oracle, dir.path());
    }
}

fn disk_config(input: u16, server: u16, disk: &Path) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d {{ http(url("http://127.0.0.1:{server}/disk") batch-lines(5) batch-timeout(200)
    disk-buffer(reliable(yes) disk-buf-size(10485760) dir("{disk}"))); }};
log {{ source(s); destination(d); }};
"#,
        disk = disk.display()
    )
}

fn queued(dir: &Path) -> usize {
    let out = Command::new(rsng_tests::rsng_bin().with_file_name("rsng-ctl"))
        .arg("-c")
        .arg(dir.join("rsng.ctl"))
        .args(["query", "get", "dst.http.d#0.*.queued"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines().filter_map(|l| l.rsplit('=').next()?.parse().ok()).next().unwrap_or(0)
}

#[test]
fn a_disk_buffer_keeps_what_the_server_did_not_take_across_a_crash() {
    const COUNT: usize = 50;
    let dir = TempDir::new("http-disk").expect("dir");
    let disk = dir.path().join("disk");
    let mut server = Server::start(None, always_ok());
    server.pause();
    let (d, input) = start(Daemon::Rsng, dir.path(), |input| disk_config(input, server.port, &disk));
    let lines: Vec<String> = (0..COUNT).map(|i| format!("m-{i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    send(&d, input, &refs);
    // All but the batch the worker holds wait in the file.
    assert!(
        wait_until(20, || queued(dir.path()) >= COUNT - 5),
        "queued {}; stderr:\n{}",
        queued(dir.path()),
        d.stderr()
    );
    let _ = Command::new("kill").args(["-KILL", &d.pid()]).status();
    drop(d);
    server.resume();
    let (d, _) = start(Daemon::Rsng, dir.path(), |input| disk_config(input, server.port, &disk));
    let ok = wait_until(30, || arrivals(&server, COUNT).iter().all(|&n| n >= 1));
    std::thread::sleep(Duration::from_millis(500));
    let seen = arrivals(&server, COUNT);
    assert!(ok && seen.iter().all(|&n| n == 1), "{seen:?}; stderr:\n{}", d.stderr());
    assert!(server.requests().iter().all(|r| r.body.split('\n').count() <= 5), "batches of at most batch-lines()");
}

#[test]
fn stopping_gives_up_a_hanging_request_and_the_disk_buffer_keeps_it() {
    const COUNT: usize = 10;
    let dir = TempDir::new("http-hang").expect("dir");
    let disk = dir.path().join("disk");
    let mut server = Server::start(None, always_ok());
    server.pause();
    // Takes connections (the kernel completes them) but never reads nor answers.
    let silent = TcpListener::bind(("127.0.0.1", server.port)).expect("bind");
    let (d, input) = start(Daemon::Rsng, dir.path(), |input| disk_config(input, server.port, &disk));
    let lines: Vec<String> = (0..COUNT).map(|i| format!("m-{i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    send(&d, input, &refs);
    assert!(wait_until(20, || queued(dir.path()) >= COUNT - 5), "queued {}", queued(dir.path()));
    std::thread::sleep(Duration::from_millis(500));
    assert!(d.stop(), "rsng did not stop while a request was hanging");
    drop(silent);
    server.resume();
    let (d, _) = start(Daemon::Rsng, dir.path(), |input| disk_config(input, server.port, &disk));
    let ok = wait_until(30, || arrivals(&server, COUNT).iter().all(|&n| n >= 1));
    std::thread::sleep(Duration::from_millis(500));
    let seen = arrivals(&server, COUNT);
    assert!(ok && seen.iter().all(|&n| n == 1), "{seen:?}; stderr:\n{}", d.stderr());
}

fn timeout_config(input: u16, server: u16, log: &Path) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
source s_internal {{ internal(); }};
destination d_internal {{ file("{log}" template("$MSG\n")); }};
log {{ source(s_internal); destination(d_internal); }};
destination d_slow {{ http(url("http://127.0.0.1:{server}/slow") timeout(1)); }};
log {{ source(s); destination(d_slow); }};
"#,
        log = log.display()
    )
}

/// The first request failure logged for a server that never answers, with its port masked.
fn run_timeout(daemon: Daemon, dir: &Path) -> String {
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let log = dir.join(format!("{}.timeout.internal", daemon.name()));
    let (d, input) = start(daemon, dir, |input| timeout_config(input, port, &log));
    send(&d, input, &["late"]);
    let failure = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("curl: error sending HTTP request;"))
            .map(String::from)
    };
    assert!(wait_until(20, || failure().is_some()), "{}: no failure logged; stderr:\n{}", daemon.name(), d.stderr());
    let line = failure().unwrap_or_default();
    line.replace(&format!(":{port}/"), ":PORT/").split(", location=").next().unwrap_or_default().to_string()
}

#[test]
fn a_server_that_does_not_answer_times_out_as_in_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("http-timeout").expect("dir");
    let ours = run_timeout(Daemon::Rsng, dir.path());
    let theirs = run_timeout(Daemon::Oracle, dir.path());
    assert_eq!(ours, theirs);
    assert!(ours.contains("error='Timeout was reached'"), "{ours}");
}

fn versions_config(input: u16, server: u16) -> String {
    let p = pki();
    let tls = format!(
        "ca-file(\"{}\") cert-file(\"{}\") key-file(\"{}\")",
        p.file("ca.pem"),
        p.file("client.pem"),
        p.file("client.key")
    );
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d12 {{ http(url("https://localhost:{server}/tls12") {tls} ssl-version("tlsv1_2")
    cipher-suite("ECDHE-RSA-AES128-GCM-SHA256")); }};
destination d13 {{ http(url("https://localhost:{server}/tls13") tls({tls} ssl-version("tlsv1_3"))); }};
log {{ source(s); destination(d12); destination(d13); }};
"#
    )
}

/// Requests per path at a server that speaks TLS 1.2 at most.
fn run_versions(daemon: Daemon, dir: &Path) -> BTreeMap<String, Vec<Request>> {
    let p = pki();
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).expect("acceptor");
    b.set_private_key_file(p.path("server.key"), SslFiletype::PEM).expect("key");
    b.set_certificate_chain_file(p.path("server.pem")).expect("certificate");
    b.set_ca_file(p.path("ca.pem")).expect("CA");
    b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    b.set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_2)).expect("max version");
    let server = Server::start(Some(Arc::new(b.build())), always_ok());
    let (d, input) = start(daemon, dir, |input| versions_config(input, server.port));
    send(&d, input, &["one", "two"]);
    let ok = wait_until(30, || server.count("/tls12") >= 2);
    // Time for the TLS 1.3-only destination to try (and fail) twice.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(ok, "{}: {:?}; stderr:\n{}", daemon.name(), server.requests(), d.stderr());
    by_path(&server.requests(), server.port)
}

#[test]
fn ssl_version_is_the_lowest_version_offered() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("http-versions").expect("dir");
    let ours = run_versions(Daemon::Rsng, dir.path());
    let theirs = run_versions(Daemon::Oracle, dir.path());
    assert_eq!(ours, theirs);
    assert_eq!(ours["/tls12"].len(), 2);
    assert!(!ours.contains_key("/tls13"), "a TLS 1.3-only client got through to a TLS 1.2 server");
}

fn window_config(input: u16, server: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); stats-level(1); }};
source s {{ network(ip("127.0.0.1") port({input}) transport("tcp") max-connections(1) log-iw-size(10)); }};
destination d {{ http(url("http://127.0.0.1:{server}/window") body("$MSG") batch-lines(100) batch-timeout(100)); }};
log {{ source(s); destination(d); flags(flow-control); }};
"#
    )
}

/// A writer that waits for `batch-timeout()` to fill its next batch has written its last one:
/// the source's window must get those messages back then, or a source whose window that batch
/// filled waits for the writer while the writer waits for the source. A window of 10 makes every
/// last batch of a read fill it.
#[test]
fn a_flow_controlled_window_full_of_batches_keeps_flowing() {
    let dir = TempDir::new("http-window").expect("dir");
    let server = Server::start(None, always_ok());
    let (d, input) = start(Daemon::Rsng, dir.path(), |input| window_config(input, server.port));
    let total = 3000;
    let filler = "x".repeat(240);
    let data: String = (0..total).map(|i| format!("<13>Jan  1 00:00:00 host prog: seq={i:06} {filler}\n")).collect();
    let sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", input)).expect("connect");
        s.set_write_timeout(Some(Duration::from_secs(30))).expect("timeout");
        s.write_all(data.as_bytes()).is_ok()
    });
    let delivered = || server.requests().iter().map(|r| r.body.matches("seq=").count()).sum::<usize>();
    let ok = wait_until(30, || delivered() >= total);
    assert!(ok, "{} of {total} messages delivered; stderr:\n{}", delivered(), d.stderr());
    assert!(sender.join().expect("sender"), "the source stopped reading");
    assert_eq!(delivered(), total);
}
