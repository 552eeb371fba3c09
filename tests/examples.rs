//! The shipped example configurations: each is accepted by rsng and by syslog-ng 3.38, and the
//! quick-start example really runs (with its paths and port moved into a temporary directory).

use std::fs;
use std::time::{Duration, Instant};

use std::sync::OnceLock;

use rsng_tests::{oracle_skipped, run_oracle, run_rsng, workspace_root, Daemon, RunningDaemon, TempDir};
use rsng_transport::tls::test_pki::TestPki;

fn pki_dir() -> &'static TempDir {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| TempDir::new("examples-pki").expect("temp dir"))
}

/// Certificates for the examples that name some (generated once).
fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| TestPki::generate(pki_dir().path()).expect("generate the test PKI"))
}

#[test]
fn every_example_is_valid_for_both() {
    let dir = workspace_root().join("examples");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).expect("examples dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "conf") {
            continue;
        }
        // Certificates under /etc/rsng/tls/ are the test PKI's (both daemons check that
        // key-file() and the others exist while parsing).
        let text = fs::read_to_string(&path).expect("example");
        let checked_path = if text.contains("/etc/rsng/tls/") {
            let pki = pki();
            let text = text
                .replace("/etc/rsng/tls/relay.key", &pki.file("server.key"))
                .replace("/etc/rsng/tls/relay.pem", &pki.file("server.pem"))
                .replace("/etc/rsng/tls/ca.pem", &pki.file("ca.pem"));
            assert!(!text.contains("/etc/rsng/tls/"), "{}: a certificate path the test does not know", path.display());
            let copy = pki_dir().path().join(path.file_name().expect("name"));
            fs::write(&copy, text).expect("write example copy");
            copy
        } else {
            path.clone()
        };
        let path = checked_path;
        let ours = run_rsng(&path);
        assert!(ours.ok, "{}: rsng rejects it: {}", path.display(), ours.message);
        if !oracle_skipped() {
            let theirs = run_oracle(&path);
            assert!(theirs.ok, "{}: syslog-ng rejects it: {}", path.display(), theirs.message);
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} examples found");
}

#[test]
fn quickstart_runs() {
    let text = fs::read_to_string(workspace_root().join("examples/quickstart.conf")).expect("quickstart");
    let tmp = TempDir::new("quickstart").expect("tempdir");
    let out = tmp.path().join("out");
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |ports| {
        text.replace("/tmp/rsng", &out.display().to_string())
            .replace("port(5514) transport(\"udp\")", "port(@UDP@) transport(\"udp\")")
            .replace("5514", &ports.tcp[0].to_string())
            .replace("@UDP@", &ports.tcp[0].to_string())
    });
    rsng.send_tcp(ports.tcp[0], b"<13>Jan  2 03:04:05 host1 app[7]: over tcp\n");
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.send_to(b"<14>Jan  2 03:04:05 host2 other: over udp", ("127.0.0.1", ports.tcp[0])).expect("send");
    let messages = out.join("messages");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let text = fs::read_to_string(&messages).unwrap_or_default();
        if text.contains("over tcp") && text.contains("over udp") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(rsng.stop(), "rsng did not stop on SIGTERM");
    let all = fs::read_to_string(&messages).expect("messages file");
    assert!(all.contains("Jan  2 03:04:05 host1 app[7]: over tcp\n"), "{all}");
    assert!(all.contains("Jan  2 03:04:05 host2 other: over udp\n"), "{all}");
    assert!(all.contains("starting up"), "internal() messages missing: {all}");
    let app = fs::read_to_string(out.join("programs/app.log")).expect("per-program file");
    assert!(app.ends_with("host1 notice app[7]: over tcp\n"), "{app}");
}
