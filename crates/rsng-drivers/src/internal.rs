//! rsng's own events (`internal()` source), worded as syslog-ng words them.
//!
//! Events are kept in a bounded buffer until an `internal()` source takes them; without one they
//! only go to stderr when asked (`-e`, `-v`, `-d`), as in syslog-ng.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rsng_core::message::{ReceiveInfo, UnixTime};
use rsng_core::LogMessage;
use tokio::sync::Notify;

use crate::options::Options;
use crate::receive::{own_pid, HostResolve};
use crate::{Source, SourceContext, Task};

/// Events kept while no `internal()` source reads them.
const BACKLOG: usize = 1000;

/// Severity of an internal event (syslog severities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// What waits for the `internal()` source.
enum Event {
    /// One of rsng's own events, with its receipt id (`use-uniqid()`).
    Text(Level, String, UnixTime, u64),
    /// A message made elsewhere (`db-parser(inject-mode(internal))`).
    Message(LogMessage),
}

struct Hub {
    queue: Mutex<VecDeque<Event>>,
    ready: Notify,
    /// Whether an `internal()` source runs (otherwise events are not kept).
    listening: AtomicBool,
    /// Events at or below this severity are also printed to stderr.
    stderr_level: AtomicU8,
    /// Events above this severity are not recorded at all (info needs `-v`, debug `-d`).
    kept_level: AtomicU8,
    /// `-e`: events printed to stderr are not also given to `internal()`, as in syslog-ng.
    stderr_only: AtomicBool,
    /// Events the full backlog pushed out (`global;internal_source;;a;dropped`).
    dropped: AtomicU64,
}

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| Hub {
        queue: Mutex::new(VecDeque::new()),
        ready: Notify::new(),
        listening: AtomicBool::new(false),
        stderr_level: AtomicU8::new(0),
        kept_level: AtomicU8::new(Level::Notice as u8),
        stderr_only: AtomicBool::new(false),
        dropped: AtomicU64::new(0),
    })
}

/// Prints events up to `level` to stderr too (`-e` prints notices and worse; `-v` info; `-d`
/// debug).
pub fn set_stderr_level(level: Option<Level>) {
    hub().stderr_level.store(level.map_or(0, |l| l as u8), Ordering::Relaxed);
}

/// Records events up to `level` (syslog-ng records info messages with `-v` only, debug messages
/// with `-d` only).
pub fn set_kept_level(level: Level) {
    hub().kept_level.store(level as u8, Ordering::Relaxed);
}

/// `-e`: events that go to stderr go there only (syslog-ng's `log_stderr`).
pub fn set_stderr_only(on: bool) {
    hub().stderr_only.store(on, Ordering::Relaxed);
}

/// Whether events of `level` are kept or printed: lets callers skip formatting the others.
pub fn enabled(level: Level) -> bool {
    let hub = hub();
    (level as u8) <= hub.kept_level.load(Ordering::Relaxed) || (level as u8) <= hub.stderr_level.load(Ordering::Relaxed)
}

/// Records an event.
pub fn emit(level: Level, text: impl Into<String>) {
    record(level, text, false);
}

/// Records an info event even without `-v`: syslog-ng's `msg_info()` (unlike `msg_verbose()`)
/// always reaches `internal()`.
pub fn info_always(text: impl Into<String>) {
    record(Level::Info, text, true);
}

fn record(level: Level, text: impl Into<String>, always: bool) {
    let hub = hub();
    if !always && (level as u8) > hub.kept_level.load(Ordering::Relaxed) {
        return;
    }
    let text = text.into();
    // syslog-ng numbers each event it records, whether anything reads it or not.
    let rcptid = rsng_core::message::uniqid::take();
    if (level as u8) <= hub.stderr_level.load(Ordering::Relaxed) {
        // syslog-ng's stderr form: local time to the microsecond in brackets.
        let now = jiff::Zoned::now();
        eprintln!("[{}] {text}", now.strftime("%Y-%m-%dT%H:%M:%S%.6f"));
        if hub.stderr_only.load(Ordering::Relaxed) {
            return;
        }
    }
    if !hub.listening.load(Ordering::Relaxed) {
        return;
    }
    let mut q = hub.queue.lock().unwrap_or_else(|e| e.into_inner());
    if q.len() >= BACKLOG {
        q.pop_front();
        hub.dropped.fetch_add(1, Ordering::Relaxed);
    }
    q.push_back(Event::Text(level, text, UnixTime::now(&jiff::tz::TimeZone::system()), rcptid));
    drop(q);
    hub.ready.notify_one();
}

/// Gives a message made by rsng (not an event) to the `internal()` source, which receives it as
/// it is, with its own host name and tags; without an `internal()` source it is dropped, as in
/// syslog-ng.
pub fn post_message(msg: LogMessage) {
    let hub = hub();
    if !hub.listening.load(Ordering::Relaxed) {
        return;
    }
    let mut q = hub.queue.lock().unwrap_or_else(|e| e.into_inner());
    if q.len() >= BACKLOG {
        q.pop_front();
        hub.dropped.fetch_add(1, Ordering::Relaxed);
    }
    q.push_back(Event::Message(msg));
    drop(q);
    hub.ready.notify_one();
}

