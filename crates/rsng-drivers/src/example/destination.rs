//! `example-destination()`: appends `thread_id=ID message=MESSAGE` lines to `filename()`, as
//! syslog-ng's example threaded destination does (ID is the writing worker's thread).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rsng_core::message::Builtin;
use rsng_core::LogMessage;

use crate::file::{os_error, Throttle};
use crate::internal;
use crate::{Destination, DestinationContext, Task};

const BATCH: usize = 256;

pub struct ExampleDestination {
    pub(super) path: PathBuf,
    pub(super) time_reopen: Duration,
    pub(super) throttle: Throttle,
}

/// The calling thread's id as syslog-ng prints it (`pthread_self()`).
fn thread_id() -> u64 {
    // SAFETY: pthread_self has no preconditions.
    unsafe { nix::libc::pthread_self() as u64 }
}

impl Destination for ExampleDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let mut this = *self;
            let queue = ctx.queue;
            let tid = thread_id();
            let mut file: Option<File> = None;
            let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH);
            let mut buf = Vec::with_capacity(BATCH * 128);
            loop {
                if file.is_none() {
                    match OpenOptions::new().append(true).create(true).open(&this.path) {
                        Ok(f) => file = Some(f),
                        Err(e) => {
                            internal::error(format!("Could not open file; error='{}'", os_error(&e)));
                            tokio::select! {
                                _ = tokio::time::sleep(this.time_reopen) => continue,
                                _ = ctx.shutdown.cancelled() => return,
                            }
                        }
                    }
                }
                this.throttle.wait().await;
                let max = this.throttle.limit(BATCH);
                if !queue.pop(max, &mut batch).await {
                    return;
                }
                buf.clear();
                for msg in &batch {
                    // syslog-ng formats MESSAGE with `%s`: it ends at the first NUL.
                    let text = rsng_core::bytes::c_str(msg.builtin(Builtin::Message));
                    let _ = write!(buf, "thread_id={tid} message=");
                    buf.extend_from_slice(text);
                    buf.push(b'\n');
                }
                let Some(f) = file.as_mut() else { continue };
                match f.write_all(&buf) {
                    Ok(()) => {
                        queue.stats.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                        this.throttle.account(batch.len());
                        batch.clear();
                    }
                    Err(e) => {
                        internal::error(format!(
                            "Error while writing file; filename='{}', error='{}'",
                            this.path.display(),
                            os_error(&e)
                        ));
                        queue.push_front(&mut batch);
                        file = None;
                        tokio::select! {
                            _ = tokio::time::sleep(this.time_reopen) => {}
                            _ = ctx.shutdown.cancelled() => return,
                        }
                    }
                }
            }
        })
    }
}
