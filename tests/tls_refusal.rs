//! TLS refusals against real peers: syslog-ng 3.38 clients with bad certificates against an
//! rsng server (zero messages accepted from each, the accepting cases of the optional modes), and
//! an rsng client against syslog-ng servers with an expired certificate, the wrong name, or
//! refusing rsng's certificate; the queued messages arrive once the server is fixed.

#[path = "tls_common.rs"]
mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use rsng_tests::{free_tcp_ports, oracle_skipped, Daemon, RunningDaemon, TempDir};

const COUNT: usize = 20;

/// rsng server sources, one per policy, each writing `CN|MESSAGE` lines to `<name>.out`.
const SOURCES: &[(&str, &str)] = &[
    ("strict", "crl-dir(\"{crl}\")"),
    ("dn", "trusted-dn(\"*, O=Other\")"),
    ("keys", "trusted-keys(\"SHA1:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\")"),
    ("optional", "peer-verify(optional-trusted)"),
    ("untrusted", "peer-verify(optional-untrusted)"),
    ("required_untrusted", "peer-verify(required-untrusted)"),
];

/// syslog-ng client destinations: (name, identity or none, source it targets).
const CLIENTS: &[(&str, Option<&str>, &str)] = &[
    ("ok", Some("client"), "strict"),
    ("nocert", None, "strict"),
    ("rogue", Some("rogue-client"), "strict"),
    ("revoked", Some("revoked"), "strict"),
    ("expired", Some("expired-client"), "strict"),
    ("dn", Some("client"), "dn"),
    ("keys", Some("client"), "keys"),
    ("optional_nocert", None, "optional"),
    ("optional_rogue", Some("rogue-client"), "optional"),
    ("untrusted_rogue", Some("rogue-client"), "untrusted"),
    ("required_untrusted_rogue", Some("rogue-client"), "required_untrusted"),
    ("required_untrusted_nocert", None, "required_untrusted"),
];

fn rsng_server_config(dir: &Path, ports: &[u16]) -> String {
    let p = pki();
    let mut c = String::from("@version: 3.38\noptions { use-dns(no); };\n");
    for ((name, extra), port) in SOURCES.iter().zip(ports) {
        let extra = extra.replace("{crl}", &p.file("crl"));
        c.push_str(&format!(
            "source s_{name} {{ network(ip(\"127.0.0.1\") port({port}) transport(\"tls\") tls({} ca-dir(\"{}\") {extra})); }};\n\
             destination d_{name} {{ file(\"{}/{name}.out\" template(\"${{.tls.x509_cn}}|$MSG\\n\")); }};\n\
             log {{ source(s_{name}); destination(d_{name}); }};\n",
            identity("server"),
            p.file("cadir"),
            dir.display(),
        ));
    }
    c
}

fn syslog_ng_clients_config(input: u16, ports: &[u16]) -> String {
    let p = pki();
    let mut c = format!(
        "@version: 3.38\noptions {{ use-dns(no); time-reopen(1); }};\n\
         source s_in {{ network(ip(\"127.0.0.1\") port({input}) transport(\"tcp\")); }};\n"
    );
    let mut log = String::from("log { source(s_in);");
    for (name, id, target) in CLIENTS {
        let port = ports[SOURCES.iter().position(|(s, _)| s == target).unwrap_or(0)];
        let id = id.map(identity).unwrap_or_default();
        c.push_str(&format!(
            "destination d_{name} {{ network(\"localhost\" port({port}) transport(\"tls\") persist-name(\"d_{name}\") \
             tls({id} ca-file(\"{}\"))); }};\n",
            p.file("ca.pem")
        ));
        log.push_str(&format!(" destination(d_{name});"));
    }
    c.push_str(&log);
    c.push_str(" };\n");
    c
}

