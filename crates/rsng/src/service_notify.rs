//! The service manager's readiness protocol (`sd_notify`): state lines sent as datagrams to the
//! unix socket named by `NOTIFY_SOCKET` (a path, or an abstract address written `@name`).
//!
//! * `READY=1` once start-up is complete (sources listening, control socket bound, signal
//!   handlers installed), and again after each reload, also a failed one;
//! * `RELOADING=1` with `MONOTONIC_USEC` when a reload begins, `STOPPING=1` when stopping;
//! * `STATUS=` lines a person reads in `systemctl status`;
//! * `WATCHDOG=1` every half `WATCHDOG_USEC`, driven by the daemon's control loop, so that a
//!   loop that stops answering stops the pings too.
//!
//! Without `NOTIFY_SOCKET` every call here does nothing.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use rsng_drivers::internal;

/// The socket to the service manager, connected once at start-up: later sends then work after
/// a chroot (`-C`) or a change of user, as the path need not be reachable any more.
struct Notifier {
    socket: UnixDatagram,
    watchdog: Option<Duration>,
}

static NOTIFIER: OnceLock<Notifier> = OnceLock::new();
/// Whether `READY=1` went out since start-up or the last `RELOADING=1`.
static READY_SENT: AtomicBool = AtomicBool::new(false);

/// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`, and removes them from the
/// environment so that children (`program()` destinations) do not talk to the service manager
/// in rsng's name. Call while the process has one thread (the environment is changed).
pub fn init() {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let watchdog_usec = std::env::var("WATCHDOG_USEC").ok();
    let watchdog_pid = std::env::var("WATCHDOG_PID").ok();
    for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
        std::env::remove_var(name);
    }
    let socket = match connect(&target.to_string_lossy()) {
        Ok(socket) => socket,
        Err(e) => {
            internal::warning(format!(
                "Error connecting to the service manager's notification socket, readiness will not be reported; NOTIFY_SOCKET='{}', error='{e}'",
                target.to_string_lossy()
            ));
            return;
        }
    };
    // A service manager that stops reading must not stall the daemon for long.
    let _ = socket.set_write_timeout(Some(Duration::from_secs(1)));
    let for_us = match watchdog_pid {
        Some(pid) => pid.trim().parse::<u32>().ok() == Some(std::process::id()),
        None => true,
    };
    let watchdog = watchdog_usec
        .and_then(|usec| usec.trim().parse::<u64>().ok())
        .filter(|&usec| usec > 0 && for_us)
        .map(|usec| Duration::from_micros(usec / 2));
    let _ = NOTIFIER.set(Notifier { socket, watchdog });
}

fn connect(target: &str) -> std::io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    if let Some(name) = target.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        socket.connect_addr(&SocketAddr::from_abstract_name(name.as_bytes())?)?;
    } else if target.starts_with('/') {
        socket.connect(target)?;
    } else {
        return Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "not a unix socket path or @name"));
    }
    Ok(socket)
}

fn send(state: &str) {
    if let Some(n) = NOTIFIER.get() {
        if let Err(e) = n.socket.send(state.as_bytes()) {
            internal::warning(format!("Error notifying the service manager; state='{state}', error='{e}'"));
        }
    }
}

/// `READY=1` with a status naming what runs, unless already sent since the last reload began.
/// Called at the top of the control loop: start-up and reloads are complete when it is reached.
pub fn ready(running: &rsng_runtime::Running) {
    if NOTIFIER.get().is_none() || READY_SENT.swap(true, Ordering::Relaxed) {
        return;
    }
    let sources = running.sources.len();
    let mut objects: Vec<&str> = running.destinations.iter().map(|d| d.object.as_str()).collect();
    objects.sort_unstable();
    objects.dedup();
    send(&format!(
        "READY=1\nSTATUS=running; {sources} source{}, {} destination{}",
        plural(sources),
        objects.len(),
        plural(objects.len())
    ));
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `RELOADING=1`: the service manager then waits for the next `READY=1`.
pub fn reloading() {
    if NOTIFIER.get().is_none() {
        return;
    }
    READY_SENT.store(false, Ordering::Relaxed);
    send(&format!("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading", monotonic_usec()));
}

/// `STOPPING=1`: stopping has begun (destinations are written out next).
pub fn stopping() {
    send("STOPPING=1\nSTATUS=stopping");
}

/// `CLOCK_MONOTONIC` in microseconds, which the service manager compares with its own clock.
fn monotonic_usec() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(0, |t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1_000)
}

/// The watchdog's timer, for the control loop's `select!`.
pub struct Watchdog {
    interval: Option<tokio::time::Interval>,
}

/// The watchdog timer: ticks every half `WATCHDOG_USEC`, or never without a watchdog.
pub fn watchdog() -> Watchdog {
    let interval = NOTIFIER.get().and_then(|n| n.watchdog).map(|period| {
        let mut interval = tokio::time::interval(period);
        // After a stall, one ping and then the regular beat again, not a burst.
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    Watchdog { interval }
}

impl Watchdog {
    /// Waits for the next tick (forever without a watchdog).
    pub async fn tick(&mut self) {
        match &mut self.interval {
            Some(interval) => {
                interval.tick().await;
            }
            None => std::future::pending().await,
        }
    }
}

/// `WATCHDOG=1`: the control loop is alive.
pub fn ping() {
    send("WATCHDOG=1");
}
