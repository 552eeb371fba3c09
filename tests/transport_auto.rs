//! `transport(auto)` (AxoSyslog 4.x): each connection is read with RFC 6587 octet counting when
//! it starts with a frame length, and as lines otherwise; with `tls()`, after the handshake.

#[path = "tls_common.rs"]
mod common;

use std::io::Write as _;
use std::net::TcpStream;
use std::path::Path;

use common::*;
use rsng_tests::{Daemon, RunningDaemon, TempDir};

/// `count` messages framed with octet counts (`LEN MSG`), each with a newline inside, which only
/// octet counting keeps in one message.
fn octet_counted(tag: &str, count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        let m = format!("<13>Jan  1 00:00:00 sender app: {tag}-{i} first\nsecond");
        out.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    out
}

fn start(dir: &Path, source: &str) -> (RunningDaemon, u16) {
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, dir, 0, 1, |p| {
        format!(
            "@version: 4.0\noptions {{ use-dns(no); }};\nsource s {{ {} }};\n\
             destination d {{ file(\"{}/out.txt\" template(\"$MSG\\n\") template-escape(yes)); }};\n\
             log {{ source(s); destination(d); }};\n",
            source.replace("PORT", &p.tcp[0].to_string()),
            dir.display()
        )
    });
    (rsng, ports.tcp[0])
}

fn expect(dir: &Path, n: usize, rsng: &RunningDaemon) -> Vec<String> {
    let got = wait_lines(&dir.join("out.txt"), n, 30);
    assert_eq!(got.len(), n, "{got:#?}\n{}", rsng.stderr());
    got
}

#[test]
fn both_framings_on_one_port() {
    for driver in ["network", "syslog"] {
        let dir = TempDir::new("auto").unwrap();
        let (rsng, port) = start(dir.path(), &format!("{driver}(ip(\"127.0.0.1\") port(PORT) transport(auto));"));
        TcpStream::connect(("127.0.0.1", port)).unwrap().write_all(&octet_counted("framed", 3)).unwrap();
        expect(dir.path(), 3, &rsng);
        TcpStream::connect(("127.0.0.1", port)).unwrap().write_all(&messages("lines", 3)).unwrap();
        let got = expect(dir.path(), 6, &rsng);
        assert_eq!(
            got,
            [
                "framed-0 first\\012second",
                "framed-1 first\\012second",
                "framed-2 first\\012second",
                "lines-0",
                "lines-1",
                "lines-2"
            ],
            "{driver}()"
        );
        assert!(rsng.stop());
    }
}

#[test]
fn after_the_tls_handshake() {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    let dir = TempDir::new("auto-tls").unwrap();
    let tls = format!("tls({} peer-verify(optional-untrusted))", identity("server"));
    let (rsng, port) = start(dir.path(), &format!("network(ip(\"127.0.0.1\") port(PORT) transport(auto) {tls});"));
    let send = |data: &[u8]| {
        let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
        builder.set_verify(SslVerifyMode::NONE);
        let mut config = builder.build().configure().unwrap();
        config.set_verify_hostname(false);
        let mut s = config.connect("localhost", TcpStream::connect(("127.0.0.1", port)).unwrap()).unwrap();
        s.write_all(data).unwrap();
        let _ = s.shutdown();
    };
    send(&octet_counted("tls-framed", 2));
    expect(dir.path(), 2, &rsng);
    send(&messages("tls-lines", 2));
    let got = expect(dir.path(), 4, &rsng);
    assert_eq!(got, ["tls-framed-0 first\\012second", "tls-framed-1 first\\012second", "tls-lines-0", "tls-lines-1"]);
    assert!(rsng.stop());
}
