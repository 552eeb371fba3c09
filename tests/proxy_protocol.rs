//! The PROXY protocol transports (`proxied-tcp`, `proxied-tls`, `proxied-tls-passthrough`):
//! the same headers through syslog-ng 3.38 and rsng give the same output bytes; bad headers close
//! the connection with an error and lose nothing else; HAProxy (`send-proxy`, `send-proxy-v2`) in
//! front of rsng names the real client.

#[path = "tls_common.rs"]
mod common;

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rsng_tests::{free_tcp_ports, oracle_skipped, Daemon, RunningDaemon, TempDir};

const TEMPLATE: &str = "${PROXIED_SRCIP}|${PROXIED_SRCPORT}|${PROXIED_DSTIP}|${PROXIED_DSTPORT}|${PROXIED_IP_VERSION}|$SOURCEIP|$HOST_FROM|$HOST|$PROGRAM|$MSG\\n";

fn msg(text: &str) -> Vec<u8> {
    format!("<13>Jan  1 00:00:00 sender app: {text}\n").into_bytes()
}

/// A v2 header for a TCP over IPv4 connection.
fn v2_inet(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.extend_from_slice(&[0x21, 0x11, 0, 12]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out
}

/// A v2 header for a TCP over IPv6 connection.
fn v2_inet6(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.extend_from_slice(&[0x21, 0x21, 0, 36]);
    out.extend_from_slice(&src.parse::<std::net::Ipv6Addr>().unwrap().octets());
    out.extend_from_slice(&dst.parse::<std::net::Ipv6Addr>().unwrap().octets());
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out
}

/// Connects to 127.0.0.1:`port` from address `from`.
fn connect_from(from: IpAddr, port: u16) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.bind(&SocketAddr::new(from, 0).into()).expect("bind client");
    socket.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into()).expect("connect");
    socket.into()
}

/// Writes `clear` on a new connection, then, if `inside` is given, makes a TLS handshake and
/// writes `inside` through it. Returns the client's port.
fn send(from: IpAddr, port: u16, clear: &[u8], inside: Option<&[u8]>) -> u16 {
    let mut tcp = connect_from(from, port);
    let local = tcp.local_addr().expect("local address").port();
    tcp.write_all(clear).expect("send");
    if let Some(inside) = inside {
        use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
        let mut builder = SslConnector::builder(SslMethod::tls_client()).expect("connector");
        builder.set_verify(SslVerifyMode::NONE);
        let connector = builder.build();
        let mut config = connector.configure().expect("configure");
        config.set_verify_hostname(false);
        let mut tls = config.connect("localhost", tcp).expect("TLS handshake");
        tls.write_all(inside).expect("send over TLS");
        let _ = tls.shutdown();
    }
    local
}

