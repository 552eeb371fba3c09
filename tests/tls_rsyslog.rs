//! rsyslog (Debian's rsyslog with rsyslog-openssl) as a second, independent TLS peer:
//! rsyslog → rsng and rsng → rsyslog over TLS with RFC 5425 framing (octet counting; `syslog()`
//! on rsng's side), with mutual authentication, every message arriving exactly once.
//!
//! rsyslog conflicts with syslog-ng in apt, so it is not installed: [`rsyslog`] downloads the
//! packages with `apt-get download` and unpacks them with `dpkg -x` into a cached directory
//! under the target directory, and runs `rsyslogd` from there. Without apt or the network the
//! tests fail, saying why.

#[path = "tls_common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use rsng_tests::{free_tcp_ports, target_dir, Daemon, RunningDaemon, TempDir};

const COUNT: usize = 100;

/// The Debian packages rsyslogd needs beyond what a syslog-ng test machine has.
const PACKAGES: &[&str] = &["rsyslog", "rsyslog-openssl", "libestr0", "libfastjson4"];

/// An unpacked rsyslog: the daemon, its module directory and its libraries.
struct Rsyslog {
    rsyslogd: PathBuf,
    modules: PathBuf,
    libs: PathBuf,
}

/// rsyslog unpacked in `<target>/rsyslog-debs/root`, downloaded on first use.
///
/// # Panics
/// When the packages cannot be downloaded or unpacked, with the reason.
fn rsyslog() -> &'static Rsyslog {
    static R: OnceLock<Result<Rsyslog, String>> = OnceLock::new();
    match R.get_or_init(unpack_rsyslog) {
        Ok(r) => r,
        Err(e) => panic!("rsyslog for the interop tests is not available: {e}"),
    }
}

