//! Handshakes over loopback between rsng's own client and server contexts, with certificates
//! generated for the test: every `peer-verify()` mode, the refusals and their messages, and the
//! start-up errors of bad settings.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::test_pki::TestPki;
use super::*;

fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rsng-tls-unit-{}", std::process::id()));
        TestPki::generate(&dir).expect("generate the test PKI")
    })
}

fn p(file: &str) -> Option<PathBuf> {
    Some(pki().path(file))
}

/// Collected messages of one side.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn sink(&self) -> LogSink {
        let lines = self.0.clone();
        Arc::new(move |_, text| lines.lock().unwrap().push(text))
    }
    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

fn server_config() -> TlsConfig {
    TlsConfig {
        key_file: p("server.key"),
        cert_file: p("server.pem"),
        ca_dir: p("cadir"),
        location: "server.conf:1:1".into(),
        ..TlsConfig::default()
    }
}

fn client_config(identity: Option<&str>) -> TlsConfig {
    TlsConfig {
        key_file: identity.and_then(|i| p(&format!("{i}.key"))),
        cert_file: identity.and_then(|i| p(&format!("{i}.pem"))),
        ca_file: p("ca.pem"),
        location: "client.conf:1:1".into(),
        ..TlsConfig::default()
    }
}

/// What one connection did on each side.
struct Outcome {
    /// What the server received, or its handshake error.
    server: Result<(Vec<u8>, Option<PeerIdentity>), String>,
    client: Result<(), String>,
    server_log: String,
    client_log: String,
    /// Prefix of the contexts' instance names (`PREFIX/server`, `PREFIX/client`).
    instance: String,
}

