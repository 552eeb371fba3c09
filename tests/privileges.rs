//! `-u`/`-g`/`-C`: rsng binds a privileged port as root, then runs as the given user and group
//! inside the chroot, and still writes its files (opened after the switch, inside the chroot).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rsng_tests::{rsng_bin, TempDir};

fn status_field(pid: u32, field: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with(field)).unwrap_or_default().to_string()
}

#[test]
fn binds_as_root_then_runs_as_nobody_in_a_chroot() {
    if !nix_is_root() {
        eprintln!("not root: -u/-g/-C need root; skipped");
        return;
    }
    let tmp = TempDir::new("privileges").expect("tempdir");
    let root = tmp.path().join("jail");
    fs::create_dir_all(root.join("log")).expect("jail");
    fs::set_permissions(root.join("log"), fs::Permissions::from_mode(0o777)).expect("chmod");
    // A privileged port nobody else is likely to use.
    let port = (600..700).find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()).expect("free port < 1024");
    let conf = tmp.path().join("rsng.conf");
    fs::write(
        &conf,
        format!(
            "@version: 3.38\noptions {{ use-dns(no); }};\nsource s {{ network(ip(127.0.0.1) port({port})); }};\n\
             destination d {{ file(\"/log/messages\"); }};\nlog {{ source(s); destination(d); }};\n"
        ),
    )
    .expect("config");
    let mut child = Command::new(rsng_bin())
        .arg("-F")
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(tmp.path().join("rsng.pid"))
        .arg("-c")
        .arg(tmp.path().join("rsng.ctl"))
        .arg("-R")
        .arg(tmp.path().join("rsng.persist"))
        .args(["-u", "nobody", "-g", "nogroup", "-C"])
        .arg(&root)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rsng");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(Instant::now() < deadline, "rsng did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(200));
    let uid = status_field(child.id(), "Uid:");
    let gid = status_field(child.id(), "Gid:");
    std::io::Write::write_all(&mut stream, b"<13>Jan  2 03:04:05 h p: after dropping root\n").expect("send");
    drop(stream);
    let out = root.join("log/messages");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fs::read_to_string(&out).unwrap_or_default().contains("after dropping root") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    let nobody = Command::new("id").args(["-u", "nobody"]).output().expect("id");
    let nobody = String::from_utf8_lossy(&nobody.stdout).trim().to_string();
    assert!(uid.split_whitespace().skip(1).all(|u| u == nobody), "still running as {uid}");
    assert!(!gid.split_whitespace().skip(1).any(|g| g == "0"), "still in group root: {gid}");
    let text = fs::read_to_string(&out).expect("file written inside the chroot");
    assert!(text.ends_with(" p: after dropping root\n"), "{text}");
}

fn nix_is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}
