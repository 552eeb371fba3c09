//! Debian's default `/etc/syslog-ng/syslog-ng.conf`, unchanged, under syslog-ng 3.38 and rsng.
//!
//! Each daemon runs in its own mount namespace (`unshare -m`) where a temporary directory is
//! mounted over `/dev` and another over `/var/log`, so the configuration's `system()` source
//! listens on a private `/dev/log` and its files land in a private log directory. The test sends
//! the same local messages (facilities and levels that exercise every filter of the file) to
//! both `/dev/log` sockets and compares every log file the two wrote.
//!
//! The daemons' own messages (`internal()`: start-up, shutdown, errors about `/dev/xconsole` and
//! `/proc/kmsg`, which the private `/dev` lacks) are worded with each daemon's name and version,
//! so lines from program `syslog-ng` are left out of the comparison; that they are written is
//! checked separately. So are kernel messages: both daemons read the kernel log, and each kernel
//! message goes to whichever reads first.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rsng_tests::{oracle_bin, oracle_skipped, rsng_bin, TempDir};

const CONFIG: &str = "/etc/syslog-ng/syslog-ng.conf";

struct Jail {
    child: Child,
    dev: PathBuf,
    log: PathBuf,
}

fn start(binary: &Path, root: &Path) -> Jail {
    let dev = root.join("dev");
    let log = root.join("log");
    fs::create_dir_all(&dev).expect("dev dir");
    fs::create_dir_all(&log).expect("log dir");
    // The private /dev keeps the device nodes programs expect.
    let mut nodes = String::new();
    for node in ["null", "zero", "random", "urandom"] {
        fs::write(dev.join(node), b"").expect("node placeholder");
        nodes.push_str(&format!("mount --bind /dev/{node} {}/{node} && ", dev.display()));
    }
    let script = format!(
        "{nodes}mount --bind {dev} /dev && mount --bind {log} /var/log && {no_systemd}exec {bin} -F -f {CONFIG} -R {root}/persist -p {root}/pid -c {root}/ctl --no-caps",
        dev = dev.display(),
        log = log.display(),
        bin = binary.display(),
        root = root.display(),
        // On a host where systemd runs, 3.38's system() reads the journal instead of /dev/log;
        // hiding systemd's run directory keeps both daemons on the /dev/log this test writes to.
        no_systemd = "if [ -d /run/systemd/system ]; then mount -t tmpfs rsng-test /run/systemd; fi && ",
    );
    let child = Command::new("unshare")
        .arg("-m")
        .arg("sh")
        .arg("-c")
        .arg(&script)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(root.join("stderr")).expect("stderr"))
        .spawn()
        .expect("run unshare (util-linux) for a private /dev and /var/log");
    let mut jail = Jail { child, dev, log };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !jail.dev.join("log").exists() {
        if let Ok(Some(status)) = jail.child.try_wait() {
            panic!(
                "{} exited ({status}) before listening on /dev/log: {}",
                binary.display(),
                fs::read_to_string(root.join("stderr")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "{} did not create /dev/log in time", binary.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    jail
}

impl Drop for Jail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Jail {
    fn stop(mut self) -> BTreeMap<String, Vec<u8>> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut files = BTreeMap::new();
        collect(&self.log, &self.log, &mut files);
        files
    }
}

fn collect(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(base, &p, out);
        } else {
            let name = p.strip_prefix(base).expect("under base").display().to_string();
            out.insert(name, fs::read(&p).unwrap_or_default());
        }
    }
}

/// Messages as the C library's `syslog()` sends them: no hostname in the header.
fn messages() -> Vec<Vec<u8>> {
    let facilities = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23];
    let mut out = Vec::new();
    for f in facilities {
        for sev in 0..8 {
            let pri = f * 8 + sev;
            out.push(format!("<{pri}>Mar  4 05:06:07 app{f}[{sev}]: facility {f} severity {sev}").into_bytes());
        }
    }
    out.push(b"<13>Mar  4 05:06:07 gconfd: a bad hostname by the options".to_vec());
    out.push(b"<86>Mar  4 05:06:07 sshd[42]: Accepted publickey for root".to_vec());
    out
}

fn user_lines(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .split_inclusive('\n')
        // The daemons' own messages differ in wording; kernel messages are real ones, read by
        // whichever daemon's read of the kernel log came first.
        .filter(|l| {
            !l.contains(" syslog-ng[")
                && !l.contains(" syslog-ng:")
                && !l.contains(" kernel: ")
                && !l.contains(" kernel[")
        })
        .map(String::from)
        .collect()
}

#[test]
fn debian_default_config_matches_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    assert!(Path::new(CONFIG).exists(), "{CONFIG} is missing: install syslog-ng-core (cargo xtask test does)");
    let tmp = TempDir::new("debian-default").expect("tempdir");
    let oracle_root = tmp.path().join("syslog-ng");
    let rsng_root = tmp.path().join("rsng");
    let oracle = start(&oracle_bin(), &oracle_root);
    let rsng = start(rsng_bin(), &rsng_root);
    let sender = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    for m in messages() {
        sender.send_to(&m, oracle.dev.join("log")).expect("send to syslog-ng");
        sender.send_to(&m, rsng.dev.join("log")).expect("send to rsng");
    }
    std::thread::sleep(Duration::from_millis(1500));
    let theirs = oracle.stop();
    let ours = rsng.stop();
    let mut problems = Vec::new();
    let mut compared = 0;
    for (name, data) in &theirs {
        let expected = user_lines(data);
        compared += expected.len();
        match ours.get(name) {
            None if expected.is_empty() => {}
            None => problems.push(format!("{name}: not written by rsng")),
            Some(got) => {
                let got = user_lines(got);
                if got != expected {
                    problems.push(format!(
                        "{name}: differs\n  syslog-ng: {:?}\n  rsng:      {:?}",
                        expected.iter().take(4).collect::<Vec<_>>(),
                        got.iter().take(4).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert!(compared > 100, "syslog-ng wrote only {compared} lines; the test setup is broken");
    let our_syslog = String::from_utf8_lossy(ours.get("syslog").map(Vec::as_slice).unwrap_or_default()).into_owned();
    assert!(our_syslog.contains("starting up"), "rsng's start-up message is missing from /var/log/syslog");
    eprintln!("debian default config: {} files, {compared} lines compared", theirs.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
