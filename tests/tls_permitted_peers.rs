//! rsng extensions of `tls()`: `permitted-peers()` admits only clients whose certificate names a
//! permitted host (DNS subjectAltName, or CN without one; `*` is one whole left-most label), on
//! top of the chain verification; and completed handshakes are counted in stats by protocol
//! version and cipher (`tls_handshakes_<VERSION>_<CIPHER>`), resumed sessions as
//! `tls_resumptions`. Real handshakes with certificates made here, against the rsng binary.

#[path = "tls_common.rs"]
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::extension::{ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};
use rsng_tests::{Daemon, RunningDaemon, TempDir};

const CTL: &str = "/usr/sbin/syslog-ng-ctl";

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// A client certificate for `cn` with DNS subjectAltNames `sans` (none: no extension), signed by
/// the test PKI's CA, or self-signed when `trusted` is false. Written as `file.pem`/`file.key`.
fn client_cert(dir: &Path, file: &str, cn: &str, sans: &[&str], trusted: bool) -> (PathBuf, PathBuf) {
    let key = ec_key();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("O", "Test").unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let (ca_cert, ca_key) = if trusted {
        let cert = X509::from_pem(&std::fs::read(pki().path("ca.pem")).unwrap()).unwrap();
        let key = PKey::private_key_from_pem(&std::fs::read(pki().path("ca.key")).unwrap()).unwrap();
        (Some(cert), key)
    } else {
        (None, key.clone())
    };
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0x7000);
    let serial = BigNum::from_u32(SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(ca_cert.as_ref().map_or(&name, |c| c.subject_name())).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.append_extension(ExtendedKeyUsage::new().client_auth().build().unwrap()).unwrap();
    if !sans.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in sans {
            san.dns(s);
        }
        let ext = san.build(&b.x509v3_context(ca_cert.as_deref(), None)).unwrap();
        b.append_extension(ext).unwrap();
    }
    b.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    let (pem, keyfile) = (dir.join(format!("{file}.pem")), dir.join(format!("{file}.key")));
    std::fs::write(&pem, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&keyfile, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (pem, keyfile)
}

