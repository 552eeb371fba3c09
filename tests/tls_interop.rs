//! TLS between rsng and the real syslog-ng 3.38, both ways, with mutual authentication, and
//! `loggen --use-ssl` against rsng: every message arrives exactly once, with the client's
//! identity (`.tls.x509_cn`) on it.

#[path = "tls_common.rs"]
mod common;

use std::path::Path;

use common::*;
use rsng_tests::{free_tcp_ports, oracle_skipped, Daemon, RunningDaemon, TempDir};

const COUNT: usize = 200;

fn server_tls(extra: &str) -> String {
    format!("tls({} ca-dir(\"{}\") {extra})", identity("server"), pki().file("cadir"))
}

fn client_tls() -> String {
    format!("tls({} ca-file(\"{}\"))", identity("client"), pki().file("ca.pem"))
}

/// A receiving configuration: a `syslog()` (RFC 5425) and a `network()` TLS source, each writing
/// `CN|MESSAGE` lines to its own file.
fn server_config(dir: &Path, syslog_port: u16, network_port: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); }};
source s_syslog {{ syslog(ip("127.0.0.1") port({syslog_port}) transport("tls") {tls}); }};
source s_network {{ network(ip("127.0.0.1") port({network_port}) transport("tls") {tls}); }};
destination d_syslog {{ file("{dir}/syslog.out" template("${{.tls.x509_cn}}|$MSG\n")); }};
destination d_network {{ file("{dir}/network.out" template("${{.tls.x509_cn}}|$MSG\n")); }};
log {{ source(s_syslog); destination(d_syslog); }};
log {{ source(s_network); destination(d_network); }};
"#,
        dir = dir.display(),
        tls = server_tls(""),
    )
}

/// A sending configuration: messages to a plain TCP port go to both TLS destinations.
fn client_config(input: u16, syslog_port: u16, network_port: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s_in {{ network(ip("127.0.0.1") port({input}) transport("tcp")); }};
destination d_syslog {{ syslog("localhost" port({syslog_port}) transport("tls") {tls}); }};
destination d_network {{ network("localhost" port({network_port}) transport("tls") {tls}); }};
log {{ source(s_in); destination(d_syslog); destination(d_network); }};
"#,
        tls = client_tls(),
    )
}

fn check_outputs(dir: &Path, tag: &str, prefix: &str, who: &RunningDaemon) {
    for file in ["syslog.out", "network.out"] {
        let got = wait_lines(&dir.join(file), COUNT, 30);
        if got.len() != COUNT {
            panic!("{file}: {} of {COUNT} lines; stderr:\n{}", got.len(), who.stderr());
        }
        assert_exactly_once(&got, tag, COUNT, prefix);
    }
}

#[test]
fn syslog_ng_client_to_rsng_server() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("tls-ng-to-rsng").unwrap();
    let (server, ports, _) =
        RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 2, |p| server_config(dir.path(), p.tcp[0], p.tcp[1]));
    let (client, input, _) =
        RunningDaemon::start(Daemon::Oracle, dir.path(), 0, 1, |p| client_config(p.tcp[0], ports.tcp[0], ports.tcp[1]));
    client.send_tcp(input.tcp[0], &messages("ng", COUNT));
    check_outputs(dir.path(), "ng", "client1", &server);
    // Nothing more arrives later.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(client.stop());
    assert!(server.stop());
    for file in ["syslog.out", "network.out"] {
        assert_eq!(lines(&dir.path().join(file)).len(), COUNT, "{file}");
    }
}

#[test]
fn rsng_client_to_syslog_ng_server() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("tls-rsng-to-ng").unwrap();
    // rsng starts first: its destinations retry every time-reopen() and keep the queue until
    // syslog-ng listens.
    let server_ports = free_tcp_ports(2);
    let (client, input, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 1, |p| {
        client_config(p.tcp[0], server_ports[0], server_ports[1])
    });
    client.send_tcp(input.tcp[0], &messages("rsng", COUNT));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (server, _, _) = RunningDaemon::start(Daemon::Oracle, dir.path(), 0, 0, |_| {
        server_config(dir.path(), server_ports[0], server_ports[1])
    });
    for file in ["syslog.out", "network.out"] {
        let got = wait_lines(&dir.path().join(file), COUNT, 30);
        assert_eq!(got.len(), COUNT, "{file}; rsng stderr:\n{}", client.stderr());
        // syslog-ng 3.38 attaches the peer's names only to reads after the one that completed
        // the handshake, so whether they are present depends on timing: not checked here.
        let bare: Vec<String> = got.iter().map(|l| format!("|{}", l.split_once('|').map_or("", |x| x.1))).collect();
        assert_exactly_once(&bare, "rsng", COUNT, "");
    }
    let stderr = client.stderr();
    assert!(stderr.contains("Connection failed; server='localhost:"), "{stderr}");
    assert!(client.stop());
    assert!(server.stop());
}

#[test]
fn loggen_with_tls_to_rsng() {
    if oracle_skipped() || !Path::new("/usr/bin/loggen").exists() {
        return;
    }
    let dir = TempDir::new("tls-loggen").unwrap();
    // loggen has no client certificate: the source takes any peer.
    let config = |p: &rsng_tests::Ports| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); }};
source s_syslog {{ syslog(ip("127.0.0.1") port({}) transport("tls") {tls}); }};
source s_network {{ network(ip("127.0.0.1") port({}) transport("tls") {tls}); }};
destination d_syslog {{ file("{dir}/syslog.out" template("$MSG\n")); }};
destination d_network {{ file("{dir}/network.out" template("$MSG\n")); }};
log {{ source(s_syslog); destination(d_syslog); }};
log {{ source(s_network); destination(d_network); }};
"#,
            p.tcp[0],
            p.tcp[1],
            dir = dir.path().display(),
            tls = server_tls("peer-verify(optional-untrusted)"),
        )
    };
    let (server, ports, _) = RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 2, config);
    let n = 5000;
    for (proto, port) in [(true, ports.tcp[0]), (false, ports.tcp[1])] {
        let mut cmd = std::process::Command::new("/usr/bin/loggen");
        cmd.args(["--use-ssl", "--number", &n.to_string(), "--rate", "100000", "--interval", "20"]);
        if proto {
            cmd.arg("--syslog-proto");
        }
        cmd.args(["127.0.0.1", &port.to_string()]);
        let out = cmd.output().expect("run loggen");
        assert!(out.status.success(), "loggen: {}", String::from_utf8_lossy(&out.stderr));
    }
    for file in ["syslog.out", "network.out"] {
        let got = wait_lines(&dir.path().join(file), n, 30);
        assert_eq!(got.len(), n, "{file}; rsng stderr:\n{}", server.stderr());
        let mut seqs: Vec<&str> = got.iter().map(|l| l.split_whitespace().nth(1).unwrap_or("")).collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), n, "{file}: every loggen message exactly once");
    }
    assert!(server.stop());
}