pub fn error(text: impl Into<String>) {
    emit(Level::Error, text);
}

pub fn warning(text: impl Into<String>) {
    emit(Level::Warning, text);
}

pub fn notice(text: impl Into<String>) {
    emit(Level::Notice, text);
}

pub fn info(text: impl Into<String>) {
    emit(Level::Info, text);
}

/// Events waiting for the `internal()` source and events dropped because too many waited
/// (`global;internal_source;;a;queued|dropped`).
pub fn queue_counters() -> (u64, u64) {
    let hub = hub();
    let queued = hub.queue.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
    (queued, hub.dropped.load(Ordering::Relaxed))
}

/// Starts keeping events for an `internal()` source (called before the config's first event).
pub fn listen() {
    hub().listening.store(true, Ordering::Relaxed);
}

pub struct InternalSource {
    object: Arc<str>,
    resolve: HostResolve,
    tags: Vec<rsng_core::message::TagId>,
    keep_hostname: bool,
    window: usize,
}

pub fn build_source(object: &str, opts: Options<'_>) -> Box<dyn Source> {
    listen();
    let window = InternalSourceOptions::read(&opts).log_iw_size;
    let receiver = crate::receive::Receiver::new(object, opts, Default::default(), true);
    Box::new(InternalSource {
        object: Arc::from(object),
        keep_hostname: receiver.keep_hostname,
        resolve: receiver.resolve,
        tags: receiver.tags,
        window,
    })
}

crate::typed_options! {
    /// What `internal()` reads besides the reader's options.
    pub struct InternalSourceOptions {
        driver {
            /// The window of its messages in flow-controlled destinations; the rest wait in the
            /// queue of events (`global;internal_queue_length`), as in syslog-ng.
            pub log_iw_size: usize = "log-iw-size" if (|&n| n > 0) or (100);
        }
        inherited {}
        global {}
    }
}

impl Source for InternalSource {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> Task {
        Box::pin(async move {
            // syslog-ng counts the driver on its own too (`src.internal;s#0;;a;processed`).
            let own = ctx.port.stats().driver_counter("src.internal", &ctx.stats_id);
            ctx.port.count_peer(own);
            ctx.port.set_window_size(self.window);
            let tz = jiff::tz::TimeZone::system();
            let mut info = ReceiveInfo::new(&self.object, &self.resolve.local_name(), None, tz);
            info.local = true;
            let hub = hub();
            let mut batch = Vec::new();
            // One more round after the stop request, so that "shutting down" is delivered.
            let mut stopping = false;
            let mut mark_due = false;
            loop {
                let notified = hub.ready.notified();
                if std::mem::take(&mut mark_due) {
                    info.received = UnixTime::now(&info.time_zone);
                    let mut msg = LogMessage::numbered(&info, rsng_core::message::uniqid::take());
                    msg.use_sender_as_host();
                    msg.make_mark();
                    for &t in &self.tags {
                        msg.set_tag(t);
                    }
                    batch.push(msg);
                }
                // With its window full, events wait in the queue until it opens.
                let room = ctx.port.budget().unwrap_or(usize::MAX).saturating_sub(batch.len());
                let waiting = {
                    let mut q = hub.queue.lock().unwrap_or_else(|e| e.into_inner());
                    let n = q.len().min(room);
                    for event in q.drain(..n) {
                        let mut msg = match event {
                            Event::Text(level, text, at, rcptid) => {
                                info.received = at;
                                let mut msg = LogMessage::numbered(&info, rcptid);
                                msg.set_pri(5 * 8 + level as u16);
                                msg.set_value("PROGRAM", b"syslog-ng");
                                msg.set_value("PID", own_pid().as_bytes());
                                msg.set_value("MESSAGE", text.as_bytes());
                                msg.use_sender_as_host();
                                msg
                            }
                            Event::Message(mut msg) => {
                                // Received by this source now: its name, this host's name.
                                msg.set_value("SOURCE", self.object.as_bytes());
                                msg.set_value("HOST_FROM", info.host_from.as_bytes());
                                msg.set_tag(info.source_tag);
                                if !self.keep_hostname || msg.get("HOST").is_none_or(|h| h.is_empty()) {
                                    msg.use_sender_as_host();
                                }
                                msg
                            }
                        };
                        for &t in &self.tags {
                            msg.set_tag(t);
                        }
                        batch.push(msg);
                    }
                    // What the window had no room for; events that come later wake the
                    // `notified` taken above.
                    !q.is_empty()
                };
                ctx.port.post(&mut batch);
                if stopping {
                    break;
                }
                if waiting && ctx.port.budget() != Some(0) {
                    // The window opened meanwhile: take the rest now.
                    continue;
                }
                tokio::select! {
                    _ = notified, if !waiting => {}
                    _ = ctx.port.ready(), if waiting => {}
                    _ = crate::mark::internal_mark_due() => mark_due = true,
                    _ = ctx.shutdown.cancelled() => stopping = true,
                }
            }
        })
    }
}
