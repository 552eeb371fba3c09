//! `program()`: a child process run as `/bin/sh -c COMMAND` in its own process group, as
//! syslog-ng runs it.
//!
//! * The source reads the child's standard output (its standard input and error are
//!   `/dev/null`). When the output ends, the process group gets SIGTERM and the command is
//!   started again at once, as in syslog-ng.
//! * The destination writes to the child's standard input (its output and error are
//!   `/dev/null`). A child that exits is started again, unless it exited with status 127 (the
//!   shell did not find the command): then the destination stops and drops what it gets, as in
//!   syslog-ng. Messages not completely written to a child that went away are written again to
//!   the next one.
//! * `inherit-environment(no)` starts the child with an empty environment.
//! * `keep-alive(yes)` keeps a destination's child running across a reload: the stopping
//!   configuration parks it, and the destination of the next configuration with the same
//!   command (or `persist-name()`) takes it over. A parked child nobody takes within
//!   [`PARK_TIMEOUT`] is terminated.
//!
//! When a destination stops, its child's standard input is closed first, so that a program like
//! `cat` can finish writing; the process group gets SIGTERM after [`EXIT_GRACE`] at the latest.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rsng_core::LogMessage;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

use super::stream::{read_stream, Input, ReadSettings, StreamEnd};
use super::Throttle;
use crate::internal;
use crate::writer::Writer;
use crate::{Destination, DestinationContext, Source, SourceContext, Task};

/// How long a stopping destination waits for its child to exit after closing its input.
pub const EXIT_GRACE: Duration = Duration::from_millis(500);
/// How long a parked `keep-alive(yes)` child waits for the next configuration.
pub const PARK_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages taken from the queue per write.
const BATCH: usize = 1024;

fn command(cmdline: &str, inherit_environment: bool) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(cmdline).process_group(0).kill_on_drop(false);
    if !inherit_environment {
        cmd.env_clear();
    }
    cmd
}

/// SIGTERM to the child's process group (never to rsng's own).
fn terminate_group(pid: Option<u32>) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::{getpgid, getpgrp, Pid};
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else { return };
    if let Ok(pgid) = getpgid(Some(Pid::from_raw(pid))) {
        if pgid != getpgrp() {
            let _ = killpg(pgid, Signal::SIGTERM);
        }
    }
}

/// The raw wait status, as syslog-ng prints it (`exit(1)` is 256).
fn raw_status(status: std::process::ExitStatus) -> i32 {
    status.into_raw()
}

/// The `program()` source.
pub struct ProgramSource {
    pub cmdline: String,
    pub inherit_environment: bool,
    pub settings: ReadSettings,
    pub time_reopen: Duration,
}

impl Source for ProgramSource {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> Task {
        Box::pin(async move {
            loop {
                let spawned = command(&self.cmdline, self.inherit_environment)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn();
                let mut child = match spawned {
                    Ok(c) => c,
                    Err(e) => {
                        internal::error(format!(
                            "Error starting source program; cmdline='{}', error='{}'",
                            self.cmdline,
                            super::os_error(&e)
                        ));
                        tokio::select! {
                            _ = tokio::time::sleep(self.time_reopen) => continue,
                            _ = ctx.shutdown.cancelled() => return,
                        }
                    }
                };
                let pid = child.id();
                let Some(stdout) = child.stdout.take() else { return };
                let mut input = Input::Child(stdout);
                let end = read_stream(&mut input, &self.settings, &mut ctx.port, &ctx.shutdown, None).await;
                drop(input);
                terminate_group(pid);
                // Dropping the handle leaves reaping to tokio.
                drop(child);
                if end == StreamEnd::Shutdown {
                    return;
                }
            }
        })
    }
}

struct Running {
    child: Child,
    stdin: ChildStdin,
}

fn parked() -> &'static Mutex<HashMap<String, (u64, Running)>> {
    static PARKED: OnceLock<Mutex<HashMap<String, (u64, Running)>>> = OnceLock::new();
    PARKED.get_or_init(Default::default)
}

fn take_parked(key: &str) -> Option<Running> {
    parked().lock().unwrap_or_else(|e| e.into_inner()).remove(key).map(|(_, r)| r)
}