#[test]
fn rsng_server_refuses_bad_clients_and_accepts_optional_ones() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("tls-refuse-clients").unwrap();
    let (server, ports, _) =
        RunningDaemon::start(Daemon::Rsng, dir.path(), 0, SOURCES.len(), |p| rsng_server_config(dir.path(), &p.tcp));
    let (client, input, _) =
        RunningDaemon::start(Daemon::Oracle, dir.path(), 0, 1, |p| syslog_ng_clients_config(p.tcp[0], &ports.tcp));
    client.send_tcp(input.tcp[0], &messages("m", COUNT));
    let out = |name: &str| dir.path().join(format!("{name}.out"));
    // The accepted clients deliver everything ...
    let strict = wait_lines(&out("strict"), COUNT, 30);
    assert_eq!(strict.len(), COUNT, "rsng:\n{}\nsyslog-ng:\n{}", server.stderr(), client.stderr());
    let optional = wait_lines(&out("optional"), COUNT, 30);
    let untrusted = wait_lines(&out("untrusted"), COUNT, 30);
    let required_untrusted = wait_lines(&out("required_untrusted"), COUNT, 30);
    // ... and the refused ones keep retrying (time-reopen(1)) for a while longer.
    std::thread::sleep(Duration::from_secs(3));
    let stderr = server.stderr();
    assert!(client.stop());
    assert!(server.stop());
    // Only client1 reached the strict source: no certificate, another CA, revoked and expired
    // certificates were all refused.
    assert_exactly_once(&lines(&out("strict")), "m", COUNT, "client1");
    assert_eq!(strict.len(), COUNT);
    for name in ["dn", "keys"] {
        assert!(lines(&out(name)).is_empty(), "{name} accepted messages: {:?}", lines(&out(name)));
    }
    // optional-trusted: a client without certificate is accepted, the rogue one is not.
    assert_eq!(optional.len(), COUNT, "{stderr}");
    assert_exactly_once(&lines(&out("optional")), "m", COUNT, "");
    // optional-untrusted: the rogue client is accepted; the server does not ask for a
    // certificate at all (SSL_VERIFY_NONE, as in syslog-ng), so there is no peer name.
    assert_eq!(untrusted.len(), COUNT, "{stderr}");
    assert_exactly_once(&lines(&out("untrusted")), "m", COUNT, "");
    // required-untrusted: the rogue client is accepted and named; the one without a
    // certificate is not.
    assert_eq!(required_untrusted.len(), COUNT, "{stderr}");
    assert_exactly_once(&lines(&out("required_untrusted")), "m", COUNT, "rogue-client");
    for expected in [
        "SSL error while reading stream; tls_error='error:0A0000C7:SSL routines::peer did not return a certificate', location='",
        "Certificate validation failed; subject='CN=rogue-client, OU=Logging, O=Test', issuer='CN=Rogue CA, O=Test', error='unable to get local issuer certificate', depth='0'",
        "Certificate validation failed; subject='CN=client-revoked, OU=Logging, O=Test', issuer='CN=Test Root CA, O=Test', error='certificate revoked', depth='0'",
        "Certificate validation failed; subject='CN=client-expired, OU=Logging, O=Test', issuer='CN=Test Root CA, O=Test', error='certificate has expired', depth='0'",
        "Certificate validation failed; subject='CN=client1, OU=Logging, O=Test', issuer='CN=Test Root CA, O=Test', error='certificate not trusted', depth='0'",
        "tls_error='error:0A000086:SSL routines::certificate verify failed', location='",
        "hint='the client sent no certificate",
        "hint='the client certificate (issuer \"CN=Rogue CA, O=Test\") is not signed by a CA found in ca-dir(",
        "hint='the client certificate is revoked by a CRL in crl-dir()",
        "hint='the client certificate expired on Feb  1 00:00:00 2020 GMT",
        "which matches no trusted-dn() pattern",
        "which is not listed in trusted-keys()",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in rsng's log:\n{stderr}");
    }
    // The location names the `tls` keyword of the source.
    assert!(stderr.contains("rsng.conf:3:"), "{stderr}");
}

/// syslog-ng servers for the rsng client: (name, server identity, ca-dir).
fn syslog_ng_servers_config(dir: &Path, ports: &[u16], fixed: bool) -> String {
    let p = pki();
    let servers: [(&str, &str, &str); 4] = [
        ("expired", if fixed { "server" } else { "expired" }, "cadir"),
        ("wrongname", "wrongname", "cadir"),
        ("refusing", "server", if fixed { "cadir" } else { "rogue-cadir" }),
        ("good", "server", "cadir"),
    ];
    let mut c = String::from("@version: 3.38\noptions { use-dns(no); };\n");
    for ((name, id, cadir), port) in servers.iter().zip(ports) {
        c.push_str(&format!(
            "source s_{name} {{ network(ip(\"127.0.0.1\") port({port}) transport(\"tls\") tls({} ca-dir(\"{}\"))); }};\n\
             destination d_{name} {{ file(\"{}/{name}.out\" template(\"$MSG\\n\")); }};\n\
             log {{ source(s_{name}); destination(d_{name}); }};\n",
            identity(id),
            p.file(cadir),
            dir.display(),
        ));
    }
    c
}

