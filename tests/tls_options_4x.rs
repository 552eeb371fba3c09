//! The `tls()` options of syslog-ng 4.x (AxoSyslog), accepted with `@version: 4.0` or later, each
//! with a real peer that is accepted and one that is refused: `ssl-version()` as the lowest
//! version, `trusted-fingerprints()` pinning self-signed certificates by SHA-256 (and
//! `.tls.x509_fp`), `extended-key-usage-verify()`, `ssl-options(ignore-validity-period)`.

#[path = "tls_common.rs"]
mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslConnector, SslFiletype, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};
use rsng_tests::{free_tcp_ports, Daemon, RunningDaemon, TempDir};

/// A certificate for `cn` with a fresh EC key, valid from yesterday to tomorrow: self-signed, or
/// issued by the test CA; with `client_only`, its extendedKeyUsage is clientAuth alone. Written
/// as `<dir>/<name>.pem` and `.key`.
fn make_cert(dir: &Path, name: &str, cn: &str, self_signed: bool, client_only: bool) -> X509 {
    let key =
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
    let mut subject = X509NameBuilder::new().unwrap();
    subject.append_entry_by_text("CN", cn).unwrap();
    let subject = subject.build();
    let (issuer_cert, issuer_key): (Option<X509>, PKey<Private>) = if self_signed {
        (None, key.clone())
    } else {
        let p = pki();
        let cert = X509::from_pem(&std::fs::read(p.path("ca.pem")).unwrap()).unwrap();
        let key = PKey::private_key_from_pem(&std::fs::read(p.path("ca.key")).unwrap()).unwrap();
        (Some(cert), key)
    };
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(rand_serial()).unwrap();
    b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap()).unwrap();
    b.set_subject_name(&subject).unwrap();
    b.set_issuer_name(issuer_cert.as_ref().map_or(&subject, |c| c.subject_name())).unwrap();
    b.set_pubkey(&key).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    b.set_not_before(&Asn1Time::from_unix(now - 86_400).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + 86_400).unwrap()).unwrap();
    b.append_extension(BasicConstraints::new().build().unwrap()).unwrap();
    if client_only {
        b.append_extension(ExtendedKeyUsage::new().client_auth().build().unwrap()).unwrap();
    }
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(issuer_cert.as_deref(), None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&issuer_key, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    std::fs::write(dir.join(format!("{name}.pem")), cert.to_pem().unwrap()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    cert
}

/// A serial number that differs between certificates of one run.
fn rand_serial() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u32::from_be_bytes(b) >> 1
}

/// `SHA256:AB:CD:…`, as trusted-fingerprints() takes it.
fn sha256(cert: &X509) -> String {
    let d = cert.digest(MessageDigest::sha256()).unwrap();
    let hex: Vec<String> = d.iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", hex.join(":"))
}

/// rsng with one TLS source on a free port (`tls` is the inside of its `tls()` block), writing
/// `${.tls.x509_cn}|${.tls.x509_fp}|$MSG` lines to `out.txt` and its own messages to
/// `internal.txt`.
fn source(dir: &Path, version: &str, tls: &str) -> (RunningDaemon, u16) {
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, dir, 0, 1, |p| {
        format!(
            // internal() first: it then records what the TLS source says while it is set up.
            "@version: {version}\noptions {{ use-dns(no); }};\n\
             source s_int {{ internal(); }};\n\
             destination d_int {{ file(\"{dir}/internal.txt\" template(\"$MSG\\n\")); }};\n\
             log {{ source(s_int); destination(d_int); }};\n\
             source s {{ network(ip(\"127.0.0.1\") port({}) transport(\"tls\") tls({tls})); }};\n\
             destination d {{ file(\"{dir}/out.txt\" template(\"${{.tls.x509_cn}}|${{.tls.x509_fp}}|$MSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            p.tcp[0],
            dir = dir.display()
        )
    });
    (rsng, ports.tcp[0])
}

