//! Certificates, keys and CRLs re-read when their files change (an rsng extension): an rsng TLS
//! server keeps serving an established client while its certificate is replaced by one from
//! another CA and a CRL revoking a client appears; new connections see the new material, the
//! established one keeps delivering, every message exactly once. The clients are
//! `openssl s_client`, an independent TLS implementation of the handshake's other end.

#[path = "tls_common.rs"]
mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use rsng_tests::{Daemon, RunningDaemon, TempDir};

/// `openssl s_client` with the client pair `identity`, trusting only `ca` (a PKI file), checking
/// the server's name, and giving up when the server's certificate does not verify.
fn s_client(port: u16, identity: &str, ca: &str) -> Child {
    let p = pki();
    Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-quiet", "-no_ign_eof"])
        .args(["-verify_return_error", "-verify_hostname", "localhost"])
        .args(["-CAfile", &p.file(ca)])
        .args(["-cert", &p.file(&format!("{identity}.pem")), "-key", &p.file(&format!("{identity}.key"))])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl s_client (the openssl command is needed)")
}

/// Lines `<13>Jan  1 00:00:00 sender app: {tag}-{i}` for `i` in `range`.
fn numbered(tag: &str, range: std::ops::Range<usize>) -> Vec<u8> {
    range.flat_map(|i| format!("<13>Jan  1 00:00:00 sender app: {tag}-{i}\n").into_bytes()).collect()
}

/// Runs one client to the end: sends `data`, closes, and returns s_client's exit status and
/// its stderr.
fn one_shot(port: u16, identity: &str, ca: &str, data: &[u8]) -> (bool, String) {
    let mut child = s_client(port, identity, ca);
    let _ = child.stdin.take().expect("stdin").write_all(data);
    let out = child.wait_with_output().expect("wait for s_client");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The lines of `out` whose message starts with `tag-`.
fn tagged(out: &[String], tag: &str) -> Vec<String> {
    out.iter().filter(|l| l.split_once('|').is_some_and(|(_, m)| m.starts_with(&format!("{tag}-")))).cloned().collect()
}

/// Replaces `to` with a copy of `from` as tools do: a new file renamed over the old one.
fn replace(from: &Path, to: &Path) {
    let tmp = to.with_extension("new");
    std::fs::copy(from, &tmp).expect("copy");
    std::fs::rename(&tmp, to).expect("rename");
}

#[test]
fn changed_certificates_and_crls_apply_to_new_connections_only() {
    let p = pki();
    let dir = TempDir::new("tls-reload").unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("crl.d")).unwrap();
    std::fs::copy(p.path("server.key"), d.join("server.key")).unwrap();
    std::fs::copy(p.path("server.pem"), d.join("server.pem")).unwrap();
    let out = d.join("out");
    let config = |ports: &rsng_tests::Ports| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); }};
source s_tls {{ network(ip("127.0.0.1") port({port}) transport("tls")
    tls(key-file("{dir}/server.key") cert-file("{dir}/server.pem") ca-dir("{cadir}") crl-dir("{dir}/crl.d"))); }};
destination d_out {{ file("{out}" template("${{.tls.x509_cn}}|$MSG\n")); }};
log {{ source(s_tls); destination(d_out); }};
source s_internal {{ internal(); }};
destination d_internal {{ file("{dir}/internal.log"); }};
log {{ source(s_internal); destination(d_internal); }};
"#,
            port = ports.tcp[0],
            dir = d.display(),
            cadir = p.file("cadir"),
            out = out.display(),
        )
    };
    let (server, ports, _) = RunningDaemon::start(Daemon::Rsng, d, 0, 1, config);
    let port = ports.tcp[0];
    let expect = |n: usize, what: &str| {
        let got = wait_lines(&out, n, 20);
        assert_eq!(got.len(), n, "{what}: {got:?}\nrsng stderr:\n{}", server.stderr());
        got
    };

    // A client connects and sends; it stays connected across the change.
    let mut established = s_client(port, "client", "ca.pem");
    let mut stdin = established.stdin.take().expect("stdin");
    stdin.write_all(&numbered("kept", 0..10)).unwrap();
    stdin.flush().unwrap();
    expect(10, "the established client's first messages");
    // Without a CRL the revoked client is accepted.
    let (ok, err) = one_shot(port, "revoked", "ca.pem", &numbered("before", 0..5));
    assert!(ok, "{err}");
    expect(15, "the revoked client before the CRL");

    // A client trusting only the other CA does not get through yet.
    let (ok, _) = one_shot(port, "client", "rogue-ca.pem", &numbered("early", 0..5));
    assert!(!ok, "s_client must refuse the server certificate before the change");

    // New material: a server certificate from another CA, and the CRL revoking the client.
    replace(&p.path("rogue-server.key"), &d.join("server.key"));
    replace(&p.path("rogue-server.pem"), &d.join("server.pem"));
    let crl = std::fs::read_dir(p.path("crl")).unwrap().next().unwrap().unwrap();
    std::fs::copy(crl.path(), d.join("crl.d").join(crl.file_name())).unwrap();
    // Files are looked at once a second at most.
    std::thread::sleep(Duration::from_millis(1200));

    // A client trusting only the new server certificate's CA gets through.
    let (ok, err) = one_shot(port, "client", "rogue-ca.pem", &numbered("new", 0..10));
    assert!(ok, "a client trusting the new CA: {err}\nrsng stderr:\n{}", server.stderr());
    // The revoked client is refused (it trusts the new CA, so the refusal is the server's).
    let _ = one_shot(port, "revoked", "rogue-ca.pem", &numbered("revoked", 0..5));
    // A client trusting only the old CA refuses the new server certificate.
    let (ok, _) = one_shot(port, "client", "ca.pem", &numbered("old", 0..5));
    assert!(!ok, "s_client must refuse the new server certificate with the old CA");
    // The established connection keeps delivering.
    stdin.write_all(&numbered("kept", 10..20)).unwrap();
    drop(stdin);
    let status = established.wait().expect("wait for the established client");
    assert!(status.success(), "the established client: {status}");

    let got = expect(35, "all accepted messages");
    std::thread::sleep(Duration::from_millis(500));
    let got = if lines(&out).len() > got.len() { lines(&out) } else { got };
    assert_exactly_once(&tagged(&got, "kept"), "kept", 20, "client1");
    assert_exactly_once(&tagged(&got, "before"), "before", 5, "client-revoked");
    assert_exactly_once(&tagged(&got, "new"), "new", 10, "client1");
    assert!(tagged(&got, "revoked").is_empty(), "the revoked client got through: {got:?}");
    assert!(tagged(&got, "old").is_empty(), "{got:?}");
    assert!(tagged(&got, "early").is_empty(), "{got:?}");
    assert_eq!(got.len(), 35, "{got:?}");
    let internal = std::fs::read_to_string(d.join("internal.log")).unwrap_or_default();
    assert!(internal.contains("TLS key, certificate, CA or CRL files changed, new connections use them"), "{internal}");
    assert!(internal.contains("error='certificate revoked'"), "{internal}");
    assert!(server.stop());
}