fn rsng_clients_config(input: u16, ports: &[u16]) -> String {
    let p = pki();
    let mut c = format!(
        "@version: 3.38\noptions {{ use-dns(no); time-reopen(1); }};\n\
         source s_in {{ network(ip(\"127.0.0.1\") port({input}) transport(\"tcp\")); }};\n"
    );
    let mut log = String::from("log { source(s_in);");
    for (name, port) in ["expired", "wrongname", "refusing", "good"].iter().zip(ports) {
        c.push_str(&format!(
            "destination d_{name} {{ network(\"localhost\" port({port}) transport(\"tls\") tls({} ca-dir(\"{}\"))); }};\n",
            identity("client"),
            p.file("cadir")
        ));
        log.push_str(&format!(" destination(d_{name});"));
    }
    c.push_str(&log);
    c.push_str(" };\n");
    c
}

#[test]
fn rsng_client_refuses_bad_servers_and_keeps_its_queue() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("tls-refuse-servers").unwrap();
    let server_ports = free_tcp_ports(4);
    let (server, _, _) = RunningDaemon::start(Daemon::Oracle, dir.path(), 0, 0, |_| {
        syslog_ng_servers_config(dir.path(), &server_ports, false)
    });
    let (client, input, _) =
        RunningDaemon::start(Daemon::Rsng, dir.path(), 0, 1, |p| rsng_clients_config(p.tcp[0], &server_ports));
    client.send_tcp(input.tcp[0], &messages("q", COUNT));
    let out = |name: &str| dir.path().join(format!("{name}.out"));
    let good = wait_lines(&out("good"), COUNT, 30);
    assert_eq!(good.len(), COUNT, "rsng stderr:\n{}", client.stderr());
    std::thread::sleep(Duration::from_secs(3));
    for name in ["expired", "wrongname", "refusing"] {
        assert!(lines(&out(name)).is_empty(), "{name} got messages: {:?}", lines(&out(name)));
    }
    let stderr = client.stderr();
    for expected in [
        "Certificate validation failed; subject='CN=localhost, OU=Logging, O=Test', issuer='CN=Test Root CA, O=Test', error='certificate has expired', depth='0'",
        "SSL error while writing stream; tls_error='error:0A000086:SSL routines::certificate verify failed', location='",
        "hint='the server certificate expired on Feb  1 00:00:00 2020 GMT",
        "Certificate subject does not match configured hostname; hostname='localhost', certificate='other.example'",
        "hint='the destination is written as \"localhost\" but the server certificate names \"other.example\"",
        "alert unknown ca', location='",
        "hint='the server does not trust the CA that issued our certificate",
        "Syslog connection broken; server='localhost:",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in rsng's log:\n{stderr}");
    }
    // The server is fixed: what rsng kept queued arrives, once.
    assert!(server.stop());
    let (server, _, _) = RunningDaemon::start(Daemon::Oracle, dir.path(), 0, 0, |_| {
        syslog_ng_servers_config(dir.path(), &server_ports, true)
    });
    for name in ["expired", "refusing"] {
        let got = wait_lines(&out(name), COUNT, 30);
        assert_eq!(got.len(), COUNT, "{name}; rsng stderr:\n{}", client.stderr());
    }
    std::thread::sleep(Duration::from_millis(500));
    // rsng holds the wrongname destination's queue until its drain deadline: not waited for.
    drop(client);
    assert!(server.stop());
    for name in ["expired", "refusing", "good"] {
        let bare: Vec<String> = lines(&out(name)).iter().map(|l| format!("|{l}")).collect();
        assert_exactly_once(&bare, "q", COUNT, "");
    }
    assert!(lines(&out("wrongname")).is_empty());
}
