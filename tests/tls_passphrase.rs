//! An encrypted TLS key, as syslog-ng 3.38 takes it: start-up goes on, the source waits for the
//! passphrase from `syslog-ng-ctl credentials add`, a wrong one is reported and waited past, and
//! `syslog-ng-ctl credentials status` shows each state. Run on rsng and on syslog-ng with the same
//! key and configuration.

#[path = "tls_common.rs"]
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use rsng_tests::{free_tcp_ports, oracle_skipped, Daemon, RunningDaemon, TempDir};

const CTL: &str = "/usr/sbin/syslog-ng-ctl";
const PASSPHRASE: &str = "open sesame";

/// The server key of the test PKI, encrypted with [`PASSPHRASE`], in `dir`.
fn encrypted_key(dir: &Path) -> std::path::PathBuf {
    let pem = std::fs::read(pki().path("server.key")).expect("server key");
    let key = openssl::pkey::PKey::private_key_from_pem(&pem).expect("parse key");
    let enc = key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), PASSPHRASE.as_bytes())
        .expect("encrypt key");
    let path = dir.join("server-protected.key");
    std::fs::write(&path, enc).expect("write key");
    path
}

/// Runs `syslog-ng-ctl` on the control socket `socket`.
fn ctl(socket: &Path, args: &[&str]) -> String {
    let out = Command::new(CTL).args(args).arg("-c").arg(socket).output().expect("syslog-ng-ctl");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Polls `credentials status` until it shows `state`; returns the last answer.
fn wait_status(socket: &Path, state: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = ctl(socket, &["credentials", "status"]);
        if answer.contains(&format!("\t{state}")) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `line` over TLS, retrying the connection until the source accepts it.
fn send_tls(port: u16, line: &str) -> bool {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let mut builder = SslConnector::builder(SslMethod::tls_client()).expect("connector");
        builder.set_verify(SslVerifyMode::NONE);
        let connector = builder.build();
        if let Ok(tcp) = TcpStream::connect(("127.0.0.1", port)) {
            tcp.set_read_timeout(Some(Duration::from_secs(2))).ok();
            if let Ok(mut tls) = connector.connect("localhost", tcp) {
                let sent = tls.write_all(line.as_bytes()).is_ok();
                let _ = tls.shutdown();
                if sent {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The `credentials status` answers (pending, after a wrong passphrase, after the right one),
/// with the key's directory written as `DIR`, and what was received.
fn run(daemon: Daemon) -> (Vec<String>, Vec<String>) {
    let tmp = TempDir::new(&format!("tls-passphrase-{}", daemon.name())).expect("tempdir");
    let dir = tmp.path();
    let key = encrypted_key(dir);
    let port = free_tcp_ports(1)[0];
    let config = format!(
        "@version: 3.38\nsource s {{ network(ip(\"127.0.0.1\") port({port}) transport(\"tls\") flags(no-parse) \
         tls(key-file(\"{key}\") cert-file(\"{cert}\") peer-verify(optional-untrusted))); }};\n\
         destination d {{ file(\"{out}\" template(\"$MSG\\n\")); }};\nlog {{ source(s); destination(d); }};\n",
        key = key.display(),
        cert = pki().file("server.pem"),
        out = dir.join("out").display(),
    );
    // No ports to wait for: syslog-ng binds its listener only once the key is usable.
    let (running, _, _) = RunningDaemon::start(daemon, dir, 0, 0, |_| config.clone());
    let id = key.display().to_string();
    let socket = dir.join(format!("{}.ctl", daemon.name()));
    let mut answers = vec![wait_status(&socket, "PENDING")];
    ctl(&socket, &["credentials", "add", &format!("--id={id}"), "--secret=wrong"]);
    answers.push(wait_status(&socket, "INVALID_PASSWORD"));
    let added = ctl(&socket, &["credentials", "add", &format!("--id={id}"), &format!("--secret={PASSPHRASE}")]);
    answers.push(added);
    answers.push(wait_status(&socket, "SUCCESS"));
    assert!(send_tls(port, "after the passphrase\n"), "{}: the TLS source never accepted", daemon.name());
    let received = wait_lines(&dir.join("out"), 1, 10);
    assert!(running.stop(), "{} did not stop", daemon.name());
    let shown = dir.display().to_string();
    (answers.into_iter().map(|a| a.replace(&shown, "DIR")).collect(), received)
}

#[test]
fn encrypted_key_waits_for_its_passphrase_like_syslog_ng() {
    let (answers, received) = run(Daemon::Rsng);
    assert_eq!(
        answers,
        [
            "Credential storage status follows\nDIR/server-protected.key\tPENDING\n",
            "Credential storage status follows\nDIR/server-protected.key\tINVALID_PASSWORD\n",
            "Credentials stored successfully\n",
            "Credential storage status follows\nDIR/server-protected.key\tSUCCESS\n",
        ]
    );
    assert_eq!(received, ["after the passphrase"]);
    if oracle_skipped() {
        return;
    }
    let (oracle_answers, oracle_received) = run(Daemon::Oracle);
    assert_eq!(answers, oracle_answers, "credentials status differs from syslog-ng's");
    assert_eq!(received, oracle_received);
}

#[test]
fn credentials_add_needs_its_arguments() {
    let tmp = TempDir::new("tls-passphrase-args").expect("tempdir");
    let config = "@version: 3.38\nsource s { internal(); };\ndestination d { file(\"/dev/null\"); };\n\
                  log { source(s); destination(d); };\n";
    let (running, _, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 0, |_| config.to_string());
    // The control socket itself, as syslog-ng-ctl checks its own arguments first.
    let ask = |line: &str| {
        use std::io::{BufRead, BufReader};
        let mut s = std::os::unix::net::UnixStream::connect(tmp.path().join("rsng.ctl")).expect("control socket");
        s.write_all(format!("{line}\n").as_bytes()).expect("send");
        BufReader::new(s).lines().next().and_then(Result::ok).unwrap_or_default()
    };
    assert_eq!(ask("PWD add /some/key"), "FAIL missing arguments to add");
    assert_eq!(ask("PWD frobnicate"), "FAIL invalid subcommand frobnicate");
    assert_eq!(ask("PWD status"), "OK Credential storage status follows");
    assert!(running.stop());
}
