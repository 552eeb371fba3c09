//! Supervision of driver tasks and log-path steps.
//!
//! A source or destination task that panics is reported (driver, configuration location, the
//! panic's text), counted, and started again after a back-off (100 ms, doubling up to 10 s, back
//! to 100 ms once a run lasted 10 s): a source is built again (its socket bound again), a
//! destination's writer goes on with the same queue. A parser or rewrite step that panics drops
//! the message from that log path, as a failed parser does, and is reported; the next message
//! goes through it again.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsng_core::LogMessage;
use rsng_drivers::{internal, DriverError, Task};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::transform::Transform;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A run this long was a good one: the next failure starts the back-off over.
const STABLE_RUN: Duration = Duration::from_secs(10);

/// Which driver a supervisor runs, for its reports.
pub struct Supervised {
    /// `source` or `destination`.
    pub kind: &'static str,
    pub object: String,
    pub driver: &'static str,
    pub location: String,
    /// How often the driver was started again.
    pub restarts: Arc<AtomicU64>,
}

/// Aborts the task when dropped, so that aborting a supervisor stops what it runs.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `first` with `start` until it ends or `stop` is cancelled; after a panic, calls
/// `after_failure` (which cleans up what the failed task held), builds the driver again with
/// `rebuild` and starts it again.
pub async fn run<T>(
    info: Supervised,
    first: T,
    rebuild: impl Fn() -> Result<T, DriverError>,
    start: impl Fn(T) -> Task,
    after_failure: impl Fn(),
    stop: CancellationToken,
) {
    let mut next = Some(first);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let driver = match next.take() {
            Some(d) => d,
            None => match rebuild() {
                Ok(d) => d,
                Err(e) => {
                    internal::error(format!(
                        "Error restarting a failed {}, trying again; {}='{}', driver='{}', location='{}', error='{e}'",
                        info.kind, info.kind, info.object, info.driver, info.location
                    ));
                    if !pause(&stop, &mut backoff).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let began = Instant::now();
        let mut task = AbortOnDrop(tokio::spawn(start(driver)));
        let failure = match (&mut task.0).await {
            Err(e) if e.is_panic() => rsng_drivers::socket::source::panic_text(e.into_panic()),
            // Ended (stopped) or cancelled.
            _ => return,
        };
        after_failure();
        if stop.is_cancelled() {
            return;
        }
        if began.elapsed() >= STABLE_RUN {
            backoff = FIRST_BACKOFF;
        }
        info.restarts.fetch_add(1, Ordering::Relaxed);
        internal::error(format!(
            "A {} failed and is restarted; {}='{}', driver='{}', location='{}', error='{failure}', restart_in='{}ms'",
            info.kind,
            info.kind,
            info.object,
            info.driver,
            info.location,
            backoff.as_millis()
        ));
        if !pause(&stop, &mut backoff).await {
            return;
        }
    }
}

/// Waits out the back-off (doubling it for next time); `false` when stopped meanwhile.
async fn pause(stop: &CancellationToken, backoff: &mut Duration) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = stop.cancelled() => false,
    }
}

/// A parser or rewrite step that survives its own panics.
pub struct Guarded {
    pub inner: Arc<dyn Transform>,
    /// `parser p` / `rewrite r`.
    pub name: String,
    pub location: String,
    pub failures: AtomicU64,
}

impl Transform for Guarded {
    fn process(&self, msg: &mut LogMessage) -> bool {
        self.process_emitting(msg, &mut Vec::new())
    }

    fn process_emitting(&self, msg: &mut LogMessage, emitted: &mut Vec<LogMessage>) -> bool {
        let result = catch_unwind(AssertUnwindSafe(|| {
            rsng_drivers::fault::hit(rsng_drivers::fault::Point::Step);
            self.inner.process_emitting(msg, emitted)
        }));
        match result {
            Ok(passed) => passed,
            Err(payload) => {
                let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                internal::error(format!(
                    "A log path step failed, the message is dropped from this path; step='{}', location='{}', error='{}', failures='{n}'",
                    self.name,
                    self.location,
                    rsng_drivers::socket::source::panic_text(payload)
                ));
                false
            }
        }
    }

    fn ticks(&self) -> bool {
        self.inner.ticks()
    }

    fn tick(&self, emitted: &mut Vec<LogMessage>) {
        // A step that fails on time loses what it would have made, as a failing message does.
        if catch_unwind(AssertUnwindSafe(|| self.inner.tick(emitted))).is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
            internal::error(format!(
                "A log path step failed on its timer; step='{}', location='{}'",
                self.name, self.location
            ));
        }
    }

    fn persistent_state(&self) -> Option<(String, crate::transform::PersistedState)> {
        self.inner.persistent_state()
    }
}
