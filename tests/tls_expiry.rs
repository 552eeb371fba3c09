//! Certificate expiry seen before it bites, and the handshake time limit (rsng extensions of
//! `tls()`): a certificate 10 days from its end gives one warning and one stats row, a peer's
//! expiring certificate is logged once however often it connects, and `handshake-timeout()`
//! drops a client that never completes its handshake.

#[path = "tls_common.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};
use rsng_tests::{Daemon, RunningDaemon, TempDir};

const CTL: &str = "/usr/sbin/syslog-ng-ctl";

/// A self-signed certificate for `cn` that ends `days` from now, written as `cn.pem`/`cn.key`.
fn short_lived(dir: &Path, cn: &str, days: u32) -> (PathBuf, PathBuf, X509) {
    let key: PKey<Private> = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(days).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    let (pem, keyfile) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
    std::fs::write(&pem, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&keyfile, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (pem, keyfile, cert)
}

fn unix_not_after(cert: &X509) -> i64 {
    let d = Asn1Time::from_unix(0).unwrap().diff(cert.not_after()).unwrap();
    i64::from(d.days) * 86_400 + i64::from(d.secs)
}

fn stats(dir: &Path) -> String {
    let out = Command::new(CTL).arg("stats").arg("-c").arg(dir.join("rsng.ctl")).output().expect("syslog-ng-ctl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start(dir: &Path, tls: &str) -> (RunningDaemon, u16) {
    let out = dir.join("out");
    let (running, ports, _) = RunningDaemon::start(Daemon::Rsng, dir, 0, 1, |p: &rsng_tests::Ports| {
        format!(
            // internal() first: it keeps what the network source's set-up logs.
            "@version: 3.38\nsource s_int {{ internal(); }};\n\
             destination d_int {{ file(\"{}\" template(\"$MSG\\n\")); }};\nlog {{ source(s_int); destination(d_int); }};\n\
             source s {{ network(ip(\"127.0.0.1\") port({}) transport(\"tls\") tls({tls})); }};\n\
             destination d {{ file(\"{}\" template(\"$MSG\\n\")); }};\nlog {{ source(s); destination(d); }};\n",
            dir.join("internal").display(),
            p.tcp[0],
            out.display()
        )
    });
    (running, ports.tcp[0])
}

/// Connects with `cert`/`key` as the client's certificate and sends one line.
fn send_with_cert(port: u16, cert: &Path, key: &Path, line: &str) {
    use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    b.set_certificate_file(cert, SslFiletype::PEM).unwrap();
    b.set_private_key_file(key, SslFiletype::PEM).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut tls = b.build().connect("localhost", tcp).expect("handshake");
    tls.write_all(line.as_bytes()).unwrap();
    tls.shutdown().ok();
}

#[test]
fn own_and_peer_certificates_near_their_end_are_reported() {
    let tmp = TempDir::new("tls-expiry").unwrap();
    let dir = tmp.path();
    let (own_pem, own_key, own) = short_lived(dir, "server-ten-days", 10);
    let (peer_pem, peer_key, peer) = short_lived(dir, "client-five-days", 5);
    let tls = format!(
        // required-untrusted: the client must show its (self-signed) certificate.
        "key-file(\"{}\") cert-file(\"{}\") ca-file(\"{}\") peer-verify(required-untrusted)",
        own_key.display(),
        own_pem.display(),
        pki().file("ca.pem")
    );
    let (running, port) = start(dir, &tls);
    for i in 0..3 {
        send_with_cert(port, &peer_pem, &peer_key, &format!("message {i}\n"));
    }
    let received = wait_lines(&dir.join("out"), 3, 10);
    assert_eq!(received.len(), 3, "{received:?}");
    let rows = stats(dir);
    assert!(running.stop());
    let log = std::fs::read_to_string(dir.join("internal")).unwrap_or_default();

    let own_warnings = log.matches("Certificate expires soon; subject='CN=server-ten-days'").count();
    assert_eq!(own_warnings, 1, "{log}");
    assert!(log.contains("days_left='9'") || log.contains("days_left='10'"), "{log}");
    let peer_warnings = log.matches("Peer certificate expires soon; subject='CN=client-five-days'").count();
    assert_eq!(peer_warnings, 1, "one warning per peer certificate, however often it connects:\n{log}");

    let row = |role: &str, cn: &str, end: i64| {
        let wanted = format!(";{role}:CN={cn};a;not_after;{end}");
        assert!(rows.lines().any(|l| l.starts_with("tls;") && l.ends_with(&wanted)), "no {wanted} in:\n{rows}");
    };
    row("own", "server-ten-days", unix_not_after(&own));
    row("peer", "client-five-days", unix_not_after(&peer));
    let ca = X509::from_pem(&std::fs::read(pki().path("ca.pem")).unwrap()).unwrap();
    let ca_cn = pki().common_name("ca.pem");
    assert!(
        rows.lines().any(|l| l.starts_with("tls;")
            && l.contains(";ca:")
            && l.contains(&ca_cn)
            && l.ends_with(&format!(";not_after;{}", unix_not_after(&ca)))),
        "no CA row in:\n{rows}"
    );
}

#[test]
fn handshake_timeout_drops_a_silent_client() {
    let tmp = TempDir::new("tls-handshake-timeout").unwrap();
    let tls = format!("{} peer-verify(optional-untrusted) handshake-timeout(1)", identity("server"));
    let (running, port) = start(tmp.path(), &tls);
    let mut silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    silent.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    // The server closes the connection (EOF or reset) once the limit passes.
    let _ = silent.read(&mut buf);
    let waited = started.elapsed();
    assert!(running.stop());
    assert!(waited < Duration::from_secs(15), "still connected after {waited:?} with handshake-timeout(1)");
}