fn unpack_rsyslog() -> Result<Rsyslog, String> {
    let cache = target_dir().join("rsyslog-debs");
    let root = cache.join("root");
    let found = Rsyslog::in_root(&root);
    let complete = |r: &Rsyslog| {
        r.rsyslogd.is_file()
            && r.modules.join("lmnsd_ossl.so").is_file()
            && r.libs.join("libestr.so.0").exists()
            && r.libs.join("libfastjson.so.4").exists()
    };
    if complete(&found) {
        return Ok(found);
    }
    // Downloaded into a fresh directory and moved into place, so that a half-done download is
    // never taken for the cache.
    let work = cache.join(format!("download-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    let download = || {
        Command::new("apt-get")
            .arg("download")
            .args(PACKAGES)
            .current_dir(&work)
            .output()
            .map_err(|e| format!("cannot run apt-get (Debian's apt is needed to fetch rsyslog): {e}"))
    };
    let mut out = download()?;
    if !out.status.success() && is_root() {
        // Package lists missing or stale on a fresh machine.
        let _ = Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive").status();
        out = download()?;
    }
    if !out.status.success() {
        return Err(format!(
            "`apt-get download {}` failed (network or package lists unavailable? `apt-get update` needs root): {}",
            PACKAGES.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let staged = work.join("root");
    for entry in std::fs::read_dir(&work).map_err(|e| e.to_string())?.flatten() {
        let deb = entry.path();
        if deb.extension().is_some_and(|x| x == "deb") {
            let st = Command::new("dpkg")
                .arg("-x")
                .arg(&deb)
                .arg(&staged)
                .status()
                .map_err(|e| format!("cannot run dpkg -x: {e}"))?;
            if !st.success() {
                return Err(format!("dpkg -x {} failed ({st})", deb.display()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::rename(&staged, &root).map_err(|e| format!("move {} into place: {e}", staged.display()))?;
    let _ = std::fs::remove_dir_all(&work);
    let found = Rsyslog::in_root(&root);
    if complete(&found) {
        Ok(found)
    } else {
        Err(format!("the unpacked packages in {} lack rsyslogd, lmnsd_ossl.so or a library", root.display()))
    }
}

impl Rsyslog {
    /// Where the packages put things under `root`: `usr/lib/<multiarch triplet>/rsyslog`.
    fn in_root(root: &Path) -> Rsyslog {
        let lib = root.join("usr/lib");
        let libs = std::fs::read_dir(&lib)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("rsyslog/lmnsd_ossl.so").is_file())
            .unwrap_or_else(|| lib.join("x86_64-linux-gnu"));
        Rsyslog { rsyslogd: root.join("usr/sbin/rsyslogd"), modules: libs.join("rsyslog"), libs }
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A running rsyslogd, killed when dropped.
struct RunningRsyslog {
    child: Child,
    stderr: PathBuf,
}

impl RunningRsyslog {
    /// Starts rsyslogd on `config` in `dir` and waits until it listens on `ports`.
    fn start(dir: &Path, config: &str, ports: &[u16]) -> RunningRsyslog {
        let r = rsyslog();
        let conf = dir.join("rsyslog.conf");
        std::fs::write(&conf, config).expect("write rsyslog.conf");
        std::fs::create_dir_all(dir.join("rsyslog-work")).expect("work directory");
        let stderr = dir.join("rsyslog.stderr");
        let child = Command::new(&r.rsyslogd)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslog.pid"))
            .arg("-M")
            .arg(&r.modules)
            .env("LD_LIBRARY_PATH", &r.libs)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("rsyslog.stdout")).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start rsyslogd");
        let mut running = RunningRsyslog { child, stderr };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!("rsyslogd exited ({status}): {}", running.stderr());
            }
            if ports.iter().all(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_err()) {
                return running;
            }
            assert!(Instant::now() < deadline, "rsyslogd did not listen in time: {}", running.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for RunningRsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `global()` naming the OpenSSL driver and the key pair `identity` rsyslog uses.
fn rsyslog_global(dir: &Path, identity: &str) -> String {
    let p = pki();
    format!(
        r#"global(workDirectory="{work}"
    DefaultNetstreamDriver="ossl"
    DefaultNetstreamDriverCAFile="{ca}"
    DefaultNetstreamDriverCertFile="{cert}"
    DefaultNetstreamDriverKeyFile="{key}")
"#,
        work = dir.join("rsyslog-work").display(),
        ca = p.file("ca.pem"),
        cert = p.file(&format!("{identity}.pem")),
        key = p.file(&format!("{identity}.key")),
    )
}

/// The lines of `out` whose message starts with `tag-`.
fn tagged(out: &[String], tag: &str) -> Vec<String> {
    out.iter()
        .filter(|l| l.split_once('|').is_some_and(|(_, m)| m.trim_start().starts_with(&format!("{tag}-"))))
        .map(|l| {
            let (p, m) = l.split_once('|').unwrap_or(("", l));
            format!("{p}|{}", m.trim())
        })
        .collect()
}

#[test]
fn rsyslog_client_to_rsng_server() {
    let r = rsyslog();
    let dir = TempDir::new("tls-rsyslog-to-rsng").unwrap();
    let d = dir.path();
    let p = pki();
    // rsng: RFC 5425 (syslog() with transport tls), client certificates required.
    let (server, ports, _) = RunningDaemon::start(Daemon::Rsng, d, 0, 1, |ports| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); }};
source s_tls {{ syslog(ip("127.0.0.1") port({}) transport("tls")
    tls({} ca-dir("{}") peer-verify(required-trusted))); }};
destination d_out {{ file("{}/rsng.out" template("${{.tls.x509_cn}}|$MSG\n")); }};
log {{ source(s_tls); destination(d_out); }};
"#,
            ports.tcp[0],
            identity("server"),
            p.file("cadir"),
            d.display()
        )
    });
    // rsyslog: plain TCP in, TLS out with octet counting, checking the server's name.
    let input = free_tcp_ports(1)[0];
    let config = format!(
        r#"{global}
module(load="{modules}/imptcp.so")
input(type="imptcp" address="127.0.0.1" port="{input}" ruleset="forward")
ruleset(name="forward") {{
    action(type="omfwd" target="localhost" port="{port}" protocol="tcp"
        StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
        StreamDriverPermittedPeers="localhost"
        TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
        action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"#,
        global = rsyslog_global(d, "client"),
        modules = r.modules.display(),
        port = ports.tcp[0],
    );
    let client = RunningRsyslog::start(d, &config, &[input]);
    server.send_tcp(input, &messages("rsyslog", COUNT));
    let out = d.join("rsng.out");
    let got = wait_lines(&out, COUNT, 30);
    assert_eq!(got.len(), COUNT, "rsng stderr:\n{}\nrsyslog stderr:\n{}", server.stderr(), client.stderr());
    // Nothing more arrives later.
    std::thread::sleep(Duration::from_millis(500));
    let got = lines(&out);
    assert_eq!(got.len(), COUNT, "{got:?}");
    let got = tagged(&got, "rsyslog");
    assert_eq!(got.len(), COUNT, "{:?}", lines(&out));
    // The client's certificate reached the messages: rsng authenticated rsyslog.
    assert_exactly_once(&got, "rsyslog", COUNT, "client1");
    drop(client);
    assert!(server.stop());
}

#[test]
fn rsng_client_to_rsyslog_server() {
    let r = rsyslog();
    let dir = TempDir::new("tls-rsng-to-rsyslog").unwrap();
    let d = dir.path();
    let p = pki();
    // rsyslog: TLS in, octet counting detected; only a client named client1 is admitted.
    let port = free_tcp_ports(1)[0];
    let config = format!(
        r#"{global}
module(load="{modules}/imtcp.so" StreamDriver.Name="ossl" StreamDriver.Mode="1"
    StreamDriver.AuthMode="x509/name" PermittedPeer=["client1"])
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="store")
template(name="line" type="string" string="%fromhost-ip%|%msg%\n")
ruleset(name="store") {{
    action(type="omfile" file="{dir}/rsyslog.out" template="line")
}}
"#,
        global = rsyslog_global(d, "server"),
        modules = r.modules.display(),
        dir = d.display(),
    );
    let rsyslog_server = RunningRsyslog::start(d, &config, &[port]);
    // rsng: two TLS destinations with RFC 5425 framing. rsyslog checks the client's chain, so the
    // one with a certificate from another CA delivers nothing. (rsyslog 8.2302's `PermittedPeer`
    // name check is not tested: with the ossl driver it refused a client of the right CA with
    // another name only on its first connection and admitted it on the next, rsyslog/rsyslog#6350.)
    let tls = |id: &str| format!("tls({} ca-file(\"{}\"))", identity(id), p.file("ca.pem"));
    let (client, input, _) = RunningDaemon::start(Daemon::Rsng, d, 0, 2, |ports| {
        format!(
            r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s_in {{ network(ip("127.0.0.1") port({}) transport("tcp")); }};
source s_other {{ network(ip("127.0.0.1") port({}) transport("tcp")); }};
destination d_tls {{ syslog("localhost" port({port}) transport("tls") {}); }};
destination d_other {{ syslog("localhost" port({port}) transport("tls") {} persist-name("other")); }};
log {{ source(s_in); destination(d_tls); }};
log {{ source(s_other); destination(d_other); }};
"#,
            ports.tcp[0],
            ports.tcp[1],
            tls("client"),
            tls("rogue-client"),
        )
    });
    client.send_tcp(input.tcp[0], &messages("rsng", COUNT));
    client.send_tcp(input.tcp[1], &messages("other", 5));
    let out = d.join("rsyslog.out");
    let got = wait_lines(&out, COUNT, 30);
    assert_eq!(got.len(), COUNT, "rsng stderr:\n{}\nrsyslog stderr:\n{}", client.stderr(), rsyslog_server.stderr());
    std::thread::sleep(Duration::from_millis(1500));
    let all = lines(&out);
    let got = tagged(&all, "rsng");
    assert_exactly_once(&got, "rsng", COUNT, "127.0.0.1");
    assert!(tagged(&all, "other").is_empty(), "rsyslog admitted a client from an unknown CA: {all:?}");
    let stderr = client.stderr();
    assert!(stderr.contains("tlsv1 alert unknown ca"), "rsng did not report rsyslog's refusal:\n{stderr}");
    assert_eq!(all.len(), COUNT, "{all:?}");
    // Not asserted: rsng waits up to 10 s at exit for the refused destination's queue.
    drop(client);
    drop(rsyslog_server);
}
