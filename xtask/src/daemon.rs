//! Starting and stopping a daemon under measurement: rsng or syslog-ng in the foreground, with
//! its pid file, persist file, control socket (`ctl`) and stderr in one directory.

use std::fs;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Adds the daemon's arguments to `cmd` (the daemon, or a wrapper whose last argument is the
/// daemon), runs it on `conf` in `dir`, and waits up to `within` until its control socket
/// answers (no probe connection to a source). `what` names it in errors.
pub(crate) fn start(mut cmd: Command, conf: &Path, dir: &Path, within: Duration, what: &str) -> Result<Child, String> {
    let ctl = dir.join("ctl");
    let mut daemon = cmd
        .arg("-F")
        .arg("-f")
        .arg(conf)
        .arg("-p")
        .arg(dir.join("pid"))
        .arg("-R")
        .arg(dir.join("persist"))
        .arg("-c")
        .arg(&ctl)
        .arg("--no-caps")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("stderr")).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let deadline = Instant::now() + within;
    while UnixStream::connect(&ctl).is_err() {
        if Instant::now() > deadline || daemon.try_wait().ok().flatten().is_some() {
            let _ = daemon.kill();
            let _ = daemon.wait();
            return Err(format!("{what} did not start (see {})", dir.join("stderr").display()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(daemon)
}

/// Stops a daemon with SIGTERM, killing it if it has not stopped after 15 s.
pub(crate) fn stop(daemon: &mut Child) {
    let _ = Command::new("kill").arg("-TERM").arg(daemon.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while daemon.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = daemon.kill();
            let _ = daemon.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
