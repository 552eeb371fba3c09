//! `-- MARK --` messages: `mark-freq()` and `mark-mode()`, as syslog-ng 3.38 makes them.
//!
//! Two independent kinds, as in syslog-ng:
//!
//! - The `internal()` source sends a MARK when no local message (from `internal()`, files,
//!   pipes, unix sockets, programs) went through any source for the global `mark-freq()`
//!   seconds. Writers drop those MARKs unless their `mark-mode()` is `internal`.
//! - Writers (`file()`, `pipe()`, `network()`, `syslog()`, `tcp()`, `udp()`, `unix-*()`,
//!   `program()`, `usertty()`) make their own in the `dst-idle` (no message for `mark-freq()`
//!   seconds), `host-idle` (no message from another host) and `periodical` (every
//!   `mark-freq()` seconds) modes. syslog-ng's writer default is the global `mark-mode()`
//!   (`host-idle` unless set), `none` for `file()` and `pipe()`.
//!
//! Times count in whole seconds of a monotonic clock, as syslog-ng's timers do: a MARK falls due
//! at the start of a second, so messages within one second move it once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rsng_core::message::{ReceiveInfo, UnixTime};
use rsng_core::LogMessage;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::pipeline::DestinationQueue;

/// A writer's `mark-mode()`, resolved (`global` already replaced by the global setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkMode {
    /// Pass the `internal()` source's MARKs; make none.
    Internal,
    /// A MARK after `mark-freq()` seconds without any message.
    DstIdle,
    /// A MARK after `mark-freq()` seconds without a message from another host.
    HostIdle,
    /// A MARK every `mark-freq()` seconds.
    Periodical,
    /// No MARKs at all.
    None,
}

impl MarkMode {
    /// The mode named `name` (`dst_idle` and `dst-idle` alike); `None` for `global` or an unknown
    /// name, which the configuration checks refuse before this is asked.
    pub fn from_name(name: &str) -> Option<MarkMode> {
        match name.replace('_', "-").to_ascii_lowercase().as_str() {
            "internal" => Some(MarkMode::Internal),
            "dst-idle" => Some(MarkMode::DstIdle),
            "host-idle" => Some(MarkMode::HostIdle),
            "periodical" => Some(MarkMode::Periodical),
            "none" => Some(MarkMode::None),
            _ => None,
        }
    }
}

/// syslog-ng's defaults: `mark-freq(1200)`, `mark-mode(host-idle)`.
pub const DEFAULT_MARK_FREQ: u64 = 1200;
pub const DEFAULT_MARK_MODE: MarkMode = MarkMode::HostIdle;

/// Seconds of the monotonic clock, from 1 (0 stands for "not armed").
pub(crate) fn now_secs() -> u64 {
    base().elapsed().as_secs() + 1
}

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// The instant second `secs` of [`now_secs`] starts.
pub(crate) fn instant_of(secs: u64) -> tokio::time::Instant {
    (base() + Duration::from_secs(secs.saturating_sub(1))).into()
}

/// A writer's timer in whole seconds of [`now_secs`]: armed for a second, put off by arming it
/// again, disarmed with 0 (MARKs, `suppress()` summaries).
#[derive(Debug, Default)]
pub(crate) struct DueTimer {
    due: AtomicU64,
    armed: Notify,
}

impl DueTimer {
    /// The second it is armed for; 0: not armed.
    pub(crate) fn due(&self) -> u64 {
        self.due.load(Ordering::Relaxed)
    }

    /// Arms it for second `due` (0 disarms), waking the waiter when it was not armed.
    pub(crate) fn arm(&self, due: u64) {
        if self.due.load(Ordering::Relaxed) != due && self.due.swap(due, Ordering::Relaxed) == 0 && due != 0 {
            self.armed.notify_one();
        }
    }

    /// Waits until the second it is armed for has come and it was not armed again meanwhile;
    /// that second, or `None` once `stop` is cancelled.
    pub(crate) async fn elapsed(&self, stop: &CancellationToken) -> Option<u64> {
        loop {
            let armed = self.armed.notified();
            let due = self.due();
            tokio::select! {
                _ = stop.cancelled() => return None,
                _ = armed, if due == 0 => continue,
                _ = tokio::time::sleep_until(instant_of(due)), if due != 0 => {}
            }
            if self.due() == due {
                return Some(due);
            }
        }
    }
}