/// A fresh instance name for the failure counters of one test connection.
fn instance_name() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!("unit-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// The failure counters of `instance`: (reason, count).
fn failures_of(instance: &str) -> Vec<(String, u64)> {
    handshake_failures().into_iter().filter(|(i, _, _)| i == instance).map(|(_, r, n)| (r, n)).collect()
}

async fn exchange(server: TlsConfig, client: TlsConfig, host: &str) -> Outcome {
    let (slog, clog) = (Log::default(), Log::default());
    let instance = instance_name();
    let sctx = TlsContext::new(&server, Side::Server, slog.sink())
        .expect("server context")
        .with_instance(&format!("{instance}/server"));
    let cctx = TlsContext::new(&client, Side::Client, clog.sink())
        .expect("client context")
        .with_instance(&format!("{instance}/client"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        match sctx.accept(tcp).await {
            Ok(mut s) => {
                let id = s.peer_identity();
                let mut data = Vec::new();
                let _ = s.read_to_end(&mut data).await;
                Ok((data, id))
            }
            Err(e) => Err(e.to_string()),
        }
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let client_result = async {
        let mut s = cctx.connect(tcp, host).await.map_err(|e| e.to_string())?;
        s.await_verdict(Duration::from_millis(300)).await.map_err(|e| e.to_string())?;
        s.write_all(b"hello\n").await.map_err(|e| e.to_string())?;
        s.shutdown().await.map_err(|e| e.to_string())?;
        Ok(())
    }
    .await;
    let server_result = tokio::time::timeout(Duration::from_secs(10), server_task).await.unwrap().unwrap();
    Outcome { server: server_result, client: client_result, server_log: slog.text(), client_log: clog.text(), instance }
}

fn run(server: TlsConfig, client: TlsConfig, host: &str) -> Outcome {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(exchange(server, client, host))
}

fn accepted(o: &Outcome) -> Option<PeerIdentity> {
    match &o.server {
        Ok((data, id)) if data == b"hello\n" => id.clone(),
        other => panic!(
            "expected the message to arrive: {:?}\nclient: {:?}\nserver log:\n{}\nclient log:\n{}",
            other.as_ref().map(|(d, _)| String::from_utf8_lossy(d).into_owned()),
            o.client,
            o.server_log,
            o.client_log
        ),
    }
}

fn refused(o: &Outcome) -> String {
    match &o.server {
        Ok((data, _)) => {
            assert!(data.is_empty(), "no message may arrive, got {:?}", String::from_utf8_lossy(data));
            assert!(o.client.is_err(), "the client must see the refusal; server log:\n{}", o.server_log);
            String::new()
        }
        Err(e) => {
            assert!(o.client.is_err(), "the client must see the refusal");
            e.clone()
        }
    }
}

#[test]
fn mutual_authentication_carries_the_peer_identity() {
    let o = run(server_config(), client_config(Some("client")), "localhost");
    let id = accepted(&o).expect("a client certificate");
    assert_eq!(id.cn, b"client1");
    assert_eq!(id.o, b"Test");
    assert_eq!(id.ou, b"Logging");
    assert!(o.server_log.contains("Certificate validation progress; subject='CN=client1, OU=Logging, O=Test'"));
    let all = format!("{}\n{}", o.server_log, o.client_log);
    assert!(!all.contains("failed") && !all.contains("error"), "{all}");
}

#[test]
fn client_without_certificate_is_refused() {
    let o = run(server_config(), client_config(None), "localhost");
    let e = refused(&o);
    assert!(e.contains("SSL error while reading stream; tls_error='error:0A0000C7:SSL routines::peer did not return a certificate', location='server.conf:1:1'"), "{e}");
    assert!(e.contains("hint='the client sent no certificate"), "{e}");
    assert!(o.client.as_ref().unwrap_err().contains("certificate required"), "{:?}", o.client);
}

#[test]
fn client_from_another_ca_is_refused() {
    let o = run(server_config(), client_config(Some("rogue-client")), "localhost");
    let e = refused(&o);
    assert!(o.server_log.contains("Certificate validation failed; subject='CN=rogue-client, OU=Logging, O=Test', issuer='CN=Rogue CA, O=Test', error='unable to get local issuer certificate', depth='0'"), "{}", o.server_log);
    assert!(e.contains("certificate verify failed") && e.contains("is not signed by a CA found in ca-dir("), "{e}");
    assert!(o.client.as_ref().unwrap_err().contains("unknown ca"), "{:?}", o.client);
}

#[test]
fn revoked_client_is_refused_with_a_crl_dir() {
    let server = TlsConfig { crl_dir: p("crl"), ..server_config() };
    let o = run(server, client_config(Some("revoked")), "localhost");
    let e = refused(&o);
    assert!(o.server_log.contains("error='certificate revoked', depth='0'"), "{}", o.server_log);
    assert!(e.contains("revoked by a CRL in crl-dir()"), "{e}");
    // The same client passes without the CRL, and others pass with it.
    accepted(&run(server_config(), client_config(Some("revoked")), "localhost"));
    accepted(&run(TlsConfig { crl_dir: p("crl"), ..server_config() }, client_config(Some("client")), "localhost"));
}

#[test]
fn empty_crl_dir_is_tolerated_as_syslog_ng_does() {
    let o = run(TlsConfig { crl_dir: p("empty"), ..server_config() }, client_config(Some("client")), "localhost");
    accepted(&o);
    assert!(o.server_log.contains("CRL directory is set but no CRLs found"), "{}", o.server_log);
}

#[test]
fn expired_client_is_refused() {
    let o = run(server_config(), client_config(Some("expired-client")), "localhost");
    let e = refused(&o);
    assert!(o.server_log.contains("error='certificate has expired', depth='0'"), "{}", o.server_log);
    assert!(e.contains("expired on Feb  1 00:00:00 2020 GMT"), "{e}");
}

#[test]
fn trusted_dn_restricts_valid_clients() {
    let only = |pattern: &str| TlsConfig { trusted_dn: vec![pattern.to_string()], ..server_config() };
    let id = accepted(&run(only("CN=client1, OU=Logging, O=*"), client_config(Some("client")), "localhost"));
    assert_eq!(id.unwrap().cn, b"client1");
    let o = run(only("CN=other, *"), client_config(Some("client")), "localhost");
    refused(&o);
    assert!(o
        .server_log
        .contains("Certificate valid, but DN constraints were not met, rejecting; location='server.conf:1:1'"));
    assert!(o.server_log.contains("error='certificate not trusted'"), "{}", o.server_log);
}

#[test]
fn trusted_keys_restrict_valid_clients() {
    let fp = pki().fingerprint("client.pem");
    assert!(fp.starts_with("SHA1:") && fp.len() == 5 + 59, "{fp}");
    let keys = |k: &str| TlsConfig { trusted_keys: vec![k.to_string()], ..server_config() };
    accepted(&run(keys(&fp), client_config(Some("client")), "localhost"));
    let o = run(keys(&fp), client_config(Some("revoked")), "localhost");
    refused(&o);
    assert!(o.server_log.contains("Certificate valid, but fingerprint constraints were not met, rejecting"));
    // A listed key does not make an untrusted certificate acceptable.
    let rogue = pki().fingerprint("rogue-client.pem");
    refused(&run(keys(&rogue), client_config(Some("rogue-client")), "localhost"));
}

#[test]
fn optional_and_untrusted_modes() {
    let mode = |m| TlsConfig { peer_verify: m, ..server_config() };
    assert_eq!(accepted(&run(mode(PeerVerify::OptionalTrusted), client_config(None), "localhost")), None);
    refused(&run(mode(PeerVerify::OptionalTrusted), client_config(Some("rogue-client")), "localhost"));
    let id = accepted(&run(mode(PeerVerify::OptionalUntrusted), client_config(None), "localhost"));
    assert_eq!(id, None, "optional-untrusted does not even ask for a certificate");
    accepted(&run(mode(PeerVerify::OptionalUntrusted), client_config(Some("rogue-client")), "localhost"));
    let id = accepted(&run(mode(PeerVerify::RequiredUntrusted), client_config(Some("rogue-client")), "localhost"));
    assert_eq!(id.unwrap().cn, b"rogue-client");
    refused(&run(mode(PeerVerify::RequiredUntrusted), client_config(None), "localhost"));
}

fn with_server_cert(name: &str) -> TlsConfig {
    TlsConfig {
        key_file: p(&format!("{name}.key")),
        cert_file: p(&format!("{name}.pem")),
        peer_verify: PeerVerify::OptionalUntrusted,
        ..server_config()
    }
}

#[test]
fn client_refuses_an_expired_server() {
    let o = run(with_server_cert("expired"), client_config(Some("client")), "localhost");
    refused(&o);
    assert!(o.client_log.contains("error='certificate has expired', depth='0'"), "{}", o.client_log);
    let e = o.client.unwrap_err();
    assert!(e.starts_with("SSL error while writing stream; tls_error='error:0A000086:SSL routines::certificate verify failed', location='client.conf:1:1'"), "{e}");
    assert!(e.contains("hint='the server certificate expired on"), "{e}");
    let ignore = TlsConfig { ssl_options: vec![SslOption::IgnoreValidityPeriod], ..client_config(Some("client")) };
    let o = run(with_server_cert("expired"), ignore, "localhost");
    accepted(&o);
    assert!(o.client_log.contains("Ignoring not yet valid / expired certificate error"), "{}", o.client_log);
}

#[test]
fn client_checks_the_server_name() {
    let o = run(with_server_cert("wrongname"), client_config(Some("client")), "localhost");
    refused(&o);
    assert!(
        o.client_log.contains(
            "Certificate subject does not match configured hostname; hostname='localhost', certificate='other.example'"
        ),
        "{}",
        o.client_log
    );
    assert!(o.client.unwrap_err().contains("hint='the destination is written as \"localhost\""));
    accepted(&run(with_server_cert("server"), client_config(Some("client")), "127.0.0.1"));
    refused(&run(with_server_cert("server"), client_config(Some("client")), "127.0.0.2"));
    let ignore = TlsConfig { ssl_options: vec![SslOption::IgnoreHostnameMismatch], ..client_config(Some("client")) };
    accepted(&run(with_server_cert("wrongname"), ignore, "localhost"));
    // Untrusted modes skip the name check, as in syslog-ng.
    let untrusted = TlsConfig { peer_verify: PeerVerify::OptionalUntrusted, ..client_config(Some("client")) };
    accepted(&run(with_server_cert("wrongname"), untrusted, "localhost"));
}

#[test]
fn unhashed_ca_dir_gets_a_rehash_hint() {
    let client = TlsConfig { ca_file: None, ca_dir: p("unhashed"), ..client_config(Some("client")) };
    let o = run(with_server_cert("server"), client, "localhost");
    refused(&o);
    let e = o.client.unwrap_err();
    assert!(e.contains("not named by their subject hash (ca.pem)") && e.contains("openssl rehash"), "{e}");
    let hashed = TlsConfig { ca_file: None, ca_dir: p("cadir"), ..client_config(Some("client")) };
    accepted(&run(with_server_cert("server"), hashed, "localhost"));
}

#[test]
fn pkcs12_identity() {
    let server = TlsConfig { key_file: None, cert_file: None, pkcs12_file: p("server.p12"), ..server_config() };
    let client = TlsConfig { key_file: None, cert_file: None, pkcs12_file: p("client.p12"), ..client_config(None) };
    assert_eq!(accepted(&run(server, client, "localhost")).unwrap().cn, b"client1");
}

#[test]
fn cipher_suites_and_protocols() {
    let tls12 = |suite: &str| TlsConfig {
        ssl_options: vec![SslOption::NoSslv2, SslOption::NoTlsv13],
        cipher_suite: CipherSuite { tls12_and_older: Some(suite.into()), tls13: None },
        ..client_config(Some("client"))
    };
    accepted(&run(server_config(), tls12("ECDHE-RSA-AES128-GCM-SHA256"), "localhost"));
    let server = TlsConfig {
        cipher_suite: CipherSuite { tls12_and_older: Some("ECDHE-RSA-AES256-GCM-SHA384".into()), tls13: None },
        ..server_config()
    };
    refused(&run(server, tls12("ECDHE-RSA-AES128-GCM-SHA256"), "localhost"));
    // A plain list leaves TLS 1.3 alone.
    let plain = TlsConfig {
        cipher_suite: CipherSuite { tls12_and_older: Some("ECDHE-RSA-AES256-GCM-SHA384".into()), tls13: None },
        ..server_config()
    };
    accepted(&run(plain, client_config(Some("client")), "localhost"));
    let only13 = |s: &str| TlsConfig {
        cipher_suite: CipherSuite { tls12_and_older: None, tls13: Some(s.into()) },
        ..client_config(Some("client"))
    };
    let server13 = TlsConfig {
        cipher_suite: CipherSuite { tls12_and_older: None, tls13: Some("TLS_AES_256_GCM_SHA384".into()) },
        ..server_config()
    };
    refused(&run(server13.clone(), only13("TLS_CHACHA20_POLY1305_SHA256"), "localhost"));
    accepted(&run(server13, only13("TLS_AES_256_GCM_SHA384"), "localhost"));
    let o = run(
        TlsConfig { ssl_options: vec![SslOption::NoTlsv12, SslOption::NoTlsv13], ..server_config() },
        client_config(Some("client")),
        "localhost",
    );
    refused(&o);
}

#[test]
fn setup_errors_name_the_problem() {
    let err = |c: TlsConfig, side| TlsContext::new(&c, side, Log::default().sink()).unwrap_err().to_string();
    let bad_cipher = TlsConfig {
        cipher_suite: CipherSuite { tls12_and_older: Some("NO-SUCH-CIPHER".into()), tls13: None },
        ..server_config()
    };
    let e = err(bad_cipher, Side::Server);
    assert!(e.starts_with("Error setting up TLS session context; tls_error='error:0A0000B9:SSL routines::no cipher match', location='server.conf:1:1'"), "{e}");
    let e = err(TlsConfig { ecdh_curve_list: Some("nocurve".into()), ..server_config() }, Side::Server);
    assert!(e.contains("invalid curve name in list") && e.contains("ecdh_curve_list='nocurve'"), "{e}");
    let e = err(TlsConfig { dhparam_file: p("ca.pem"), ..server_config() }, Side::Server);
    assert!(e.contains("invalid DH parameters"), "{e}");
    let e = err(TlsConfig { key_file: p("nonexistent.key"), ..server_config() }, Side::Server);
    assert!(e.starts_with("Error opening TLS related key or certificate file; filename='"), "{e}");
    let e = err(TlsConfig { key_file: p("client.key"), ..server_config() }, Side::Server);
    assert!(e.contains("does not match the certificate"), "{e}");
    assert!(!e.contains("PRIVATE KEY"), "key material must not appear: {e}");
    let e = err(TlsConfig { sigalgs: Some("NOPE+SHA1".into()), ..server_config() }, Side::Server);
    assert!(e.starts_with("Error setting up TLS session context"), "{e}");
    let e = err(TlsConfig { client_sigalgs: Some("NOPE".into()), ..client_config(None) }, Side::Client);
    assert!(e.contains("client_sigalgs='NOPE'"), "{e}");
    let e = err(TlsConfig { sni: true, ..server_config() }, Side::Server);
    assert!(e.contains("option='sni'"), "{e}");
    let e = err(TlsConfig { ocsp_stapling_verify: true, ..server_config() }, Side::Server);
    assert!(e.contains("option='ocsp-stapling-verify'"), "{e}");
    let e = err(
        TlsConfig { openssl_conf_cmds: vec![("NoSuchCommand".into(), "x".into())], ..server_config() },
        Side::Server,
    );
    assert!(e.contains("openssl_conf_cmd='NoSuchCommand=x'"), "{e}");
}

#[test]
fn encrypted_keys_wait_for_their_passphrase() {
    use super::credentials::{self, Status};
    let dir = pki().path("encrypted");
    std::fs::create_dir_all(&dir).unwrap();
    let pem = std::fs::read(pki().path("server.key")).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(&pem).unwrap();
    let enc =
        key.private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"secret-passphrase").unwrap();
    let path = dir.join("server.key");
    std::fs::write(&path, enc).unwrap();
    let id = path.to_string_lossy().into_owned();
    let status = || credentials::status().into_iter().find(|(k, _)| *k == id).map(|(_, s)| s);
    let log = Log::default();
    let c = TlsConfig { key_file: Some(path.clone()), ..server_config() };
    let context = TlsContext::new(&c, Side::Server, log.sink()).expect("start-up goes on without the passphrase");
    assert!(context.waiting_for_passphrase());
    assert_eq!(status(), Some(Status::Pending));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let wait = |millis: u64| {
        rt.block_on(async { tokio::time::timeout(Duration::from_millis(millis), context.wait_until_ready()).await })
            .is_ok()
    };
    credentials::add(&id, b"not-the-passphrase");
    assert!(!wait(300), "a wrong passphrase set the context up");
    assert_eq!(status(), Some(Status::InvalidPassword));
    credentials::add(&id, b"secret-passphrase");
    assert!(wait(5000), "the right passphrase did not set the context up");
    assert!(!context.waiting_for_passphrase());
    assert_eq!(status(), Some(Status::Success));
    let text = log.text();
    assert!(text.contains("Invalid password, error setting up TLS context") && !text.contains("passphrase'"), "{text}");
    assert!(!text.contains("secret-passphrase") && !text.contains("not-the-passphrase"), "{text}");
}

#[test]
fn openssl_conf_cmds_apply() {
    let server = TlsConfig { openssl_conf_cmds: vec![("MinProtocol".into(), "TLSv1.3".into())], ..server_config() };
    accepted(&run(server.clone(), client_config(Some("client")), "localhost"));
    let client12 = TlsConfig { ssl_options: vec![SslOption::NoTlsv13], ..client_config(Some("client")) };
    let o = run(server, client12, "localhost");
    refused(&o);
}

#[test]
fn keylog_file_gets_secrets() {
    let path = pki().path("keylog.txt");
    let _ = std::fs::remove_file(&path);
    let client = TlsConfig { keylog_file: Some(path.clone()), ..client_config(Some("client")) };
    let o = run(server_config(), client, "localhost");
    accepted(&o);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("CLIENT_TRAFFIC_SECRET_0") || text.contains("CLIENT_RANDOM"), "{text}");
    assert!(o.client_log.contains("TLS keylog file has been set up") || !o.client_log.contains("secret"));
}

#[test]
fn peer_closing_without_close_notify_keeps_the_data() {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let slog = Log::default();
        let sctx = TlsContext::new(&server_config(), Side::Server, slog.sink()).unwrap();
        let cctx = TlsContext::new(&client_config(Some("client")), Side::Client, Log::default().sink()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut s = sctx.accept(tcp).await.unwrap();
            let mut data = Vec::new();
            let r = s.read_to_end(&mut data).await;
            (r.is_ok(), data)
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut s = cctx.connect(tcp, "localhost").await.unwrap();
        s.write_all(b"last words\n").await.unwrap();
        s.flush().await.unwrap();
        // Dropped without shutdown(): the TCP connection closes without close_notify.
        drop(s);
        let (clean, data) = server.await.unwrap();
        assert!(clean, "the end of the stream is not an error");
        assert_eq!(data, b"last words\n");
        assert!(!slog.text().contains("SSL error"), "{}", slog.text());
    });
}