fn stats(dir: &Path) -> String {
    let out = Command::new(CTL).arg("stats").arg("-c").arg(dir.join("rsng.ctl")).output().expect("syslog-ng-ctl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of the stats row of the TLS source whose type is `kind`, if listed.
fn row(rows: &str, kind: &str) -> Option<u64> {
    let wanted = format!(";a;{kind};");
    rows.lines()
        .find(|l| l.starts_with("src.network;s;afsocket_sd.(stream,AF_INET(127.0.0.1:") && l.contains(&wanted))
        .and_then(|l| l.rsplit(';').next())
        .and_then(|n| n.parse().ok())
}

/// Polls stats until `kind` reaches `n` (at most 10 s); returns the rows last seen.
fn wait_row(dir: &Path, kind: &str, n: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = stats(dir);
        if row(&rows, kind) >= Some(n) || Instant::now() > deadline {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start(dir: &Path, tls: &str) -> (RunningDaemon, u16) {
    let out = dir.join("out");
    let (running, ports, _) = RunningDaemon::start(Daemon::Rsng, dir, 0, 1, |p: &rsng_tests::Ports| {
        format!(
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

/// Connects with the client certificate `cert`/`key` (if any) and sends `line`; a refusal by
/// the server may show at the handshake or only afterwards (TLS 1.3), so errors are ignored.
fn send(port: u16, pair: Option<&(PathBuf, PathBuf)>, line: &str) {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    if let Some((cert, key)) = pair {
        b.set_certificate_file(cert, SslFiletype::PEM).unwrap();
        b.set_private_key_file(key, SslFiletype::PEM).unwrap();
    }
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    if let Ok(mut tls) = b.build().connect("localhost", tcp) {
        let _ = tls.write_all(line.as_bytes());
        let _ = tls.shutdown();
    }
}

#[test]
fn permitted_peers_admit_clients_by_alt_name_wildcard_and_common_name() {
    let tmp = TempDir::new("tls-permitted-peers").unwrap();
    let dir = tmp.path();
    let exact = client_cert(dir, "exact", "client-a", &["logs.example.com"], true);
    let wildcard = client_cert(dir, "wildcard", "client-b", &["other.example.net", "Host1.WEB.example.com"], true);
    let cn_only = client_cert(dir, "cn-only", "relay.example.org", &[], true);
    let two_labels = client_cert(dir, "two-labels", "client-c", &["a.b.web.example.com"], true);
    // The CN is permitted, but a certificate with DNS subjectAltNames is judged by them only.
    let cn_shadowed = client_cert(dir, "cn-shadowed", "logs.example.com", &["intruder.example.com"], true);
    let cn_other = client_cert(dir, "cn-other", "stranger.example.org", &[], true);
    // A permitted name does not make a certificate of an unknown CA trusted.
    let untrusted = client_cert(dir, "untrusted", "client-d", &["logs.example.com"], false);

    let tls = format!(
        "{} ca-file(\"{}\") permitted-peers(\"logs.example.com\" \"*.web.example.com\" \"relay.example.org\")",
        identity("server"),
        pki().file("ca.pem")
    );
    let (running, port) = start(dir, &tls);
    send(port, Some(&exact), "<13>Jan  1 00:00:00 sender app: accepted-exact\n");
    send(port, Some(&wildcard), "<13>Jan  1 00:00:00 sender app: accepted-wildcard\n");
    send(port, Some(&cn_only), "<13>Jan  1 00:00:00 sender app: accepted-common-name\n");
    send(port, Some(&two_labels), "<13>Jan  1 00:00:00 sender app: refused-two-labels\n");
    send(port, Some(&cn_shadowed), "<13>Jan  1 00:00:00 sender app: refused-cn-shadowed\n");
    send(port, Some(&cn_other), "<13>Jan  1 00:00:00 sender app: refused-cn-other\n");
    send(port, Some(&untrusted), "<13>Jan  1 00:00:00 sender app: refused-untrusted\n");
    send(port, None, "<13>Jan  1 00:00:00 sender app: refused-no-certificate\n");
    let received = wait_lines(&dir.join("out"), 3, 10);
    let rows = wait_row(dir, "tls_handshake_failed_permitted-peers", 3);
    let rows_final = wait_row(dir, "tls_handshake_failed_no-certificate", 1);
    // Anything refused late would have arrived by now.
    std::thread::sleep(Duration::from_millis(300));
    let received_final = lines(&dir.join("out"));
    assert!(running.stop());
    let log = std::fs::read_to_string(dir.join("internal")).unwrap_or_default();

    let mut got = received_final.clone();
    got.sort();
    assert_eq!(got, ["accepted-common-name", "accepted-exact", "accepted-wildcard"], "{received:?}\n{log}");
    assert_eq!(row(&rows, "tls_handshake_failed_permitted-peers"), Some(3), "{rows}\n{log}");
    assert_eq!(row(&rows_final, "tls_handshake_failed_unknown-ca"), Some(1), "{rows_final}");
    assert_eq!(row(&rows_final, "tls_handshake_failed_no-certificate"), Some(1), "{rows_final}");
    assert_eq!(row(&rows_final, "tls_handshake_failed_permitted-peers"), Some(3), "{rows_final}");

    let refusal = |subject: &str, names: &str| {
        let wanted = format!(
            "Certificate valid, but its names are not in permitted-peers(), rejecting; subject='{subject}', {names}, \
             permitted_peers='logs.example.com, *.web.example.com, relay.example.org', location='"
        );
        assert!(log.contains(&wanted), "no {wanted:?} in:\n{log}");
    };
    refusal("CN=client-c, O=Test", "subject_alt_names='a.b.web.example.com'");
    refusal("CN=logs.example.com, O=Test", "subject_alt_names='intruder.example.com'");
    refusal("CN=stranger.example.org, O=Test", "common_name='stranger.example.org'");
    // The untrusted certificate is refused by the chain check, before its names are looked at.
    assert!(!log.contains("subject='CN=client-d, O=Test', subject_alt_names"), "{log}");
}

/// One handshake with `version`/`cipher` forced on the client, resuming `session` if given.
fn handshake(
    port: u16,
    version: SslVersion,
    cipher: &str,
    session: Option<&openssl::ssl::SslSession>,
    line: &str,
) -> (String, bool, openssl::ssl::SslSession) {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    b.set_min_proto_version(Some(version)).unwrap();
    b.set_max_proto_version(Some(version)).unwrap();
    if version == SslVersion::TLS1_3 {
        b.set_ciphersuites(cipher).unwrap();
    } else {
        b.set_cipher_list(cipher).unwrap();
    }
    let mut ssl = b.build().configure().unwrap().into_ssl("localhost").unwrap();
    if let Some(s) = session {
        // SAFETY: the session comes from a connection made with the same settings.
        unsafe { ssl.set_session(s).unwrap() };
    }
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut tls = ssl.connect(tcp).expect("handshake");
    tls.write_all(line.as_bytes()).unwrap();
    let name = tls.ssl().current_cipher().map(|c| c.name().to_string()).unwrap_or_default();
    let reused = tls.ssl().session_reused();
    let saved = tls.ssl().session().expect("a session").to_owned();
    let _ = tls.shutdown();
    (name, reused, saved)
}

#[test]
fn handshakes_are_counted_by_protocol_and_cipher_and_resumptions() {
    let tmp = TempDir::new("tls-session-metrics").unwrap();
    let dir = tmp.path();
    let tls = format!("{} peer-verify(optional-untrusted)", identity("server"));
    let (running, port) = start(dir, &tls);
    for i in 0..3 {
        let (cipher, _, _) = handshake(port, SslVersion::TLS1_3, "TLS_AES_128_GCM_SHA256", None, &format!("v13 {i}\n"));
        assert_eq!(cipher, "TLS_AES_128_GCM_SHA256");
    }
    // TLS 1.2 with a session ID: the second connection resumes the first one's session.
    let tls12 = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384";
    let (cipher12, reused, session) = handshake(port, SslVersion::TLS1_2, tls12, None, "v12 full\n");
    assert!(!reused);
    let (again, reused, _) = handshake(port, SslVersion::TLS1_2, tls12, Some(&session), "v12 resumed\n");
    assert!(reused, "the server did not resume the TLS 1.2 session");
    assert_eq!(again, cipher12);
    let received = wait_lines(&dir.join("out"), 5, 10);
    let rows = stats(dir);
    assert!(running.stop());

    assert_eq!(received.len(), 5, "{received:?}");
    assert_eq!(row(&rows, "tls_handshakes_TLSv1.3_TLS_AES_128_GCM_SHA256"), Some(3), "{rows}");
    assert_eq!(row(&rows, &format!("tls_handshakes_TLSv1.2_{cipher12}")), Some(2), "{rows}");
    assert_eq!(row(&rows, "tls_resumptions"), Some(1), "{rows}");
    let kinds = rows.lines().filter(|l| l.contains(";a;tls_handshakes_")).count();
    assert_eq!(kinds, 2, "{rows}");
}