/// A writer's MARK state: what its queue does with MARKs, and when it makes the next one.
#[derive(Debug)]
pub struct WriterMarks {
    mode: MarkMode,
    freq: u64,
    /// `$HOST` of the MARKs made here: this host's name.
    host: Arc<str>,
    /// When the next MARK is due; not armed while no message armed it.
    timer: DueTimer,
}

impl WriterMarks {
    /// The state of a writer in `mode` with `mark-freq(freq)`; `None` in the `internal` mode,
    /// where the writer lets every message through and makes none.
    pub fn new(mode: MarkMode, freq: u64, host: Arc<str>) -> Option<Arc<WriterMarks>> {
        (mode != MarkMode::Internal).then(|| Arc::new(WriterMarks { mode, freq, host, timer: DueTimer::default() }))
    }

    /// What the writer's queue does with a batch on its way in: the `internal()` source's MARKs
    /// go (the writer's mode is not `internal`), and messages put the next MARK off in the idle
    /// modes.
    pub fn accept(&self, batch: &mut Vec<LogMessage>) {
        if batch.iter().any(LogMessage::is_mark) {
            batch.retain(|m| !m.is_mark());
        }
        let postpone = match self.mode {
            MarkMode::DstIdle => !batch.is_empty(),
            MarkMode::HostIdle => batch.iter().any(|m| !m.is_local()),
            _ => false,
        };
        if postpone {
            self.postpone();
        }
    }

    fn postpone(&self) {
        if self.freq == 0 {
            return;
        }
        self.timer.arm(now_secs() + self.freq);
    }

    /// Makes this writer's MARKs into `queue` until `stop`.
    pub async fn run(self: Arc<Self>, queue: Arc<DestinationQueue>, stop: CancellationToken) {
        if self.freq == 0 || matches!(self.mode, MarkMode::None | MarkMode::Internal) {
            return;
        }
        if self.mode == MarkMode::Periodical {
            // Periodical MARKs come whether messages come or not.
            self.postpone();
        }
        while self.timer.elapsed(&stop).await.is_some() {
            queue.push_own(&mut vec![writer_mark(&self.host)]);
            self.postpone();
        }
    }
}

/// The MARK state of destination driver `opts`, when it is a writer (`None` for the others, and
/// for writers in the `internal` mode): its `mark-mode()` and `mark-freq()` (or `mark()`), else
/// the global ones.
pub fn writer_marks(opts: &crate::Options<'_>) -> Option<Arc<WriterMarks>> {
    let own_default = match opts.name() {
        "file" | "pipe" | "stdout" => Some(MarkMode::None),
        "network" | "syslog" | "tcp" | "udp" | "tcp6" | "udp6" | "unix-stream" | "unix-dgram" | "program"
        | "usertty" => None,
        _ => return None,
    };
    let o = MarkOptions::read(opts);
    let global_mode = || o.global_mark_mode.as_deref().and_then(MarkMode::from_name).unwrap_or(DEFAULT_MARK_MODE);
    let mode = match o.mark_mode.as_deref() {
        Some(name) => MarkMode::from_name(name).unwrap_or_else(global_mode),
        None => own_default.unwrap_or_else(global_mode),
    };
    let freq = o.mark_freq.or(o.mark).or(o.global_mark_freq).or(o.global_mark);
    let resolve = crate::receive::HostResolve {
        use_dns: false,
        use_fqdn: o.use_fqdn,
        normalize: o.normalize_hostnames,
        cache: false,
    };
    let freq = freq.map_or(DEFAULT_MARK_FREQ, |f| f.max(0).unsigned_abs());
    WriterMarks::new(mode, freq, resolve.local_name())
}

crate::typed_options! {
    /// The MARK options of a writer, else the global ones.
    pub struct MarkOptions {
        driver {
            pub mark_mode: String = "mark-mode";
            /// Seconds between MARKs; `mark()` is its old name.
            pub mark_freq: i64 = "mark-freq";
            pub mark: i64 = "mark";
        }
        inherited {}
        global {
            pub global_mark_mode: String = "mark-mode";
            pub global_mark_freq: i64 = "mark-freq";
            pub global_mark: i64 = "mark";
            /// How the MARKs name this host.
            pub use_fqdn: bool = "use-fqdn" or (false);
            pub normalize_hostnames: bool = "normalize-hostnames" or (false);
        }
    }
}