#[test]
fn plain_tcp_on_a_tls_port_gets_a_hint() {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let instance = instance_name();
        let sctx =
            TlsContext::new(&server_config(), Side::Server, Log::default().sink()).unwrap().with_instance(&instance);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            sctx.accept(tcp).await.map(|_| ()).unwrap_err().to_string()
        });
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"<13>Jan  1 00:00:00 host prog: plain text on a TLS port\n").await.unwrap();
        let e = server.await.unwrap();
        assert!(e.contains("does not speak TLS here"), "{e}");
        assert_eq!(failures_of(&instance), vec![("protocol".to_string(), 1)]);
    });
}

#[test]
fn handshake_failures_are_counted_by_reason() {
    let pair =
        |o: &Outcome| (failures_of(&format!("{}/server", o.instance)), failures_of(&format!("{}/client", o.instance)));
    let one = |reason: &str| vec![(reason.to_string(), 1u64)];
    // Accepted: nothing counted on either side.
    let o = run(server_config(), client_config(Some("client")), "localhost");
    accepted(&o);
    assert_eq!(pair(&o), (vec![], vec![]));
    // Refused by the server: its reason there; the client counts the alert it got.
    let o = run(server_config(), client_config(None), "localhost");
    refused(&o);
    assert_eq!(pair(&o), (one("no-certificate"), one("no-certificate")));
    let o = run(server_config(), client_config(Some("rogue-client")), "localhost");
    refused(&o);
    assert_eq!(pair(&o), (one("unknown-ca"), one("unknown-ca")));
    let o = run(TlsConfig { crl_dir: p("crl"), ..server_config() }, client_config(Some("revoked")), "localhost");
    refused(&o);
    assert_eq!(pair(&o).0, one("revoked"));
    let o = run(server_config(), client_config(Some("expired-client")), "localhost");
    refused(&o);
    assert_eq!(pair(&o).0, one("expired"));
    let dn = TlsConfig { trusted_dn: vec!["CN=other, *".into()], ..server_config() };
    let o = run(dn, client_config(Some("client")), "localhost");
    refused(&o);
    assert_eq!(pair(&o).0, one("trusted-dn"));
    let keys = TlsConfig { trusted_keys: vec![pki().fingerprint("revoked.pem")], ..server_config() };
    let o = run(keys, client_config(Some("client")), "localhost");
    refused(&o);
    assert_eq!(pair(&o).0, one("trusted-keys"));
    // Refused by the client.
    let o = run(with_server_cert("expired"), client_config(Some("client")), "localhost");
    refused(&o);
    assert_eq!(pair(&o).1, one("expired"));
    let o = run(with_server_cert("wrongname"), client_config(Some("client")), "localhost");
    refused(&o);
    assert_eq!(pair(&o).1, one("hostname-mismatch"));
    let o = run(with_server_cert("server"), client_config(Some("client")), "127.0.0.2");
    refused(&o);
    assert_eq!(pair(&o).1, one("hostname-mismatch"));
    // No common protocol version.
    let o = run(
        TlsConfig { ssl_options: vec![SslOption::NoTlsv13], ..server_config() },
        TlsConfig { ssl_options: vec![SslOption::NoTlsv12], ..client_config(Some("client")) },
        "localhost",
    );
    refused(&o);
    assert_eq!(pair(&o), (one("protocol"), one("protocol")));
    // Counts add up per instance and reason.
    let instance = instance_name();
    record_handshake_failure(&instance, FailureReason::Other);
    record_handshake_failure(&instance, FailureReason::Other);
    record_handshake_failure(&instance, FailureReason::UnknownCa);
    assert_eq!(failures_of(&instance), vec![("unknown-ca".to_string(), 1), ("other".to_string(), 2)]);
    let names: Vec<&str> = FailureReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "unknown-ca",
            "expired",
            "not-yet-valid",
            "revoked",
            "hostname-mismatch",
            "trusted-dn",
            "trusted-keys",
            "permitted-peers",
            "no-certificate",
            "protocol",
            "other"
        ]
    );
}