/// A TLS client: `cert` is a `(pem, key)` pair to present, `max` the highest version it offers.
/// Sends `text` as one message. `Err` when the handshake failed on the client's side.
fn client(port: u16, cert: Option<(PathBuf, PathBuf)>, max: Option<SslVersion>, text: &str) -> Result<(), String> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    b.set_max_proto_version(max).unwrap();
    if let Some((pem, key)) = cert {
        b.set_certificate_file(pem, SslFiletype::PEM).unwrap();
        b.set_private_key_file(key, SslFiletype::PEM).unwrap();
    }
    let mut config = b.build().configure().unwrap();
    config.set_verify_hostname(false);
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut tls = config.connect("localhost", tcp).map_err(|e| e.to_string())?;
    // With TLS 1.3 the server's verdict on our certificate comes after the client's handshake:
    // a refusal then shows as a failed write or nothing arriving.
    let _ = tls.write_all(format!("<13>Jan  1 00:00:00 sender app: {text}\n").as_bytes());
    let _ = tls.shutdown();
    Ok(())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until `file` in `dir` contains `what`, at most 30 s; returns the file.
fn wait_for(dir: &Path, file: &str, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = read(&dir.join(file));
        if text.contains(what) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pair(dir: &Path, name: &str) -> Option<(PathBuf, PathBuf)> {
    Some((dir.join(format!("{name}.pem")), dir.join(format!("{name}.key"))))
}

fn pki_pair(name: &str) -> Option<(PathBuf, PathBuf)> {
    pair(&pki().dir, name)
}

#[test]
fn ssl_version_is_the_lowest_version() {
    let dir = TempDir::new("tls4x-version").unwrap();
    let tls = format!("{} peer-verify(optional-untrusted) ssl-version(\"tlsv1_3\")", identity("server"));
    let (rsng, port) = source(dir.path(), "4.0", &tls);
    let refused = client(port, None, Some(SslVersion::TLS1_2), "tls12");
    assert!(refused.is_err(), "a TLS 1.2 client was accepted");
    client(port, None, None, "tls13").expect("TLS 1.3 handshake");
    let out = wait_for(dir.path(), "out.txt", "tls13");
    assert_eq!(out, "||tls13\n", "{}", rsng.stderr());
    assert!(rsng.stop());
    // A 3.38 configuration keeps 3.38's verdict: no such option.
    let conf = dir.path().join("v338.conf");
    std::fs::write(
        &conf,
        format!(
            "@version: 3.38\nsource s {{ network(port(1) transport(\"tls\") tls({tls})); }};\n\
             destination d {{ file(\"/dev/null\"); }};\nlog {{ source(s); destination(d); }};\n"
        ),
    )
    .unwrap();
    let verdict = rsng_tests::run_rsng(&conf);
    assert!(!verdict.ok && verdict.message.contains("ssl-version"), "{}", verdict.summary());
}

#[test]
fn trusted_fingerprints_pin_self_signed_clients() {
    let dir = TempDir::new("tls4x-fingerprint").unwrap();
    let pinned = make_cert(dir.path(), "pinned", "pinned-client", true, false);
    make_cert(dir.path(), "stranger", "stranger-client", true, false);
    let fp = sha256(&pinned);
    let tls = format!(
        "{} ca-file(\"{}\") peer-verify(required-trusted) trusted-fingerprints(\"{fp}\")",
        identity("server"),
        pki().file("ca.pem")
    );
    let (rsng, port) = source(dir.path(), "4.0", &tls);
    // Refused: a self-signed certificate that is not listed, and one from the trusted CA that is
    // not listed either (the list also constrains valid chains, as trusted-keys() does).
    let _ = client(port, pair(dir.path(), "stranger"), None, "stranger");
    let internal = wait_for(dir.path(), "internal.txt", "stranger-client");
    assert!(internal.contains("Certificate validation failed; subject='CN=stranger-client'"), "{internal}");
    let _ = client(port, pki_pair("client"), None, "ca-signed");
    let internal = wait_for(dir.path(), "internal.txt", "fingerprint constraints were not met");
    assert!(internal.contains("fingerprint constraints were not met"), "{internal}");
    // Accepted: the pinned certificate, with its fingerprint on the message.
    client(port, pair(dir.path(), "pinned"), None, "pinned").expect("handshake");
    let out = wait_for(dir.path(), "out.txt", "pinned");
    assert_eq!(out, format!("pinned-client|{fp}|pinned\n"), "{}", rsng.stderr());
    assert!(rsng.stop());
}

#[test]
fn expired_client_accepted_only_with_ignore_validity_period() {
    for (options, accepted) in [("", false), ("ssl-options(ignore-validity-period)", true)] {
        let dir = TempDir::new("tls4x-expired").unwrap();
        let tls = format!(
            "{} ca-file(\"{}\") peer-verify(required-trusted) {options}",
            identity("server"),
            pki().file("ca.pem")
        );
        let (rsng, port) = source(dir.path(), "4.0", &tls);
        let _ = client(port, pki_pair("expired-client"), None, "expired");
        if accepted {
            let out = wait_for(dir.path(), "out.txt", "expired");
            assert_eq!(out, "client-expired||expired\n", "{}", rsng.stderr());
        } else {
            let internal = wait_for(dir.path(), "internal.txt", "certificate has expired");
            assert!(internal.contains("error='certificate has expired'"), "{internal}");
            // The refused connection is over: nothing of it was written.
            wait_for(dir.path(), "internal.txt", "Syslog connection closed");
            assert_eq!(read(&dir.path().join("out.txt")), "");
        }
        assert!(rsng.stop());
    }
}

/// A TLS server on a free port presenting `cert`; what it receives is collected.
struct Server {
    port: u16,
    received: Arc<Mutex<Vec<u8>>>,
}

fn tls_server(dir: &Path, cert: &str) -> Server {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    b.set_certificate_file(dir.join(format!("{cert}.pem")), SslFiletype::PEM).unwrap();
    b.set_private_key_file(dir.join(format!("{cert}.key")), SslFiletype::PEM).unwrap();
    let acceptor = b.build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    // The thread ends with the test binary; each connection is read to its end.
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            if let Ok(mut tls) = acceptor.accept(tcp) {
                let mut buf = [0u8; 4096];
                while let Ok(n) = tls.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }
        }
    });
    Server { port, received }
}

