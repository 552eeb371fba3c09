//! `max-connection-lifetime()` (rsng extension of `network()`/`syslog()` destinations): a TLS
//! connection to syslog-ng is closed and made again once it is older than the limit, so that a
//! load balancer can spread the connections again, and not a message is lost or doubled on the
//! way. Without the option the one connection stays. Over UDP the option is refused, by
//! `--syntax-only` as by start-up.

#[path = "tls_common.rs"]
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use rsng_tests::{rsng_bin, Daemon, RunningDaemon, TempDir};

const COUNT: usize = 300;

/// How many connections syslog-ng accepted on `port`, from its internal messages.
fn accepted(log: &str, port: u16) -> usize {
    let local = format!("local='AF_INET(127.0.0.1:{port})'");
    log.lines().filter(|l| l.contains("Syslog connection accepted") && l.contains(&local)).count()
}

#[test]
fn old_connections_are_replaced_without_loss() {
    if rsng_tests::oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("tls-lifetime").unwrap();
    let dir = tmp.path();
    // The server: syslog-ng with two TLS sources, one per rsng destination.
    let (server, server_ports, _) = RunningDaemon::start(Daemon::Oracle, dir, 0, 2, |p: &rsng_tests::Ports| {
        let source = |name: &str, port: u16| {
            format!(
                "source {name} {{ network(ip(\"127.0.0.1\") port({port}) transport(\"tls\") \
                 tls({} peer-verify(optional-untrusted)) flags(no-parse)); }};\n",
                identity("server")
            )
        };
        format!(
            "@version: 3.38\n{}{}\
             source s_int {{ internal(); }};\n\
             log {{ source(s_int); destination {{ file(\"{}\" template(\"$MSG\\n\")); }}; }};\n\
             log {{ source(s_life); destination {{ file(\"{}\" template(\"$MSG\\n\")); }}; }};\n\
             log {{ source(s_kept); destination {{ file(\"{}\" template(\"$MSG\\n\")); }}; }};\n",
            source("s_life", p.tcp[0]),
            source("s_kept", p.tcp[1]),
            dir.join("server-internal").display(),
            dir.join("life").display(),
            dir.join("kept").display(),
        )
    });
    let (life_port, kept_port) = (server_ports.tcp[0], server_ports.tcp[1]);
    let client_dir = dir.join("client");
    std::fs::create_dir_all(&client_dir).unwrap();
    let (client, client_ports, _) = RunningDaemon::start(Daemon::Rsng, &client_dir, 0, 1, |p: &rsng_tests::Ports| {
        let tls = format!("tls(ca-file(\"{}\") peer-verify(required-trusted))", pki().file("ca.pem"));
        format!(
            "@version: 3.38\n\
             source s_int {{ internal(); }};\n\
             log {{ source(s_int); destination {{ file(\"{}\" template(\"$MSG\\n\")); }}; }};\n\
             source s {{ network(ip(\"127.0.0.1\") port({}) flags(no-parse)); }};\n\
             destination d_life {{ network(\"localhost\" port({life_port}) transport(\"tls\") {tls} \
             max-connection-lifetime(1) template(\"$MSG\\n\")); }};\n\
             destination d_kept {{ network(\"localhost\" port({kept_port}) transport(\"tls\") {tls} \
             template(\"$MSG\\n\")); }};\n\
             log {{ source(s); destination(d_life); destination(d_kept); flags(flow-control); }};\n",
            client_dir.join("internal").display(),
            p.tcp[0],
        )
    });

    // A steady trickle over about 3.5 s, so that several lifetimes pass while messages flow.
    let mut sender = TcpStream::connect(("127.0.0.1", client_ports.tcp[0])).unwrap();
    for i in 0..COUNT {
        sender.write_all(format!("lifetime-{i}\n").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(12));
    }
    drop(sender);
    let life = wait_lines(&dir.join("life"), COUNT, 30);
    let kept = wait_lines(&dir.join("kept"), COUNT, 30);
    assert!(client.stop(), "rsng did not stop");
    assert!(server.stop(), "syslog-ng did not stop");

    let expected: Vec<String> = (0..COUNT).map(|i| format!("lifetime-{i}")).collect();
    assert_eq!(life, expected, "with max-connection-lifetime(1): every message once, in order");
    assert_eq!(kept, expected, "without the option");
    let server_log = std::fs::read_to_string(dir.join("server-internal")).unwrap_or_default();
    let (renewed, single) = (accepted(&server_log, life_port), accepted(&server_log, kept_port));
    assert!(renewed >= 3, "{renewed} connections in ~3.5 s with a 1 s lifetime:\n{server_log}");
    assert_eq!(single, 1, "the destination without a lifetime keeps its connection:\n{server_log}");
    let client_log = std::fs::read_to_string(client_dir.join("internal")).unwrap_or_default();
    let reconnects = client_log.matches("Connection lifetime reached, reconnecting;").count();
    assert!(reconnects >= 2, "{client_log}");
    assert!(
        client_log.contains(&format!("server='localhost:{life_port}', max_connection_lifetime='1'")),
        "{client_log}"
    );
}

#[test]
fn udp_is_refused_by_syntax_check_and_start_up() {
    let tmp = TempDir::new("tls-lifetime-udp").unwrap();
    let conf = tmp.path().join("udp.conf");
    std::fs::write(
        &conf,
        "@version: 3.38\nsource s { internal(); };\n\
         destination d { network(\"127.0.0.1\" port(5140) transport(\"udp\") max-connection-lifetime(60)); };\n\
         log { source(s); destination(d); };\n",
    )
    .unwrap();
    let check = |args: &[&str]| {
        let out = Command::new(rsng_bin())
            .args(args)
            .arg("-f")
            .arg(&conf)
            .args(["-p", &tmp.path().join("pid").display().to_string()])
            .args(["-c", &tmp.path().join("ctl").display().to_string()])
            .args(["-R", &tmp.path().join("persist").display().to_string()])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let location = format!("{}:3:65", conf.display());
    for args in [&["--syntax-only"][..], &["-F"][..]] {
        let (code, stderr) = check(args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("max-connection-lifetime() needs a connection"), "{args:?}: {stderr}");
        assert!(stderr.contains(&location), "{args:?}: no {location} in {stderr}");
    }
    assert!(!Path::new(&tmp.path().join("pid")).exists());
}