fn park(key: String, running: Running) {
    static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
    parked().lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), (generation, running));
    tokio::spawn(async move {
        tokio::time::sleep(PARK_TIMEOUT).await;
        let mut map = parked().lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&key).is_some_and(|(g, _)| *g == generation) {
            if let Some((_, r)) = map.remove(&key) {
                terminate_group(r.child.id());
            }
        }
    });
}

/// The `program()` destination.
pub struct ProgramDestination {
    pub cmdline: String,
    pub inherit_environment: bool,
    pub keep_alive: bool,
    /// The key a `keep-alive(yes)` child is parked under.
    pub key: String,
    pub writer: Writer,
    pub time_reopen: Duration,
    pub throttle: Throttle,
}

impl ProgramDestination {
    fn spawn(&self) -> std::io::Result<Running> {
        let mut child = command(&self.cmdline, self.inherit_environment)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no standard input"))?;
        Ok(Running { child, stdin })
    }

    /// What happens after the child exited: `true` when it is to be started again.
    fn exited(&self, status: Option<std::process::ExitStatus>) -> bool {
        let raw = status.map_or(-1, raw_status);
        if status.and_then(|s| s.code()) == Some(127) {
            internal::error(format!(
                "Child program exited with command not found, stopping the destination.; cmdline='{}', status='{raw}'",
                self.cmdline
            ));
            return false;
        }
        internal::info(format!("Child program exited, restarting; cmdline='{}', status='{raw}'", self.cmdline));
        true
    }

    /// Stops the child: parked for the next configuration, or input closed and terminated.
    async fn stop(&self, running: Running) {
        if self.keep_alive {
            park(self.key.clone(), running);
            return;
        }
        let Running { mut child, stdin } = running;
        drop(stdin);
        let pid = child.id();
        if tokio::time::timeout(EXIT_GRACE, child.wait()).await.is_err() {
            terminate_group(pid);
        }
    }
}

enum Event {
    Wrote(std::io::Result<usize>),
    Exited(Option<std::process::ExitStatus>),
    Shutdown,
}

impl Destination for ProgramDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let mut this = *self;
            let queue = ctx.queue;
            let mut running = if this.keep_alive { take_parked(&this.key) } else { None };
            // Status 127: the command does not exist; nothing is started again.
            let mut stopped = false;
            let mut closed = false;
            let mut pending = Pending::default();
            let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH);
            loop {
                if closed && pending.is_empty() {
                    break;
                }
                if running.is_none() && !stopped {
                    match this.spawn() {
                        Ok(r) => running = Some(r),
                        Err(e) => {
                            internal::error(format!(
                                "Error starting destination program; cmdline='{}', error='{}', time_reopen='{}'",
                                this.cmdline,
                                super::os_error(&e),
                                this.time_reopen.as_secs()
                            ));
                            tokio::select! {
                                _ = tokio::time::sleep(this.time_reopen) => continue,
                                _ = ctx.shutdown.cancelled() => break,
                            }
                        }
                    }
                }
                if pending.is_empty() {
                    this.throttle.wait().await;
                    let max = this.throttle.limit(BATCH);
                    let open = match running.as_mut() {
                        Some(r) => tokio::select! {
                            open = queue.pop(max, &mut batch) => open,
                            status = r.child.wait() => {
                                running = None;
                                stopped = !this.exited(status.ok());
                                continue;
                            }
                        },
                        None => queue.pop(max, &mut batch).await,
                    };
                    if !open {
                        closed = true;
                        continue;
                    }
                    this.throttle.account(batch.len());
                    if stopped {
                        queue.stats.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                        batch.clear();
                        continue;
                    }
                    for msg in batch.drain(..) {
                        if this.writer.format(&msg, &mut pending.bytes) {
                            pending.ends.push_back(pending.bytes.len());
                        }
                    }
                    continue;
                }
                let Some(r) = running.as_mut() else {
                    // Stopped for good: what is left cannot be written.
                    queue.stats.dropped.fetch_add(pending.len() as u64, Ordering::Relaxed);
                    pending = Pending::default();
                    continue;
                };
                let event = {
                    let Running { child, stdin } = r;
                    tokio::select! {
                        res = stdin.write(pending.unwritten()) => Event::Wrote(res),
                        status = child.wait() => Event::Exited(status.ok()),
                        _ = ctx.shutdown.cancelled(), if closed => Event::Shutdown,
                    }
                };
                match event {
                    Event::Wrote(Ok(n)) if n > 0 => {
                        let done = pending.advance(n);
                        queue.stats.written.fetch_add(done, Ordering::Relaxed);
                    }
                    Event::Wrote(_) => {
                        // The child closed its input or went away: collect its status.
                        pending.rewind();
                        let status = match tokio::time::timeout(EXIT_GRACE, r.child.wait()).await {
                            Ok(s) => s.ok(),
                            Err(_) => {
                                terminate_group(r.child.id());
                                r.child.wait().await.ok()
                            }
                        };
                        running = None;
                        stopped = !this.exited(status);
                    }
                    Event::Exited(status) => {
                        pending.rewind();
                        running = None;
                        stopped = !this.exited(status);
                    }
                    Event::Shutdown => break,
                }
            }
            if !pending.is_empty() {
                queue.stats.dropped.fetch_add(pending.len() as u64, Ordering::Relaxed);
            }
            if let Some(r) = running {
                this.stop(r).await;
            }
        })
    }
}