#[test]
fn extended_key_usage_verify_needs_server_auth() {
    let dir = TempDir::new("tls4x-eku").unwrap();
    make_cert(dir.path(), "client-only", "localhost", false, true);
    make_cert(dir.path(), "any-use", "localhost", false, false);
    for (cert, verify, accepted) in
        [("client-only", "yes", false), ("client-only", "no", true), ("any-use", "yes", true)]
    {
        let server = tls_server(dir.path(), cert);
        let run = TempDir::new("tls4x-eku-run").unwrap();
        let input = free_tcp_ports(1)[0];
        let (rsng, _, _) = RunningDaemon::start(Daemon::Rsng, run.path(), 0, 0, |_| {
            format!(
                "@version: 4.0\noptions {{ use-dns(no); time-reopen(1); }};\n\
                 source s {{ network(ip(\"127.0.0.1\") port({input}) transport(\"tcp\")); }};\n\
                 destination d {{ network(\"127.0.0.1\" port({}) transport(\"tls\")\n\
                   tls(ca-file(\"{}\") peer-verify(required-trusted) extended-key-usage-verify({verify}))); }};\n\
                 log {{ source(s); destination(d); }};\n\
                 source s_int {{ internal(); }};\n\
                 destination d_int {{ file(\"{}/internal.txt\" template(\"$MSG\\n\")); }};\n\
                 log {{ source(s_int); destination(d_int); }};\n",
                server.port,
                pki().file("ca.pem"),
                run.path().display()
            )
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpListener::bind(("127.0.0.1", input)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        TcpStream::connect(("127.0.0.1", input)).unwrap().write_all(b"<13>Jan  1 00:00:00 sender app: eku\n").unwrap();
        if accepted {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !String::from_utf8_lossy(&server.received.lock().unwrap()).contains("app: eku") {
                assert!(Instant::now() < deadline, "{cert}, verify {verify}: nothing arrived; {}", rsng.stderr());
                std::thread::sleep(Duration::from_millis(50));
            }
        } else {
            let internal = wait_for(run.path(), "internal.txt", "invalid purpose");
            assert!(
                internal.contains("Certificate validation failed (invalid purpose); subject='CN=localhost'")
                    && internal.contains("expected_purpose='TLS server'"),
                "{internal}"
            );
            assert!(server.received.lock().unwrap().is_empty());
        }
        // A refused destination still holds its message and would wait to deliver it: the
        // daemon is killed (dropped) rather than stopped.
        drop(rsng);
    }
}

/// `ssl-options(ignore-unexpected-eof)`: a client that closes without close_notify loses
/// nothing and causes no error (rsng treats such a close so in every version).
#[test]
fn ignore_unexpected_eof() {
    let dir = TempDir::new("tls4x-eof").unwrap();
    let tls = format!("{} peer-verify(optional-untrusted) ssl-options(ignore-unexpected-eof)", identity("server"));
    let (rsng, port) = source(dir.path(), "4.0", &tls);
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    let mut config = b.build().configure().unwrap();
    config.set_verify_hostname(false);
    let mut tls = config.connect("localhost", TcpStream::connect(("127.0.0.1", port)).unwrap()).unwrap();
    tls.write_all(b"<13>Jan  1 00:00:00 sender app: before-eof\n").unwrap();
    // No shutdown(): the TCP connection closes without close_notify.
    drop(tls);
    let out = wait_for(dir.path(), "out.txt", "before-eof");
    assert_eq!(out, "||before-eof\n");
    let internal = wait_for(dir.path(), "internal.txt", "Syslog connection closed");
    assert!(internal.contains("Syslog connection closed") && !internal.contains("error"), "{internal}");
    assert!(rsng.stop());
}

/// `openssl s_server`, started privately on a free loopback port; killed when dropped.
struct SServer {
    child: std::process::Child,
    /// Kept open: s_server ends a connection when its standard input ends.
    _stdin: Option<std::process::ChildStdin>,
    port: u16,
    stdout: PathBuf,
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openssl s_server` with the test PKI's server certificate, stapling `status` (a DER OCSP
/// response) when given; what it receives goes to a file.
fn s_server(dir: &Path, status: Option<&Path>) -> SServer {
    let port = free_tcp_ports(1)[0];
    let stdout = dir.join(format!("s_server.{port}.out"));
    let mut cmd = std::process::Command::new("openssl");
    cmd.arg("s_server").arg("-accept").arg(format!("127.0.0.1:{port}"));
    cmd.arg("-cert").arg(pki().path("server.pem")).arg("-key").arg(pki().path("server.key")).arg("-quiet");
    if let Some(status) = status {
        cmd.arg("-status_file").arg(status);
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("s_server.{port}.err"))).unwrap());
    let mut child = cmd.spawn().expect("start openssl s_server");
    let stdin = child.stdin.take();
    let server = SServer { child, _stdin: stdin, port, stdout };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpListener::bind(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// An OCSP response for the test PKI's server certificate (serial 1001) from its CA, saying
/// `good` or revoked, valid from now for a day.
fn ocsp_response(dir: &Path, revoked: bool) -> PathBuf {
    let p = pki();
    let tag = if revoked { "revoked" } else { "good" };
    let index = dir.join(format!("index.{tag}.txt"));
    let line = if revoked {
        "R\t491231235959Z\t200101000000Z\t1001\tunknown\t/CN=localhost\n"
    } else {
        "V\t491231235959Z\t\t1001\tunknown\t/CN=localhost\n"
    };
    std::fs::write(&index, line).unwrap();
    let request = dir.join(format!("req.{tag}.der"));
    let response = dir.join(format!("resp.{tag}.der"));
    let run = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new("openssl").args(args).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let (ca, ca_key, server) = (p.path("ca.pem"), p.path("ca.key"), p.path("server.pem"));
    run(&[
        "ocsp".as_ref(),
        "-issuer".as_ref(),
        ca.as_os_str(),
        "-cert".as_ref(),
        server.as_os_str(),
        "-no_nonce".as_ref(),
        "-reqout".as_ref(),
        request.as_os_str(),
    ]);
    run(&[
        "ocsp".as_ref(),
        "-index".as_ref(),
        index.as_os_str(),
        "-rsigner".as_ref(),
        ca.as_os_str(),
        "-rkey".as_ref(),
        ca_key.as_os_str(),
        "-CA".as_ref(),
        ca.as_os_str(),
        "-reqin".as_ref(),
        request.as_os_str(),
        "-respout".as_ref(),
        response.as_os_str(),
        "-ndays".as_ref(),
        "1".as_ref(),
    ]);
    response
}

/// `ocsp-stapling-verify(yes)` against `openssl s_server`: a good stapled response is accepted;
/// a revoked one, or none, is refused.
#[test]
fn ocsp_stapling_verify() {
    let dir = TempDir::new("tls4x-ocsp").unwrap();
    let good = ocsp_response(dir.path(), false);
    let revoked = ocsp_response(dir.path(), true);
    let cases: [(Option<&Path>, Option<&str>); 3] = [
        (Some(&good), None),
        (Some(&revoked), Some("the server's certificate is revoked according to OCSP")),
        (None, Some("no OCSP response was received from the server")),
    ];
    for (status, refusal) in cases {
        let server = s_server(dir.path(), status);
        let run = TempDir::new("tls4x-ocsp-run").unwrap();
        let input = free_tcp_ports(1)[0];
        let (rsng, _, _) = RunningDaemon::start(Daemon::Rsng, run.path(), 0, 0, |_| {
            format!(
                "@version: 4.0\noptions {{ use-dns(no); time-reopen(1); }};\n\
                 source s {{ network(ip(\"127.0.0.1\") port({input}) transport(\"tcp\")); }};\n\
                 destination d {{ network(\"localhost\" port({}) transport(\"tls\")\n\
                   tls(ca-file(\"{}\") peer-verify(required-trusted) ocsp-stapling-verify(yes))); }};\n\
                 log {{ source(s); destination(d); }};\n\
                 source s_int {{ internal(); }};\n\
                 destination d_int {{ file(\"{}/internal.txt\" template(\"$MSG\\n\")); }};\n\
                 log {{ source(s_int); destination(d_int); }};\n",
                server.port,
                pki().file("ca.pem"),
                run.path().display()
            )
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpListener::bind(("127.0.0.1", input)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        TcpStream::connect(("127.0.0.1", input)).unwrap().write_all(b"<13>Jan  1 00:00:00 sender app: ocsp\n").unwrap();
        match refusal {
            None => {
                let got = wait_for(dir.path(), server.stdout.file_name().unwrap().to_str().unwrap(), "app: ocsp");
                assert!(got.contains("app: ocsp"), "nothing arrived; {}", read(&run.path().join("internal.txt")));
            }
            Some(why) => {
                let internal = wait_for(run.path(), "internal.txt", why);
                assert!(internal.contains(&format!("OCSP stapling verification failed; error='{why}'")), "{internal}");
                assert!(!read(&server.stdout).contains("app: ocsp"));
            }
        }
        drop(rsng);
    }
}

/// rsng warns when its own certificate has expired or is about to (any version; not a syslog-ng
/// option: there is nothing to configure).
#[test]
fn own_certificate_expiry_is_warned() {
    let dir = TempDir::new("tls-expiry").unwrap();
    let soon = make_cert(dir.path(), "soon", "soon.example", false, false);
    assert!(soon.not_after() > Asn1Time::days_from_now(0).unwrap());
    let cases = [
        (
            format!("{} peer-verify(optional-untrusted)", identity("expired")),
            Some("Certificate has expired; subject='CN=localhost"),
        ),
        (
            format!(
                "key-file(\"{}\") cert-file(\"{}\") peer-verify(optional-untrusted)",
                dir.path().join("soon.key").display(),
                dir.path().join("soon.pem").display()
            ),
            Some("Certificate expires soon; subject='CN=soon.example'"),
        ),
        (format!("{} peer-verify(optional-untrusted)", identity("server")), None),
    ];
    for (tls, warning) in cases {
        let run = TempDir::new("tls-expiry-run").unwrap();
        let (rsng, _) = source(run.path(), "3.38", &tls);
        // The daemon runs either way; wait for its start-up message, then look.
        let internal = wait_for(run.path(), "internal.txt", "starting up");
        match warning {
            Some(w) => assert!(wait_for(run.path(), "internal.txt", w).contains(w), "{internal}"),
            None => assert!(!internal.contains("Certificate"), "{internal}"),
        }
        assert!(rsng.stop());
    }
}