/// A configuration: `proxied` sources on the given ports, every message as [`TEMPLATE`] lines in
/// `out.txt` and in syslog-ng's default format in `plain.txt`; internal messages in `internal.txt`.
fn config(version: &str, dir: &Path, sources: &[String]) -> String {
    let dir = dir.display();
    let mut text = format!("@version: {version}\noptions {{ use-dns(no); }};\n");
    for (i, s) in sources.iter().enumerate() {
        text.push_str(&format!("source s{i} {{ {s} }};\n"));
    }
    text.push_str(&format!(
        "destination d_out {{ file(\"{dir}/out.txt\" template(\"{TEMPLATE}\")); }};\n\
         destination d_plain {{ file(\"{dir}/plain.txt\"); }};\n\
         destination d_addr {{ file(\"{dir}/addr.txt\" template(\"$SOURCEIP|$SOURCEPORT|$DESTIP|$DESTPORT\\n\")); }};\n\
         source s_int {{ internal(); }};\n\
         destination d_int {{ file(\"{dir}/internal.txt\" template(\"$MSG\\n\")); }};\n\
         log {{ source(s_int); destination(d_int); }};\n"
    ));
    for i in 0..sources.len() {
        text.push_str(&format!(
            "log {{ source(s{i}); destination(d_out); destination(d_plain); destination(d_addr); }};\n"
        ));
    }
    text
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until `out.txt` has `n` lines (in order: each connection is sent after the previous
/// one's lines arrived).
fn wait_out(dir: &Path, n: usize, who: &RunningDaemon) {
    let got = wait_lines(&dir.join("out.txt"), n, 30);
    assert_eq!(
        got.len(),
        n,
        "{}: {got:#?}\ninternal: {}\nstderr: {}",
        who.daemon.name(),
        read(&dir.join("internal.txt")),
        who.stderr()
    );
}

/// One connection to send: to source `port` index, clear-text bytes, bytes over TLS, lines it
/// should produce.
struct Input {
    source: usize,
    clear: Vec<u8>,
    inside: Option<Vec<u8>>,
    lines: usize,
}

/// Runs `daemon` on the sources (`PORT0`, `PORT1`, ... stand for free ports), sends `inputs`
/// and returns `out.txt`, `plain.txt`, `internal.txt` and `addr.txt`.
fn run(daemon: Daemon, version: &str, sources: &[&str], inputs: &[Input]) -> (String, String, String, String) {
    let dir = TempDir::new(&format!("proxy-{}", daemon.name())).unwrap();
    let (running, ports, _) = RunningDaemon::start(daemon, dir.path(), 0, sources.len(), |p| {
        let sources: Vec<String> = sources
            .iter()
            .map(|s| {
                let mut s = s.to_string();
                for (i, port) in p.tcp.iter().enumerate() {
                    s = s.replace(&format!("PORT{i}"), &port.to_string());
                }
                s
            })
            .collect();
        config(version, dir.path(), &sources)
    });
    let mut expected = 0;
    for input in inputs {
        send(IpAddr::V4(Ipv4Addr::LOCALHOST), ports.tcp[input.source], &input.clear, input.inside.as_deref());
        expected += input.lines;
        wait_out(dir.path(), expected, &running);
    }
    // Connections that produce nothing (refused headers): wait until each is logged as closed.
    let closes = inputs.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while read(&dir.path().join("internal.txt")).matches("Syslog connection closed").count() < closes
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(running.stop(), "{} did not stop", daemon.name());
    let get = |f: &str| read(&dir.path().join(f));
    (get("out.txt"), get("plain.txt"), get("internal.txt"), get("addr.txt"))
}

fn input(source: usize, header: &[u8], messages: &[&str]) -> Input {
    let mut clear = header.to_vec();
    for m in messages {
        clear.extend_from_slice(&msg(m));
    }
    Input { source, clear, inside: None, lines: messages.len() }
}

const PROXIED_SOURCES: &[&str] = &[
    "network(ip(\"127.0.0.1\") port(PORT0) transport(\"proxied-tcp\"));",
    // syslog() reads lines on proxied-tcp in 3.38, as network() does.
    "syslog(ip(\"127.0.0.1\") port(PORT1) transport(\"proxied-tcp\"));",
];

fn v1_inputs() -> Vec<Input> {
    vec![
        input(0, b"PROXY TCP4 192.0.2.10 198.51.100.1 56324 514\r\n", &["v4-a", "v4-b"]),
        input(0, b"PROXY TCP6 2001:db8::7 ::1 40000 6514\r\n", &["v6"]),
        // No addresses: the messages are kept, without PROXIED_* values.
        input(0, b"PROXY UNKNOWN\r\n", &["unknown"]),
        input(1, b"PROXY TCP4 203.0.113.5 198.51.100.1 1 601\r\n", &["syslog-driver"]),
    ]
}

#[test]
fn proxied_tcp_v1_matches_syslog_ng() {
    let ours = run(Daemon::Rsng, "3.38", PROXIED_SOURCES, &v1_inputs());
    assert!(
        ours.0.starts_with("192.0.2.10|56324|198.51.100.1|514|4|127.0.0.1|127.0.0.1|127.0.0.1|app|v4-a\n"),
        "{}",
        ours.0
    );
    assert!(ours.0.contains("\n2001:db8::7|40000|::1|6514|6|127.0.0.1|"), "{}", ours.0);
    assert!(ours.0.contains("\n|||||127.0.0.1|127.0.0.1|127.0.0.1|app|unknown\n"), "{}", ours.0);
    if oracle_skipped() {
        return;
    }
    let theirs = run(Daemon::Oracle, "3.38", PROXIED_SOURCES, &v1_inputs());
    assert_eq!(ours.0, theirs.0, "template output");
    assert_eq!(ours.1, theirs.1, "default file format");
}

/// syslog-ng 3.38 reads only v1 headers; the same connections with v2 headers give rsng the
/// output syslog-ng gives for the v1 ones.
#[test]
fn proxied_tcp_v2_gives_the_v1_output() {
    let v2 = vec![
        input(0, &v2_inet([192, 0, 2, 10], [198, 51, 100, 1], 56324, 514), &["v4-a", "v4-b"]),
        input(0, &v2_inet6("2001:db8::7", "::1", 40000, 6514), &["v6"]),
        // LOCAL: the proxy's own connection, no addresses.
        input(0, &[b"\r\n\r\n\0\r\nQUIT\n".as_slice(), &[0x20, 0x00, 0, 0]].concat(), &["unknown"]),
        input(1, &v2_inet([203, 0, 113, 5], [198, 51, 100, 1], 1, 601), &["syslog-driver"]),
    ];
    let ours = run(Daemon::Rsng, "3.38", PROXIED_SOURCES, &v2);
    let reference = if oracle_skipped() {
        run(Daemon::Rsng, "3.38", PROXIED_SOURCES, &v1_inputs())
    } else {
        run(Daemon::Oracle, "3.38", PROXIED_SOURCES, &v1_inputs())
    };
    assert_eq!(ours.0, reference.0, "template output");
    assert_eq!(ours.1, reference.1, "default file format");
    assert!(!ours.2.contains("Error parsing PROXY protocol header"), "{}", ours.2);
}

/// A missing, malformed or truncated header closes the connection with an error, in rsng as in
/// syslog-ng; the next connection is served as usual.
#[test]
fn bad_headers_close_the_connection() {
    let inputs = vec![
        input(0, b"", &["no-header"]),
        input(0, b"PROXY TCP4 192.0.2.10 198.51.100.1 56324\r\n", &["three-fields"]),
        Input { source: 0, clear: b"PROXY TCP4 192.0.2.10 198.51".to_vec(), inside: None, lines: 0 },
        input(0, b"PROXY TCP4 192.0.2.10 198.51.100.1 56324 514\r\n", &["good"]),
    ];
    // The refused connections produce no line: only the last one counts.
    let inputs: Vec<Input> =
        inputs.into_iter().map(|i| if i.clear.ends_with(b"good\n") { i } else { Input { lines: 0, ..i } }).collect();
    let mut runs = vec![run(Daemon::Rsng, "3.38", &PROXIED_SOURCES[..1], &inputs)];
    if !oracle_skipped() {
        runs.push(run(Daemon::Oracle, "3.38", &PROXIED_SOURCES[..1], &inputs));
    }
    for (out, _, internal, _) in &runs {
        assert_eq!(out, "192.0.2.10|56324|198.51.100.1|514|4|127.0.0.1|127.0.0.1|127.0.0.1|app|good\n");
        assert_eq!(internal.matches("Error parsing PROXY protocol header").count(), 3, "{internal}");
    }
    let rsng = &runs[0].2;
    for reason in [
        "reason='no PROXY protocol header', start='<13>Jan  1 00:00'",
        "reason='PROXY v1 header has no destination port'",
        "reason='PROXY protocol header truncated', header='PROXY TCP4 192.0.2.10 198.51'",
    ] {
        assert!(rsng.contains(reason), "missing {reason:?} in {rsng}");
    }
}

fn server_tls() -> String {
    format!("tls({} peer-verify(optional-untrusted))", identity("server"))
}

#[test]
fn proxied_tls_matches_syslog_ng() {
    let source = format!("network(ip(\"127.0.0.1\") port(PORT0) transport(\"proxied-tls\") {});", server_tls());
    let mut inside = b"PROXY TCP4 192.0.2.10 198.51.100.1 56324 6514\r\n".to_vec();
    inside.extend_from_slice(&msg("over-tls"));
    let inputs = [Input { source: 0, clear: Vec::new(), inside: Some(inside), lines: 1 }];
    let ours = run(Daemon::Rsng, "3.38", &[&source], &inputs);
    assert_eq!(ours.0, "192.0.2.10|56324|198.51.100.1|6514|4|127.0.0.1|127.0.0.1|127.0.0.1|app|over-tls\n");
    if !oracle_skipped() {
        let theirs = run(Daemon::Oracle, "3.38", &[&source], &inputs);
        assert_eq!(ours.0, theirs.0);
        assert_eq!(ours.1, theirs.1);
    }
}

/// The header in clear text, then the TLS handshake (HAProxy `send-proxy` in TCP mode, AWS NLB):
/// rsng and syslog-ng 3.38 give the same output, on `network()` and on `syslog()` (which reads
/// lines there in 3.38).
#[test]
fn proxied_tls_passthrough_matches_syslog_ng() {
    let tls = server_tls();
    let sources = [
        format!("network(ip(\"127.0.0.1\") port(PORT0) transport(\"proxied-tls-passthrough\") {tls});"),
        format!("syslog(ip(\"127.0.0.1\") port(PORT1) transport(\"proxied-tls-passthrough\") {tls});"),
    ];
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let inputs = [
        Input {
            source: 0,
            clear: b"PROXY TCP4 192.0.2.10 198.51.100.1 56324 6514\r\n".to_vec(),
            inside: Some([msg("pass-a"), msg("pass-b")].concat()),
            lines: 2,
        },
        Input {
            source: 1,
            clear: b"PROXY TCP6 2001:db8::7 ::1 40000 6514\r\n".to_vec(),
            inside: Some(msg("pass-syslog")),
            lines: 1,
        },
    ];
    let ours = run(Daemon::Rsng, "3.38", &sources, &inputs);
    assert_eq!(
        ours.0,
        "192.0.2.10|56324|198.51.100.1|6514|4|127.0.0.1|127.0.0.1|127.0.0.1|app|pass-a\n\
         192.0.2.10|56324|198.51.100.1|6514|4|127.0.0.1|127.0.0.1|127.0.0.1|app|pass-b\n\
         2001:db8::7|40000|::1|6514|6|127.0.0.1|127.0.0.1|127.0.0.1|app|pass-syslog\n"
    );
    if !oracle_skipped() {
        let theirs = run(Daemon::Oracle, "3.38", &sources, &inputs);
        assert_eq!(ours.0, theirs.0);
        assert_eq!(ours.1, theirs.1);
    }
}

/// Under `@version: 4.x` the proxied client is the message's sender, and a header without
/// addresses (the proxy's health check) closes the connection, as in AxoSyslog.
#[test]
fn version_4_uses_the_proxied_address() {
    let inputs = vec![
        input(0, b"PROXY TCP4 192.0.2.10 198.51.100.1 56324 514\r\n", &["v1"]),
        input(0, &v2_inet([203, 0, 113, 5], [198, 51, 100, 1], 1, 601), &["v2"]),
        Input { lines: 0, ..input(0, b"PROXY UNKNOWN\r\n", &["health-check"]) },
        input(0, b"PROXY TCP4 192.0.2.11 198.51.100.1 2 514\r\n", &["after"]),
    ];
    let (out, _, internal, addr) = run(Daemon::Rsng, "4.0", &PROXIED_SOURCES[..1], &inputs);
    assert_eq!(
        out,
        "192.0.2.10|56324|198.51.100.1|514|4|192.0.2.10|192.0.2.10|192.0.2.10|app|v1\n\
         203.0.113.5|1|198.51.100.1|601|4|203.0.113.5|203.0.113.5|203.0.113.5|app|v2\n\
         192.0.2.11|2|198.51.100.1|514|4|192.0.2.11|192.0.2.11|192.0.2.11|app|after\n"
    );
    assert!(!internal.contains("Error parsing PROXY protocol header"), "{internal}");
    assert_eq!(
        addr,
        "192.0.2.10|56324|198.51.100.1|514\n203.0.113.5|1|198.51.100.1|601\n192.0.2.11|2|198.51.100.1|514\n"
    );
}

/// HAProxy, started privately on free loopback ports.
struct Haproxy {
    child: Child,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn haproxy_bin() -> PathBuf {
    ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("haproxy is not installed (`cargo xtask test` installs it)")
}

/// HAProxy in TCP mode: `frontends[i]` forwards to `backend` with `send[i]` (`send-proxy` or
/// `send-proxy-v2`).
fn start_haproxy(dir: &Path, frontends: &[u16], send: &[&str], backend: u16) -> Haproxy {
    let mut cfg = String::from(
        "global\n    maxconn 100\ndefaults\n    mode tcp\n    timeout connect 10s\n    timeout client 60s\n    timeout server 60s\n",
    );
    for (i, (port, how)) in frontends.iter().zip(send).enumerate() {
        cfg.push_str(&format!(
            "frontend f{i}\n    bind 127.0.0.1:{port}\n    default_backend b{i}\n\
             backend b{i}\n    server rsng 127.0.0.1:{backend} {how}\n"
        ));
    }
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let child = Command::new(haproxy_bin())
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("haproxy.stderr")).unwrap())
        .spawn()
        .expect("start haproxy");
    let mut proxy = Haproxy { child };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !frontends.iter().all(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_err()) {
        if let Ok(Some(status)) = proxy.child.try_wait() {
            panic!("haproxy exited ({status}): {}", read(&dir.join("haproxy.stderr")));
        }
        assert!(Instant::now() < deadline, "haproxy did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    proxy
}

/// A TLS client on 127.0.0.2 talks to rsng through HAProxy (which adds the header in clear text
/// and passes the TLS bytes through): the PROXIED_* values name that client, and so does
/// `$SOURCEIP` under `@version: 4.0`.
#[test]
fn haproxy_send_proxy_in_front_of_passthrough() {
    let client_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    for version in ["3.38", "4.0"] {
        let dir = TempDir::new("proxy-haproxy").unwrap();
        let source =
            format!("network(ip(\"127.0.0.1\") port(PORT0) transport(\"proxied-tls-passthrough\") {});", server_tls());
        let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 1, |p| {
            config(version, dir.path(), &[source.replace("PORT0", &p.tcp[0].to_string())])
        });
        let frontends = free_tcp_ports(2);
        let _haproxy = start_haproxy(dir.path(), &frontends, &["send-proxy", "send-proxy-v2"], ports.tcp[0]);
        let mut expected = String::new();
        let mut expected_addr = String::new();
        for (i, frontend) in frontends.iter().enumerate() {
            let text = format!("through-haproxy-{i}");
            let client_port = send(client_ip, *frontend, b"", Some(&msg(&text)));
            let sender = if version == "4.0" { "127.0.0.2" } else { "127.0.0.1" };
            expected.push_str(&format!(
                "127.0.0.2|{client_port}|127.0.0.1|{frontend}|4|{sender}|{sender}|{sender}|app|{text}\n"
            ));
            expected_addr.push_str(&if version == "4.0" {
                format!("127.0.0.2|{client_port}|127.0.0.1|{frontend}\n")
            } else {
                // 3.38: the connection from HAProxy; $SOURCEPORT is no macro there.
                format!("127.0.0.1||127.0.0.1|{}\n", ports.tcp[0])
            });
            wait_out(dir.path(), i + 1, &rsng);
        }
        assert_eq!(read(&dir.path().join("out.txt")), expected, "@version: {version}");
        let addr = wait_lines(&dir.path().join("addr.txt"), frontends.len(), 30).join("\n") + "\n";
        assert_eq!(addr, expected_addr, "@version: {version}");
        assert!(rsng.stop());
    }
}

/// What `--syntax-only` accepts starts, and what start-up would refuse is refused by the check
/// already, with the location of `transport()`.
#[test]
fn syntax_only_and_start_up_agree() {
    let tls = server_tls();
    let accepted = [
        ("3.38", "network(ip(\"127.0.0.1\") port(PORT0) transport(\"proxied-tcp\"));".to_string()),
        ("3.38", "syslog(ip(\"127.0.0.1\") port(PORT0) transport(\"Proxied-TCP\"));".to_string()),
        ("3.38", format!("network(ip(\"127.0.0.1\") port(PORT0) transport(\"proxied-tls\") {tls});")),
        ("3.38", format!("syslog(ip(\"127.0.0.1\") port(PORT0) transport(\"proxied-tls-passthrough\") {tls});")),
        ("4.0", format!("syslog(ip(\"127.0.0.1\") port(PORT0) transport(\"proxied-tls\") {tls});")),
    ];
    for (version, source) in &accepted {
        let dir = TempDir::new("proxy-syntax").unwrap();
        let conf = dir.path().join("check.conf");
        std::fs::write(&conf, config(version, dir.path(), &[source.replace("PORT0", "1")])).unwrap();
        let verdict = rsng_tests::run_rsng(&conf);
        assert!(verdict.ok, "{source}: {}", verdict.summary());
        // It starts (RunningDaemon::start waits until the port is bound, and fails otherwise).
        let (rsng, _, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 1, |p| {
            config(version, dir.path(), &[source.replace("PORT0", &p.tcp[0].to_string())])
        });
        assert!(rsng.stop());
    }
    let refused = [
        (
            "3.38",
            format!("syslog(port(1) transport(\"proxied-tls\") {tls});"),
            "not a transport of syslog() in syslog-ng 3.38",
        ),
        ("3.38", "network(port(1) transport(\"proxied-tls\"));".to_string(), "tls() options missing"),
        ("3.38", "network(port(1) transport(\"proxied-tls-passthrough\"));".to_string(), "tls() options missing"),
        ("3.38", format!("network(port(1) transport(\"proxied-tcp\") {tls});"), "doesn't allow TLS encryption"),
        ("3.38", "network(port(1) transport(\"no-such\"));".to_string(), "unknown transport(\"no-such\")"),
    ];
    for (version, source, why) in &refused {
        let dir = TempDir::new("proxy-syntax").unwrap();
        let conf = dir.path().join("check.conf");
        std::fs::write(&conf, config(version, dir.path(), std::slice::from_ref(source))).unwrap();
        let verdict = rsng_tests::run_rsng(&conf);
        assert!(!verdict.ok && verdict.message.contains(why), "{source}: {}", verdict.summary());
        assert_eq!(verdict.line, Some(3), "{source}: {}", verdict.summary());
    }
    // A proxied transport has no sending side.
    let dir = TempDir::new("proxy-syntax").unwrap();
    let conf = dir.path().join("dest.conf");
    std::fs::write(
        &conf,
        "@version: 3.38\ndestination d { network(\"127.0.0.1\" port(1) transport(\"proxied-tcp\")); };\n\
         log { destination(d); };\n",
    )
    .unwrap();
    let verdict = rsng_tests::run_rsng(&conf);
    assert!(!verdict.ok && verdict.message.contains("only for sources"), "{}", verdict.summary());
}

/// `$TRANSPORT` and `$IP_PROTO` (AxoSyslog 4.x) name how a message came; a 3.38 configuration
/// has neither, as in syslog-ng 3.38.
#[test]
fn transport_and_ip_proto_under_version_4() {
    for version in ["4.0", "3.38"] {
        let dir = TempDir::new("proxy-transport").unwrap();
        let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 1, 3, |p| {
            format!(
                "@version: {version}\noptions {{ use-dns(no); }};\n\
                 source s {{\n\
                   syslog(ip(\"127.0.0.1\") port({}) transport(\"tcp\"));\n\
                   network(ip(\"127.0.0.1\") port({}) transport(\"proxied-tcp\"));\n\
                   tcp(ip(\"127.0.0.1\") port({}));\n\
                   network(ip(\"127.0.0.1\") port({}) transport(\"udp\"));\n\
                 }};\n\
                 destination d {{ file(\"{}/out.txt\" template(\"$TRANSPORT|$IP_PROTO|$MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                p.tcp[1],
                p.tcp[2],
                p.udp[0],
                dir.path().display()
            )
        });
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let m = msg("syslog");
        send(
            local,
            ports.tcp[0],
            format!("{} {}", m.len() - 1, String::from_utf8_lossy(&m[..m.len() - 1])).as_bytes(),
            None,
        );
        wait_out(dir.path(), 1, &rsng);
        let mut header = b"PROXY TCP6 2001:db8::1 ::1 1 2\r\n".to_vec();
        header.extend_from_slice(&msg("proxied"));
        send(local, ports.tcp[1], &header, None);
        wait_out(dir.path(), 2, &rsng);
        send(local, ports.tcp[2], &msg("tcp"), None);
        wait_out(dir.path(), 3, &rsng);
        rsng.send_udp(&ports.udp, &[msg("udp")]);
        wait_out(dir.path(), 4, &rsng);
        let expected = if version == "4.0" {
            "rfc6587|4|syslog\nbsdsyslog+proxied-tcp|6|proxied\nbsdsyslog+tcp|4|tcp\nbsdsyslog+udp|4|udp\n"
        } else {
            "||syslog\n||proxied\n||tcp\n||udp\n"
        };
        assert_eq!(read(&dir.path().join("out.txt")), expected, "@version: {version}");
        assert!(rsng.stop());
    }
}