/// Formatted messages not yet written: the bytes and where each message ends.
#[derive(Debug, Default)]
pub struct Pending {
    pub bytes: Vec<u8>,
    /// Where each message not completely written ends in `bytes`.
    pub ends: std::collections::VecDeque<usize>,
    /// Where the first message not completely written starts.
    start: usize,
    /// Bytes written from the front.
    written: usize,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Messages not completely written.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes still to write.
    pub fn unwritten(&self) -> &[u8] {
        &self.bytes[self.written..]
    }

    /// The bytes still to write of the first `n` pending messages.
    pub fn unwritten_first(&self, n: usize) -> &[u8] {
        let end = match n {
            0 => self.written,
            n => self.ends.get(n - 1).copied().unwrap_or(self.bytes.len()),
        };
        &self.bytes[self.written..end.max(self.written)]
    }

    /// Takes `n` more written bytes into account; returns how many messages are now complete.
    pub fn advance(&mut self, n: usize) -> u64 {
        self.written = (self.written + n).min(self.bytes.len());
        let mut done = 0;
        while let Some(&end) = self.ends.front() {
            if end > self.written {
                break;
            }
            self.start = end;
            self.ends.pop_front();
            done += 1;
        }
        if self.ends.is_empty() {
            self.bytes.clear();
            self.start = 0;
            self.written = 0;
        } else if self.start >= 1 << 20 {
            self.compact();
        }
        done
    }

    /// Goes back to the start of the first message not completely written, to write it whole
    /// again.
    pub fn rewind(&mut self) {
        self.written = self.start;
        self.compact();
    }

    /// Drops the `n` first pending messages; returns how many there were.
    pub fn drop_first(&mut self, n: usize) -> u64 {
        let n = n.min(self.ends.len());
        if n == 0 {
            return 0;
        }
        let end = self.ends[n - 1];
        self.written = end;
        self.advance(0);
        n as u64
    }

    fn compact(&mut self) {
        let cut = self.start;
        if cut == 0 {
            return;
        }
        self.bytes.drain(..cut);
        for e in self.ends.iter_mut() {
            *e -= cut;
        }
        self.written -= cut;
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Pending;

    fn pending(msgs: &[&str]) -> Pending {
        let mut p = Pending::default();
        for m in msgs {
            p.bytes.extend_from_slice(m.as_bytes());
            p.ends.push_back(p.bytes.len());
        }
        p
    }

    #[test]
    fn partial_writes_complete_messages_in_order() {
        let mut p = pending(&["aa\n", "bbb\n", "c\n"]);
        assert_eq!(p.advance(2), 0);
        assert_eq!(p.advance(3), 1);
        assert_eq!(p.unwritten(), b"b\nc\n");
        assert_eq!(p.unwritten_first(1), b"b\n");
        p.rewind();
        assert_eq!(p.unwritten(), b"bbb\nc\n");
        assert_eq!(p.advance(6), 2);
        assert!(p.is_empty());
    }

    #[test]
    fn dropping_messages() {
        let mut p = pending(&["a\n", "b\n", "c\n"]);
        assert_eq!(p.drop_first(2), 2);
        assert_eq!(p.unwritten(), b"c\n");
        assert_eq!(p.len(), 1);
    }
}