/// One connection from a client with `client` to the server context `sctx`: what the server
/// received (or its handshake error) and whether the client got through.
fn connect_to(sctx: &TlsContext, client: TlsConfig) -> (Result<Vec<u8>, String>, Result<(), String>) {
    let cctx = TlsContext::new(&client, Side::Client, Log::default().sink()).expect("client context");
    connect_with(sctx, &cctx)
}

/// One connection between two contexts, as [`connect_to`].
fn connect_with(sctx: &TlsContext, cctx: &TlsContext) -> (Result<Vec<u8>, String>, Result<(), String>) {
    let (sctx, cctx) = (sctx.clone(), cctx.clone());
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut s = sctx.accept(tcp).await.map_err(|e| e.to_string())?;
            let mut data = Vec::new();
            let _ = s.read_to_end(&mut data).await;
            Ok(data)
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let client = async {
            let mut s = cctx.connect(tcp, "localhost").await.map_err(|e| e.to_string())?;
            s.await_verdict(Duration::from_millis(300)).await.map_err(|e| e.to_string())?;
            s.write_all(b"hello\n").await.map_err(|e| e.to_string())?;
            s.shutdown().await.map_err(|e| e.to_string())
        }
        .await;
        (tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap(), client)
    })
}

/// Replaces `to` with a copy of `from` the way tools do it: a new file renamed over the old.
fn replace_file(from: &std::path::Path, to: &std::path::Path) {
    let tmp = to.with_extension("new");
    std::fs::copy(from, &tmp).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

#[test]
fn changed_files_are_read_again() {
    let dir = std::env::temp_dir().join(format!("rsng-tls-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("crl")).unwrap();
    std::fs::copy(pki().path("server.key"), dir.join("server.key")).unwrap();
    std::fs::copy(pki().path("server.pem"), dir.join("server.pem")).unwrap();
    let server = TlsConfig {
        key_file: Some(dir.join("server.key")),
        cert_file: Some(dir.join("server.pem")),
        crl_dir: Some(dir.join("crl")),
        ..server_config()
    };
    let log = Log::default();
    let sctx = TlsContext::new(&server, Side::Server, log.sink()).unwrap();
    let trusting = |ca: &str, id: &str| TlsConfig { ca_file: p(ca), ..client_config(Some(id)) };
    let ok = |r: &(Result<Vec<u8>, String>, Result<(), String>)| r.0.as_deref() == Ok(&b"hello\n"[..]);

    // Before: the revoked client is not known to be revoked; the server certificate is the CA's.
    assert!(ok(&connect_to(&sctx, trusting("ca.pem", "revoked"))));
    assert!(!ok(&connect_to(&sctx, trusting("rogue-ca.pem", "client"))));
    assert!(!sctx.reload_if_changed(), "nothing changed");

    // A new server certificate from another CA, and the CRL revoking the client.
    replace_file(&pki().path("rogue-server.key"), &dir.join("server.key"));
    replace_file(&pki().path("rogue-server.pem"), &dir.join("server.pem"));
    let crl = std::fs::read_dir(pki().path("crl")).unwrap().next().unwrap().unwrap();
    std::fs::copy(crl.path(), dir.join("crl").join(crl.file_name())).unwrap();
    assert!(sctx.reload_if_changed(), "{}", log.text());
    assert!(log.text().contains("TLS key, certificate, CA or CRL files changed, new connections use them"));
    let revoked = connect_to(&sctx, trusting("rogue-ca.pem", "revoked"));
    assert!(revoked.0.as_ref().is_err_and(|e| e.contains("revoked by a CRL")), "{revoked:?}");
    assert!(ok(&connect_to(&sctx, trusting("rogue-ca.pem", "client"))));
    assert!(!ok(&connect_to(&sctx, trusting("ca.pem", "client"))), "the old server certificate is gone");

    // A broken key keeps the previous context.
    std::fs::write(dir.join("server.key.new"), "not a key\n").unwrap();
    std::fs::rename(dir.join("server.key.new"), dir.join("server.key")).unwrap();
    assert!(!sctx.reload_if_changed());
    assert!(
        log.text().contains("Error reloading changed TLS files, keeping the previous TLS context; error='Error setting up TLS context; keyfile="),
        "{}",
        log.text()
    );
    assert!(ok(&connect_to(&sctx, trusting("rogue-ca.pem", "client"))));
    // Fixed: read again.
    replace_file(&pki().path("server.key"), &dir.join("server.key"));
    replace_file(&pki().path("server.pem"), &dir.join("server.pem"));
    assert!(sctx.reload_if_changed());
    assert!(ok(&connect_to(&sctx, trusting("ca.pem", "client"))));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn destinations_read_changed_files_at_connect_time() {
    let dir = std::env::temp_dir().join(format!("rsng-tls-reload-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(pki().path("ca.pem"), dir.join("ca.pem")).unwrap();
    let log = Log::default();
    let client = TlsConfig { ca_file: Some(dir.join("ca.pem")), ..client_config(Some("client")) };
    let cctx = TlsContext::new(&client, Side::Client, log.sink()).unwrap();
    let sctx = TlsContext::new(&with_server_cert("rogue-server"), Side::Server, Log::default().sink()).unwrap();
    let (_, c) = connect_with(&sctx, &cctx);
    assert!(c.is_err_and(|e| e.contains("certificate verify failed")));
    // The destination is told to trust the other CA: the next connection does, after the
    // once-a-second check.
    replace_file(&pki().path("rogue-ca.pem"), &dir.join("ca.pem"));
    std::thread::sleep(CHANGE_CHECK_INTERVAL + Duration::from_millis(100));
    let (s, c) = connect_with(&sctx, &cctx);
    assert_eq!((s.as_deref(), c), (Ok(&b"hello\n"[..]), Ok(())), "{}", log.text());
    assert!(log.text().contains("files changed, new connections use them"), "{}", log.text());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn permitted_peers_admit_named_clients_only() {
    let only = |patterns: &[&str]| TlsConfig {
        permitted_peers: patterns.iter().map(|p| p.to_string()).collect(),
        ..server_config()
    };
    // The test client certificate has no subjectAltName: its CN is compared.
    let o = run(only(&["logs.example.com", "CLIENT1"]), client_config(Some("client")), "localhost");
    assert_eq!(accepted(&o).expect("a client certificate").cn, b"client1");
    let rows = handshakes();
    let ours: Vec<_> = rows.iter().filter(|(i, _, _)| *i == format!("{}/server", o.instance)).collect();
    assert_eq!(ours.len(), 1, "{rows:?}");
    assert!(ours[0].1.starts_with("TLSv1.3_TLS_"), "{rows:?}");
    assert_eq!(ours[0].2, 1);

    let o = run(only(&["*.example.com"]), client_config(Some("client")), "localhost");
    refused(&o);
    assert!(
        o.server_log.contains(
            "Certificate valid, but its names are not in permitted-peers(), rejecting; subject='CN=client1, OU=Logging, \
             O=Test', common_name='client1', permitted_peers='*.example.com', location='server.conf:1:1'"
        ),
        "{}",
        o.server_log
    );
    assert_eq!(failures_of(&format!("{}/server", o.instance)), vec![("permitted-peers".to_string(), 1)]);
}

#[test]
fn a_pinned_certificate_still_needs_a_permitted_name() {
    // rogue-client is issued by a CA the server does not trust: only its pin lets it in.
    let pin = pki().fingerprint("rogue-client.pem");
    let pinned = |patterns: &[&str]| TlsConfig {
        trusted_fingerprints: vec![pin.clone()],
        any_digest: true,
        permitted_peers: patterns.iter().map(|p| p.to_string()).collect(),
        ..server_config()
    };
    let o = run(pinned(&["rogue-client"]), client_config(Some("rogue-client")), "localhost");
    assert_eq!(accepted(&o).expect("a client certificate").cn, b"rogue-client");
    let o = run(pinned(&["logs.example.com"]), client_config(Some("rogue-client")), "localhost");
    refused(&o);
    assert!(o.server_log.contains("its names are not in permitted-peers(), rejecting"), "{}", o.server_log);
}

#[test]
fn permitted_peers_check_the_servers_alt_names_on_a_client() {
    let only =
        |pattern: &str| TlsConfig { permitted_peers: vec![pattern.to_string()], ..client_config(Some("client")) };
    accepted(&run(server_config(), only("LocalHost"), "localhost"));
    // The server's CN is "localhost" too, but it has DNS subjectAltNames: only they count.
    let o = run(server_config(), only("other.example"), "localhost");
    refused(&o);
    assert!(o.client_log.contains("subject_alt_names='localhost'"), "{}", o.client_log);
    assert_eq!(failures_of(&format!("{}/client", o.instance)), vec![("permitted-peers".to_string(), 1)]);
}

#[test]
fn permitted_peers_need_a_certificate() {
    let optional = TlsConfig {
        peer_verify: PeerVerify::OptionalTrusted,
        permitted_peers: vec!["client1".into()],
        ..server_config()
    };
    let o = run(optional.clone(), client_config(None), "localhost");
    refused(&o);
    assert!(
        o.server_log.contains("Peer sent no certificate, but permitted-peers() is set, rejecting"),
        "{}",
        o.server_log
    );
    assert_eq!(failures_of(&format!("{}/server", o.instance)), vec![("permitted-peers".to_string(), 1)]);
    accepted(&run(optional, client_config(Some("client")), "localhost"));

    let untrusted = TlsConfig {
        peer_verify: PeerVerify::OptionalUntrusted,
        permitted_peers: vec!["client1".into()],
        ..server_config()
    };
    let e = TlsContext::new(&untrusted, Side::Server, Log::default().sink()).unwrap_err().to_string();
    assert!(e.contains("permitted-peers() needs the peer's certificate"), "{e}");
    let bad = TlsConfig { permitted_peers: vec!["logs.*.example.com".into()], ..server_config() };
    let e = TlsContext::new(&bad, Side::Server, Log::default().sink()).unwrap_err().to_string();
    assert!(e.contains("invalid permitted-peers() pattern") && e.contains("logs.*.example.com"), "{e}");
}
