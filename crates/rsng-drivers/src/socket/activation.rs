//! `systemd-syslog()`: the datagram socket systemd passes by socket activation (`LISTEN_FDS`
//! and `LISTEN_PID`, the first passed descriptor being 3), usually
//! `/run/systemd/journal/syslog`, where journald forwards what it receives.
//!
//! The descriptor is taken once per process; every build of the source (each reload) reads
//! from a duplicate of it, so a reload never loses the socket and stopping a source never
//! removes systemd's socket file.

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::OnceLock;

use nix::sys::socket::{getsockname, getsockopt, sockopt, AddressFamily, SockType, SockaddrLike, SockaddrStorage};

use crate::{Source, SourceContext, Task};

/// `SD_LISTEN_FDS_START`.
const FIRST_FD: i32 = 3;

/// The passed socket, or why there is none (syslog-ng's message).
fn passed() -> &'static Result<OwnedFd, String> {
    static PASSED: OnceLock<Result<OwnedFd, String>> = OnceLock::new();
    PASSED.get_or_init(|| {
        let for_us = std::env::var("LISTEN_PID").ok().and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
        let count = if for_us { std::env::var("LISTEN_FDS").ok().and_then(|n| n.parse::<i32>().ok()) } else { None };
        match count.unwrap_or(0) {
            n if n > 1 => Err(format!("Systemd socket activation failed: got more than one fd; number='{n}'")),
            n if n < 1 => {
                Err("Failed to acquire /run/systemd/journal/syslog socket, disabling systemd-syslog source".to_string())
            }
            _ => {
                // SAFETY: systemd hands descriptor 3 to this process (LISTEN_PID); it is taken once.
                let fd = unsafe { OwnedFd::from_raw_fd(FIRST_FD) };
                let is_unix = getsockname::<SockaddrStorage>(FIRST_FD)
                    .is_ok_and(|a| a.family() == Some(AddressFamily::Unix));
                let is_dgram = getsockopt(&fd, sockopt::SockType).is_ok_and(|t| t == SockType::Datagram);
                if is_unix && is_dgram {
                    Ok(fd)
                } else {
                    std::mem::forget(fd);
                    Err(format!(
                        "The systemd supplied UNIX domain socket is of a different type, check the configured \
                         driver and the matching systemd unit file; systemd-sock-fd='{FIRST_FD}', expecting='unix-dgram()'"
                    ))
                }
            }
        }
    })
}

/// A duplicate of the socket systemd passed, ready for tokio.
pub fn passed_socket() -> Result<std::os::unix::net::UnixDatagram, String> {
    let fd = passed().as_ref().map_err(Clone::clone)?;
    let socket = std::os::unix::net::UnixDatagram::from(fd.try_clone().map_err(|e| e.to_string())?);
    socket.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(socket)
}

/// Whether `unix-dgram()`/`unix-stream()` at `path` becomes `systemd-syslog()`, as in syslog-ng:
/// where systemd runs, journald owns `/dev/log`, and its forwarding socket is passed instead.
/// Unlike syslog-ng, only when systemd did pass a socket: otherwise the path is bound as written
/// (syslog-ng would disable the source), so a service without socket activation still gets the
/// messages journald forwards to `/run/systemd/journal/syslog`.
pub fn replaces_unix_source(driver: &str, path: Option<&str>) -> bool {
    matches!(driver, "unix-dgram" | "unix-stream")
        && matches!(path, Some("/dev/log" | "/run/systemd/journal/syslog"))
        && crate::journal::systemd_is_running()
        && passed().is_ok()
}

/// A source without a socket: `systemd-syslog()` when systemd passed none (syslog-ng disables
/// the source and goes on).
pub struct Disabled;

impl Source for Disabled {
    fn run(self: Box<Self>, ctx: SourceContext) -> Task {
        Box::pin(async move { ctx.shutdown.cancelled().await })
    }
}
