//! `suppress(SECONDS)`: a writer drops a message that repeats the last one it took (same
//! `$MSG`, `$HOST`, `$PROGRAM` and `$PID`) within that many seconds of receiving it, and writes
//! `Last message '...' repeated N times, suppressed by syslog-ng on HOST` in their place: before
//! the next different message, or `suppress()` seconds after the first repetition, as syslog-ng's
//! log writer does. MARK messages are never suppressed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rsng_core::message::{Builtin, ReceiveInfo, UnixTime};
use rsng_core::LogMessage;
use tokio_util::sync::CancellationToken;

use crate::mark::DueTimer;
use crate::pipeline::DestinationQueue;

crate::typed_options! {
    /// `suppress()` of a writer, else the global one.
    pub struct SuppressOptions {
        driver {}
        inherited {
            /// Seconds within which repetitions are counted instead of written; 0: none.
            pub suppress: i64 = "suppress";
        }
        global {}
    }
}

/// One writer's suppression state.
#[derive(Debug)]
pub struct Suppress {
    seconds: u64,
    /// This host's name as the summaries give it (syslog-ng's FQDN).
    host: Arc<str>,
    last: Mutex<Last>,
    /// When the pending summary is due (not armed: none pending).
    timer: DueTimer,
    /// Messages suppressed (`suppressed` in the stats).
    pub suppressed: AtomicU64,
}

#[derive(Debug, Default)]
struct Last {
    msg: Option<LogMessage>,
    count: u32,
}

impl Suppress {
    /// The state of a writer with `suppress(seconds)`; `None` for 0 (nothing suppressed).
    pub fn new(seconds: i64, host: Arc<str>) -> Option<Arc<Suppress>> {
        (seconds > 0).then(|| {
            Arc::new(Suppress {
                seconds: seconds as u64,
                host,
                last: Mutex::default(),
                timer: DueTimer::default(),
                suppressed: AtomicU64::new(0),
            })
        })
    }

    /// Drops the repetitions in `batch` and puts the summaries they are due where they belong.
    pub fn accept(&self, batch: &mut Vec<LogMessage>) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(batch.len());
        for msg in batch.drain(..) {
            if let Some(prev) = &last.msg {
                if repeats(prev, &msg, self.seconds) && !msg.is_mark() {
                    last.count += 1;
                    self.suppressed.fetch_add(1, Ordering::Relaxed);
                    if last.count == 1 {
                        self.timer.arm(crate::mark::now_secs() + self.seconds);
                    }
                    continue;
                }
                if last.count > 0 {
                    out.push(self.summary(&last));
                }
                self.timer.arm(0);
            }
            *last = Last { msg: Some(msg.clone()), count: 0 };
            out.push(msg);
        }
        *batch = out;
    }

    /// syslog-ng's summary: an internal message with the repeated message's priority, host and
    /// program, and rsng's own pid.
    fn summary(&self, last: &Last) -> LogMessage {
        let prev = last.msg.as_ref().expect("a summary follows a message");
        let text = prev.builtin(Builtin::Message);
        // `%.20s`: at most 20 bytes of the message.
        let head = String::from_utf8_lossy(&text[..text.len().min(20)]).into_owned();
        let mut info = ReceiveInfo::new("", &self.host, None, jiff::tz::TimeZone::system());
        info.received = UnixTime::now(&info.time_zone);
        let mut msg = LogMessage::new(&info);
        msg.clear();
        msg.set_local(true);
        msg.set_pri(prev.pri());
        msg.set_value("HOST", prev.builtin(Builtin::Host));
        msg.set_value("PROGRAM", prev.builtin(Builtin::Program));
        msg.set_value("PID", std::process::id().to_string().as_bytes());
        let message =
            format!("Last message '{head}' repeated {} times, suppressed by syslog-ng on {}", last.count, self.host);
        msg.set_value("MESSAGE", message.as_bytes());
        msg
    }

    /// Writes the pending summary into `queue` when it is due, until `stop`.
    pub async fn run(self: Arc<Self>, queue: Arc<DestinationQueue>, stop: CancellationToken) {
        while let Some(due) = self.timer.elapsed(&stop).await {
            let summary = {
                let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
                // A different message may have written the summary meanwhile.
                if self.timer.due() != due || last.count == 0 {
                    continue;
                }
                self.timer.arm(0);
                let summary = self.summary(&last);
                // As syslog-ng, the next message starts afresh.
                *last = Last::default();
                summary
            };
            queue.push_own(&mut vec![summary]);
        }
    }
}

/// Whether `msg` repeats `prev`: the same message, host, program and pid, received within
/// `seconds` of it.
fn repeats(prev: &LogMessage, msg: &LogMessage, seconds: u64) -> bool {
    prev.received().sec >= msg.received().sec - seconds as i64
        && [Builtin::Message, Builtin::Host, Builtin::Program, Builtin::Pid]
            .iter()
            .all(|&b| prev.builtin(b) == msg.builtin(b))
}