/// A MARK made by a writer: local, from this host, with nothing else set.
fn writer_mark(host: &Arc<str>) -> LogMessage {
    let mut info = ReceiveInfo::new("", host, None, jiff::tz::TimeZone::system());
    info.received = UnixTime::now(&info.time_zone);
    let mut msg = LogMessage::new(&info);
    msg.clear();
    msg.set_local(true);
    msg.set_value("HOST", host.as_bytes());
    msg.make_mark();
    msg
}

/// The global `mark-freq()` the `internal()` source's MARKs follow (0: none).
static INTERNAL_FREQ: AtomicU64 = AtomicU64::new(DEFAULT_MARK_FREQ);
/// The second the `internal()` source's next MARK is due.
static INTERNAL_DUE: AtomicU64 = AtomicU64::new(0);

/// Sets the global `mark-freq()` (at start-up and at each reload).
pub fn set_internal_freq(freq: u64) {
    INTERNAL_FREQ.store(freq, Ordering::Relaxed);
    postpone_internal();
}

/// A local message went through a source: the `internal()` source's next MARK is put off.
pub fn postpone_internal() {
    let freq = INTERNAL_FREQ.load(Ordering::Relaxed);
    let due = if freq == 0 { 0 } else { now_secs() + freq };
    if INTERNAL_DUE.load(Ordering::Relaxed) != due {
        INTERNAL_DUE.store(due, Ordering::Relaxed);
    }
}

/// Waits until the `internal()` source's MARK is due and no local message put it off meanwhile.
/// Never returns while MARKs are off (`mark-freq(0)`).
pub async fn internal_mark_due() {
    loop {
        let due = INTERNAL_DUE.load(Ordering::Relaxed);
        if due == 0 {
            // Off; a reload that turns MARKs on restarts the source's wait.
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        tokio::time::sleep_until(instant_of(due)).await;
        if INTERNAL_DUE.load(Ordering::Relaxed) == due {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(local: bool) -> LogMessage {
        let mut info = ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC);
        info.local = local;
        LogMessage::new(&info)
    }

    #[test]
    fn internal_marks_pass_only_the_internal_mode() {
        assert!(WriterMarks::new(MarkMode::Internal, 1, Arc::from("h")).is_none());
        let marks = WriterMarks::new(MarkMode::None, 1, Arc::from("h")).expect("state");
        let mut mark = message(true);
        mark.make_mark();
        let mut batch = vec![message(false), mark, message(true)];
        marks.accept(&mut batch);
        assert_eq!(batch.len(), 2);
        assert!(!batch.iter().any(LogMessage::is_mark));
        assert_eq!(marks.timer.due(), 0, "mode none arms nothing");
    }

    #[test]
    fn host_idle_is_put_off_by_remote_messages_only() {
        let marks = WriterMarks::new(MarkMode::HostIdle, 5, Arc::from("h")).expect("state");
        marks.accept(&mut vec![message(true)]);
        assert_eq!(marks.timer.due(), 0);
        marks.accept(&mut vec![message(true), message(false)]);
        assert!(marks.timer.due() >= now_secs() + 4);
        let dst = WriterMarks::new(MarkMode::DstIdle, 5, Arc::from("h")).expect("state");
        dst.accept(&mut vec![message(true)]);
        assert!(dst.timer.due() >= now_secs() + 4);
    }

    #[test]
    fn a_writer_mark_is_syslog_info_from_this_host() {
        let m = writer_mark(&Arc::from("thishost"));
        assert!(m.is_mark() && m.is_local());
        assert_eq!(m.get("MESSAGE"), Some(&b"-- MARK --"[..]));
        assert_eq!(m.get("HOST"), Some(&b"thishost"[..]));
        assert_eq!(m.get("PROGRAM"), Some(&b""[..]));
        assert_eq!(m.pri(), 46);
    }
}
